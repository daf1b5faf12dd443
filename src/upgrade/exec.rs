//! Runs an upgrade plan: every step not yet journaled becomes an engine
//! step on its host (daemon restarts on the daemon's host, cluster-wide
//! steps on the first mon's), run in order; each is journaled (locally,
//! then mirrored in the mons' config-key store) before the next starts.
//! A failed or interrupted run restores the flags and the held settings
//! as they were.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::act;
use super::journal::{self, Journal};
use super::layout::Flag;
use super::step::{StepKind, UpgradePlan, UpgradeStep};
use crate::engine::{Action, HostOutcome, Node, OnFailure, Plan, Step, StepContext};
use crate::model::Cluster;
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError};

/// How long gates wait before the upgrade stops and says why.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// `ok-to-stop` saying no: asked again with backoff for this long.
    pub ok_to_stop: Duration,
    /// A restarted daemon back, on the target, in quorum / up.
    pub daemon_up: Duration,
    /// All PGs active+clean after an OSD host.
    pub pgs_clean: Duration,
}

impl Bounds {
    pub fn of(cluster: &Cluster) -> Bounds {
        let s = &cluster.settings;
        Bounds {
            ok_to_stop: Duration::from_secs(s.ceph_upgrade_ok_to_stop_timeout),
            daemon_up: Duration::from_secs(s.ceph_upgrade_daemon_timeout),
            pgs_clean: Duration::from_secs(s.ceph_upgrade_pgs_clean_timeout),
        }
    }
}

/// One daemon's line of the final table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub daemon: String,
    pub host: String,
    pub old: String,
    pub new: String,
    pub seconds: u64,
}

/// An upgrade being run: the target model (its image and release are the
/// target), the plan, the journal and where it is kept.
pub struct Upgrade {
    pub cluster: Arc<Cluster>,
    pub plan: Arc<UpgradePlan>,
    pub journal: Mutex<Journal>,
    pub journal_path: PathBuf,
    pub inventory_dir: PathBuf,
    pub bounds: Bounds,
    /// Lines for the operator (notes, what was left), in order.
    pub said: Mutex<Vec<String>>,
    pub upgraded: Mutex<Vec<Upgraded>>,
    /// The run log: every gate's poll pause goes there (`wait` events
    /// whose step is `gate: <what>`), as deploy's waits do.
    pub reporter: Arc<crate::engine::Reporter>,
}

impl Upgrade {
    /// Reads or changes the journal.
    pub fn journal<R>(&self, f: impl FnOnce(&mut Journal) -> R) -> R {
        let mut j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut j)
    }

    /// A line for the operator, shown when the upgrade ends.
    pub fn say(&self, line: &str) {
        if let Ok(mut s) = self.said.lock() {
            s.push(line.to_string());
        }
    }

    /// Writes the journal next to the inventory.
    pub fn save(&self) -> Result<(), String> {
        let j = self.journal(|j| j.clone());
        j.save(&self.journal_path)
    }

    /// Polls `probe` every second until it says done, or `limit` passes
    /// (then the error names `what` and the last answer): deploy's one
    /// wait, its pauses in the run log as `gate: <what>`.
    pub async fn wait<T, F, Fut>(
        &self,
        ep: &Endpoint,
        what: &str,
        limit: Duration,
        probe: F,
    ) -> Result<T, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Result<T, String>, TransportError>>,
    {
        let ctx = StepContext {
            step: format!("gate: {what}"),
            reporter: self.reporter.clone(),
        };
        crate::deploy::wait_for(&ctx, &ep.name, what, limit, probe).await
    }
}

/// The host a step runs for: a daemon's own, else the first mon's.
fn step_host(cluster: &Cluster, s: &UpgradeStep) -> String {
    match &s.kind {
        StepKind::Restart { host, .. } | StepKind::CreateMgr { host, .. } => host.clone(),
        _ => crate::ceph::first_mon(cluster)
            .map(|h| h.name.clone())
            .unwrap_or_default(),
    }
}

/// Steps run again on every run, also when journaled: the checks, and
/// the flags (re-checked first when an upgrade resumes, and restored at
/// its end also when an earlier run already restored them after a
/// failure).
fn always_again(s: &UpgradeStep) -> bool {
    matches!(
        s.kind,
        StepKind::SetFlag { .. } | StepKind::RestoreFlag { .. } | StepKind::Check { .. }
    )
}

/// Whether a step runs (again) in this run: not journaled yet, always
/// again, or a hold whose put-back is not journaled (the end of an earlier
/// run that stopped put it back, so it is held again before the steps it
/// covers).
fn to_run(s: &UpgradeStep, done: &[String]) -> bool {
    let is_done = |id: &str| done.iter().any(|d| d == id);
    always_again(s)
        || !is_done(&s.id)
        || matches!(&s.kind, StepKind::Hold { hold } if !is_done(&hold.put_back_id()))
}

/// The engine plan of the steps still to do.
pub fn engine_plan(up: &Arc<Upgrade>) -> Plan {
    let done = up.journal(|j| j.done.clone());
    let mut phases = Vec::new();
    for phase in &up.plan.phases {
        let steps: Vec<Node> = phase
            .steps
            .iter()
            .filter(|s| to_run(s, &done))
            .map(|s| node(up, s))
            .collect();
        if !steps.is_empty() {
            phases.push(Node::Serial(phase.name.to_string(), steps));
        }
    }
    Plan {
        name: up.plan.title(),
        root: Node::Serial(up.plan.operation.into(), phases),
    }
}

