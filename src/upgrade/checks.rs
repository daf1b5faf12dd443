//! The upgrade's read-only checks (and the other operations'): health,
//! quorum, versions, the target image, the OSD map's scrub flags, the mon
//! features, aes256k readiness and connected clients; each refuses with
//! the command that works in that state, changing nothing. Also what a
//! resumed run's health check takes as explained.

use serde_json::Value;

use super::act::{fail, osd_flags};
use super::exec::Upgrade;
use super::step::Check;
use crate::ceph::ceph_json;
use crate::release::Release;
use crate::transport::{Endpoint, Transport, TransportError};

/// Why a health check is no reason to stop a resumed run: an earlier run
/// of the journal found it before it changed anything (`before`), or the
/// run's own steps cause it (Tentacle's and Squid's AUTH_INSECURE_* once a
/// mon runs the target, done by this journal or an earlier one: keys made
/// before are of type aes; an upgrade's release not finished yet). None:
/// it blocks.
pub fn explained(up: &Upgrade, check: &str, before: Option<&[String]>) -> Option<&'static str> {
    if before.is_some_and(|b| b.iter().any(|c| c == check)) {
        return Some("it was there before the run started");
    }
    let mons_done = up.journal(|j| j.done.iter().any(|d| d.starts_with("mon:")))
        || up
            .plan
            .skipped
            .iter()
            .any(|d| d.kind == super::DaemonType::Mon);
    let to = up.plan.to;
    match check {
        c if c.starts_with("AUTH_INSECURE_")
            && !c.starts_with("AUTH_INSECURE_GLOBAL_ID")
            && to.warns_insecure_key_types()
            && mons_done =>
        {
            Some("the mons run a release that flags keys of type aes (rotate-keys clears it)")
        }
        "OSD_UPGRADE_FINISHED" => Some("the upgrade finishes with require-osd-release"),
        _ => None,
    }
}

