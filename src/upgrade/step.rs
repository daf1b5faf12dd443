//! The upgrade plan as data: phases of named steps, each with what it does
//! and the gate that must hold after it. The executor journals steps by
//! their `id`, so ids are stable across runs of the same plan. No logic
//! here beyond describing a step for people.

use serde::Serialize;

use super::layout::{DaemonRef, DaemonType, Flag};
use crate::release::Release;

/// The whole upgrade, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradePlan {
    /// What runs it: `upgrade`, `redeploy` (the journal says the same).
    #[serde(skip)]
    pub operation: &'static str,
    pub from: Release,
    pub to: Release,
    pub phases: Vec<Phase>,
    /// Daemons already on the target: not restarted.
    pub skipped: Vec<DaemonRef>,
    /// Daemons not on the target that `--limit` or `--daemon-types` leave
    /// out: while any remain, the plan does not finalise.
    pub left_out: Vec<DaemonRef>,
}

/// A named group of steps run in order (`mons`, `osds`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub steps: Vec<UpgradeStep>,
}

/// One step: done completely, journaled, then the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeStep {
    /// Stable name the journal records ("mon:ceph1", "osd-host:ceph2",
    /// "flag-set:noout", "require-osd-release").
    pub id: String,
    pub kind: StepKind,
    /// One line for people.
    pub what: String,
    /// What must hold after the step before the next one starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

/// What a step does; the executor acts on this, never on `what`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "do", rename_all = "kebab-case")]
pub enum StepKind {
    /// Read-only: the upgrade stops (changing nothing) unless it holds.
    Check { check: Check },
    /// Save monmap, keyrings, config, crushmap and the OSD map flags into
    /// a timestamped folder next to the inventory.
    Backup,
    /// `ceph osd set <flag>`.
    SetFlag { flag: Flag },
    /// Put a flag back as the backup recorded it (unset unless it was set).
    RestoreFlag { flag: Flag },
    /// Stop the daemons gracefully and start them on the target image;
    /// before that, `ceph <type> ok-to-stop <ids>` when `ok_to_stop`, or a
    /// standby mgr when `standby_mgr`.
    Restart {
        #[serde(rename = "type")]
        kind: DaemonType,
        host: String,
        ids: Vec<String>,
        ok_to_stop: bool,
        standby_mgr: bool,
        /// Made again from the spec even when it is as wanted (`redeploy`):
        /// stopped, removed and made, with the same data.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        recreate: bool,
    },
    /// Make a ceph-mgr (key, data folder, container) where none runs yet.
    CreateMgr { host: String, id: String },
    /// Add `mgr 'allow *'` to client.admin's caps, keeping the others.
    AdminMgrCaps,
    /// `ceph config set <who> <option> <value>`.
    SetConfig {
        who: String,
        option: String,
        value: String,
    },
    /// `ceph config rm <who> <option>`.
    RemoveConfig { who: String, option: String },
    /// One of the MDS steps, for every file system, over the MDS daemons
    /// to upgrade; `ok_to_stop`: ask `ceph mds ok-to-stop` before stopping.
    Mds {
        action: MdsAction,
        daemons: Vec<DaemonRef>,
        ok_to_stop: bool,
    },
    /// `ceph osd require-osd-release <release>`.
    RequireOsdRelease { release: Release },
    /// `ceph mon enable-msgr2` (nothing to do when every mon has a v2
    /// address).
    EnableMsgr2,
    /// Rewrite ceph.conf on every host with v2 and v1 mon addresses.
    ConfV2Addresses,
    /// Handle a health warning that never clears by itself.
    Warning { warning: Warning },
    /// Record a setting as it is, then change it for a part of the upgrade;
    /// the matching `PutBack` (and the end of every run that stops early)
    /// puts it back as recorded.
    Hold { hold: Hold },
    /// Put a held setting back as the journal recorded it.
    PutBack { hold: Hold },
    /// Put back every setting the journal records as held (the end of
    /// every run, whatever its plan).
    PutBackAll,
    /// Rotate an entity's key to aes256k (unless it is one already) and
    /// write it where it is kept; `pending`: through a pending key, which
    /// the old one serves until its first use (client.admin, whose keyring
    /// every later call uses).
    RotateKey {
        entity: String,
        files: Vec<KeyFile>,
        pending: bool,
    },
    /// `ceph mon set NAME VALUE` (the monmap's auth settings), then the
    /// whole quorum again (each change starts an election).
    MonSet { name: String, value: String },
    /// `ceph auth wipe-rotating-service-keys`: new rotating keys, of the
    /// service cipher's type.
    WipeRotatingKeys,
    /// The keys passwords.yml holds, as the cluster has them now
    /// (atomically, a backup kept, 0600): the next deploy writes them.
    SavePasswords,
    /// Once every key is aes256k and no client older than the release is
    /// connected, `ceph mon set auth_allowed_ciphers aes256k`; else the
    /// entities and clients left are named, and aes stays allowed.
    DisallowAes,
}

