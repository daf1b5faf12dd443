//! Existing OSDs: their devices given to ceph, and the restart of those
//! whose container must change (config, tuning, image), host by host:
//! `ceph osd ok-to-stop` for all of the host's OSDs that need it, then
//! they restart together, then one wait until they are up from a later map
//! and one for active+clean, then the next host. `noout` is set before the
//! first restart and put back as it was by `RestoreNoout`, which the plan
//! runs after the restarts whatever happened (`Node::Finally`). OSDs that
//! need no restart are not touched; hosts check theirs at the same time.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::{OkToStop, ceph_json, ceph_out};
use crate::containers;
use crate::engine::{Action, HostOutcome, Status, StepContext};
use crate::model::{Cluster, Host, Role};
use crate::release::Release;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked};

use super::config::{ensure_daemon, spec_of, stop_timeout, wanted_hash};
use super::osd::{block_facts, labelled};
use super::waits::{wait_clean, wait_osds_up};
use super::{StepResult, host, on_host, outcome};

/// What the hosts of one restart phase share: one host restarts at a
/// time, and the state of `noout` before the phase set it.
#[derive(Default)]
pub struct Rolling {
    state: tokio::sync::Mutex<RollState>,
}

#[derive(Default)]
struct RollState {
    /// Whether `noout` was set before this phase set it (None: the phase
    /// did not touch it).
    noout_before: Option<bool>,
    /// The host whose restart failed: the hosts after it restart nothing.
    failed: Option<String>,
}

/// The existing OSDs of a host: devices owned by ceph, containers as
/// wanted, restarts host by host.
pub struct RestartOsds {
    pub cluster: Arc<Cluster>,
    pub rolling: Arc<Rolling>,
}

impl Action for RestartOsds {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let r = restart_host(&self.cluster, &self.rolling, ep, t, ctx).await;
            match r {
                Ok(RestartDone::Skipped(why)) => HostOutcome::status(Status::Skipped(why)),
                Ok(done) => outcome(Ok(matches!(done, RestartDone::Restarted))),
                Err(e) => {
                    // No host starts a restart after a failure on another.
                    let mut s = self.rolling.state.lock().await;
                    s.failed.get_or_insert_with(|| ep.name.clone());
                    outcome(Err(e))
                }
            }
        })
    }
}

/// What a host's restart phase did.
enum RestartDone {
    /// No OSD of the host needed a restart.
    Nothing,
    /// Another host's restart failed first.
    Skipped(String),
    Restarted,
}

