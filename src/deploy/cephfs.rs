//! The CephFS file system and its two pools, made once when mds is
//! enabled, the wait for an active MDS rank, and its number of active
//! ranks (ceph-ansible's `mds_max_mds`), set only when it differs. All
//! read from `ceph fs dump`, whose JSON every release has.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::{ceph_json, ceph_out};
use crate::engine::{Action, HostOutcome, Status, StepContext};
use crate::model::Cluster;
use crate::transport::{BoxFuture, Endpoint, Transport};

use super::outcome;
use super::waits::wait_for;

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
                    // `fs dump` has the same JSON on every release;
                    // Nautilus's `fs status` prints a table even with -f json.
                    let dump = ceph_json(cluster, t, &["fs", "dump"]).await?;
                    Ok(active_mds(&dump, name).map(|()| changed))
                })
                .await
            };
            outcome(r.await)
        })
    }
}

/// ceph-ansible's `mds_max_mds`: `ceph fs set NAME max_mds N` when the
/// file system's max_mds differs (a second run changes nothing). Skipped
/// when the file system does not exist (reconfigure never makes it).
pub struct MaxMds {
    pub cluster: Arc<Cluster>,
}

impl Action for MaxMds {
    fn run<'a>(
        &'a self,
        _ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let Some(want) = cluster.mds_max_mds else {
                return outcome(Ok(false));
            };
            let name = &cluster.settings.cephfs_name;
            let dump = match ceph_json(cluster, t, &["fs", "dump"]).await {
                Ok(d) => d,
                Err(e) => return outcome(Err(e)),
            };
            match max_mds(&dump, name) {
                None => {
                    HostOutcome::status(Status::Skipped(format!("no file system `{name}` yet")))
                }
                Some(n) if n == want => outcome(Ok(false)),
                Some(_) => {
                    let n = want.to_string();
                    let r = ceph_out(cluster, t, &["fs", "set", name, "max_mds", &n], false).await;
                    outcome(r.map(|_| true))
                }
            }
        })
    }
}

/// The max_mds of file system `name` in `ceph fs dump -f json`.
pub(super) fn max_mds(dump: &serde_json::Value, name: &str) -> Option<u64> {
    dump["filesystems"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["mdsmap"]["fs_name"].as_str() == Some(name))
        .and_then(|f| f["mdsmap"]["max_mds"].as_u64())
}

/// Whether file system `name` has an active rank in `ceph fs dump -f json`:
/// Ok, or its MDS daemons and their states.
pub(super) fn active_mds(dump: &serde_json::Value, name: &str) -> Result<(), String> {
    let fs = dump["filesystems"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["mdsmap"]["fs_name"].as_str() == Some(name));
    let Some(fs) = fs else {
        return Err(format!("no file system `{name}` in the FSMap yet"));
    };
    let mut states: Vec<String> = fs["mdsmap"]["info"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, m)| {
            format!(
                "{}:{}",
                m["name"].as_str().unwrap_or("?"),
                m["state"].as_str().unwrap_or("?")
            )
        })
        .collect();
    states.sort();
    if states.iter().any(|s| s.ends_with(":up:active")) {
        Ok(())
    } else if states.is_empty() {
        let standby = dump["standbys"].as_array().map_or(0, Vec::len);
        Err(format!("no MDS holds a rank yet ({standby} standby)"))
    } else {
        Err(states.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::waits::tests::{RELEASES, fixture};

    #[test]
    fn an_active_rank_is_read_from_every_release_fs_dump() {
        for r in RELEASES {
            let dump = fixture(r, "fs-dump").unwrap_or_else(|| panic!("{r}: no fs-dump"));
            assert_eq!(active_mds(&dump, "cephfs"), Ok(()), "{r}");
            assert_eq!(
                active_mds(&dump, "other"),
                Err("no file system `other` in the FSMap yet".into()),
                "{r}"
            );
            // The rank not active yet: its MDS and state are named.
            let mut replaying = dump.clone();
            for (_, m) in replaying["filesystems"][0]["mdsmap"]["info"]
                .as_object_mut()
                .unwrap()
            {
                m["state"] = "up:replay".into();
            }
            let e = active_mds(&replaying, "cephfs").unwrap_err();
            assert!(e.ends_with(":up:replay"), "{r}: {e}");
            assert_eq!(max_mds(&dump, "cephfs"), Some(1), "{r}");
            assert_eq!(max_mds(&dump, "other"), None, "{r}");
            // `fs ls` names the file system the step looks for.
            let ls = fixture(r, "fs-ls").unwrap_or_else(|| panic!("{r}: no fs-ls"));
            assert_eq!(ls[0]["name"], "cephfs", "{r}");
        }
        // No file system holds a rank yet.
        let empty = serde_json::json!({"filesystems": [{"mdsmap": {"fs_name": "cephfs", "info": {}}}],
            "standbys": [{"name": "ceph3"}]});
        assert_eq!(
            active_mds(&empty, "cephfs"),
            Err("no MDS holds a rank yet (1 standby)".into())
        );
    }
}