/// Where a rotated key is written on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFile {
    pub host: String,
    pub path: String,
    /// Owned by the image's ceph user (a daemon's), else by root.
    pub ceph_owned: bool,
    /// `caps TYPE = "..."` lines it carries (mon.'s `allow *`).
    pub caps: Vec<(String, String)>,
    /// Only rewritten where it exists (where `cephalo admin` put it).
    pub only_if_there: bool,
}

/// A setting the upgrade changes for a while to spare clients a stall,
/// and puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "setting", rename_all = "kebab-case")]
pub enum Hold {
    /// `osd_pool_default_read_lease_ratio` for the OSDs, for the OSD phase
    /// (Octopus and later keep PG read leases of this ratio x
    /// `osd_heartbeat_grace`; a PG whose lease starts over blocks client
    /// I/O until one is granted).
    ReadLease { ratio: String },
    /// Primary affinity 0 for one host's OSDs while they restart, so that
    /// they lead no PG when they stop and when they come back.
    PrimaryAffinity { host: String, ids: Vec<u32> },
}

impl Hold {
    /// What identifies the hold in step ids: `hold:<key>`, `put-back:<key>`.
    pub fn key(&self) -> String {
        match self {
            Hold::ReadLease { .. } => "read-lease".into(),
            Hold::PrimaryAffinity { host, .. } => format!("primary-affinity:{host}"),
        }
    }

    /// The id of the step that holds it.
    pub fn hold_id(&self) -> String {
        format!("hold:{}", self.key())
    }

    /// The id of the step that puts it back.
    pub fn put_back_id(&self) -> String {
        format!("put-back:{}", self.key())
    }

    /// The journal's names of the values this hold records.
    pub fn records(&self) -> Vec<String> {
        match self {
            Hold::ReadLease { .. } => vec![format!("config osd/{READ_LEASE_OPTION}")],
            Hold::PrimaryAffinity { ids, .. } => ids
                .iter()
                .map(|i| format!("primary-affinity osd.{i}"))
                .collect(),
        }
    }
}

/// The OSD option `Hold::ReadLease` changes.
pub const READ_LEASE_OPTION: &str = "osd_pool_default_read_lease_ratio";

/// Read-only checks; each says what it refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum Check {
    /// Refuse on HEALTH_ERR.
    HealthNotErr,
    /// Refuse when an inventory mon is out of quorum.
    MonsInQuorum,
    /// Refuse unless the inventory's mons other than these are in quorum
    /// and a majority of them all: what keeps the cluster answering while
    /// these are made again (`redeploy`; one of them down is no reason).
    OthersInQuorum { mons: Vec<String> },
    /// Read every daemon's version (`ceph versions`, or `ceph tell <daemon>
    /// version` where the release lacks it) and refuse when they do not
    /// fit this plan.
    VersionsFitPlan { ceph_versions: bool },
    /// The target image is on every host (else: `cephalo pull`).
    TargetImage,
    /// The OSD map has `recovery_deletes` and `purged_snapdirs` (a full
    /// scrub ran on Luminous or later).
    OsdmapScrubFlags,
    /// `ceph mon feature ls` lists the release among the persistent
    /// features.
    MonFeature { release: Release },
    /// `ceph mon dump` shows `min_mon_release <major>`.
    MinMonRelease { release: Release },
    /// `ceph features`: report connected clients older than the release
    /// (they are named, not cut off).
    ClientFeatures { release: Release },
    /// Every daemon runs a version with aes256k keys (19.2.6, 20.2.4 on)
    /// and the monmap's persistent features have `cephx_auth_aes256k`.
    Aes256kReady,
}

/// The MDS procedure, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MdsAction {
    /// Record `allow_standby_replay` and set it false.
    StandbyReplayOff,
    /// Record `max_mds` and set it to 1 (deactivating extra ranks where the
    /// release does not do so by itself).
    MaxMdsOne,
    /// Stop every MDS but the active one.
    StopStandbys,
    /// Restart the active MDS on the target.
    UpgradeActive,
    /// Start the stopped MDS daemons on the target.
    StartStandbys,
    /// Put `max_mds` back as recorded.
    RestoreMaxMds,
    /// Put `allow_standby_replay` back as recorded.
    RestoreStandbyReplay,
}

/// Health warnings an upgrade leaves that never clear by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Warning {
    /// AUTH_INSECURE_GLOBAL_ID_RECLAIM(_ALLOWED): once no connected client
    /// reclaims insecurely, `auth_allow_insecure_global_id_reclaim false`;
    /// else name the clients and leave it.
    InsecureGlobalIdReclaim,
    /// BLUESTORE_NO_PER_POOL_OMAP: name the OSDs still unconverted; remove
    /// the quick-fix setting once none is.
    PerPoolOmap,
    /// POOL_TOO_MANY_PGS on pools made before Octopus: set their
    /// `pg_autoscale_mode` from `warn` to `on`.
    PoolAutoscaleWarn,
    /// AUTH_INSECURE_*_KEY_TYPE and AUTH_INSECURE_SERVICE_TICKETS (19.2.6
    /// and 20.2.4 on, CVE-2025-30156): keys made before are of type aes;
    /// name the entities and the migration to aes256k (not automated).
    InsecureKeyTypes,
}

