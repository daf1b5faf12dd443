//! The rule that `deploy`, `reconfigure`, `tune` and `redeploy` never run a
//! Ceph release other than the configured one, nor one older than the
//! data it would run on. Before any change it reads, on the selected hosts:
//! the version of every running daemon (`ceph --version` inside its
//! container), the version inside the image a daemon would be made from
//! (`image_version`), and the cluster's own floor (`min_mon_release`,
//! `require_osd_release`). A daemon that cannot be asked (crash-looping,
//! stopped) is judged by its data's release (that floor), never refused
//! for being unknown. Any mismatch refuses the run (exit 9, nothing
//! changed), naming the daemons, both versions and the keys to change; a
//! host that cannot be asked refuses it too (exit 5: unknown is never
//! "no daemons"). Reads only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ceph::{CephVersion, parse_version};
use crate::containers::{self, Present};
use crate::engine::Engine;
use crate::error::Error;
use crate::model::Cluster;
use crate::release::Release;
use crate::transport::{Endpoint, Transport, TransportError};

use super::image_version::{self, ImageOnHost};

/// A daemon container that runs, and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDaemon {
    pub host: String,
    /// `ceph_mon`, `ceph_osd_3`, ...
    pub container: String,
    /// What `ceph --version` in it printed, parsed.
    pub version: Option<CephVersion>,
    /// The release it runs (None: unknown, `why` says why).
    pub release: Option<Release>,
    pub why: String,
}

impl RunningDaemon {
    /// The daemon's name as Ceph has it: `mon.ceph1`, `osd.3`.
    pub fn daemon(&self) -> String {
        match self.container.strip_prefix("ceph_osd_") {
            Some(id) => format!("osd.{id}"),
            None => format!(
                "{}.{}",
                self.container.trim_start_matches("ceph_"),
                self.host
            ),
        }
    }

    fn shown(&self) -> String {
        match (&self.version, self.release) {
            (Some(v), _) => format!("{} {v}", self.daemon()),
            (None, Some(r)) => format!("{} {r}", self.daemon()),
            (None, None) => format!("{} version unknown ({})", self.daemon(), self.why),
        }
    }
}

/// What one host said: the daemons running there, or why it could not be
/// asked (unknown, never "none").
#[derive(Debug)]
pub struct HostDaemons {
    pub host: String,
    pub daemons: Result<Vec<RunningDaemon>, TransportError>,
}

/// Reads the daemons that run on one host.
async fn on_host(cluster: &Cluster, t: &dyn Transport, ep: &Endpoint) -> HostDaemons {
    let daemons = async {
        let Some(h) = cluster.host(&ep.name) else {
            return Ok(Vec::new());
        };
        let names = containers::running_daemons(t, ep, h.engine).await?;
        let mut found = Vec::new();
        for name in names {
            let mut d = RunningDaemon {
                host: ep.name.clone(),
                container: name,
                version: None,
                release: None,
                why: String::new(),
            };
            match containers::running_version(t, ep, h.engine, &d.container).await {
                Ok(text) => match parse_version(&text) {
                    Some(v) => {
                        d.version = Some(v);
                        d.release = v.release();
                        if d.release.is_none() {
                            d.why =
                                format!("no release cephalo knows has major version {}", v.major);
                        }
                    }
                    None => d.why = format!("`ceph --version` printed {text:?}"),
                },
                Err(e) if e.is_unreachable() => return Err(e),
                Err(e) => d.why = crate::ceph::reach::why(&e),
            }
            found.push(d);
        }
        Ok(found)
    }
    .await;
    HostDaemons {
        host: ep.name.clone(),
        daemons,
    }
}

/// The daemons running on the given hosts, host by host in parallel.
pub async fn running(cluster: &Cluster, t: &dyn Transport, hosts: &[Endpoint]) -> Vec<HostDaemons> {
    futures::future::join_all(hosts.iter().map(|ep| on_host(cluster, t, ep))).await
}

/// Every daemon of the hosts that answered.
pub fn reached(hosts: &[HostDaemons]) -> Vec<RunningDaemon> {
    hosts
        .iter()
        .filter_map(|h| h.daemons.as_ref().ok())
        .flatten()
        .cloned()
        .collect()
}

/// The hosts that could not be asked, and why.
pub fn unknown(hosts: &[HostDaemons]) -> Vec<(&str, &TransportError)> {
    hosts
        .iter()
        .filter_map(|h| h.daemons.as_ref().err().map(|e| (h.host.as_str(), e)))
        .collect()
}

/// The release floor the cluster's data has reached: no daemon of an older
/// release can run on it (None: not known, the cluster did not answer or
/// its release does not record it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Floor {
    /// `min_mon_release` of the mon map (Nautilus on).
    pub mon: Option<Release>,
    /// `require_osd_release` of the OSD map (Luminous on).
    pub osd: Option<Release>,
}

