//! The MDS part of an upgrade, step by step as Ceph documents it: record
//! and turn off standby-replay, one active rank (`max_mds 1`), stop the
//! standbys, upgrade the active MDS, bring the standbys back on the
//! target, and restore `max_mds` and standby-replay as recorded.

use serde_json::Value;

use super::act::{ceph, fail};
use super::exec::Upgrade;
use super::journal::FsSettings;
use super::layout::{DaemonRef, DaemonType};
use super::step::MdsAction;
use crate::ceph::ceph_json;
use crate::engine::StepContext;
use crate::model::Role;
use crate::transport::{Command, Endpoint, Transport, TransportError, checked};

/// Each file system's name, max_mds, standby-replay and active MDS names,
/// from `ceph fs dump` (the same JSON on every release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fs {
    pub name: String,
    pub max_mds: u64,
    pub allow_standby_replay: bool,
    pub active: Vec<String>,
    pub standby_replay: Vec<String>,
}

/// `allow_standby_replay` is bit 5 of the mdsmap flags (CEPH_MDSMAP_ALLOW_STANDBY_REPLAY).
const ALLOW_STANDBY_REPLAY: u64 = 1 << 5;

/// The file systems of a `ceph fs dump`.
pub fn file_systems(dump: &Value) -> Vec<Fs> {
    dump["filesystems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let m = &f["mdsmap"];
            let info: Vec<&Value> = m["info"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, d)| d)
                .collect();
            let named = |state: &str| -> Vec<String> {
                info.iter()
                    .filter(|d| d["state"] == state)
                    .filter_map(|d| d["name"].as_str().map(str::to_string))
                    .collect()
            };
            let replay = match m["flags_state"]["allow_standby_replay"].as_bool() {
                Some(b) => b,
                None => m["flags"].as_u64().unwrap_or(0) & ALLOW_STANDBY_REPLAY != 0,
            };
            Fs {
                name: m["fs_name"].as_str().unwrap_or("").to_string(),
                max_mds: m["max_mds"].as_u64().unwrap_or(1),
                allow_standby_replay: replay,
                active: named("up:active"),
                standby_replay: named("up:standby-replay"),
            }
        })
        .collect()
}

async fn fs_now(up: &Upgrade, t: &dyn Transport) -> Result<Vec<Fs>, TransportError> {
    Ok(file_systems(
        &ceph_json(&up.cluster, t, &["fs", "dump"]).await?,
    ))
}

