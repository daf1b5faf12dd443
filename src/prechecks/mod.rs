//! Prechecks: every host checked in parallel before anything changes. One
//! SSH round trip per host gathers its facts (`crate::facts`), the tables
//! of checks in `checks/` judge them, and the result is a table of check x
//! host with the measured value and a hint. `--fix` repairs only what is
//! safe and reversible (fixed scripts, no value in them). Nothing else on a
//! host is changed.

pub mod checks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

pub use crate::facts::ClockSample;
pub use checks::{CheckResult, Level};

use crate::facts::{self, Facts};

use crate::engine::{Action, Engine, HostOutcome, Node, OnFailure, Plan, Step, StepContext};
use crate::model::{Cluster, Role};
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, run};

/// What prechecks found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub results: Vec<CheckResult>,
    /// What --fix did, per host.
    pub fixed: Vec<(String, String)>,
}

impl Report {
    pub fn count(&self, level: Level) -> usize {
        self.results.iter().filter(|r| r.level == level).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Level::Fail) > 0
    }

    pub fn find(&self, id: &str, host: Option<&str>) -> Option<&CheckResult> {
        self.results
            .iter()
            .find(|r| r.id == id && r.host.as_deref() == host)
    }

    /// The table: check, host, status, value, hint.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .results
            .iter()
            .map(|r| {
                [
                    r.id.to_string(),
                    r.host.clone().unwrap_or_else(|| "-".into()),
                    match r.level {
                        Level::Pass => "pass",
                        Level::Warn => "WARN",
                        Level::Fail => "FAIL",
                    }
                    .to_string(),
                    r.value.clone(),
                    r.hint.clone(),
                ]
            })
            .collect();
        let header = ["CHECK", "HOST", "STATUS", "VALUE", "HINT"].map(String::from);
        let mut widths = [0usize; 4];
        for row in std::iter::once(&header).chain(rows.iter()) {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(row[i].chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(rows.iter()) {
            let line = format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn summary(&self) -> String {
        let hosts: std::collections::BTreeSet<&str> = self
            .results
            .iter()
            .filter_map(|r| r.host.as_deref())
            .collect();
        format!(
            "prechecks: {} pass, {} warn, {} fail on {} host(s)",
            self.count(Level::Pass),
            self.count(Level::Warn),
            self.count(Level::Fail),
            hosts.len()
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "results": self.results,
            "fixed": self.fixed.iter().map(|(h, w)| json!({"host": h, "fixed": w})).collect::<Vec<_>>(),
            "summary": {"pass": self.count(Level::Pass), "warn": self.count(Level::Warn), "fail": self.count(Level::Fail)},
        })
    }
}

type Gathered = Arc<Mutex<BTreeMap<String, Result<(Facts, Option<ClockSample>), TransportError>>>>;

/// Gathers one host's facts and clock offset.
struct Gather {
    cluster: Arc<Cluster>,
    out: Gathered,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl Action for Gather {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let result = gather(&self.cluster, ep, t).await;
            let outcome = match &result {
                Ok(_) => HostOutcome::done(false),
                Err(e) => HostOutcome::error("gather facts", e.clone()),
            };
            if let Ok(mut m) = self.out.lock() {
                m.insert(ep.name.clone(), result);
            }
            outcome
        })
    }
}

async fn gather(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
) -> Result<(Facts, Option<ClockSample>), TransportError> {
    let host = cluster
        .host(&ep.name)
        .ok_or_else(|| TransportError::Other {
            host: ep.name.clone(),
            reason: "not a Ceph host of the inventory".into(),
        })?;
    // The clock first, on a warm connection: the sample with the shortest
    // round trip of five bounds the offset best.
    t.connect(ep).await?;
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..5 {
        let before = now();
        let out = run(t, ep, &Command::new(["date", "+%s.%N"])).await?;
        let after = now();
        if let Some(o) = facts::clock_offset(&out.stdout_text(), before, after)
            && best.is_none_or(|(rtt, _)| after - before < rtt)
        {
            best = Some((after - before, o));
        }
    }
    let peers: Vec<std::net::IpAddr> = if host.has(Role::Mon) {
        cluster
            .hosts_with(Role::Mon)
            .filter(|m| m.name != host.name)
            .filter_map(|m| m.public_address)
            .collect()
    } else {
        Vec::new()
    };
    let devices: &[String] = if host.has(Role::Osd) {
        &host.settings.ceph_osd_devices
    } else {
        &[]
    };
    let custom: Vec<String> = host.custom.iter().map(|c| c.image.clone()).collect();
    let script = facts::gather_script(
        &host.name,
        host.engine.command(),
        &cluster.image,
        &peers,
        &custom,
        devices.iter().cloned(),
    );
    let cmd = script
        .command()
        .become_root(ep.connection.become_root)
        .timeout(Duration::from_secs(120));
    let out = run(t, ep, &cmd).await?;
    Ok((
        facts::parse(&out.stdout_text()),
        best.map(|(rtt, offset)| ClockSample { offset, rtt }),
    ))
}

