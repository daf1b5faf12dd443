//! The deploy steps, each an engine action that compares what a host has
//! with what it should have and changes only the difference.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cephx::Secret;
use crate::containers::{self, Ensured, checked, oneoff_argv, spec_hash};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::facts;
use crate::facts::osd_label;
use crate::files::{self, Change, RemoteFile};
use crate::model::{Cluster, Host, ObjectStore, Role};
use crate::render::{self, CEPH_OWNER, Secrets};
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, run};

type StepResult = Result<bool, TransportError>;

fn outcome(r: StepResult) -> HostOutcome {
    HostOutcome::from_result(r)
}

/// The inventory host behind an endpoint.
pub(crate) fn host<'a>(cluster: &'a Cluster, ep: &Endpoint) -> Result<&'a Host, TransportError> {
    cluster.host(&ep.name).ok_or_else(|| TransportError::Other {
        host: ep.name.clone(),
        reason: "not a Ceph host of the inventory".into(),
    })
}

/// The mon whose container runs the cluster's `ceph` commands: the first
/// in the inventory.
pub fn first_mon(cluster: &Cluster) -> Option<&Host> {
    cluster.hosts_with(Role::Mon).next()
}

fn ceph_cmd(cluster: &Cluster, mon: &Host, args: &[&str]) -> Command {
    let mut argv: Vec<String> = vec![
        mon.engine.command().into(),
        "exec".into(),
        "ceph_mon".into(),
        "ceph".into(),
        "--cluster".into(),
        cluster.name.clone(),
        "--connect-timeout".into(),
        "15".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    Command::new(argv)
        .become_root(mon.connection.become_root)
        .timeout(Duration::from_secs(60))
}

/// Runs `ceph ARGS` on the first mon and returns its output.
pub async fn ceph_out(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
    secret: bool,
) -> Result<String, TransportError> {
    let mon = first_mon(cluster).ok_or_else(|| TransportError::Other {
        host: "-".into(),
        reason: "the cluster has no mon".into(),
    })?;
    let mut cmd = ceph_cmd(cluster, mon, args);
    if secret {
        cmd = cmd.secret();
    }
    Ok(checked(t, &mon.endpoint(), &cmd).await?.stdout_text())
}

/// `ceph ARGS -f json` on the first mon.
pub async fn ceph_json(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
) -> Result<serde_json::Value, TransportError> {
    let mon = first_mon(cluster).ok_or_else(|| TransportError::Other {
        host: "-".into(),
        reason: "the cluster has no mon".into(),
    })?;
    ceph_json_on(cluster, t, mon, args).await
}

/// `ceph ARGS -f json` through the given mon's container.
pub async fn ceph_json_on(
    cluster: &Cluster,
    t: &dyn Transport,
    mon: &Host,
    args: &[&str],
) -> Result<serde_json::Value, TransportError> {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let text = checked(t, &mon.endpoint(), &ceph_cmd(cluster, mon, &a))
        .await?
        .stdout_text();
    serde_json::from_str(&text).map_err(|e| TransportError::Other {
        host: mon.name.clone(),
        reason: format!(
            "`ceph {}` printed no JSON ({e}): {}",
            args.join(" "),
            text.chars().take(200).collect::<String>()
        ),
    })
}

fn sh(h: &Host, script: String) -> Command {
    Command::shell(script)
        .become_root(h.connection.become_root)
        .timeout(Duration::from_secs(300))
}

/// The rendered ceph.conf of a host: daemons depend on it.
fn conf_of(cluster: &Cluster, h: &Host) -> Result<String, TransportError> {
    render::ceph_conf(cluster, h).map_err(|e| TransportError::Other {
        host: h.name.clone(),
        reason: e.to_string(),
    })
}

fn spec_of(
    cluster: &Cluster,
    h: &Host,
    role: Role,
    id: &str,
) -> Result<render::ContainerSpec, TransportError> {
    render::container_spec(cluster, h, role, id).map_err(|e| TransportError::Other {
        host: h.name.clone(),
        reason: e.to_string(),
    })
}

/// Settings a running daemon follows from the cluster itself (the monmap):
/// a change of them in ceph.conf, such as a mon added, restarts nothing.
const FOLLOWED_LIVE: &[&str] = &["mon_host", "mon_initial_members"];

/// The part of a host's ceph.conf one daemon reads: `[global]`, its type's
/// section and its own (`[osd]`, `[osd.3]`; `[client]` and
/// `[client.rgw.ID]` for rgw), without what it follows live. A change
/// elsewhere does not restart it.
pub fn daemon_conf(conf: &str, role: Role, id: &str) -> String {
    let (kind, name) = match role {
        Role::Rgw => ("client".to_string(), format!("client.rgw.{id}")),
        other => (other.name().to_string(), format!("{}.{id}", other.name())),
    };
    let mut problems = crate::error::Problems::default();
    let parsed = render::CephConf::parse(std::path::Path::new("ceph.conf"), conf, &mut problems);
    let kept = render::CephConf {
        sections: parsed
            .sections
            .into_iter()
            .filter(|s| s.name == "global" || s.name == kind || s.name == name)
            .map(|mut s| {
                s.options
                    .retain(|(k, _)| !FOLLOWED_LIVE.contains(&render::normalize_key(k).as_str()));
                s
            })
            .collect(),
    };
    kept.to_text("")
}

/// `reconfigure` found a daemon that was never deployed.
fn not_deployed(h: &Host, what: &str) -> TransportError {
    TransportError::Other {
        host: h.name.clone(),
        reason: format!(
            "the {what} of {} was never deployed; run `cephalo deploy` (reconfigure only changes what exists)",
            h.name
        ),
    }
}

/// The `cephalo.spec` label a daemon's container must carry: the hash of
/// its spec and of the part of ceph.conf it reads.
pub fn wanted_hash(
    cluster: &Cluster,
    h: &Host,
    role: Role,
    id: &str,
) -> Result<String, TransportError> {
    let spec = spec_of(cluster, h, role, id)?;
    let conf = daemon_conf(&conf_of(cluster, h)?, role, id);
    Ok(spec_hash(&spec, &[&conf]))
}

/// Starts (or keeps) a daemon's container; a change of its spec or of the
/// config it reads recreates it.
async fn ensure_daemon(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    role: Role,
    id: &str,
) -> StepResult {
    let spec = spec_of(cluster, h, role, id)?;
    let hash = wanted_hash(cluster, h, role, id)?;
    let done = containers::ensure(t, &h.endpoint(), h.engine, &spec, &hash).await?;
    Ok(done != Ensured::Unchanged)
}

// ---------------------------------------------------------------- config

/// Folders, ceph.conf and keyrings on every host.
pub struct PushConfig {
    pub cluster: Arc<Cluster>,
}

impl Action for PushConfig {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { outcome(push_config(&self.cluster, ep, t).await) })
    }
}

