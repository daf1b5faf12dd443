//! Daemon restarts of an upgrade: ask Ceph first (`ok-to-stop`, a standby
//! mgr), recreate the daemons' containers on the target image (a graceful
//! stop first, through deploy's one container mechanism), then hold the
//! step's gate: the daemon reports the target release from `ceph <type>
//! metadata`, a mon is back in quorum, OSDs are up in a later map and
//! every PG is active+clean (the stuck ones named when they are not).

use tokio::time::Instant;

use serde_json::Value;

use super::act::fail;
use super::exec::{Upgrade, Upgraded};
use super::layout::DaemonType;
use super::step::Gate;
use crate::ceph::{OkToStop, ceph_json, parse_version};
use crate::engine::{Action, StepContext};
use crate::model::Role;
use crate::release::Release;
use crate::transport::{Endpoint, Transport, TransportError};

fn role_of(kind: DaemonType) -> Role {
    match kind {
        DaemonType::Mon => Role::Mon,
        DaemonType::Mgr => Role::Mgr,
        DaemonType::Osd => Role::Osd,
        DaemonType::Mds => Role::Mds,
        DaemonType::Rgw => Role::Rgw,
    }
}

/// Asks `ceph <type> ok-to-stop <ids>` until Ceph says yes (the shared
/// ask in `ceph`, its pauses in the run log), for at most the bound; then
/// stops with what Ceph said. A release without the check goes on: the
/// plan's order keeps quorum.
pub async fn ok_to_stop(
    up: &Upgrade,
    t: &dyn Transport,
    host: &str,
    kind: DaemonType,
    ids: &[String],
) -> Result<(), TransportError> {
    let limit = up.bounds.ok_to_stop;
    let gate = format!("gate: {kind} ok-to-stop");
    let asked = crate::ceph::ok_to_stop(&up.cluster, t, kind.name(), ids, limit, |at, ms, _| {
        up.reporter.waited(&gate, host, at, ms)
    })
    .await?;
    match asked {
        OkToStop::Yes | OkToStop::NoSuchCheck => Ok(()),
        OkToStop::No { said } => {
            let names: Vec<String> = ids.iter().map(|i| format!("{kind}.{i}")).collect();
            Err(fail(
                host,
                format!(
                    "paused: Ceph says {} cannot stop yet (`ceph {kind} ok-to-stop {}`: {said}) after {} s of asking; nothing was stopped. Look at `ceph health detail`, then run the same command again to resume",
                    names.join(", "),
                    ids.join(" "),
                    limit.as_secs()
                ),
            ))
        }
    }
}

/// Whether mgr `id` may stop: it is not the active one, or a standby is
/// there to take over (or it is the only mgr).
async fn standby_ready(
    up: &Upgrade,
    t: &dyn Transport,
    id: &str,
) -> Result<Result<(), String>, TransportError> {
    let d = ceph_json(&up.cluster, t, &["mgr", "dump"]).await?;
    let standbys = d["standbys"].as_array().map_or(0, Vec::len);
    let active = d["active_name"].as_str() == Some(id) && d["available"] == true;
    let mgrs = up.cluster.hosts_with(Role::Mgr).count();
    Ok(if !active || standbys > 0 || mgrs <= 1 {
        Ok(())
    } else {
        Err(format!(
            "mgr.{id} is the active mgr and no standby is there yet"
        ))
    })
}

/// The release a daemon reports in `ceph <type> metadata <id>`.
async fn reported(
    up: &Upgrade,
    t: &dyn Transport,
    kind: DaemonType,
    id: &str,
) -> Result<Option<Release>, TransportError> {
    let v = ceph_json(&up.cluster, t, &[kind.name(), "metadata", id]).await?;
    Ok(version_in(&v))
}

/// The release in a metadata object (`ceph_version`, or
/// `ceph_version_short`).
pub fn version_in(v: &Value) -> Option<Release> {
    let text = match (v["ceph_version"].as_str(), v["ceph_version_short"].as_str()) {
        (Some(full), _) => full.to_string(),
        (None, Some(short)) => format!("ceph version {short}"),
        (None, None) => return None,
    };
    parse_version(&text).and_then(|c| c.release())
}

/// What a restart step asks for.
pub struct Restart<'a> {
    pub kind: DaemonType,
    pub host: &'a str,
    pub ids: &'a [String],
    /// `ceph <type> ok-to-stop` first.
    pub ask: bool,
    /// A standby mgr first.
    pub standby_mgr: bool,
    /// Made again even when its container is as wanted (`redeploy`).
    pub recreate: bool,
}

