//! The CephFS file system and its two pools, made once when mds is
//! enabled, and the wait for an active MDS rank.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::{ceph_json, ceph_out};
use crate::engine::{Action, HostOutcome, StepContext};
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