async fn push_config(cluster: &Cluster, ep: &Endpoint, t: &dyn Transport) -> StepResult {
    let h = host(cluster, ep)?;
    let ceph_dirs = [
        "/var/lib/ceph",
        "/var/lib/ceph/tmp",
        "/var/lib/ceph/mon",
        "/var/lib/ceph/mgr",
        "/var/lib/ceph/osd",
        "/var/lib/ceph/mds",
        "/var/lib/ceph/radosgw",
        "/var/log/ceph",
        "/var/run/ceph",
    ];
    let root_dirs = [
        "/etc/ceph",
        "/var/lib/ceph/bootstrap-osd",
        "/var/lib/ceph/bootstrap-mds",
        "/var/lib/ceph/bootstrap-mgr",
        "/var/lib/ceph/bootstrap-rgw",
    ];
    let script = format!(
        "for d in {} {}; do [ -d \"$d\" ] || {{ mkdir -p \"$d\" && echo changed; }}; done; \
         for d in {}; do [ \"$(stat -c %u:%g \"$d\")\" = {CEPH_OWNER} ] || {{ chown {CEPH_OWNER} \"$d\" && echo changed; }}; done; true",
        ceph_dirs.join(" "),
        root_dirs.join(" "),
        ceph_dirs.join(" ")
    );
    let out = checked(t, ep, &sh(h, script)).await?;
    let mut changed = out.stdout_text().contains("changed");
    let rendered =
        render::render_host(cluster, h, Secrets::Include).map_err(|e| TransportError::Other {
            host: h.name.clone(),
            reason: e.to_string(),
        })?;
    for f in &rendered.files {
        let rf = RemoteFile {
            path: &f.path,
            content: f.content.as_bytes(),
            mode: f.mode,
            owner: f.owner.as_deref(),
        };
        changed |= files::put(t, ep, &rf, ep.connection.become_root).await? == Change::Changed;
    }
    Ok(changed)
}

// ---------------------------------------------------------------- mons

/// mkfs of every mon that has no data yet, then its container. With no mon
/// data anywhere, all mons start from one monmap holding them all; a mon
/// added to a running cluster starts from the cluster's monmap.
pub struct MonBootstrap {
    pub cluster: Arc<Cluster>,
    /// Whether any mon had data when the step began (decided once, before
    /// the first mkfs): none means a new cluster from one monmap.
    pub existing: tokio::sync::OnceCell<bool>,
    /// False for `reconfigure`: a mon without data is an error, not made.
    pub create: bool,
}

impl Action for MonBootstrap {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let existing = self
                .existing
                .get_or_try_init(|| async {
                    for m in self.cluster.hosts_with(Role::Mon) {
                        if has_mon_data(&self.cluster, m, t).await? {
                            return Ok::<bool, TransportError>(true);
                        }
                    }
                    Ok(false)
                })
                .await;
            match existing {
                Ok(existing) => {
                    outcome(mon_bootstrap(&self.cluster, ep, t, ctx, *existing, self.create).await)
                }
                Err(e) => outcome(Err(e)),
            }
        })
    }
}

fn mon_dir(cluster: &Cluster, id: &str) -> String {
    format!("/var/lib/ceph/mon/{}-{id}", cluster.name)
}

async fn has_mon_data(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
) -> Result<bool, TransportError> {
    let out = run(
        t,
        &h.endpoint(),
        &sh(h, format!("test -e {}/keyring", mon_dir(cluster, &h.name))),
    )
    .await?;
    Ok(out.success())
}