/// Restarts one host's daemons of a type on the target, as the step says,
/// then holds its gate.
pub async fn restart(
    up: &Upgrade,
    t: &dyn Transport,
    ctx: &StepContext,
    r: Restart<'_>,
    gate: Option<&Gate>,
) -> Result<bool, TransportError> {
    let Restart {
        kind,
        host,
        ids,
        ask,
        standby_mgr,
        recreate,
    } = r;
    let h = up
        .cluster
        .host(host)
        .ok_or_else(|| fail(host, "not a host of the inventory"))?;
    let ep = Endpoint::of(h);
    if ask {
        ok_to_stop(up, t, host, kind, ids).await?;
    }
    if standby_mgr {
        for id in ids {
            up.wait(
                &ep,
                "no standby mgr to take over",
                up.bounds.daemon_up,
                || standby_ready(up, t, id),
            )
            .await?;
        }
    }
    let before_epoch = ceph_json(&up.cluster, t, &["osd", "dump"]).await?["epoch"]
        .as_u64()
        .unwrap_or(0);
    let old: Vec<String> = futures::future::join_all(ids.iter().map(|id| async move {
        reported(up, t, kind, id)
            .await
            .ok()
            .flatten()
            .map_or("?".to_string(), |r| r.to_string())
    }))
    .await;
    let started = Instant::now();
    let role = role_of(kind);
    if kind == DaemonType::Osd {
        // The mons run the target release by the OSD phase.
        let mons_know_dead = up.plan.to >= crate::release::Release::Octopus;
        crate::deploy::stop_marked_down(&up.cluster, h, t, ids, mons_know_dead).await?;
    }
    let results = futures::future::join_all(ids.iter().map(|id| async move {
        if recreate {
            crate::deploy::recreate_daemon(&up.cluster, h, t, role, id).await
        } else {
            crate::deploy::ensure_daemon(&up.cluster, h, t, role, id).await
        }
    }))
    .await;
    for r in results {
        r?;
    }
    if let Some(g) = gate {
        hold(up, t, &ep, g, before_epoch).await?;
    }
    let to = up.plan.to.to_string();
    if let Ok(mut rows) = up.upgraded.lock() {
        for (id, old) in ids.iter().zip(old) {
            rows.push(Upgraded {
                daemon: format!("{kind}.{id}"),
                host: host.to_string(),
                old,
                new: to.clone(),
                seconds: started.elapsed().as_secs(),
            });
        }
    }
    ctx.reporter.output_line(
        &ctx.step,
        host,
        crate::transport::Stream::Stdout,
        &format!(
            "{} on {to} ({} s)",
            ids.iter()
                .map(|i| format!("{kind}.{i}"))
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed().as_secs()
        ),
    );
    Ok(true)
}

/// Waits until a restart's gate holds.
async fn hold(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
    gate: &Gate,
    before_epoch: u64,
) -> Result<(), TransportError> {
    let limit = up.bounds.daemon_up;
    match gate {
        Gate::MonUpgraded { id, release } => {
            let what = format!("mon.{id} did not report {release}");
            up.wait(ep, &what, limit, || async {
                Ok(match reported(up, t, DaemonType::Mon, id).await {
                    Ok(Some(r)) if r == *release => Ok(()),
                    Ok(r) => Err(format!(
                        "reports {}",
                        r.map_or("nothing".into(), |r| r.to_string())
                    )),
                    Err(e) => Err(e.to_string()),
                })
            })
            .await?;
            let what = format!("mon.{id} did not rejoin the quorum");
            up.wait(ep, &what, limit, || async {
                let q = crate::ceph::quorum(&up.cluster, t).await?;
                Ok(if q.iter().any(|m| m == id) {
                    Ok(())
                } else {
                    Err(format!("quorum: {}", q.join(", ")))
                })
            })
            .await
        }
        Gate::MgrUpgraded { id, release } => {
            let what = format!("mgr.{id} did not report {release} with a mgr active");
            up.wait(ep, &what, limit, || async {
                let d = ceph_json(&up.cluster, t, &["mgr", "dump"]).await?;
                let r = reported(up, t, DaemonType::Mgr, id).await.ok().flatten();
                Ok(if r == Some(*release) && d["available"] == true {
                    Ok(())
                } else {
                    Err(format!(
                        "mgr.{id} reports {:?}, available: {}",
                        r.map(|r| r.name()),
                        d["available"]
                    ))
                })
            })
            .await
        }
        Gate::OsdsUpPgsClean { ids, release } => {
            let what = format!("osd {ids:?} did not come up on {release}");
            up.wait(ep, &what, limit, || async {
                let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
                let meta = ceph_json(&up.cluster, t, &["osd", "metadata"]).await?;
                Ok(osds_back(&dump, &meta, ids, *release, before_epoch))
            })
            .await?;
            pgs_clean(up, t, ep).await
        }
        Gate::RgwUpgraded { id, release } => {
            let h = up
                .cluster
                .host(id)
                .ok_or_else(|| fail(id, "not a host of the inventory"))?;
            let what = format!("rgw.{id} did not report {release}");
            up.wait(ep, &what, limit, || async {
                let text =
                    crate::containers::running_version(t, &Endpoint::of(h), h.engine, "ceph_rgw")
                        .await?;
                let r = parse_version(&text).and_then(|v| v.release());
                Ok(if r == Some(*release) {
                    Ok(())
                } else {
                    Err(text)
                })
            })
            .await
        }
        Gate::RanksActive => {
            let what = "a file system rank did not return to up:active";
            up.wait(ep, what, limit, || async {
                let fs =
                    super::mds::file_systems(&ceph_json(&up.cluster, t, &["fs", "dump"]).await?);
                let short: Vec<String> = fs
                    .iter()
                    .filter(|f| (f.active.len() as u64) < f.max_mds)
                    .map(|f| format!("{}: {} of {} active", f.name, f.active.len(), f.max_mds))
                    .collect();
                Ok(if short.is_empty() {
                    Ok(())
                } else {
                    Err(short.join("; "))
                })
            })
            .await
        }
        _ => Ok(()),
    }
}

