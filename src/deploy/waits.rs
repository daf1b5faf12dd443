//! Waiting for the cluster to settle: the one polling loop (`wait_for`),
//! placement groups active+clean, OSDs up (again), and HEALTH_OK at the
//! end of a deploy. Every wait asks one question per poll however many
//! daemons it waits for (one `osd dump` serves every OSD).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::ceph::ceph_json;
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

/// Whether each OSD of `after` (id, and the map epoch it must be up from
/// a later one than) is up and in, from one `osd dump`: Ok, or what is
/// still missing.
pub(super) fn osds_up(dump: &serde_json::Value, after: &[(String, u64)]) -> Result<(), String> {
    // By id: (up, up_from, in), read once for every OSD waited for.
    let by_id: std::collections::HashMap<u64, (bool, u64, bool)> = dump["osds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let up = o["up"].as_u64() == Some(1);
            let from = o["up_from"].as_u64().unwrap_or(0);
            Some((o["osd"].as_u64()?, (up, from, o["in"].as_u64() == Some(1))))
        })
        .collect();
    let missing: Vec<String> = after
        .iter()
        .filter(|(id, since)| {
            let state = id.parse::<u64>().ok().and_then(|n| by_id.get(&n));
            !matches!(state, Some((true, from, true)) if from > since)
        })
        .map(|(id, _)| format!("osd.{id}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let shown = missing
        .iter()
        .take(8)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = missing.len().saturating_sub(8);
    Err(format!(
        "{} of {} OSDs up and in; waiting for {shown}{}",
        after.len() - missing.len(),
        after.len(),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}

/// Waits until every OSD of `after` is up from a map later than its
/// epoch there (0 for a new OSD) and in: one `osd dump` per poll.
pub(super) async fn wait_osds_up(
    cluster: &Cluster,
    t: &dyn Transport,
    host: &str,
    after: &[(String, u64)],
    limit: Duration,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    if after.is_empty() {
        return Ok(());
    }
    let what = if after.len() == 1 {
        format!("osd.{} did not come up", after[0].0)
    } else {
        format!("{} OSDs did not all come up", after.len())
    };
    wait_for(ctx, host, &what, limit, || async {
        let dump = ceph_json(cluster, t, &["osd", "dump"]).await?;
        Ok(osds_up(&dump, after))
    })
    .await
}

/// The OSDs a step created, for the wait after it.
pub type Created = Arc<Mutex<Vec<String>>>;

/// Waits once for every OSD the creation step made to be up and in (the
/// step creates them on all hosts at once and does not wait itself).
pub struct WaitNewOsds {
    pub cluster: Arc<Cluster>,
    pub created: Created,
}

impl Action for WaitNewOsds {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let mut ids: Vec<String> = self.created.lock().map(|c| c.clone()).unwrap_or_default();
            ids.sort_by_key(|i| i.parse::<u64>().unwrap_or(u64::MAX));
            let after: Vec<(String, u64)> = ids.into_iter().map(|i| (i, 0)).collect();
            // At least five minutes; more for many OSDs coming up at once.
            let limit = Duration::from_secs(300 + after.len() as u64 / 10);
            let r = wait_osds_up(&self.cluster, t, &ep.name, &after, limit, ctx).await;
            outcome(r.map(|()| false))
        })
    }
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

    #[test]
    fn one_osd_dump_answers_for_every_osd_waited_for() {
        let dump = serde_json::json!({"osds": [
            {"osd": 0, "up": 1, "in": 1, "up_from": 9},
            {"osd": 1, "up": 1, "in": 1, "up_from": 4},
            {"osd": 2, "up": 0, "in": 1, "up_from": 0},
            {"osd": 3, "up": 1, "in": 0, "up_from": 7}]});
        let after = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(i, e)| (i.to_string(), *e)).collect()
        };
        assert_eq!(osds_up(&dump, &after(&[("0", 5), ("1", 0)])), Ok(()));
        assert_eq!(
            osds_up(
                &dump,
                &after(&[("0", 5), ("1", 4), ("2", 0), ("3", 0), ("9", 0)])
            ),
            Err("1 of 5 OSDs up and in; waiting for osd.1, osd.2, osd.3, osd.9".into())
        );
    }
}