async fn mon_bootstrap(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    existing: bool,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let c = &cluster.name;
    let dir = mon_dir(cluster, &h.name);
    let mut changed = false;
    let fresh = !has_mon_data(cluster, h, t).await?;
    if fresh && !create {
        return Err(not_deployed(h, "mon"));
    }
    if fresh {
        let monmap = format!("/var/lib/ceph/tmp/{c}.monmap");
        // A cluster that existed before this run: join it through a
        // running mon.
        let mut running = None;
        for other in cluster
            .hosts_with(Role::Mon)
            .filter(|o| existing && o.name != h.name)
        {
            let present =
                containers::inspect(t, &other.endpoint(), other.engine, "ceph_mon").await?;
            if matches!(present, containers::Present::Present { running: true, .. })
                && has_mon_data(cluster, other, t).await?
            {
                running = Some(other);
                break;
            }
        }
        let spec = spec_of(cluster, h, Role::Mon, &h.name)?;
        if existing && running.is_none() {
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: "the cluster has mon data but no running mon to join; start the existing mons first".into(),
            });
        }
        match running {
            Some(other) => {
                let o_ep = other.endpoint();
                let cmd = Command::new([
                    other.engine.command(),
                    "exec",
                    "ceph_mon",
                    "ceph",
                    "--cluster",
                    c,
                    "--connect-timeout",
                    "30",
                    "mon",
                    "getmap",
                    "-o",
                    &monmap,
                ])
                .become_root(other.connection.become_root);
                checked(t, &o_ep, &cmd).await?;
                let map = files::get(t, &o_ep, &monmap, other.connection.become_root).await?;
                files::put(
                    t,
                    ep,
                    &RemoteFile {
                        path: &monmap,
                        content: &map,
                        mode: 0o644,
                        owner: Some(CEPH_OWNER),
                    },
                    ep.connection.become_root,
                )
                .await?;
            }
            None => {
                let mut args: Vec<String> = vec![
                    "monmaptool".into(),
                    "--create".into(),
                    "--clobber".into(),
                    "--fsid".into(),
                    cluster.fsid.to_string(),
                ];
                for m in cluster.hosts_with(Role::Mon) {
                    let ip = m.public_address.map(|a| a.to_string()).unwrap_or_default();
                    if cluster.release.has_msgr2() {
                        args.extend([
                            "--addv".into(),
                            m.name.clone(),
                            format!("[v2:{ip}:3300,v1:{ip}:6789]"),
                        ]);
                    } else {
                        args.extend(["--add".into(), m.name.clone(), format!("{ip}:6789")]);
                    }
                }
                args.push(monmap.clone());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let cmd = Command::new(oneoff_argv(h.engine, &spec, &refs))
                    .become_root(ep.connection.become_root)
                    .on_line(ctx.output_to_log(&h.name));
                checked(t, ep, &cmd.timeout(Duration::from_secs(300))).await?;
            }
        }
        checked(
            t,
            ep,
            &sh(
                h,
                // No keyring: no mkfs finished here (one killed half way
                // leaves a partial store); start it afresh.
                format!("rm -rf {dir} && mkdir -p {dir} && chown {CEPH_OWNER} {dir} {monmap}"),
            ),
        )
        .await?;
        let keyring = format!("/var/lib/ceph/tmp/{c}.mon.keyring");
        let mkfs = [
            "ceph-mon",
            "--cluster",
            c,
            "--mkfs",
            "-i",
            &h.name,
            "--monmap",
            &monmap,
            "--keyring",
            &keyring,
            "--setuser",
            "ceph",
            "--setgroup",
            "ceph",
        ];
        let cmd = Command::new(oneoff_argv(h.engine, &spec, &mkfs))
            .become_root(ep.connection.become_root)
            .timeout(Duration::from_secs(300));
        checked(t, ep, &cmd).await?;
        changed = true;
    }
    let restarted = ensure_daemon(cluster, h, t, Role::Mon, &h.name).await?;
    if restarted && !fresh {
        // A mon of a running cluster was restarted: it must be back in
        // quorum before the next one goes down.
        wait_in_quorum(cluster, t, &h.name, ctx).await?;
    }
    Ok(changed || restarted)
}

/// Asks `probe` every two seconds until it answers `Ok(Some(_))`, for at
/// most `limit`; every other answer (a status, or an error of a cluster
/// still starting) is shown as the step's progress, and the last one is in
/// the error when time runs out.
async fn wait_for<T, F, Fut>(
    ctx: &StepContext,
    host: &str,
    what: &str,
    limit: Duration,
    mut probe: F,
) -> Result<T, TransportError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Result<T, String>, TransportError>>,
{
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < limit {
        match probe().await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(status)) => last = status,
            Err(e) => last = e.to_string(),
        }
        ctx.reporter
            .output_line(&ctx.step, host, crate::transport::Stream::Stdout, &last);
        let paused = crate::engine::report::now_ms() as u64;
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctx.reporter.waited(&ctx.step, host, paused, 1000);
    }
    Err(TransportError::Other {
        host: host.to_string(),
        reason: format!("{what} within {} s ({last})", limit.as_secs()),
    })
}