/// Does one MDS step over the daemons to upgrade.
pub async fn mds(
    up: &Upgrade,
    t: &dyn Transport,
    _ctx: &StepContext,
    ep: &Endpoint,
    action: MdsAction,
    daemons: &[DaemonRef],
    ask: bool,
) -> Result<bool, TransportError> {
    let limit = up.bounds.daemon_up;
    let fss = fs_now(up, t).await?;
    let active: Vec<String> = fss.iter().flat_map(|f| f.active.clone()).collect();
    let others: Vec<&DaemonRef> = daemons.iter().filter(|d| !active.contains(&d.id)).collect();
    match action {
        MdsAction::StandbyReplayOff => {
            up.journal(|j| {
                for f in &fss {
                    j.fs_before.entry(f.name.clone()).or_insert(FsSettings {
                        max_mds: f.max_mds,
                        allow_standby_replay: f.allow_standby_replay,
                    });
                }
            });
            let _ = up.save();
            let mut changed = false;
            for f in fss.iter().filter(|f| f.allow_standby_replay) {
                ceph(
                    up,
                    t,
                    &["fs", "set", &f.name, "allow_standby_replay", "false"],
                )
                .await?;
                changed = true;
            }
            up.wait(ep, "an MDS stayed in standby-replay", limit, || async {
                let now = fs_now(up, t).await?;
                Ok(if now.iter().all(|f| f.standby_replay.is_empty()) {
                    Ok(())
                } else {
                    Err("standby-replay MDS left".into())
                })
            })
            .await?;
            Ok(changed)
        }
        MdsAction::MaxMdsOne => {
            let mut changed = false;
            for f in fss.iter().filter(|f| f.max_mds != 1) {
                ceph(up, t, &["fs", "set", &f.name, "max_mds", "1"]).await?;
                changed = true;
            }
            up.wait(
                ep,
                "a file system kept more than one active rank",
                limit,
                || async {
                    let now = fs_now(up, t).await?;
                    Ok(if now.iter().all(|f| f.active.len() <= 1) {
                        Ok(())
                    } else {
                        Err("ranks still stopping".into())
                    })
                },
            )
            .await?;
            Ok(changed)
        }
        MdsAction::StopStandbys => {
            if ask && !others.is_empty() {
                let ids: Vec<String> = others.iter().map(|d| d.id.clone()).collect();
                super::restart::ok_to_stop(up, t, &ep.name, DaemonType::Mds, &ids).await?;
            }
            for d in &others {
                stop(up, t, &d.host).await?;
            }
            Ok(!others.is_empty())
        }
        MdsAction::UpgradeActive => {
            let mut changed = false;
            for d in daemons.iter().filter(|d| active.contains(&d.id)) {
                changed |= ensure(up, t, &d.host).await?;
            }
            let to = up.plan.to;
            up.wait(
                ep,
                &format!("no active MDS came back on {to}"),
                limit,
                || async {
                    let now = fs_now(up, t).await?;
                    Ok(if now.iter().all(|f| !f.active.is_empty()) {
                        Ok(())
                    } else {
                        Err("no active MDS yet".into())
                    })
                },
            )
            .await?;
            Ok(changed)
        }
        MdsAction::StartStandbys => {
            let mut changed = false;
            for d in &others {
                changed |= ensure(up, t, &d.host).await?;
            }
            Ok(changed)
        }
        MdsAction::RestoreMaxMds | MdsAction::RestoreStandbyReplay => {
            let before = up.journal(|j| j.fs_before.clone());
            let mut changed = false;
            for f in &fss {
                let Some(b) = before.get(&f.name) else {
                    continue;
                };
                if action == MdsAction::RestoreMaxMds && f.max_mds != b.max_mds {
                    ceph(
                        up,
                        t,
                        &["fs", "set", &f.name, "max_mds", &b.max_mds.to_string()],
                    )
                    .await?;
                    changed = true;
                }
                if action == MdsAction::RestoreStandbyReplay
                    && f.allow_standby_replay != b.allow_standby_replay
                {
                    let v = if b.allow_standby_replay {
                        "true"
                    } else {
                        "false"
                    };
                    ceph(up, t, &["fs", "set", &f.name, "allow_standby_replay", v]).await?;
                    changed = true;
                }
            }
            Ok(changed)
        }
    }
}

/// Stops a host's MDS gracefully (it comes back on the target later).
async fn stop(up: &Upgrade, t: &dyn Transport, host: &str) -> Result<(), TransportError> {
    let h = up
        .cluster
        .host(host)
        .ok_or_else(|| fail(host, "not a host of the inventory"))?;
    let secs = crate::deploy::stop_timeout(h, Role::Mds)
        .as_secs()
        .to_string();
    let cmd = Command::new([h.engine.command(), "stop", "-t", &secs, "ceph_mds"])
        .become_root(h.connection.become_root)
        .timeout(std::time::Duration::from_secs(600));
    checked(t, &Endpoint::of(h), &cmd).await.map(|_| ())
}

/// Recreates a host's MDS on the target.
async fn ensure(up: &Upgrade, t: &dyn Transport, host: &str) -> Result<bool, TransportError> {
    let h = up
        .cluster
        .host(host)
        .ok_or_else(|| fail(host, "not a host of the inventory"))?;
    crate::deploy::ensure_daemon(&up.cluster, h, t, Role::Mds, &h.name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_systems_are_read_from_fs_dump_on_old_and_new_releases() {
        let pacific = json!({"filesystems": [{"mdsmap": {
            "fs_name": "cephfs", "max_mds": 2, "flags": 18,
            "flags_state": {"allow_standby_replay": true},
            "info": {
                "gid_1": {"name": "ceph3", "state": "up:active"},
                "gid_2": {"name": "ceph2", "state": "up:standby-replay"}
            }
        }}]});
        let f = &file_systems(&pacific)[0];
        assert_eq!(
            (f.name.as_str(), f.max_mds, f.allow_standby_replay),
            ("cephfs", 2, true)
        );
        assert_eq!(f.active, ["ceph3"]);
        assert_eq!(f.standby_replay, ["ceph2"]);
        let nautilus = json!({"filesystems": [{"mdsmap": {"fs_name": "cephfs", "max_mds": 1, "flags": 32, "info": {}}}]});
        assert!(file_systems(&nautilus)[0].allow_standby_replay);
        let none = json!({"filesystems": [{"mdsmap": {"fs_name": "a", "flags": 18}}]});
        assert!(!file_systems(&none)[0].allow_standby_replay);
    }
}
