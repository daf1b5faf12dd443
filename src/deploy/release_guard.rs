//! The rule that `deploy`, `reconfigure` and `tune` never change the
//! release of a running daemon: before any change, the Ceph version of
//! every daemon container running on the selected hosts is read from the
//! container itself (`ceph --version` inside it), and a release other than
//! the configured one refuses the run (exit 7, nothing changed), naming
//! the daemons and their versions and pointing to `cephalo upgrade`. A
//! fresh cluster and new daemons pass. Reads only; changes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ceph::{CephVersion, parse_version};
use crate::containers::{self, Present};
use crate::engine::Engine;
use crate::error::Error;
use crate::model::Cluster;
use crate::release::Release;
use crate::transport::{Endpoint, Transport};

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

/// Reads the daemons that run on one host. A host that cannot be asked
/// (unreachable, no engine) shows none: the run itself reports it.
async fn on_host(cluster: &Cluster, t: &dyn Transport, ep: &Endpoint) -> Vec<RunningDaemon> {
    let Some(h) = cluster.host(&ep.name) else {
        return Vec::new();
    };
    let Ok(names) = containers::running_daemons(t, ep, h.engine).await else {
        return Vec::new();
    };
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
                        d.why = format!("no release cephalo knows has major version {}", v.major);
                    }
                }
                None => d.why = format!("`ceph --version` printed {text:?}"),
            },
            Err(e) if e.is_unreachable() => continue,
            Err(e) => d.why = e.to_string(),
        }
        if d.version.is_none() {
            // A container that cannot be asked (restarting) runs what its
            // image holds: the configured image, its id unchanged, is the
            // configured release.
            if let Ok(Present::Present {
                image,
                image_id,
                image_now: Some(now),
                ..
            }) = containers::inspect(t, ep, h.engine, &d.container).await
                && image == cluster.image
                && now == image_id
            {
                d.release = Some(cluster.release);
            }
        }
        found.push(d);
    }
    found
}

/// The daemons running on the given hosts, host by host in parallel.
pub async fn running(
    cluster: &Cluster,
    t: &dyn Transport,
    hosts: &[Endpoint],
) -> Vec<RunningDaemon> {
    futures::future::join_all(hosts.iter().map(|ep| on_host(cluster, t, ep)))
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The daemons that do not run the configured release (or whose version
/// could not be read).
pub fn mismatched(configured: Release, daemons: &[RunningDaemon]) -> Vec<&RunningDaemon> {
    daemons
        .iter()
        .filter(|d| d.release != Some(configured))
        .collect()
}

/// The refusal's text: the daemons by host, and the way forward.
pub fn refusal(
    command: &str,
    inventory: &str,
    configured: Release,
    off: &[&RunningDaemon],
) -> String {
    let mut by_host: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in off {
        by_host.entry(&d.host).or_default().push(d.shown());
    }
    let mut text = format!(
        "refused: ceph_release is {configured}, but {} running daemon(s) run another release:\n",
        off.len()
    );
    for (host, daemons) in &by_host {
        let _ = writeln!(text, "  {host}: {}", daemons.join(", "));
    }
    let releases: Vec<Release> = off.iter().filter_map(|d| d.release).collect();
    let older = releases.iter().any(|r| *r < configured);
    let newest = releases.iter().max().copied();
    let _ = write!(
        text,
        "`cephalo {command}` never changes the release of a running daemon."
    );
    if older || releases.is_empty() {
        let _ = write!(
            text,
            " To upgrade: `cephalo upgrade -i {inventory} --to {configured}`."
        );
    }
    if let Some(r) = newest.filter(|r| *r != configured) {
        let _ = write!(text, " To keep what runs: set ceph_release: {r}.");
    }
    text.push_str(" Nothing was changed.");
    text
}

/// Refuses (exit 7) when a daemon running on the engine's hosts runs
/// another release than the configured one.
pub async fn guard(cluster: &Cluster, engine: &Engine, command: &str) -> Result<(), Error> {
    let hosts: Vec<Endpoint> = engine.hosts.values().cloned().collect();
    let daemons = running(cluster, engine.transport.as_ref(), &hosts).await;
    let off = mismatched(cluster.release, &daemons);
    if off.is_empty() {
        return Ok(());
    }
    let inventory = cluster.files.inventory.display().to_string();
    Err(Error::Refused {
        what: refusal(command, &inventory, cluster.release, &off),
    })
}