/// Whether every placement group is active+clean (scrubbing counts as
/// clean): Ok(()) or the counts by state.
async fn pgs_clean(
    cluster: &Cluster,
    t: &dyn Transport,
) -> Result<Result<(), String>, TransportError> {
    let v = ceph_json(cluster, t, &["pg", "stat"]).await?;
    // Pacific nests the summary under pg_summary; older releases do not.
    let summary = if v["pg_summary"].is_object() {
        &v["pg_summary"]
    } else {
        &v
    };
    let total = summary["num_pgs"].as_u64().unwrap_or(0);
    let states: Vec<(String, u64)> = summary["num_pg_by_state"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("?").to_string(),
                s["num"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    Ok(all_clean(total, &states))
}

/// The placement groups as `ceph status` counts them (`pgmap`): all
/// active+clean, or the counts by state.
fn pgmap_clean(status: &serde_json::Value) -> Result<(), String> {
    let pgmap = &status["pgmap"];
    let states: Vec<(String, u64)> = pgmap["pgs_by_state"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["state_name"].as_str().unwrap_or("?").to_string(),
                s["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    all_clean(pgmap["num_pgs"].as_u64().unwrap_or(0), &states)
}

/// Ok when every one of `total` placement groups is in an active+clean
/// state (scrubbing counts as clean); else the counts by state.
fn all_clean(total: u64, states: &[(String, u64)]) -> Result<(), String> {
    let is_clean = |n: &str| {
        let parts: Vec<&str> = n.split('+').collect();
        parts.contains(&"active")
            && parts.contains(&"clean")
            && parts
                .iter()
                .all(|p| *p == "active" || *p == "clean" || p.contains("scrub") || *p == "deep")
    };
    let clean: u64 = states
        .iter()
        .filter(|(n, _)| is_clean(n))
        .map(|(_, c)| c)
        .sum();
    if clean == total {
        Ok(())
    } else {
        Err(states
            .iter()
            .map(|(n, c)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "))
    }
}

/// Waits until every placement group is active+clean, after an OSD restart.
async fn wait_clean(
    cluster: &Cluster,
    t: &dyn Transport,
    host: &str,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    wait_for(
        ctx,
        host,
        "the placement groups were not all active+clean",
        Duration::from_secs(600),
        || pgs_clean(cluster, t),
    )
    .await
}

/// The mons in quorum now.
async fn quorum(cluster: &Cluster, t: &dyn Transport) -> Result<Vec<String>, TransportError> {
    let v = ceph_json(cluster, t, &["quorum_status"]).await?;
    Ok(v["quorum_names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect())
}

async fn wait_in_quorum(
    cluster: &Cluster,
    t: &dyn Transport,
    name: &str,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let what = format!("mon {name} did not rejoin the quorum");
    wait_for(ctx, name, &what, Duration::from_secs(180), || async {
        let names = quorum(cluster, t).await?;
        Ok(if names.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(format!("quorum: {}", names.join(", ")))
        })
    })
    .await
}

/// Waits until every inventory mon is in quorum.
pub struct WaitQuorum {
    pub cluster: Arc<Cluster>,
}

impl Action for WaitQuorum {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let want: Vec<String> = cluster
                .hosts_with(Role::Mon)
                .map(|h| h.name.clone())
                .collect();
            let r = wait_for(
                ctx,
                &ep.name,
                "the mons did not form a quorum",
                Duration::from_secs(180),
                || async {
                    let names = quorum(cluster, t).await?;
                    let missing: Vec<&str> = want
                        .iter()
                        .filter(|w| !names.contains(w))
                        .map(String::as_str)
                        .collect();
                    Ok(if missing.is_empty() {
                        Ok(false)
                    } else {
                        Err(format!(
                            "in quorum: {}; not yet: {}",
                            names.join(", "),
                            missing.join(", ")
                        ))
                    })
                },
            )
            .await;
            outcome(r)
        })
    }
}

// ---------------------------------------------------------------- mgr, mds, rgw

/// A keyed daemon (mgr, mds, rgw): its key from the cluster, then its
/// container.
pub struct Daemon {
    pub cluster: Arc<Cluster>,
    pub role: Role,
    /// False for `reconfigure`: a daemon without its key is an error.
    pub create: bool,
}

impl Action for Daemon {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(
            async move { outcome(daemon(&self.cluster, self.role, ep, t, ctx, self.create).await) },
        )
    }
}

/// Waits until a (re)started rgw answers HTTP on its port (an anonymous
/// request: 200 with the empty bucket list).
async fn rgw_answers(
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let port = h.settings.ceph_rgw_port;
    let probe = format!(
        "import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/', timeout=5).status)"
    );
    let cmd = Command::new([
        h.engine.command(),
        "exec",
        "ceph_rgw",
        "python3",
        "-c",
        &probe,
    ])
    .become_root(h.connection.become_root)
    .timeout(Duration::from_secs(30));
    let what = format!("rgw on {} did not answer on port {port}", h.name);
    wait_for(ctx, &h.name, &what, Duration::from_secs(180), || async {
        let out = run(t, ep, &cmd).await?;
        Ok(if out.success() && out.stdout_text().trim() == "200" {
            Ok(())
        } else {
            Err(format!("rgw port {port}: {}", out.stderr_tail(1).trim()))
        })
    })
    .await
}

/// The gid a mgr or mds is registered with in the cluster (a restarted
/// daemon registers again with a new one); None when it is not.
async fn registered_gid(
    cluster: &Cluster,
    t: &dyn Transport,
    role: Role,
    name: &str,
) -> Result<Option<u64>, TransportError> {
    let named = |d: &serde_json::Value| d["name"].as_str() == Some(name);
    Ok(match role {
        Role::Mgr => {
            let v = ceph_json(cluster, t, &["mgr", "dump"]).await?;
            if v["active_name"].as_str() == Some(name) && v["available"].as_bool() == Some(true) {
                v["active_gid"].as_u64()
            } else {
                v["standbys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| named(d))
                    .and_then(|d| d["gid"].as_u64())
            }
        }
        Role::Mds => {
            let v = ceph_json(cluster, t, &["fs", "dump"]).await?;
            let standby = v["standbys"].as_array().into_iter().flatten();
            let ranks = v["filesystems"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|f| {
                    f["mdsmap"]["info"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(_, d)| d)
                });
            standby
                .chain(ranks)
                .find(|d| named(d))
                .and_then(|d| d["gid"].as_u64())
        }
        _ => None,
    })
}

/// Entity, data folder and caps of a keyed daemon.
fn identity(cluster: &Cluster, role: Role, id: &str) -> (String, String, Vec<&'static str>) {
    let c = &cluster.name;
    match role {
        Role::Mgr => (
            format!("mgr.{id}"),
            format!("/var/lib/ceph/mgr/{c}-{id}"),
            vec![
                "mon",
                "allow profile mgr",
                "osd",
                "allow *",
                "mds",
                "allow *",
            ],
        ),
        Role::Mds => (
            format!("mds.{id}"),
            format!("/var/lib/ceph/mds/{c}-{id}"),
            vec![
                "mon",
                "allow profile mds",
                "osd",
                "allow rwx",
                "mds",
                "allow",
                "mgr",
                "allow profile mds",
            ],
        ),
        _ => (
            format!("client.rgw.{id}"),
            format!("/var/lib/ceph/radosgw/{c}-rgw.{id}"),
            vec!["mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"],
        ),
    }
}

async fn daemon(
    cluster: &Cluster,
    role: Role,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let (entity, dir, caps) = identity(cluster, role, &h.name);
    let keyring = format!("{dir}/keyring");
    let mut changed = false;
    let exists = run(t, ep, &sh(h, format!("test -s {keyring}")))
        .await?
        .success();
    if !exists && !create {
        return Err(not_deployed(h, role.name()));
    }
    if !exists {
        let mut args = vec!["auth", "get-or-create", entity.as_str()];
        args.extend(caps.iter().copied());
        let key = ceph_out(cluster, t, &args, true).await?;
        checked(
            t,
            ep,
            &sh(h, format!("mkdir -p {dir} && chown {CEPH_OWNER} {dir}")),
        )
        .await?;
        files::put(
            t,
            ep,
            &RemoteFile {
                path: &keyring,
                content: key.as_bytes(),
                mode: 0o600,
                owner: Some(CEPH_OWNER),
            },
            ep.connection.become_root,
        )
        .await?;
        changed = true;
    }
    // A mgr or mds that is (re)started is waited for until the cluster
    // has it again (a new gid), before the next host's is touched.
    let tracked = matches!(role, Role::Mgr | Role::Mds);
    let name = format!("ceph_{}", role.name());
    let now = containers::inspect(t, ep, h.engine, &name).await?;
    let want = wanted_hash(cluster, h, role, &h.name)?;
    let restarts =
        !matches!(&now, containers::Present::Present { running: true, hash } if *hash == want);
    let before = if tracked && restarts {
        registered_gid(cluster, t, role, &h.name).await?
    } else {
        None
    };
    if ensure_daemon(cluster, h, t, role, &h.name).await? {
        changed = true;
        if role == Role::Rgw {
            rgw_answers(h, ep, t, ctx).await?;
        }
        if tracked {
            let what = format!(
                "{} {} did not register with the cluster",
                role.name(),
                h.name
            );
            wait_for(ctx, &h.name, &what, Duration::from_secs(180), || async {
                let gid = registered_gid(cluster, t, role, &h.name).await?;
                Ok(match gid {
                    Some(g) if Some(g) != before => Ok(()),
                    _ => Err(format!(
                        "{} {}: not registered anew yet",
                        role.name(),
                        h.name
                    )),
                })
            })
            .await?;
        }
    }
    if role == Role::Mgr && cluster.settings.enable_ceph_mgr_prometheus {
        ceph_out(
            cluster,
            t,
            &["mgr", "module", "enable", "prometheus"],
            false,
        )
        .await?;
    }
    Ok(changed)
}

/// The CephFS file system and its pools, when mds is enabled.
pub struct CephFs {
    pub cluster: Arc<Cluster>,
}

impl Action for CephFs {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let r = async {
                let name = &cluster.settings.cephfs_name;
                let fs = ceph_json(cluster, t, &["fs", "ls"]).await?;
                let mut changed = false;
                if !fs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|f| f["name"] == name.as_str())
                {
                    let pg = cluster.settings.osd_pool_default_pg_num.to_string();
                    let (meta, data) = (format!("{name}_metadata"), format!("{name}_data"));
                    ceph_out(cluster, t, &["osd", "pool", "create", &meta, &pg], false).await?;
                    ceph_out(cluster, t, &["osd", "pool", "create", &data, &pg], false).await?;
                    ceph_out(cluster, t, &["fs", "new", name, &meta, &data], false).await?;
                    changed = true;
                }
                // The file system is ready when a rank is active.
                let what = format!("CephFS `{name}` has no active MDS");
                wait_for(ctx, &ep.name, &what, Duration::from_secs(180), || async {
                    let status = ceph_json(cluster, t, &["fs", "status", name]).await?;
                    let states: Vec<String> = status["mdsmap"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| {
                            format!(
                                "{}:{}",
                                m["name"].as_str().unwrap_or("?"),
                                m["state"].as_str().unwrap_or("?")
                            )
                        })
                        .collect();
                    Ok(if states.iter().any(|s| s.ends_with(":active")) {
                        Ok(changed)
                    } else if states.is_empty() {
                        Err("no MDS yet".to_string())
                    } else {
                        Err(states.join(", "))
                    })
                })
                .await
            };
            outcome(r.await)
        })
    }
}

