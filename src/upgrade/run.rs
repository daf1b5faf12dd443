//! `cephalo upgrade` from start to end, below the command line: read what
//! runs where, choose the source release, make the plan, take the lock,
//! run the steps through the engine with the journal, restore the flags
//! when a step fails, and say where the upgrade stands (`--status`) or
//! stop it consistently (`--abort`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::exec::{self, Bounds, Upgrade};
use super::journal::{self, Journal, Lock, State};
use super::layout::{DaemonType, Layout};
use crate::ceph::ceph_out;
use crate::deploy::release_guard::{self, RunningDaemon};
use crate::engine::{Engine, Recap};
use crate::model::Cluster;
use crate::release::Release;
use crate::transport::{Endpoint, Transport, TransportError};

/// What runs on the cluster's hosts now.
pub struct Live {
    /// The daemons of the hosts that answered.
    pub daemons: Vec<RunningDaemon>,
    /// The hosts that could not be asked, and why: unknown, never empty.
    pub unknown: Vec<(String, TransportError)>,
    pub layout: Layout,
}

/// Reads every host's running daemons and the release each runs, and the
/// layout the plan is made from: OSD ids per host from the CRUSH map (so a
/// stopped or half-replaced OSD is still upgraded), and from the OSD
/// containers that run.
pub async fn live(cluster: &Cluster, engine: &Engine) -> Live {
    let hosts: Vec<Endpoint> = engine.hosts.values().cloned().collect();
    let per_host = release_guard::running(cluster, engine.transport.as_ref(), &hosts).await;
    let daemons = release_guard::reached(&per_host);
    let unknown = release_guard::unknown(&per_host)
        .into_iter()
        .map(|(h, e)| (h.to_string(), e.clone()))
        .collect();
    let mut osd_ids: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    if let Ok(tree) =
        crate::ceph::ceph_json(cluster, engine.transport.as_ref(), &["osd", "tree"]).await
    {
        for (host, ids) in osds_by_host(&tree) {
            if cluster.host(&host).is_some() {
                osd_ids.insert(host, ids);
            }
        }
    }
    for d in &daemons {
        if let Some(id) = d
            .container
            .strip_prefix("ceph_osd_")
            .and_then(|i| i.parse().ok())
        {
            let ids = osd_ids.entry(d.host.clone()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
                ids.sort_unstable();
            }
        }
    }
    let mut layout = Layout::from_cluster(cluster, &osd_ids);
    for h in &mut layout.hosts {
        let running = |container: &str| {
            daemons
                .iter()
                .find(|d| d.host == h.name && d.container == container)
                .and_then(|d| d.release)
        };
        for m in &mut h.mons {
            m.running = running("ceph_mon");
        }
        for m in &mut h.mgrs {
            m.running = running("ceph_mgr");
        }
        for m in &mut h.mdss {
            m.running = running("ceph_mds");
        }
        for m in &mut h.rgws {
            m.running = running("ceph_rgw");
        }
        for o in &mut h.osds {
            o.running = running(&format!("ceph_osd_{}", o.id));
        }
    }
    Live {
        daemons,
        unknown,
        layout,
    }
}

/// The hosts whose daemons could not be read: among the ones the upgrade
/// acts on (`selected`), a refusal (exit 5) naming each and why, with the
/// way on (`--limit` without them); outside them, one note each: their
/// daemons are left out, so the upgrade does not finish (the plan keeps
/// `require-osd-release` and the release's last steps for a later run).
pub fn unreached(
    live: &Live,
    selected: &[String],
    inventory: &Path,
) -> Result<Vec<String>, String> {
    let (inside, outside): (Vec<_>, Vec<_>) =
        live.unknown.iter().partition(|(h, _)| selected.contains(h));
    if !inside.is_empty() {
        let mut text = String::from("cannot read which daemons run on:\n");
        for (h, e) in &inside {
            text += &format!("  {h}: {}\n", crate::ceph::reach::why(e));
        }
        let names: Vec<&str> = inside.iter().map(|(h, _)| h.as_str()).collect();
        let one = names.len() == 1;
        text += &format!(
            "nothing was changed. Bring {} back (`cephalo run -i {} --limit {} -- true` tries)",
            if one { "it" } else { "them" },
            inventory.display(),
            names.join(","),
        );
        if live.unknown.len() < live.layout.hosts.len() {
            text += &format!(
                ", or leave {} out with --limit '!{}' (the upgrade then does not finish while {} \
                 daemons are not seen on the target)",
                if one { "it" } else { "them" },
                names.join(":!"),
                if one { "its" } else { "their" },
            );
        }
        return Err(text);
    }
    Ok(outside
        .iter()
        .map(|(h, e)| {
            format!(
                "note: {h} could not be asked ({}): its daemons are left out, and the upgrade does not finish (require-osd-release and the release's last steps wait for a run that sees them on the target)",
                crate::ceph::reach::why(e)
            )
        })
        .collect())
}