/// What must hold after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "kebab-case")]
pub enum Gate {
    /// `ceph osd dump` lists the flag.
    FlagSet { flag: Flag },
    /// The flag is as the backup recorded it.
    FlagAsBefore { flag: Flag },
    /// `ceph mon metadata <id>` reports the release, then the mon is in
    /// quorum (quorum_status alone lists a restarted mon too early).
    MonUpgraded { id: String, release: Release },
    /// The mgr reports the release and `ceph mgr dump` has an active mgr.
    MgrUpgraded { id: String, release: Release },
    /// Every OSD is up in an OSD map later than its restart and reports
    /// the release; then all PGs are active+clean (scrubbing counts).
    OsdsUpPgsClean { ids: Vec<u32>, release: Release },
    /// `allow_standby_replay` is false: no MDS in standby-replay.
    NoStandbyReplay,
    /// Each file system has exactly one active rank.
    OneActiveRank,
    /// Only the active MDS of each file system runs.
    OnlyActiveMds,
    /// The active MDS reports the release.
    ActiveMdsUpgraded { release: Release },
    /// The MDS daemons are back, as standbys, on the release.
    StandbysUpgraded { release: Release },
    /// `max_mds` / `allow_standby_replay` as recorded.
    MdsSettingsAsBefore,
    /// The gateway answers and reports the release.
    RgwUpgraded { id: String, release: Release },
    /// `ceph osd dump` shows `require_osd_release <release>`.
    RequireOsdRelease { release: Release },
    /// `ceph mon dump` lists a v2 and a v1 address for every mon.
    MonsHaveV2,
    /// `ceph config get` shows the value.
    ConfigSet { option: String, value: String },
    /// None of these OSDs is the acting primary of a PG, and every PG is
    /// active.
    LeadNoPg { ids: Vec<u32> },
    /// Every rank of every file system is up:active again.
    RanksActive,
}

impl Gate {
    /// The gate in one line, for the text plan.
    pub fn describe(&self) -> String {
        match self {
            Gate::FlagSet { flag } => format!("`ceph osd dump` lists {flag}"),
            Gate::FlagAsBefore { flag } => format!("{flag} is as the backup recorded it"),
            Gate::MonUpgraded { id, release } => {
                format!("`ceph mon metadata {id}` reports {release}, then mon.{id} is in quorum")
            }
            Gate::MgrUpgraded { id, release } => {
                format!("mgr.{id} reports {release} and a mgr is active")
            }
            Gate::OsdsUpPgsClean { ids, release } => format!(
                "{} up in a later OSD map on {release}, then all PGs active+clean",
                ids.iter()
                    .map(|i| format!("osd.{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Gate::NoStandbyReplay => "no MDS in standby-replay".into(),
            Gate::OneActiveRank => "each file system has exactly one active rank".into(),
            Gate::OnlyActiveMds => "only the active MDS of each file system runs".into(),
            Gate::ActiveMdsUpgraded { release } => {
                format!("the active MDS is back on {release}")
            }
            Gate::StandbysUpgraded { release } => {
                format!("the other MDS daemons are standbys on {release}")
            }
            Gate::MdsSettingsAsBefore => "the file system settings are as recorded".into(),
            Gate::RgwUpgraded { id, release } => {
                format!("rgw.{id} answers and reports {release}")
            }
            Gate::RequireOsdRelease { release } => {
                format!("`ceph osd dump` shows require_osd_release {release}")
            }
            Gate::MonsHaveV2 => "`ceph mon dump` lists v2 and v1 addresses for every mon".into(),
            Gate::ConfigSet { option, value } => format!("{option} is {value}"),
            Gate::RanksActive => "every file system rank is up:active".into(),
            Gate::LeadNoPg { ids } => format!(
                "{} lead{} no PG, and all PGs are active",
                ids.iter()
                    .map(|i| format!("osd.{i}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if ids.len() == 1 { "s" } else { "" }
            ),
        }
    }
}

impl UpgradePlan {
    /// `upgrade pacific -> reef`, `redeploy on reef`.
    pub fn title(&self) -> String {
        if self.from == self.to && self.operation != "upgrade" {
            format!("{} on {}", self.operation, self.to)
        } else {
            format!("{} {} -> {}", self.operation, self.from, self.to)
        }
    }

    /// Every step in order, with its phase's name.
    pub fn steps(&self) -> impl Iterator<Item = (&'static str, &UpgradeStep)> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter().map(move |s| (p.name, s)))
    }

    /// The position of the step with this id, if the plan has it.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.steps().position(|(_, s)| s.id == id)
    }

    /// Nothing to restart and nothing to finalise.
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty()
    }
}