/// The safe, reversible repairs --fix makes, by check id: what was done,
/// and the script doing it (fixed text, no value in it).
fn fix_command(id: &str) -> Option<(&'static str, Script)> {
    let (what, text) = match id {
        "engine.running" => ("started the container engine", FIX_ENGINE),
        "time.sync" => ("started the time sync service", FIX_TIME_SYNC),
        "resources.pid_max" => (
            "raised kernel.pid_max to 4194303 (/etc/sysctl.d/90-cephalo-pid-max.conf)",
            FIX_PID_MAX,
        ),
        _ => return None,
    };
    Some((what, Script::new(text)))
}

const FIX_ENGINE: &str = "if command -v systemctl >/dev/null && systemctl start docker 2>/dev/null; then :; \
     elif command -v dockerd >/dev/null; then (nohup dockerd >/var/log/dockerd.log 2>&1 &); fi; \
     for i in $(seq 1 30); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1";
const FIX_TIME_SYNC: &str = "if command -v systemctl >/dev/null && systemctl start chrony 2>/dev/null; then exit 0; fi; \
     if command -v chronyd >/dev/null; then chronyd && exit 0; fi; \
     echo 'no chrony installed: install it (apt-get install chrony)' >&2; exit 1";
const FIX_PID_MAX: &str = "echo 'kernel.pid_max = 4194303' > /etc/sysctl.d/90-cephalo-pid-max.conf && sysctl -q -w kernel.pid_max=4194303";

/// Runs the prechecks on the selected hosts; with `fix`, repairs what it
/// safely can and checks again.
pub async fn run_prechecks(cluster: Arc<Cluster>, engine: &Engine, fix: bool) -> Report {
    let mut report = gather_and_judge(cluster.clone(), engine).await;
    if !fix {
        return report;
    }
    let mut fixed = Vec::new();
    for r in report.results.iter().filter(|r| r.level != Level::Pass) {
        let (Some(host), Some((what, script))) = (r.host.as_deref(), fix_command(r.id)) else {
            continue;
        };
        let Some(ep) = engine.hosts.get(host) else {
            continue;
        };
        let cmd = script
            .command()
            .become_root(true)
            .timeout(Duration::from_secs(60));
        match run(engine.transport.as_ref(), ep, &cmd).await {
            Ok(out) if out.success() => fixed.push((host.to_string(), what.to_string())),
            Ok(out) => fixed.push((
                host.to_string(),
                format!("could not fix {}: {}", r.id, out.stderr_tail(2)),
            )),
            Err(e) => fixed.push((host.to_string(), format!("could not fix {}: {e}", r.id))),
        }
    }
    if !fixed.is_empty() {
        report = gather_and_judge(cluster, engine).await;
    }
    report.fixed = fixed;
    report
}

async fn gather_and_judge(cluster: Arc<Cluster>, engine: &Engine) -> Report {
    let gathered: Gathered = Arc::default();
    let plan = Plan {
        name: "prechecks".into(),
        root: Node::Step(Step {
            name: "gather facts".into(),
            hosts: engine.hosts.keys().cloned().collect(),
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(Gather {
                cluster: cluster.clone(),
                out: gathered.clone(),
            }),
        }),
    };
    engine.run(&plan).await;
    let gathered = std::mem::take(&mut *gathered.lock().unwrap_or_else(|p| p.into_inner()));
    let mut results = Vec::new();
    for name in engine.hosts.keys() {
        let Some(host) = cluster.host(name) else {
            continue;
        };
        let conn = |level, value: String, hint: &str| CheckResult {
            id: "connection",
            host: Some(name.clone()),
            level,
            value,
            hint: hint.to_string(),
        };
        match gathered.get(name) {
            Some(Ok((f, offset))) => {
                let c = &host.connection;
                let user = c.user.clone().unwrap_or_else(|| "the local user".into());
                let how = if c.local {
                    "local".to_string()
                } else {
                    format!(
                        "ssh {user}@{}:{}{}",
                        c.address,
                        c.port,
                        if c.become_root { ", sudo -n ok" } else { "" }
                    )
                };
                results.push(conn(Level::Pass, how, ""));
                results.extend(checks::host_checks(&cluster, host, f, *offset));
            }
            Some(Err(e)) => {
                let hint = match e {
                    TransportError::SudoNeedsPassword { .. } => {
                        "give the user passwordless sudo (NOPASSWD)"
                    }
                    TransportError::UnknownHostKey { .. } => {
                        "verify the key, add the line shown, or use --accept-new-host-keys"
                    }
                    TransportError::ChangedHostKey { .. }
                    | TransportError::RevokedHostKey { .. } => {
                        "find out why the host key changed before anything else"
                    }
                    TransportError::AuthFailed { .. } => {
                        "check ansible_user and ansible_ssh_private_key_file"
                    }
                    _ => "check that the host is up and sshd answers",
                };
                results.push(conn(Level::Fail, e.to_string(), hint));
            }
            None => results.push(conn(Level::Fail, "not checked".into(), "see the run log")),
        }
    }
    results.extend(checks::cluster_checks(&cluster));
    results.extend(live_cluster_checks(&cluster, engine.transport.as_ref()).await);
    Report {
        results,
        fixed: Vec::new(),
    }
}

