//! Checks on the cluster as a whole, from the model alone: the number of
//! mons, the pool size against the OSD hosts, passwords and release.

use super::{CheckResult, Level};
use crate::model::{Cluster, Role};

/// One named cluster-wide check.
pub struct ClusterCheck {
    pub id: &'static str,
    pub judges: &'static str,
    pub run: fn(&Cluster) -> CheckResult,
}

pub const CHECKS: &[ClusterCheck] = &[
    ClusterCheck {
        id: "cluster.mons",
        judges: "at least one mon, an odd number of them",
        run: mons,
    },
    ClusterCheck {
        id: "cluster.pool_size",
        judges: "osd_pool_default_size no larger than the OSD hosts",
        run: pool_size,
    },
    ClusterCheck {
        id: "cluster.passwords",
        judges: "the fsid and keys of the passwords file",
        run: passwords,
    },
    ClusterCheck {
        id: "cluster.release",
        judges: "the Ceph release and image deployed",
        run: release,
    },
];

/// Checks on the cluster as a whole.
pub fn cluster_checks(cluster: &Cluster) -> Vec<CheckResult> {
    CHECKS.iter().map(|c| (c.run)(cluster)).collect()
}

fn mons(cluster: &Cluster) -> CheckResult {
    let c = CheckResult::cluster;
    match cluster.hosts_with(Role::Mon).count() {
        0 => c(
            "cluster.mons",
            Level::Fail,
            "no mon".to_string(),
            "put at least one host in the mons group",
        ),
        n if n % 2 == 0 => c(
            "cluster.mons",
            Level::Warn,
            format!("{n} mons"),
            "use an odd number of mons",
        ),
        n => c("cluster.mons", Level::Pass, format!("{n} mons"), ""),
    }
}

/// `osd_pool_default_size` against the OSD hosts (Ceph puts each copy on
/// another host): prechecks fails on it, `render` warns.
pub fn pool_size(cluster: &Cluster) -> CheckResult {
    let osd_hosts = cluster.hosts_with(Role::Osd).count() as u64;
    let size = cluster.settings.osd_pool_default_size;
    if size > osd_hosts {
        CheckResult::cluster(
            "cluster.pool_size",
            Level::Fail,
            format!("osd_pool_default_size {size} > {osd_hosts} OSD host(s)"),
            "add OSD hosts or lower osd_pool_default_size (PGs would never be clean)",
        )
    } else {
        CheckResult::cluster(
            "cluster.pool_size",
            Level::Pass,
            format!("size {size} on {osd_hosts} OSD host(s)"),
            "",
        )
    }
}

fn passwords(cluster: &Cluster) -> CheckResult {
    CheckResult::cluster(
        "cluster.passwords",
        Level::Pass,
        format!(
            "fsid {} and {} keys present",
            cluster.fsid,
            cluster.secrets.len()
        ),
        "",
    )
}

fn release(cluster: &Cluster) -> CheckResult {
    CheckResult::cluster(
        "cluster.release",
        Level::Pass,
        format!("{} ({})", cluster.release, cluster.image),
        "",
    )
}
