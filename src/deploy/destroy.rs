//! `cephalo destroy`: stop and remove every Ceph daemon container and the
//! cluster's data and config on the hosts. OSD partitions keep their data
//! unless `--zap`, which wipes them and gives them back their bootstrap
//! labels, ready for a new deploy.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Action, HostOutcome, Node, OnFailure, Plan, Status, Step, StepContext};
use crate::model::{Cluster, Role};
use crate::transport::{BoxFuture, Command, Endpoint, Transport, checked, quote};

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

/// The shell that removes a host's daemons and data, and with `zap` wipes
/// its OSD partitions and relabels them `KOLLA_CEPH_OSD_BOOTSTRAP_BS_OSD<id>`
/// (filestore: `KOLLA_CEPH_OSD_BOOTSTRAP_OSD<id>`; partners keep their
/// suffix). Prints `changed` when it removed anything.
pub fn script(engine: &str, cluster: &str, zap: bool) -> String {
    let e = quote(engine);
    let c = quote(cluster);
    let mut s = format!(
        "names=$({e} ps -a --format '{{{{.Names}}}}' | grep -E '^ceph_(mon|mgr|mds|rgw|osd_[0-9]+)$'); \
         [ -n \"$names\" ] && {{ {e} rm -f $names >/dev/null && echo changed; }}; \
         for d in /var/lib/ceph/mon /var/lib/ceph/mgr /var/lib/ceph/osd /var/lib/ceph/mds /var/lib/ceph/radosgw /var/lib/ceph/tmp; do \
           [ -n \"$(ls -A $d 2>/dev/null)\" ] && {{ rm -rf \"$d\"/* && echo changed; }}; done; \
         for f in /etc/ceph/{c}.conf /etc/ceph/{c}.client.admin.keyring /var/lib/ceph/bootstrap-*/{c}.keyring; do \
           [ -e \"$f\" ] && {{ rm -f \"$f\" && echo changed; }}; done; "
    );
    if zap {
        s.push_str(
            "for p in /sys/class/block/*; do b=$(basename $p); [ -e $p/partition ] && [ -b /dev/$b ] || continue; \
               n=$(blkid -p -o value -s PART_ENTRY_NAME /dev/$b 2>/dev/null); \
               case $n in KOLLA_CEPH_DATA_BS_*) kind=_BS; rest=${n#KOLLA_CEPH_DATA_BS_} ;; \
                 KOLLA_CEPH_DATA_*) kind=; rest=${n#KOLLA_CEPH_DATA_} ;; *) continue ;; esac; \
               id=${rest%%_*}; suffix=${rest#$id}; \
               dd if=/dev/zero of=/dev/$b bs=1M count=10 conv=fsync status=none; \
               parent=$(basename $(dirname $(readlink -f $p))); num=$(cat $p/partition); \
               parted -s /dev/$parent name $num KOLLA_CEPH_OSD_BOOTSTRAP${kind}_OSD$id$suffix && echo changed; done; ",
        );
    }
    s.push_str("true");
    s
}

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
            let cmd = Command::shell(script(h.engine.command(), &self.cluster.name, zap))
                .become_root(ep.connection.become_root)
                .timeout(Duration::from_secs(600));
            match checked(t, ep, &cmd).await {
                Ok(out) => HostOutcome::done(out.stdout_text().contains("changed")),
                Err(e) => HostOutcome::error(&cmd.display(), e),
            }
        })
    }
}