// ---------------------------------------------------------------- osds

/// Every OSD of a host: bootstrap partitions become new OSDs, existing
/// `KOLLA_CEPH_DATA_*` partitions have their containers.
pub struct Osds {
    pub cluster: Arc<Cluster>,
    /// False for `reconfigure`: bootstrap partitions are left as they are.
    pub create: bool,
}

impl Action for Osds {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { outcome(osds(&self.cluster, ep, t, ctx, self.create).await) })
    }
}

async fn osds(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let f = block_facts(h, ep, t).await?;
    // Partitions by label: (name, bluestore) -> data partition and partners.
    let mut changed = false;
    let labelled: Vec<(&facts::BlockDev, crate::facts::OsdLabel)> = f
        .block
        .iter()
        .filter_map(|b| b.part_name.as_deref().and_then(osd_label).map(|l| (b, l)))
        .collect();
    // Existing OSDs: make sure their devices belong to ceph and they run.
    for (b, l) in labelled.iter().filter(|(_, l)| l.existing && l.is_data()) {
        let id = l.name.clone();
        let mut devs = vec![format!("/dev/{}", b.name)];
        devs.extend(
            labelled
                .iter()
                .filter(|(_, p)| p.existing && p.name == id && p.partner.is_some())
                .map(|(p, _)| format!("/dev/{}", p.name)),
        );
        checked(
            t,
            ep,
            &sh(h, format!("chown {CEPH_OWNER} {}", devs.join(" "))),
        )
        .await?;
        // A restart must be seen (the OSD up again, from a later map)
        // before its PGs are judged, or stale "clean" would pass at once.
        let now = containers::inspect(t, ep, h.engine, &format!("ceph_osd_{id}")).await?;
        let want = wanted_hash(cluster, h, Role::Osd, &id)?;
        let restarts =
            !matches!(&now, containers::Present::Present { running: true, hash } if *hash == want);
        let before = if restarts {
            osd_state(cluster, t, &id).await?.1
        } else {
            0
        };
        if ensure_daemon(cluster, h, t, Role::Osd, &id).await? {
            changed = true;
            wait_osd_up(cluster, t, &h.name, &id, before, ctx).await?;
            wait_clean(cluster, t, &h.name, ctx).await?;
        }
    }
    for (b, l) in labelled
        .iter()
        .filter(|(_, l)| create && !l.existing && l.is_data())
    {
        let filestore = h.object_store == ObjectStore::Filestore;
        let label = b.part_name.as_deref().unwrap_or_default();
        if l.bluestore == filestore {
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: format!(
                    "/dev/{} ({label}) is a {} bootstrap partition, but ceph_osd_store_type of {} is {}: relabel it or change the setting",
                    b.name,
                    if l.bluestore {
                        "bluestore"
                    } else {
                        "filestore"
                    },
                    h.name,
                    if filestore { "filestore" } else { "bluestore" }
                ),
            });
        }
        let partners: BTreeMap<char, &facts::BlockDev> = labelled
            .iter()
            .filter(|(_, p)| {
                !p.existing && p.bluestore == l.bluestore && p.name == l.name && p.partner.is_some()
            })
            .filter_map(|(p, pl)| pl.partner.map(|c| (c, *p)))
            .collect();
        if filestore && !partners.contains_key(&'J') {
            // kolla skipped such an OSD without a word.
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: format!(
                    "/dev/{} ({label}) has no journal partition {label}_J: label one (cephalo does not split a disk for a co-located journal)",
                    b.name
                ),
            });
        }
        create_osd(cluster, h, ep, t, ctx, b, &partners).await?;
        changed = true;
    }
    Ok(changed)
}