/// The OSD ids under each host bucket of `ceph osd tree`.
pub fn osds_by_host(tree: &serde_json::Value) -> BTreeMap<String, Vec<u32>> {
    let mut out = BTreeMap::new();
    for n in tree["nodes"].as_array().into_iter().flatten() {
        if n["type"] == "host"
            && let Some(name) = n["name"].as_str()
        {
            let mut ids: Vec<u32> = n["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_i64())
                .filter(|c| *c >= 0)
                .map(|c| c as u32)
                .collect();
            ids.sort_unstable();
            out.insert(name.to_string(), ids);
        }
    }
    out
}

/// The release the cluster upgrades from: the oldest any daemon runs.
pub fn source_release(daemons: &[RunningDaemon]) -> Option<Release> {
    daemons.iter().filter_map(|d| d.release).min()
}

/// `ceph config-key get KEY`: None when the cluster says there is no such
/// key, an error when it did not answer.
async fn config_key_known(
    cluster: &Cluster,
    t: &dyn Transport,
    key: &str,
) -> Result<Option<String>, TransportError> {
    match ceph_out(cluster, t, &["config-key", "get", key], false).await {
        Ok(v) => Ok(Some(v)),
        Err(TransportError::Failed { stderr_tail, .. })
            if crate::ceph::reach::ceph_error(&stderr_tail).is_some() =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `ceph config-key get KEY`, None when the key is absent or the mons
/// cannot be asked.
async fn config_key(cluster: &Cluster, t: &dyn Transport, key: &str) -> Option<String> {
    config_key_known(cluster, t, key).await.ok().flatten()
}

/// The upgrade journal the mons hold, if any.
pub async fn remote_journal(cluster: &Cluster, t: &dyn Transport) -> Option<Journal> {
    Journal::from_line(&config_key(cluster, t, &journal::journal_key(&cluster.name)).await?)
}

/// Whether the mons' copy of the journal could be read: None when it
/// could, else why not (then no copy there does not mean no upgrade).
pub async fn remote_journal_unknown(cluster: &Cluster, t: &dyn Transport) -> Option<String> {
    config_key_known(cluster, t, &journal::journal_key(&cluster.name))
        .await
        .err()
        .map(|e| e.to_string())
}

/// The operation lock the mons hold, if any.
pub async fn remote_lock(cluster: &Cluster, t: &dyn Transport) -> Option<Lock> {
    serde_json::from_str(&config_key(cluster, t, &journal::lock_key(&cluster.name)).await?).ok()
}

/// Takes the cluster's operation lock for `operation`; refused when
/// another machine holds it, unless `break_lock`.
pub async fn take_lock(
    cluster: &Cluster,
    t: &dyn Transport,
    operation: &str,
    break_lock: bool,
) -> Result<Option<Lock>, String> {
    let broken = match remote_lock(cluster, t).await {
        Some(l) if !l.is_ours() && !break_lock => {
            return Err(format!(
                "the cluster's operation lock is {}; if that run is gone, run again with --break-lock",
                l.describe()
            ));
        }
        Some(l) if !l.is_ours() => Some(l),
        _ => None,
    };
    let mine = serde_json::to_string(&Lock::mine(operation)).unwrap_or_default();
    ceph_out(
        cluster,
        t,
        &[
            "config-key",
            "set",
            &journal::lock_key(&cluster.name),
            &mine,
        ],
        false,
    )
    .await
    .map_err(|e| format!("cannot take the operation lock: {e}"))?;
    Ok(broken)
}

/// Gives the lock back (when this machine holds it).
pub async fn release_lock(cluster: &Cluster, t: &dyn Transport) {
    if remote_lock(cluster, t).await.is_some_and(|l| l.is_ours()) {
        let _ = ceph_out(
            cluster,
            t,
            &["config-key", "rm", &journal::lock_key(&cluster.name)],
            false,
        )
        .await;
    }
}

/// The journal of an upgrade not finished, from this machine or the mons
/// (the newer of the two), if any.
pub async fn unfinished(
    cluster: &Cluster,
    t: Option<&dyn Transport>,
    inventory_dir: &Path,
) -> Result<Option<Journal>, String> {
    let local = Journal::load(&Journal::path(inventory_dir, &cluster.name))?;
    let remote = match t {
        Some(t) => remote_journal(cluster, t).await,
        None => None,
    };
    let newest = match (local, remote) {
        (Some(l), Some(r)) => Some(if r.updated > l.updated { r } else { l }),
        (l, r) => l.or(r),
    };
    Ok(newest.filter(|j| j.state == State::InProgress))
}

/// The refusal a deploy, reconfigure or tune meets while an upgrade is
/// unfinished.
pub fn refusal(j: &Journal, inventory: &Path) -> String {
    if let Some(cmd) = &j.resume {
        return format!(
            "{}; finish it with `{cmd}`, or stop it with `{cmd} --abort` (flags restored, daemons left as they are)",
            j.summary(None)
        );
    }
    format!(
        "{}; finish it with `cephalo upgrade -i {} --to {}`, or stop it with `cephalo upgrade -i {} --to {} --abort` (flags restored, daemons left as they are)",
        j.summary(None),
        inventory.display(),
        j.to,
        inventory.display(),
        j.to
    )
}

/// What a run of the upgrade came to.
pub struct Outcome {
    pub recap: Recap,
    /// The flags were restored after a failure.
    pub restored: Option<Recap>,
    pub upgrade: Arc<Upgrade>,
}

/// Makes the running upgrade from a plan and its journal.
pub fn upgrade(
    cluster: Arc<Cluster>,
    plan: super::UpgradePlan,
    journal: Journal,
    inventory_dir: &Path,
    reporter: Arc<crate::engine::Reporter>,
) -> Arc<Upgrade> {
    Arc::new(Upgrade {
        bounds: Bounds::of(&cluster),
        journal_path: Journal::path(inventory_dir, &cluster.name),
        inventory_dir: inventory_dir.to_path_buf(),
        cluster,
        plan: Arc::new(plan),
        journal: Mutex::new(journal),
        said: Mutex::new(Vec::new()),
        upgraded: Mutex::new(Vec::new()),
        reporter,
    })
}

/// Runs the steps still to do; on a failure restores the flags. An
/// interrupt (Ctrl-C, SIGTERM) stops at once and restores them too.
pub async fn execute(up: Arc<Upgrade>, engine: &Engine) -> Outcome {
    up.journal(|j| {
        j.state = State::InProgress;
        j.holder = journal::holder();
    });
    let _ = up.save();
    exec::mirror(&up, engine.transport.as_ref()).await;
    let plan = exec::engine_plan(&up);
    let interrupted = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
    };
    let recap = tokio::select! {
        r = engine.run(&plan) => Some(r),
        _ = interrupted => None,
    };
    let (recap, failed) = match recap {
        Some(r) => {
            let failed = r.any_failed() || r.any_unreachable();
            (r, failed)
        }
        None => {
            up.journal(|j| j.errors.push("interrupted".into()));
            (Recap::default(), true)
        }
    };
    let restore = engine.run(&exec::restore_plan(&up)).await;
    let restored = if failed {
        Some(restore)
    } else if restore.any_failed() || restore.any_unreachable() {
        up.journal(|j| j.errors.push("the flags could not be restored".into()));
        Some(restore)
    } else {
        up.journal(|j| j.state = State::Done);
        None
    };
    let _ = up.save();
    exec::mirror(&up, engine.transport.as_ref()).await;
    if !failed {
        release_lock(&up.cluster, engine.transport.as_ref()).await;
    }
    Outcome {
        recap,
        restored,
        upgrade: up,
    }
}

/// `--abort`: restores the flags, records the upgrade as aborted and gives
/// the lock back; the daemons stay as they are (a later upgrade finishes).
pub async fn abort(up: Arc<Upgrade>, engine: &Engine) -> Recap {
    let recap = engine.run(&exec::restore_plan(&up)).await;
    up.journal(|j| j.state = State::Aborted);
    let _ = up.save();
    exec::mirror(&up, engine.transport.as_ref()).await;
    release_lock(&up.cluster, engine.transport.as_ref()).await;
    recap
}

/// Per daemon type, how many daemons run each release: for `--status`.
pub fn versions_table(daemons: &[RunningDaemon]) -> String {
    let mut rows: BTreeMap<(DaemonType, String), Vec<String>> = BTreeMap::new();
    for d in daemons {
        let kind = match d.container.as_str() {
            "ceph_mon" => DaemonType::Mon,
            "ceph_mgr" => DaemonType::Mgr,
            "ceph_mds" => DaemonType::Mds,
            "ceph_rgw" => DaemonType::Rgw,
            _ => DaemonType::Osd,
        };
        let version = d
            .version
            .map(|v| v.to_string())
            .or(d.release.map(|r| r.to_string()))
            .unwrap_or_else(|| "unknown".into());
        rows.entry((kind, version)).or_default().push(d.daemon());
    }
    rows.into_iter()
        .map(|((kind, version), names)| {
            format!("  {:<4} {version:<28} {}\n", kind.name(), names.join(" "))
        })
        .collect()
}

/// The journal folder next to an inventory.
pub fn journal_dir(inventory_dir: &Path) -> PathBuf {
    inventory_dir.join("upgrade")
}

/// Turns a transport error into a line for people.
pub fn why(e: &TransportError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ceph::parse_version;

    fn d(host: &str, container: &str, v: &str) -> RunningDaemon {
        let version = parse_version(v);
        RunningDaemon {
            host: host.into(),
            container: container.into(),
            version,
            release: version.and_then(|v| v.release()),
            why: String::new(),
        }
    }

    #[test]
    fn the_source_is_the_oldest_release_running() {
        let ds = [
            d("a", "ceph_mon", "ceph version 16.2.15 (x) pacific (stable)"),
            d(
                "a",
                "ceph_osd_0",
                "ceph version 14.2.21 (x) nautilus (stable)",
            ),
        ];
        assert_eq!(source_release(&ds), Some(Release::Nautilus));
        assert_eq!(source_release(&[]), None);
        let t = versions_table(&ds);
        assert!(t.contains("mon  16.2.15"), "{t}");
        assert!(t.contains("osd.0"), "{t}");
    }
}
