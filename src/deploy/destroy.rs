//! `cephalo destroy`: stop and remove every Ceph daemon container (and
//! custom container, with its keyring) and the
//! cluster's data and config on the hosts. OSD partitions keep their data
//! unless `--zap`, which wipes them and gives them back their bootstrap
//! labels, ready for a new deploy.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Action, HostOutcome, Node, OnFailure, Plan, Status, Step, StepContext};
use crate::model::{Cluster, Role};
use crate::script::Script;
use crate::transport::{BoxFuture, Endpoint, Transport, checked};

pub struct Destroy {
    pub cluster: Arc<Cluster>,
    pub zap: bool,
}

/// The plan: every selected host at once (nothing is kept running).
pub fn plan(cluster: &Arc<Cluster>, selected: &[String], zap: bool) -> Plan {
    Plan {
        name: "destroy".into(),
        root: Node::Step(Step {
            name: if zap {
                "destroy daemons, data and OSD disks".into()
            } else {
                "destroy daemons and data".into()
            },
            hosts: cluster
                .hosts
                .iter()
                .filter(|h| selected.contains(&h.name))
                .map(|h| h.name.clone())
                .collect(),
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(Destroy {
                cluster: cluster.clone(),
                zap,
            }),
        }),
    }
}

/// The script that removes a host's daemons and data, and with `zap` wipes
/// its OSD partitions and relabels them `KOLLA_CEPH_OSD_BOOTSTRAP_BS_OSD<id>`
/// (filestore: `KOLLA_CEPH_OSD_BOOTSTRAP_OSD<id>`; partners keep their
/// suffix). Prints `changed` when it removed anything.
pub fn script(engine: &str, cluster: &str, zap: bool) -> Script {
    Script::new(SCRIPT)
        .arg(engine)
        .arg(cluster)
        .arg(if zap { "yes" } else { "no" })
}

/// The script for a host, with the keyrings of its custom containers.
fn host_script(cluster: &crate::model::Cluster, h: &crate::model::Host, zap: bool) -> Script {
    h.custom
        .iter()
        .filter_map(|c| c.cephx.as_ref())
        .fold(script(h.engine.command(), &cluster.name, zap), |s, x| {
            s.arg(x.keyring(&cluster.name))
        })
}

const SCRIPT: &str = include_str!("destroy.sh");

impl Action for Destroy {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let Some(h) = self.cluster.host(&ep.name) else {
                return HostOutcome::status(Status::Skipped("not a Ceph host".into()));
            };
            let zap = self.zap && h.has(Role::Osd);
            let cmd = host_script(&self.cluster, h, zap)
                .command()
                .become_root(ep.connection.become_root)
                .timeout(Duration::from_secs(600));
            match checked(t, ep, &cmd).await {
                Ok(out) => HostOutcome::done(out.stdout_text().contains("changed")),
                Err(e) => HostOutcome::error(&cmd.display(), e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_cluster_name_is_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = script("docker", v, true).command();
            assert_eq!(cmd.argv[2], SCRIPT);
            assert_eq!(crate::script::words_seen_by_sh(&cmd), ["docker", *v, "yes"]);
        }
    }
}