impl Floor {
    /// The release a daemon's data needs at least: the OSD map's for an
    /// OSD, the mon map's for every other daemon.
    fn of(&self, container: &str) -> Option<Release> {
        if container.starts_with("ceph_osd_") {
            self.osd.or(self.mon)
        } else {
            self.mon
        }
    }

    fn highest(&self) -> Option<(&'static str, Release)> {
        [
            ("min_mon_release", self.mon),
            ("require_osd_release", self.osd),
        ]
        .into_iter()
        .filter_map(|(k, r)| r.map(|r| (k, r)))
        .min_by_key(|(_, r)| std::cmp::Reverse(*r))
    }
}

/// Reads the floor through any mon the cluster answers through.
pub async fn floor(cluster: &Cluster, t: &dyn Transport) -> Floor {
    let (mon, osd) = futures::join!(
        crate::ceph::ceph_json(cluster, t, &["mon", "dump"]),
        crate::ceph::ceph_json(cluster, t, &["osd", "dump"]),
    );
    Floor {
        mon: mon.ok().and_then(|v| {
            v["min_mon_release"]
                .as_u64()
                .and_then(|n| Release::parse(&n.to_string()))
        }),
        osd: osd
            .ok()
            .and_then(|v| v["require_osd_release"].as_str().and_then(Release::parse)),
    }
}

/// The configured image on one host, as the guard judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostImage {
    pub host: String,
    pub image: String,
    pub found: ImageOnHost,
}

/// What makes a run refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A running daemon runs another release than the configured one.
    DaemonRelease(RunningDaemon),
    /// A daemon whose version is unknown, and no floor to judge it by.
    DaemonUnknown(RunningDaemon),
    /// The image holds another release than the configured one.
    ImageRelease(HostImage, CephVersion),
    /// The image is older than a daemon on its host runs.
    ImageOlderThanDaemon(HostImage, CephVersion, RunningDaemon),
    /// The image's release is older than the cluster's floor.
    ImageOlderThanData(HostImage, CephVersion, &'static str, Release),
}

/// Judges the facts (pure): the daemons, the images they would be made
/// from, the floor.
pub fn judge(
    configured: Release,
    daemons: &[RunningDaemon],
    images: &[HostImage],
    floor: Floor,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for d in daemons {
        let mut d = d.clone();
        let data = floor.of(&d.container);
        if d.release.is_none() && d.version.is_none() {
            // Crash-looping or not answering: its data says what it is.
            d.release = data;
        } else if let (Some(r), Some(f)) = (d.release, data)
            && r < f
        {
            // A daemon older than its data cannot be running on it (the
            // mons refuse it, its store is unreadable): a container caught
            // between two crashes. Its data says what it is.
            d.release = Some(f);
            d.version = None;
        }
        match d.release {
            Some(r) if r == configured => {}
            Some(_) => found.push(Finding::DaemonRelease(d)),
            None => found.push(Finding::DaemonUnknown(d)),
        }
    }
    for i in images {
        let ImageOnHost::Holds { version, .. } = &i.found else {
            continue;
        };
        let v = *version;
        if v.release() != Some(configured) {
            found.push(Finding::ImageRelease(i.clone(), v));
            continue;
        }
        if let Some((key, r)) = floor.highest()
            && v.release().is_some_and(|ir| ir < r)
        {
            found.push(Finding::ImageOlderThanData(i.clone(), v, key, r));
            continue;
        }
        // The newest daemon on the host (the first of them, in `ps` order).
        if let Some(newer) = daemons
            .iter()
            .filter(|d| d.host == i.host)
            .filter(|d| d.version.is_some_and(|dv| dv > v))
            .min_by_key(|d| std::cmp::Reverse(d.version))
        {
            found.push(Finding::ImageOlderThanDaemon(i.clone(), v, newer.clone()));
        }
    }
    found
}

