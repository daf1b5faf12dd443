//! Host checks on resources: memory for the daemons the host will run,
//! free space under /var/lib/ceph, and kernel.pid_max for its OSDs.

use super::{CheckResult, HostCheck, HostView, Level, expected_osds, gib};
use crate::model::Role;

/// Memory the non-OSD daemons want, in bytes.
pub const MON_MEMORY: u64 = 1 << 30;
pub const MGR_MEMORY: u64 = 1 << 29;
pub const MDS_MEMORY: u64 = 1 << 30;
/// Free space wanted under /var/lib/ceph.
pub const MIN_FREE: u64 = 5 << 30;
/// Below this many pids, many OSD threads run out.
pub const MIN_PID_MAX: u64 = 32768;

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "resources.memory",
        judges: "memory for osd_memory_target per OSD and the other daemons",
        run: memory,
    },
    HostCheck {
        id: "resources.disk",
        judges: "free space where /var/lib/ceph is (or would be)",
        run: disk,
    },
    HostCheck {
        id: "resources.pid_max",
        judges: "kernel.pid_max enough for the host's OSD threads",
        run: pid_max,
    },
];

fn memory(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    let Some(total) = f.mem_total else {
        return Vec::new();
    };
    let osds = expected_osds(host, f);
    let need = osds as u64 * host.settings.osd_memory_target
        + if host.has(Role::Mon) { MON_MEMORY } else { 0 }
        + if host.has(Role::Mgr) { MGR_MEMORY } else { 0 }
        + if host.has(Role::Mds) { MDS_MEMORY } else { 0 };
    vec![v.result(
        "resources.memory",
        if total >= need {
            Level::Pass
        } else {
            Level::Fail
        },
        format!(
            "{} total, {} wanted ({osds} OSD(s) x osd_memory_target + other daemons)",
            gib(total),
            gib(need)
        ),
        "add memory or lower osd_memory_target",
    )]
}

fn disk(v: &HostView) -> Vec<CheckResult> {
    let Some((mount, free)) = &v.facts.disk_free else {
        return Vec::new();
    };
    vec![v.result(
        "resources.disk",
        if *free >= MIN_FREE {
            Level::Pass
        } else if *free >= MIN_FREE / 5 {
            Level::Warn
        } else {
            Level::Fail
        },
        format!("{} free on {mount} (for /var/lib/ceph)", gib(*free)),
        "mons need several GiB under /var/lib/ceph: free space",
    )]
}

fn pid_max(v: &HostView) -> Vec<CheckResult> {
    let Some(p) = v.facts.pid_max else {
        return Vec::new();
    };
    // Each OSD runs thousands of threads under load.
    let osds = expected_osds(v.host, v.facts);
    let want = MIN_PID_MAX.max(16384 + 4096 * osds as u64);
    vec![v.result(
        "resources.pid_max",
        if p >= want { Level::Pass } else { Level::Fail },
        format!("kernel.pid_max = {p}, {want} wanted for {osds} OSD(s)"),
        "raise kernel.pid_max (cephalo prechecks --fix writes /etc/sysctl.d/90-cephalo-pid-max.conf)",
    )]
}
