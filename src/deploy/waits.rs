//! Waiting for the cluster to settle: the one polling loop (`wait_for`),
//! placement groups active+clean, an OSD up again, and HEALTH_OK at the
//! end of a deploy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ceph::{ceph_json, osd_state};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::model::Cluster;
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError};

use super::outcome;

/// Asks `probe` every two seconds until it answers `Ok(Some(_))`, for at
/// most `limit`; every other answer (a status, or an error of a cluster
/// still starting) is shown as the step's progress, and the last one is in
/// the error when time runs out.
pub(super) async fn wait_for<T, F, Fut>(
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
pub(super) async fn pgs_clean(
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
pub fn pgmap_clean(status: &serde_json::Value) -> Result<(), String> {
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
pub(super) fn all_clean(total: u64, states: &[(String, u64)]) -> Result<(), String> {
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
pub(super) async fn wait_clean(
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

/// Waits until osd.`id` is up from a map later than `after`.
pub(super) async fn wait_osd_up(
    cluster: &Cluster,
    t: &dyn Transport,
    host: &str,
    id: &str,
    after: u64,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let what = format!("osd.{id} did not come up");
    wait_for(ctx, host, &what, Duration::from_secs(300), || async {
        let crate::ceph::OsdState { up, up_from: from } = osd_state(cluster, t, id).await?;
        Ok(if up && from > after {
            Ok(())
        } else {
            Err(format!("osd.{id}: up={up}, up_from={from}"))
        })
    })
    .await
}

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
    fn placement_groups_clean_by_state() {
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
    }
}