/// The refusal's text: each finding by host, then the keys to change.
pub fn refusal(command: &str, inventory: &str, configured: Release, found: &[Finding]) -> String {
    let mut by_host: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut newest: Option<Release> = None;
    let mut image_wrong = false;
    for f in found {
        let (host, line) = match f {
            Finding::DaemonRelease(d) => {
                newest = newest.max(d.release);
                (
                    d.host.as_str(),
                    format!("{} runs another release", d.shown()),
                )
            }
            Finding::DaemonUnknown(d) => (
                d.host.as_str(),
                format!(
                    "{}: its data's release is not known either (the cluster did not answer)",
                    d.shown()
                ),
            ),
            Finding::ImageRelease(i, v) => {
                image_wrong = true;
                (
                    i.host.as_str(),
                    format!("image {} holds Ceph {v}, not {configured}", i.image),
                )
            }
            Finding::ImageOlderThanDaemon(i, v, d) => {
                image_wrong = true;
                (
                    i.host.as_str(),
                    format!(
                        "image {} holds Ceph {v}, older than {} (a downgrade)",
                        i.image,
                        d.shown()
                    ),
                )
            }
            Finding::ImageOlderThanData(i, v, key, r) => {
                image_wrong = true;
                newest = newest.max(Some(*r));
                (
                    i.host.as_str(),
                    format!(
                        "image {} holds Ceph {v}, older than the cluster's {key} {r} (its daemons could not read their data)",
                        i.image
                    ),
                )
            }
        };
        by_host.entry(host).or_default().push(line);
    }
    let mut text = format!(
        "refused: `cephalo {command}` never runs a release other than ceph_release ({configured}) \
         nor one older than the data:\n"
    );
    for (host, lines) in &by_host {
        for l in lines {
            let _ = writeln!(text, "  {host}: {l}");
        }
    }
    let older = found.iter().any(
        |f| matches!(f, Finding::DaemonRelease(d) if d.release.is_some_and(|r| r < configured)),
    );
    if older {
        let _ = writeln!(
            text,
            "To upgrade the daemons to {configured}: `cephalo upgrade -i {inventory} --to {configured}`."
        );
    }
    if let Some(r) = newest.filter(|r| *r > configured) {
        let _ = writeln!(text, "To keep what runs: set ceph_release: {r}.");
    }
    if image_wrong {
        let want = newest.filter(|r| *r > configured).unwrap_or(configured);
        let _ = writeln!(
            text,
            "Name a {want} image at least as new as the daemons: set ceph_image_tag (or \
             ceph_image_registry, ceph_image_namespace, ceph_image_name) in your globals.yml, \
             then `cephalo pull -i {inventory}`."
        );
    }
    if found.iter().any(|f| matches!(f, Finding::DaemonUnknown(_))) {
        let _ = writeln!(
            text,
            "`cephalo status -i {inventory}` shows each daemon's container and state."
        );
    }
    text.push_str("Nothing was changed.");
    text
}

/// The configured image on each of the hosts that run daemons.
async fn images(
    cluster: &Cluster,
    t: &dyn Transport,
    hosts: &[Endpoint],
) -> Result<Vec<HostImage>, Error> {
    let wanted: Vec<&crate::model::Host> = hosts
        .iter()
        .filter_map(|ep| cluster.host(&ep.name))
        .filter(|h| crate::tune::tuned(h).0)
        .collect();
    let found = futures::future::join_all(
        wanted
            .iter()
            .map(|h| image_version::of_image(cluster, h, t, &cluster.image)),
    )
    .await;
    let mut out = Vec::new();
    for (h, f) in wanted.iter().zip(found) {
        out.push(HostImage {
            host: h.name.clone(),
            image: cluster.image.clone(),
            found: f.map_err(|e| host_error(&e))?,
        });
    }
    Ok(out)
}

fn host_error(e: &TransportError) -> Error {
    if e.is_unreachable() || e.is_host_key() {
        Error::operation(e.clone())
    } else {
        Error::Refused {
            what: format!("{e}; nothing was changed"),
        }
    }
}

/// Refuses when a daemon on the engine's hosts runs another release than
/// the configured one, or the image a daemon would be made from is of
/// another release or older than the daemons and data it would run on
/// (exit 9); when a host cannot be asked (exit 5).
pub async fn guard(cluster: &Cluster, engine: &Engine, command: &str) -> Result<(), Error> {
    let t = engine.transport.as_ref();
    let hosts: Vec<Endpoint> = engine.hosts.values().cloned().collect();
    let (per_host, floor) = futures::join!(running(cluster, t, &hosts), floor(cluster, t));
    if let Some((_, e)) = unknown(&per_host).first() {
        return Err(host_error(e));
    }
    let daemons = reached(&per_host);
    let images = images(cluster, t, &hosts).await?;
    let mut found = judge(cluster.release, &daemons, &images, floor);
    // A daemon the cluster's maps could not judge: the configured image,
    // its id unchanged, is the configured release.
    let mut kept = Vec::new();
    for f in found.drain(..) {
        if let Finding::DaemonUnknown(d) = &f
            && let Some(h) = cluster.host(&d.host)
            && let Ok(Present::Present {
                image,
                image_id,
                image_now: Some(now),
                ..
            }) = containers::inspect(t, &Endpoint::of(h), h.engine, &d.container).await
            && image == cluster.image
            && now == image_id
        {
            continue;
        }
        kept.push(f);
    }
    if kept.is_empty() {
        return Ok(());
    }
    let inventory = cluster.files.inventory.display().to_string();
    Err(Error::WrongRelease {
        what: refusal(command, &inventory, cluster.release, &kept),
    })
}