async fn restart_host(
    cluster: &Cluster,
    rolling: &Rolling,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<RestartDone, TransportError> {
    let h = host(cluster, ep)?;
    let f = block_facts(h, ep, t).await?;
    let labelled = labelled(&f);
    let existing: Vec<String> = labelled
        .iter()
        .filter(|(_, l)| l.existing && l.is_data())
        .map(|(_, l)| l.name.clone())
        .collect();
    if existing.is_empty() {
        return Ok(RestartDone::Nothing);
    }
    // Every device of every existing OSD belongs to ceph: one command.
    let owner = super::owner::of_host(cluster, h, t).await?;
    let mut devs = vec!["chown".to_string(), "--".into(), owner];
    devs.extend(
        labelled
            .iter()
            .filter(|(_, l)| l.existing)
            .map(|(b, _)| format!("/dev/{}", b.name)),
    );
    checked(t, ep, &on_host(h, Command::new(devs))).await?;
    let mut restart = Vec::new();
    for id in &existing {
        let now = containers::inspect(t, ep, h.engine, &format!("ceph_osd_{id}")).await?;
        let want = wanted_hash(cluster, h, Role::Osd, id)?;
        if containers::need(&now, &want) != containers::Need::Nothing {
            restart.push(id.clone());
        }
    }
    if restart.is_empty() {
        return Ok(RestartDone::Nothing);
    }
    // One host at a time from here; the lock is held until its PGs are clean.
    let mut state = rolling.state.lock().await;
    if let Some(other) = &state.failed {
        return Ok(RestartDone::Skipped(format!(
            "OSD restarts stopped after the failure on {other}"
        )));
    }
    let r = restart_together(cluster, &mut state, h, t, ctx, &restart).await;
    if r.is_err() {
        state.failed = Some(h.name.clone());
    }
    r.map(|()| RestartDone::Restarted)
}

/// Sets `noout` (first restart of the phase), asks `ok-to-stop`, restarts
/// the OSDs together and waits for them and for clean PGs.
async fn restart_together(
    cluster: &Cluster,
    state: &mut RollState,
    h: &Host,
    t: &dyn Transport,
    ctx: &StepContext,
    ids: &[String],
) -> Result<(), TransportError> {
    let dump = ceph_json(cluster, t, &["osd", "dump"]).await?;
    if state.noout_before.is_none() {
        let set = has_flag(&dump, "noout");
        if !set {
            ceph_out(cluster, t, &["osd", "set", "noout"], false).await?;
        }
        state.noout_before = Some(set);
    }
    ok_to_stop(cluster, t, h, ids, ctx).await?;
    let after: Vec<(String, u64)> = ids
        .iter()
        .map(|id| (id.clone(), crate::ceph::osd_in_dump(&dump, id).up_from))
        .collect();
    let shown: Vec<String> = ids.iter().map(|i| format!("osd.{i}")).collect();
    ctx.reporter.output_line(
        &ctx.step,
        &h.name,
        crate::transport::Stream::Stdout,
        &format!("restarting {}", shown.join(", ")),
    );
    stop_marked_down(cluster, h, t, ids, cluster.release >= Release::Octopus).await?;
    let restarted = futures::future::join_all(
        ids.iter()
            .map(|id| ensure_daemon(cluster, h, t, Role::Osd, id)),
    )
    .await;
    for r in restarted {
        r?;
    }
    // Up from a later map first, or a stale "clean" would pass at once.
    wait_osds_up(cluster, t, &h.name, &after, Duration::from_secs(300), ctx).await?;
    wait_clean(cluster, t, &h.name, ctx).await
}

/// Stops a host's OSDs (gracefully, together) and marks them down in
/// the OSD map at once. An OSD that stops with `osd_fast_shutdown` and
/// does not tell the mons (Nautilus; Pacific before 16.2.8 without
/// `osd_fast_shutdown_notify_mon`) stays "up" until its peers' reports
/// pass the heartbeat grace (about 20 s), and clients' I/O to the PGs it
/// led waits that long; marked down, the PGs re-peer on the others at
/// once. With mons of Octopus or later (`mons_know_dead`) it is marked
/// `--definitely-dead` too: PGs then need not wait out the read lease the
/// stopped OSD held (up to 16 s of "laggy" PGs, seen in a real Nautilus
/// -> Pacific upgrade). A stopped OSD cannot say it was "wrongly marked
/// down".
pub async fn stop_marked_down(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    ids: &[String],
    mons_know_dead: bool,
) -> Result<(), TransportError> {
    let ep = Endpoint::of(h);
    let stopped = futures::future::join_all(ids.iter().map(|id| async {
        let spec = spec_of(cluster, h, Role::Osd, id)?;
        containers::stop_to_replace(t, &ep, h.engine, &spec, stop_timeout(h, Role::Osd)).await
    }))
    .await;
    let mut down = vec!["osd", "down"];
    let mut first_error = None;
    for (id, r) in ids.iter().zip(stopped) {
        match r {
            Ok(true) => down.push(id),
            Ok(false) => {}
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    // Those stopped are marked down even when another failed to stop.
    if down.len() > 2 {
        if mons_know_dead {
            down.push("--definitely-dead");
        }
        ceph_out(cluster, t, &down, false).await?;
    }
    first_error.map_or(Ok(()), Err)
}

/// Whether `flag` is among the `flags` of `ceph osd dump` (a comma list
/// in every release).
fn has_flag(dump: &serde_json::Value, flag: &str) -> bool {
    dump["flags"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .any(|f| f.trim() == flag)
}

/// Asks Ceph whether the OSDs may stop together, again with a growing
/// pause while it says no, for at most `ceph_osd_ok_to_stop_timeout`;
/// then fails with what Ceph said. Releases before Luminous have no such
/// question; a release that does not know it is told apart by EINVAL.
async fn ok_to_stop(
    cluster: &Cluster,
    t: &dyn Transport,
    h: &Host,
    ids: &[String],
    ctx: &StepContext,
) -> Result<(), TransportError> {
    if cluster.release < Release::Luminous {
        return Ok(());
    }
    let limit = Duration::from_secs(cluster.settings.ceph_osd_ok_to_stop_timeout);
    let started = tokio::time::Instant::now();
    let say = |line: &str| {
        ctx.reporter
            .output_line(&ctx.step, &h.name, crate::transport::Stream::Stdout, line)
    };
    let asked = crate::ceph::ok_to_stop(cluster, t, "osd", ids, limit, |at, ms, said| {
        say(&format!(
            "not ok to stop yet, asked again after {} s: {said}",
            ms / 1000
        ));
        ctx.reporter.waited(&ctx.step, &h.name, at, ms);
    })
    .await?;
    match asked {
        OkToStop::Yes => Ok(()),
        OkToStop::NoSuchCheck => {
            say("this release has no `ceph osd ok-to-stop`: restarting without asking");
            Ok(())
        }
        OkToStop::No { said } => Err(TransportError::Other {
            host: h.name.clone(),
            reason: format!(
                "Ceph does not let osd.{} stop (asked for {} s, nothing restarted on {}): {said}",
                ids.join(", osd."),
                started.elapsed().as_secs(),
                h.name
            ),
        }),
    }
}

/// Puts `noout` back as it was before the restarts set it: unset when it
/// was not set, left alone otherwise (and when no restart happened).
pub struct RestoreNoout {
    pub cluster: Arc<Cluster>,
    pub rolling: Arc<Rolling>,
}

impl Action for RestoreNoout {
    fn run<'a>(
        &'a self,
        _ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let mut state = self.rolling.state.lock().await;
            let r: StepResult = match state.noout_before.take() {
                Some(false) => ceph_out(&self.cluster, t, &["osd", "unset", "noout"], false)
                    .await
                    .map(|_| true),
                _ => Ok(false),
            };
            outcome(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_of_osd_dump() {
        let d = serde_json::json!({"flags": "noout,sortbitwise,recovery_deletes"});
        assert!(has_flag(&d, "noout"));
        assert!(!has_flag(&d, "noup"));
        assert!(!has_flag(&serde_json::json!({}), "noout"));
    }
}