/// Every flag an upgrade sets, put back as the journal recorded it before
/// the upgrade: run at the end of every run (after a failure, an
/// interrupt, `--abort`, and after success too, so that a resumed run
/// whose plan no longer restarts anything still restores them).
pub fn restore_plan(up: &Arc<Upgrade>) -> Plan {
    let mut steps: Vec<Node> = [Flag::Noout, Flag::Noscrub, Flag::NodeepScrub]
        .into_iter()
        .map(|flag| {
            node(
                up,
                &UpgradeStep {
                    id: format!("flag-restore:{}", flag.name()),
                    kind: StepKind::RestoreFlag { flag },
                    what: format!("restore {} as it was before the upgrade", flag.name()),
                    gate: None,
                },
            )
        })
        .collect();
    // Its own id: journaling it must not mark the plan's put-backs done
    // (a resumed run holds again what this put back).
    steps.push(node(
        up,
        &UpgradeStep {
            id: "end:put-back-held".into(),
            kind: StepKind::PutBackAll,
            what: "put back every setting the upgrade held (read lease, primary affinity), as recorded".into(),
            gate: None,
        },
    ));
    Plan {
        name: "restore the flags".into(),
        root: Node::Serial("restore flags".into(), steps),
    }
}

fn node(up: &Arc<Upgrade>, s: &UpgradeStep) -> Node {
    Node::Step(Step {
        name: format!("{}: {}", s.id, s.what),
        hosts: vec![step_host(&up.cluster, s)],
        batch: None,
        on_failure: OnFailure::StopPlay,
        action: Arc::new(UpgradeAction {
            up: up.clone(),
            step: s.clone(),
        }),
    })
}

struct UpgradeAction {
    up: Arc<Upgrade>,
    step: UpgradeStep,
}

impl Action for UpgradeAction {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let r = perform(&self.up, &self.step, ep, t, ctx).await;
            match &r {
                Ok(_) => {
                    self.up.journal(|j| j.mark_done(&self.step.id));
                    if let Err(e) = self.up.save() {
                        return HostOutcome::from_result(Err(act::fail(&ep.name, e)));
                    }
                    mirror(&self.up, t).await;
                }
                Err(e) => {
                    let line = format!("{}: {e}", self.step.id);
                    self.up.journal(|j| j.errors.push(line));
                    let _ = self.up.save();
                }
            }
            HostOutcome::from_result(r)
        })
    }
}

/// Copies the journal into the mons' config-key store (best effort: the
/// local copy serves while the mons cannot be reached).
pub async fn mirror(up: &Upgrade, t: &dyn Transport) {
    let line = up.journal(|j| j.to_line());
    let key = journal::journal_key(&up.cluster.name);
    let _ = act::ceph(up, t, &["config-key", "set", &key, &line]).await;
}

/// Does one step.
async fn perform(
    up: &Upgrade,
    s: &UpgradeStep,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<bool, TransportError> {
    match &s.kind {
        StepKind::Check { check } => super::checks::check(up, t, ep, check).await,
        StepKind::Backup => act::backup(up, t, ep).await,
        StepKind::SetFlag { flag } => act::set_flag(up, t, *flag).await,
        StepKind::RestoreFlag { flag } => act::restore_flag(up, t, *flag).await,
        StepKind::Restart {
            kind,
            host,
            ids,
            ok_to_stop,
            standby_mgr,
            recreate,
        } => {
            super::restart::restart(
                up,
                t,
                ctx,
                super::restart::Restart {
                    kind: *kind,
                    host,
                    ids,
                    ask: *ok_to_stop,
                    standby_mgr: *standby_mgr,
                    recreate: *recreate,
                },
                s.gate.as_ref(),
            )
            .await
        }
        StepKind::CreateMgr { host, .. } => super::restart::create_mgr(up, t, ctx, host).await,
        StepKind::AdminMgrCaps => {
            act::ceph(
                up,
                t,
                &[
                    "auth",
                    "caps",
                    "client.admin",
                    "mon",
                    "allow *",
                    "osd",
                    "allow *",
                    "mds",
                    "allow *",
                    "mgr",
                    "allow *",
                ],
            )
            .await?;
            Ok(true)
        }
        StepKind::SetConfig { who, option, value } => {
            act::set_config(up, t, who, option, value).await
        }
        StepKind::RemoveConfig { who, option } => {
            act::ceph(up, t, &["config", "rm", who, option]).await?;
            Ok(true)
        }
        StepKind::Mds {
            action,
            daemons,
            ok_to_stop,
        } => super::mds::mds(up, t, ctx, ep, *action, daemons, *ok_to_stop).await,
        StepKind::RequireOsdRelease { release } => act::require_osd_release(up, t, *release).await,
        StepKind::EnableMsgr2 => act::enable_msgr2(up, t).await,
        StepKind::ConfV2Addresses => super::restart::push_config(up, t, ctx).await,
        StepKind::Warning { warning } => act::warning(up, t, *warning).await,
        StepKind::Hold { hold } => super::hold::hold(up, t, ep, hold).await,
        StepKind::PutBack { hold } => super::hold::put_back(up, t, hold).await,
        StepKind::PutBackAll => super::hold::put_back_all(up, t).await,
        StepKind::RotateKey {
            entity,
            files,
            pending,
        } => super::keys::rotate_key(up, t, entity, files, *pending).await,
        StepKind::MonSet { name, value } => super::keys::mon_set(up, t, ep, name, value).await,
        StepKind::WipeRotatingKeys => super::keys::wipe_rotating(up, t, ep).await,
        StepKind::SavePasswords => super::keys::save_passwords(up, t).await,
        StepKind::DisallowAes => super::keys::disallow_aes(up, t, ep).await,
    }
}