/// A read-only check: Ok when it holds, else the refusal.
pub async fn check(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
    c: &Check,
) -> Result<bool, TransportError> {
    let cluster = &up.cluster;
    match c {
        Check::HealthNotErr => {
            let s = ceph_json(cluster, t, &["status"]).await?;
            let checks = s["health"]["checks"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            // What an earlier run of this journal found; the first run
            // records what was there before it changed anything.
            let before = up.journal(|j| {
                let before = j.health_before.clone();
                if before.is_none() {
                    j.health_before = Some(checks.keys().cloned().collect());
                }
                before
            });
            let blocking: Vec<String> = checks
                .iter()
                .filter(|(_, v)| v["severity"] == "HEALTH_ERR")
                .filter(|(k, _)| explained(up, k, before.as_deref()).is_none())
                .map(|(k, v)| {
                    format!(
                        "{k} ({}): not caused by this {}'s steps, and an error",
                        v["summary"]["message"].as_str().unwrap_or(""),
                        up.journal(|j| j.operation.clone())
                    )
                })
                .collect();
            if !blocking.is_empty() {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: the cluster is in HEALTH_ERR: {}; fix that first (`ceph health detail` says more), nothing was changed",
                        blocking.join("; ")
                    ),
                ));
            }
        }
        Check::OthersInQuorum { mons: these } => {
            let q = crate::ceph::quorum(cluster, t).await?;
            let mons: Vec<&str> = cluster
                .hosts_with(crate::model::Role::Mon)
                .map(|h| h.name.as_str())
                .collect();
            let others: Vec<&str> = mons
                .iter()
                .copied()
                .filter(|m| !these.iter().any(|x| x == m))
                .collect();
            let missing: Vec<&str> = others
                .iter()
                .copied()
                .filter(|m| !q.iter().any(|n| n == m))
                .collect();
            if !missing.is_empty() || others.len() * 2 <= mons.len() {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: without {} the mons in quorum would not be a majority (quorum: {}; out of it: {}); bring those back first, one at a time (`cephalo redeploy -i {} mon.{}`), nothing was changed",
                        these.join(", "),
                        q.join(", "),
                        if missing.is_empty() {
                            "none".to_string()
                        } else {
                            missing.join(", ")
                        },
                        cluster.files.inventory.display(),
                        missing.first().copied().unwrap_or("HOST"),
                    ),
                ));
            }
        }
        Check::MonsInQuorum => {
            let q = crate::ceph::quorum(cluster, t).await?;
            let mons: Vec<&str> = cluster
                .hosts_with(crate::model::Role::Mon)
                .map(|h| h.name.as_str())
                .collect();
            // A resumed upgrade may find the mon it was restarting down:
            // its own step brings it back, while the others keep quorum.
            let resuming = up.journal(|j| {
                j.done.iter().any(|d| d.starts_with("mon:"))
                    || j.errors.iter().any(|e| e.starts_with("mon:"))
            });
            let missing: Vec<&str> = mons
                .iter()
                .copied()
                .filter(|m| !q.iter().any(|n| n == m))
                .filter(|m| !resuming || up.journal(|j| j.is_done(&format!("mon:{m}"))))
                .collect();
            let majority = q.len() * 2 > mons.len();
            if !missing.is_empty() || !majority {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: mon {} out of quorum (quorum: {}); bring it back first: `cephalo redeploy -i {} mon.{}`",
                        missing.join(", "),
                        q.join(", "),
                        cluster.files.inventory.display(),
                        missing.first().copied().unwrap_or("HOST"),
                    ),
                ));
            }
        }
        Check::VersionsFitPlan { .. } => {
            // The plan was made from the versions read just before it; a
            // daemon that changed since is found by its own step's gate.
        }
        Check::TargetImage => {
            // Only the hosts whose daemons this plan restarts or makes:
            // one left out (by --limit, or not reached) is not asked.
            let acted_on: std::collections::BTreeSet<&str> = up
                .plan
                .phases
                .iter()
                .flat_map(|p| &p.steps)
                .filter_map(|s| match &s.kind {
                    super::StepKind::Restart { host, .. }
                    | super::StepKind::CreateMgr { host, .. } => Some(host.as_str()),
                    _ => None,
                })
                .collect();
            let mut missing = Vec::new();
            for h in &cluster.hosts {
                if !acted_on.contains(h.name.as_str()) {
                    continue;
                }
                let id = crate::containers::image_id(t, &Endpoint::of(h), h.engine, &cluster.image)
                    .await?;
                if id.is_none() {
                    missing.push(h.name.clone());
                }
            }
            if !missing.is_empty() {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: the target image {} is not on {}; put it there with `cephalo pull -i INVENTORY -e ceph_release={}` (or --image-archive), nothing was changed",
                        cluster.image,
                        missing.join(", "),
                        up.plan.to
                    ),
                ));
            }
        }
        Check::OsdmapScrubFlags => {
            let flags = osd_flags(up, t).await?;
            let lacking: Vec<&str> = ["recovery_deletes", "purged_snapdirs"]
                .into_iter()
                .filter(|f| !flags.iter().any(|x| x == f))
                .collect();
            if !lacking.is_empty() {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: the OSD map lacks {}: every PG must be scrubbed on Luminous or later first (`ceph osd scrub all`, then wait)",
                        lacking.join(", ")
                    ),
                ));
            }
        }
        Check::MonFeature { release } => {
            let name = release.name();
            up.wait(
                ep,
                &format!("`ceph mon feature ls` did not list {name}"),
                up.bounds.daemon_up,
                || async {
                    let v = ceph_json(cluster, t, &["mon", "feature", "ls"]).await?;
                    let persistent = &v["monmap"]["persistent"];
                    Ok(
                        if persistent
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|f| f == name)
                        {
                            Ok(())
                        } else {
                            Err(format!("persistent: {persistent}"))
                        },
                    )
                },
            )
            .await?;
        }
        Check::MinMonRelease { release } => {
            let major = release.major();
            up.wait(
                ep,
                &format!("`ceph mon dump` did not show min_mon_release {major}"),
                up.bounds.daemon_up,
                || async {
                    let v = ceph_json(cluster, t, &["mon", "dump"]).await?;
                    let min = v["min_mon_release"].as_u64().unwrap_or(0);
                    Ok(if min >= u64::from(major) {
                        Ok(())
                    } else {
                        Err(format!("min_mon_release {min}"))
                    })
                },
            )
            .await?;
        }
        Check::Aes256kReady => {
            let v = ceph_json(cluster, t, &["versions"]).await?;
            let short: Vec<String> = v["overall"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(text, _)| {
                    crate::ceph::parse_version(text).is_none_or(|v| !has_aes256k(v))
                })
                .map(|(text, n)| {
                    format!("{n} on {}", text.split_whitespace().nth(2).unwrap_or(text))
                })
                .collect();
            let dump = ceph_json(cluster, t, &["mon", "dump"]).await?;
            let feature = dump["features"]["persistent"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "cephx_auth_aes256k"));
            if !short.is_empty() || !feature {
                return Err(fail(
                    &ep.name,
                    format!(
                        "refused: aes256k keys need every daemon on 19.2.6 / 20.2.4 or later ({}) and the monmap feature cephx_auth_aes256k ({}); finish the upgrade first (`cephalo upgrade -i {} --to tentacle`), nothing was changed",
                        if short.is_empty() {
                            "they are".to_string()
                        } else {
                            format!("not: {}", short.join(", "))
                        },
                        if feature { "there" } else { "missing" },
                        cluster.files.inventory.display()
                    ),
                ));
            }
        }
        Check::ClientFeatures { release } => {
            let v = ceph_json(cluster, t, &["features"]).await?;
            let older = older_clients(&v, *release);
            if !older.is_empty() {
                up.say(&format!(
                    "note: connected clients older than {release}: {} (kept connected; upgrade them before relying on {release} features)",
                    older.join(", ")
                ));
            }
        }
    }
    Ok(false)
}

/// Whether a Ceph version has aes256k keys: 19.2.6 and later Squid,
/// 20.2.4 and later Tentacle, and every later release.
pub fn has_aes256k(v: crate::ceph::CephVersion) -> bool {
    match v.major {
        19 => (v.minor, v.patch) >= (2, 6),
        20 => (v.minor, v.patch) >= (2, 4),
        m => m > 20,
    }
}

/// Clients `ceph features` reports on a release older than `release`.
pub fn older_clients(features: &Value, release: Release) -> Vec<String> {
    features["client"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let r = Release::parse(c["release"].as_str()?)?;
            (r < release).then(|| format!("{} on {r}", c["num"].as_u64().unwrap_or(1)))
        })
        .collect()
}