async fn create_osd(
    cluster: &Cluster,
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    data: &facts::BlockDev,
    partners: &BTreeMap<char, &facts::BlockDev>,
) -> Result<(), TransportError> {
    let c = &cluster.name;
    let spec = spec_of(cluster, h, Role::Osd, "new")?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let secret = Secret::generate(cluster.release.info().generated_secret).map_err(|e| {
        TransportError::Other {
            host: h.name.clone(),
            reason: format!("no random bytes: {e}"),
        }
    })?;
    // The id, from the cluster, with the bootstrap-osd key.
    let bootstrap = format!("/var/lib/ceph/bootstrap-osd/{c}.keyring");
    let new = [
        "ceph",
        "--cluster",
        c,
        "--name",
        "client.bootstrap-osd",
        "--keyring",
        &bootstrap,
        "osd",
        "new",
        &uuid,
        "-i",
        "-",
    ];
    let cmd = Command::new(oneoff_argv(h.engine, &spec, &new))
        .become_root(ep.connection.become_root)
        .stdin(format!("{{\"cephx_secret\": \"{}\"}}", secret.expose()))
        .secret()
        .timeout(Duration::from_secs(120));
    let id = checked(t, ep, &cmd).await?.stdout_text().trim().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(TransportError::Other {
            host: h.name.clone(),
            reason: format!("`ceph osd new` gave no OSD id (printed {id:?})"),
        });
    }
    ctx.reporter.output_line(
        &ctx.step,
        &h.name,
        crate::transport::Stream::Stdout,
        &format!("osd.{id} on /dev/{}", data.name),
    );
    let new = NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id: &id,
        uuid: &uuid,
        secret: &secret,
    };
    if let Some(journal) = partners.get(&'J') {
        filestore_mkfs(&new, data, journal).await?;
    } else {
        bluestore_mkfs(&new, data, partners).await?;
    }
    // Renamed, so that the next run does not see a bootstrap label again.
    let prefix = if partners.contains_key(&'J') {
        "KOLLA_CEPH_DATA_"
    } else {
        "KOLLA_CEPH_DATA_BS_"
    };
    let mut renames = vec![(data, format!("{prefix}{id}"))];
    for (p, dev) in partners {
        renames.push((dev, format!("{prefix}{id}_{p}")));
    }
    for (dev, name) in renames {
        let Some(parent) = &dev.parent else { continue };
        let script = format!(
            "n=$(cat /sys/class/block/{}/partition) && parted -s /dev/{parent} name \"$n\" {name}",
            dev.name
        );
        checked(t, ep, &sh(h, script)).await?;
    }
    ensure_daemon(cluster, h, t, Role::Osd, &id).await?;
    wait_osd_up(cluster, t, &h.name, &id, 0, ctx).await?;
    Ok(())
}