/// Ok when every OSD of `ids` is up from a map after `before` and reports
/// `release`; else what is missing.
pub fn osds_back(
    dump: &Value,
    meta: &Value,
    ids: &[u32],
    release: Release,
    before: u64,
) -> Result<(), String> {
    let mut missing = Vec::new();
    for id in ids {
        let s = crate::ceph::osd_in_dump(dump, &id.to_string());
        let r = meta
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["id"].as_u64() == Some(u64::from(*id)))
            .and_then(version_in);
        if !(s.up && s.up_from > before && r == Some(release)) {
            missing.push(format!(
                "osd.{id}: up={} up_from={} on {}",
                s.up,
                s.up_from,
                r.map_or("?", |r| r.name())
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join(", "))
    }
}

/// Waits until every PG is active+clean; past the bound, names the PGs
/// still stuck.
async fn pgs_clean(up: &Upgrade, t: &dyn Transport, ep: &Endpoint) -> Result<(), TransportError> {
    let r = up
        .wait(
            ep,
            "the placement groups were not all active+clean",
            up.bounds.pgs_clean,
            || async {
                let s = ceph_json(&up.cluster, t, &["status"]).await?;
                Ok(crate::deploy::pgmap_clean(&s))
            },
        )
        .await;
    if let Err(e) = r {
        let stuck = ceph_json(&up.cluster, t, &["pg", "dump_stuck", "unclean"])
            .await
            .unwrap_or_default();
        let names: Vec<String> = stuck["stuck_pg_stats"]
            .as_array()
            .or(stuck.as_array())
            .into_iter()
            .flatten()
            .take(20)
            .map(|p| {
                format!(
                    "{} {}",
                    p["pgid"].as_str().unwrap_or("?"),
                    p["state"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return Err(fail(
            &ep.name,
            format!(
                "{e}; stuck: {}",
                if names.is_empty() {
                    "none listed".into()
                } else {
                    names.join(", ")
                }
            ),
        ));
    }
    Ok(())
}

/// Makes a mgr where none runs yet (Jewel -> Luminous), as deploy does.
pub async fn create_mgr(
    up: &Upgrade,
    t: &dyn Transport,
    ctx: &StepContext,
    host: &str,
) -> Result<bool, TransportError> {
    let h = up
        .cluster
        .host(host)
        .ok_or_else(|| fail(host, "not a host of the inventory"))?;
    let action = crate::deploy::Daemon {
        cluster: up.cluster.clone(),
        role: Role::Mgr,
        create: true,
    };
    let o = action.run(&Endpoint::of(h), t, ctx).await;
    o.into_result()
}

/// Writes the target's ceph.conf (v2 and v1 mon addresses) on every host.
pub async fn push_config(
    up: &Upgrade,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<bool, TransportError> {
    let action = crate::deploy::PushConfig {
        cluster: up.cluster.clone(),
    };
    let mut changed = false;
    for h in &up.cluster.hosts {
        changed |= action.run(&Endpoint::of(h), t, ctx).await.into_result()?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn osds_are_back_when_up_later_and_on_the_release() {
        let dump = json!({"osds": [
            {"osd": 0, "up": 1, "in": 1, "up_from": 12},
            {"osd": 1, "up": 1, "in": 1, "up_from": 9}
        ]});
        let meta = json!([
            {"id": 0, "ceph_version": "ceph version 18.2.7 (abc) reef (stable)"},
            {"id": 1, "ceph_version": "ceph version 16.2.15 (abc) pacific (stable)"}
        ]);
        assert_eq!(osds_back(&dump, &meta, &[0], Release::Reef, 10), Ok(()));
        let e = osds_back(&dump, &meta, &[0, 1], Release::Reef, 10).unwrap_err();
        assert!(e.contains("osd.1: up=true up_from=9 on pacific"), "{e}");
        assert!(osds_back(&dump, &meta, &[0], Release::Reef, 12).is_err());
    }

    #[test]
    fn metadata_versions_parse_on_every_release_shape() {
        assert_eq!(
            version_in(
                &json!({"ceph_version": "ceph version 10.2.11 (e4b061b47f07f583c92a050d9e84b1813a35671e)"})
            ),
            Some(Release::Jewel)
        );
        assert_eq!(
            version_in(&json!({"ceph_version_short": "14.2.21"})),
            Some(Release::Nautilus)
        );
        assert_eq!(version_in(&json!({})), None);
    }
}
