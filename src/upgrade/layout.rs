//! What an upgrade plan is made from: the cluster's layout (per host its
//! daemons, each with the release it runs when known) and the operator's
//! options. Plain values, no I/O: the executor fills them from the model
//! and the live cluster, tests write them by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::model::{Cluster, ObjectStore, Role};
use crate::release::Release;

/// The daemon types an upgrade restarts, in the order it restarts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonType {
    Mon,
    Mgr,
    Osd,
    Mds,
    Rgw,
}

impl DaemonType {
    pub const ALL: [DaemonType; 5] = [
        DaemonType::Mon,
        DaemonType::Mgr,
        DaemonType::Osd,
        DaemonType::Mds,
        DaemonType::Rgw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DaemonType::Mon => "mon",
            DaemonType::Mgr => "mgr",
            DaemonType::Osd => "osd",
            DaemonType::Mds => "mds",
            DaemonType::Rgw => "rgw",
        }
    }

    /// Parses `mon`, `mgr`, `osd`, `mds` or `rgw` (`--daemon-types`).
    pub fn parse(s: &str) -> Option<DaemonType> {
        DaemonType::ALL
            .into_iter()
            .find(|t| t.name() == s.trim().to_ascii_lowercase())
    }
}

impl fmt::Display for DaemonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One daemon (not an OSD) on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Daemon {
    /// The daemon's id (`ceph1` for mon.ceph1).
    pub id: String,
    /// The release it runs now; None: not known, taken to be the source.
    pub running: Option<Release>,
}

/// One OSD on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Osd {
    pub id: u32,
    pub store: ObjectStore,
    /// The release it runs now; None: not known, taken to be the source.
    pub running: Option<Release>,
}

/// A host and the daemons it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostLayout {
    pub name: String,
    pub mons: Vec<Daemon>,
    /// The mgrs the inventory places here; when upgrading from Jewel they
    /// do not exist yet and are created.
    pub mgrs: Vec<Daemon>,
    pub osds: Vec<Osd>,
    pub mdss: Vec<Daemon>,
    pub rgws: Vec<Daemon>,
}

/// The cluster's hosts, in inventory order (the order of the plan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub hosts: Vec<HostLayout>,
}

/// The flags an upgrade sets on the OSD map and restores at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// Always set: a restarting OSD is not marked out.
    Noout,
    /// On request: no scrubs while daemons restart.
    Noscrub,
    /// On request: no deep scrubs while daemons restart.
    NodeepScrub,
    /// Set before a Jewel -> Luminous upgrade and never unset.
    Sortbitwise,
}

impl Flag {
    /// The flag's name for `ceph osd set`.
    pub fn name(self) -> &'static str {
        match self {
            Flag::Noout => "noout",
            Flag::Noscrub => "noscrub",
            Flag::NodeepScrub => "nodeep-scrub",
            Flag::Sortbitwise => "sortbitwise",
        }
    }

    /// Parses a flag an operator may ask for (`noscrub`, `nodeep-scrub`;
    /// `noout` is always set).
    pub fn parse_extra(s: &str) -> Option<Flag> {
        [Flag::Noout, Flag::Noscrub, Flag::NodeepScrub]
            .into_iter()
            .find(|f| f.name() == s.trim().to_ascii_lowercase())
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the operator chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// The daemon types to upgrade (`--daemon-types`); None: all.
    pub daemon_types: Option<BTreeSet<DaemonType>>,
    /// The hosts whose daemons are upgraded (`--limit`); None: all.
    pub hosts: Option<BTreeSet<String>>,
    /// Flags set besides `noout` (`noscrub`, `nodeep-scrub`).
    pub extra_flags: Vec<Flag>,
    /// Set `bluestore_fsck_quick_fix_on_mount true` before OSDs restart into
    /// Pacific or later, so their first start converts omap to per-pool
    /// (false: they start faster and BLUESTORE_NO_PER_POOL_OMAP stays).
    pub convert_omap_on_mount: bool,
    /// `osd_pool_default_read_lease_ratio` for the OSD phase when the
    /// target keeps read leases (None: left alone); see `Hold::ReadLease`.
    pub read_lease_ratio: Option<String>,
    /// Primary affinity 0 for each OSD host while it restarts.
    pub primary_affinity: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            daemon_types: None,
            hosts: None,
            extra_flags: Vec::new(),
            convert_omap_on_mount: true,
            read_lease_ratio: Some("0.2".into()),
            primary_affinity: true,
        }
    }
}

impl PlanOptions {
    /// Whether the options include this daemon type on this host.
    pub fn includes(&self, kind: DaemonType, host: &str) -> bool {
        self.daemon_types.as_ref().is_none_or(|t| t.contains(&kind))
            && self.hosts.as_ref().is_none_or(|h| h.contains(host))
    }

    /// The flags the upgrade sets, `noout` first, each once.
    pub fn flags(&self) -> Vec<Flag> {
        let mut flags = vec![Flag::Noout];
        for &f in &self.extra_flags {
            if !flags.contains(&f) && f != Flag::Sortbitwise {
                flags.push(f);
            }
        }
        flags
    }
}

/// A daemon named for people and for JSON: `osd.3 on ceph2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonRef {
    #[serde(rename = "type")]
    pub kind: DaemonType,
    pub id: String,
    pub host: String,
    /// The release it runs, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Release>,
}

impl fmt::Display for DaemonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} on {}", self.kind, self.id, self.host)
    }
}

impl Layout {
    /// Every daemon of the layout, host by host, in upgrade order per host.
    pub fn daemons(&self) -> Vec<DaemonRef> {
        let mut out = Vec::new();
        for h in &self.hosts {
            let d = |kind, id: &str, running| DaemonRef {
                kind,
                id: id.to_string(),
                host: h.name.clone(),
                running,
            };
            out.extend(h.mons.iter().map(|m| d(DaemonType::Mon, &m.id, m.running)));
            out.extend(h.mgrs.iter().map(|m| d(DaemonType::Mgr, &m.id, m.running)));
            out.extend(
                h.osds
                    .iter()
                    .map(|o| d(DaemonType::Osd, &o.id.to_string(), o.running)),
            );
            out.extend(h.mdss.iter().map(|m| d(DaemonType::Mds, &m.id, m.running)));
            out.extend(h.rgws.iter().map(|m| d(DaemonType::Rgw, &m.id, m.running)));
        }
        out
    }
}

impl Layout {
    /// The inventory's layout: a mon, mgr, MDS and RGW on each host with
    /// that role, named after the host as deploy names them, and the OSD ids
    /// the live cluster places on each host (`ceph osd tree`; none where
    /// not given), with the host's object store. Running releases unknown:
    /// the caller fills them from `ceph versions` or the containers.
    pub fn from_cluster(cluster: &Cluster, osd_ids: &BTreeMap<String, Vec<u32>>) -> Layout {
        let hosts = cluster
            .hosts
            .iter()
            .map(|h| {
                let one = |role| {
                    if h.has(role) {
                        vec![Daemon {
                            id: h.name.clone(),
                            running: None,
                        }]
                    } else {
                        vec![]
                    }
                };
                HostLayout {
                    name: h.name.clone(),
                    mons: one(Role::Mon),
                    mgrs: one(Role::Mgr),
                    osds: osd_ids
                        .get(&h.name)
                        .into_iter()
                        .flatten()
                        .map(|&id| Osd {
                            id,
                            store: h.object_store,
                            running: None,
                        })
                        .collect(),
                    mdss: one(Role::Mds),
                    rgws: one(Role::Rgw),
                }
            })
            .collect();
        Layout { hosts }
    }
}