/// When the cluster already runs (a mon container exists), what upgrades and
/// re-deploys must know: health (HEALTH_ERR fails), every inventory mon in
/// quorum, and the version of every daemon. Asked through the first mon
/// that answers.
async fn live_cluster_checks(cluster: &Cluster, t: &dyn Transport) -> Vec<CheckResult> {
    use crate::containers::{Need, Present};
    // Every mon's container, asked once and at once.
    let mons: Vec<&crate::model::Host> = cluster.hosts_with(Role::Mon).collect();
    let eps: Vec<Endpoint> = mons.iter().map(|m| Endpoint::of(m)).collect();
    let states = futures::future::join_all(
        mons.iter()
            .zip(&eps)
            .map(|(m, ep)| crate::containers::inspect(t, ep, m.engine, "ceph_mon")),
    )
    .await;
    let any_container = states
        .iter()
        .any(|s| matches!(s, Ok(Present::Present { .. })));
    // Mons without a container: new ones, or a bootstrap that stopped half
    // way; deploy creates them.
    let uncreated: Vec<String> = mons
        .iter()
        .zip(&states)
        .filter(|(_, s)| matches!(s, Ok(Present::Absent)))
        .map(|(m, _)| m.name.clone())
        .collect();
    // Mons whose container runs: one of them out of quorum may be joining.
    let running: Vec<String> = mons
        .iter()
        .zip(&states)
        .filter(|(_, s)| matches!(s, Ok(Present::Present { running: true, .. })))
        .map(|(m, _)| m.name.clone())
        .collect();
    if !any_container {
        // No cluster yet: nothing to ask.
        return checks::live::no_answer(false, &uncreated, &[]);
    }
    // Asked the one way every command reaches the cluster: through any mon
    // it answers through (the first question finds it, the other two go
    // there first).
    let status = match crate::ceph::ceph_json(cluster, t, &["status"]).await {
        Ok(v) => v,
        Err(e) => {
            let tried = vec![e.to_string()];
            return checks::live::no_answer(any_container, &uncreated, &tried);
        }
    };
    let (monmap, versions) = futures::join!(
        crate::ceph::ceph_json(cluster, t, &["mon", "dump"]),
        crate::ceph::ceph_json(cluster, t, &["versions"]),
    );
    let names = checks::live::quorum_names;
    let mut quorum = names(&status);
    // A mon that runs but is not in quorum may have started a moment
    // ago (a deploy that stopped half way): it gets 30 s to join.
    let since = tokio::time::Instant::now();
    while running.iter().any(|r| !quorum.contains(r))
        && since.elapsed() < std::time::Duration::from_secs(30)
    {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if let Ok(q) = crate::ceph::ceph_json(cluster, t, &["quorum_status"]).await {
            quorum = names(&q);
        }
    }
    let (monmap, versions) = (monmap.ok(), versions.map_err(|e| e.to_string()));
    // What deploy would do to each mon's container as found.
    let brought_back: Vec<(String, String)> = mons
        .iter()
        .zip(&states)
        .filter_map(|(m, s)| {
            let found = s.as_ref().ok()?;
            let need = crate::deploy::need_of(cluster, m, Role::Mon, &m.name, found).ok()?;
            let what = match need {
                Need::Nothing | Need::Create => return None,
                Need::Start { state } => format!("its container is {state}: deploy starts it"),
                Need::Recreate { reason } => format!("{reason}: deploy makes it again"),
            };
            Some((m.name.clone(), what))
        })
        .collect();
    let inventory = cluster.files.inventory.display().to_string();
    checks::live::live_checks(&checks::live::LiveView {
        cluster,
        status: &status,
        quorum: &quorum,
        monmap: monmap.as_ref(),
        versions: versions.as_ref().map_err(Clone::clone),
        uncreated: &uncreated,
        brought_back: &brought_back,
        inventory: &inventory,
    })
}