/// An OSD that `ceph osd new` just gave an id, before its mkfs.
struct NewOsd<'a> {
    cluster: &'a Cluster,
    h: &'a Host,
    ep: &'a Endpoint,
    t: &'a dyn Transport,
    ctx: &'a StepContext,
    id: &'a str,
    uuid: &'a str,
    secret: &'a Secret,
}

impl NewOsd<'_> {
    /// The OSD's data folder: `/var/lib/ceph/osd/<cluster>-<id>`.
    fn dir(&self) -> String {
        format!("/var/lib/ceph/osd/{}-{}", self.cluster.name, self.id)
    }
}

/// A bluestore OSD's folder: `block` (and `block.wal`/`block.db`) linked
/// to the partitions, its keyring, then `ceph-osd --mkfs`.
async fn bluestore_mkfs(
    new: &NewOsd<'_>,
    data: &facts::BlockDev,
    partners: &BTreeMap<char, &facts::BlockDev>,
) -> Result<(), TransportError> {
    let NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id,
        uuid,
        secret,
    } = *new;
    let c = &cluster.name;
    let dir = new.dir();
    // block = the _B partner when there is one, else the bootstrap partition.
    let block = partners.get(&'B').copied().unwrap_or(data);
    let mut links = vec![format!("ln -sfn /dev/{} {dir}/block", block.name)];
    let mut devs = vec![
        format!("/dev/{}", data.name),
        format!("/dev/{}", block.name),
    ];
    for (c_, link) in [('W', "block.wal"), ('D', "block.db")] {
        if let Some(p) = partners.get(&c_) {
            links.push(format!("ln -sfn /dev/{} {dir}/{link}", p.name));
            devs.push(format!("/dev/{}", p.name));
        }
    }
    checked(t, ep, &sh(h, format!("mkdir -p {dir} && {} && chown -h {CEPH_OWNER} {dir} {dir}/block* && chown {CEPH_OWNER} {}", links.join(" && "), devs.join(" ")))).await?;
    let keyring = format!("[osd.{id}]\n\tkey = {}\n", secret.expose());
    let kpath = format!("{dir}/keyring");
    files::put(
        t,
        ep,
        &RemoteFile {
            path: &kpath,
            content: keyring.as_bytes(),
            mode: 0o600,
            owner: Some(CEPH_OWNER),
        },
        ep.connection.become_root,
    )
    .await?;
    let mkfs = [
        "ceph-osd",
        "--cluster",
        c,
        "-i",
        id,
        "--mkfs",
        "--osd-uuid",
        uuid,
        "--osd-objectstore",
        "bluestore",
        "--setuser",
        "ceph",
        "--setgroup",
        "ceph",
    ];
    let spec_id = spec_of(cluster, h, Role::Osd, id)?;
    let cmd = Command::new(oneoff_argv(h.engine, &spec_id, &mkfs))
        .become_root(ep.connection.become_root)
        .timeout(Duration::from_secs(600))
        .on_line(ctx.output_to_log(&h.name));
    checked(t, ep, &cmd).await?;
    Ok(())
}

/// A filestore OSD: an XFS file system on the data partition, mounted in
/// a one-off container of the Ceph image, with the keyring and a `journal`
/// link to the `_J` partition, then `ceph-osd --mkfs`. The OSD container
/// mounts it again at every start (roles/osd/container.yml).
async fn filestore_mkfs(
    new: &NewOsd<'_>,
    data: &facts::BlockDev,
    journal: &facts::BlockDev,
) -> Result<(), TransportError> {
    let NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id,
        uuid,
        secret,
    } = *new;
    let c = &cluster.name;
    let dir = new.dir();
    let script = format!(
        "set -e; d={dir}; mkfs.xfs -f -q /dev/{data}; mkdir -p $d; \
         mount -o noatime,inode64 /dev/{data} $d; trap 'umount $d' EXIT; \
         cat > $d/keyring; chmod 600 $d/keyring; ln -sfn /dev/{journal} $d/journal; \
         chown -R {CEPH_OWNER} $d; chown {CEPH_OWNER} /dev/{data} /dev/{journal}; \
         ceph-osd --cluster {c} -i {id} --mkfs --osd-uuid {uuid} --osd-objectstore filestore \
           --osd-data $d --osd-journal $d/journal --setuser ceph --setgroup ceph",
        data = data.name,
        journal = journal.name,
    );
    let spec = spec_of(cluster, h, Role::Osd, id)?;
    let cmd = Command::new(oneoff_argv(h.engine, &spec, &["sh", "-c", &script]))
        .become_root(ep.connection.become_root)
        .stdin(format!("[osd.{id}]\n\tkey = {}\n", secret.expose()))
        .secret()
        .timeout(Duration::from_secs(600))
        .on_line(ctx.output_to_log(&h.name));
    checked(t, ep, &cmd).await?;
    Ok(())
}

/// The host's block devices with their GPT names (the OSD devices it lists,
/// or every disk), read from the GPT, not udev.
pub async fn block_facts(
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
) -> Result<facts::Facts, TransportError> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        crate::facts::BLOCK_SCRIPT.into(),
        "block".into(),
    ];
    argv.extend(h.settings.ceph_osd_devices.iter().cloned());
    let out = checked(
        t,
        ep,
        &Command::new(argv).become_root(h.connection.become_root),
    )
    .await?;
    Ok(facts::parse(&out.stdout_text()))
}

/// Whether an OSD is up, and the map epoch it is up from.
async fn osd_state(
    cluster: &Cluster,
    t: &dyn Transport,
    id: &str,
) -> Result<(bool, u64), TransportError> {
    let v = ceph_json(cluster, t, &["osd", "dump"]).await?;
    let osd = v["osds"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["osd"].as_u64().map(|n| n.to_string()).as_deref() == Some(id));
    Ok(osd.map_or((false, 0), |o| {
        (
            o["up"].as_u64() == Some(1),
            o["up_from"].as_u64().unwrap_or(0),
        )
    }))
}

/// Waits until osd.`id` is up from a map later than `after`.
async fn wait_osd_up(
    cluster: &Cluster,
    t: &dyn Transport,
    host: &str,
    id: &str,
    after: u64,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let what = format!("osd.{id} did not come up");
    wait_for(ctx, host, &what, Duration::from_secs(300), || async {
        let (up, from) = osd_state(cluster, t, id).await?;
        Ok(if up && from > after {
            Ok(())
        } else {
            Err(format!("osd.{id}: up={up}, up_from={from}"))
        })
    })
    .await
}

// ---------------------------------------------------------------- health

/// Waits for HEALTH_OK, or only the warnings globals accept.
pub struct WaitHealth {
    pub cluster: Arc<Cluster>,
}

impl Action for WaitHealth {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let accepted = &cluster.settings.ceph_health_accepted_warnings;
            let limit = Duration::from_secs(cluster.settings.ceph_health_timeout);
            let what = "the cluster was not healthy";
            let r = wait_for(ctx, &ep.name, what, limit, || async {
                // One `ceph status` has both the health and the PG states.
                let all = ceph_json(cluster, t, &["status"]).await?;
                let v = &all["health"];
                let status = v["status"].as_str().unwrap_or("?").to_string();
                let checks: Vec<String> = v["checks"]
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                let open = checks.iter().any(|c| !accepted.contains(c));
                if !(status == "HEALTH_OK" || (status == "HEALTH_WARN" && !open)) {
                    return Ok(Err(format!("{status}: {}", checks.join(", "))));
                }
                // Health lags right after pools are made or OSDs start: the
                // placement groups must be clean too.
                Ok(pgmap_clean(&all).map(|()| false))
            })
            .await;
            outcome(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_hashes_only_the_config_it_reads() {
        let conf = "[global]\nfsid = x\n[mon]\na = 1\n[osd]\nb = 2\n[osd.3]\nc = 3\n[client.rgw.h1]\nd = 4\n";
        assert_eq!(
            daemon_conf(conf, Role::Mon, "h1"),
            "[global]\nfsid = x\n\n[mon]\na = 1\n"
        );
        assert_eq!(
            daemon_conf(conf, Role::Osd, "3"),
            "[global]\nfsid = x\n\n[osd]\nb = 2\n\n[osd.3]\nc = 3\n"
        );
        assert_eq!(
            daemon_conf(conf, Role::Osd, "4"),
            "[global]\nfsid = x\n\n[osd]\nb = 2\n"
        );
        assert!(daemon_conf(conf, Role::Rgw, "h1").ends_with("[client.rgw.h1]\nd = 4\n"));
        // The PG states of `ceph status` (Pacific's shape).
        let status = serde_json::json!({"pgmap": {"num_pgs": 65, "pgs_by_state": [
            {"state_name": "active+clean", "count": 60},
            {"state_name": "active+clean+scrubbing+deep", "count": 4},
            {"state_name": "peering", "count": 1}]}});
        assert_eq!(
            pgmap_clean(&status),
            Err("60 active+clean, 4 active+clean+scrubbing+deep, 1 peering".into())
        );
        let mut done = status.clone();
        done["pgmap"]["pgs_by_state"][2] =
            serde_json::json!({"state_name": "active+clean", "count": 1});
        assert_eq!(pgmap_clean(&done), Ok(()));
        // A mon added changes mon host in [global]: no daemon restarts.
        let grown = conf.replace("fsid = x\n", "fsid = x\nmon host = [v2:10.0.0.1:3300] [v2:10.0.0.2:3300]\nmon_initial_members = a, b\n");
        assert_eq!(
            daemon_conf(&grown, Role::Osd, "3"),
            daemon_conf(conf, Role::Osd, "3")
        );
    }
}
