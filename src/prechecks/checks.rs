//! The checks: pure functions from the model and a host's facts to named
//! results (pass, warn or fail, the value measured and a one-line hint).

use serde::Serialize;

use crate::facts::{ClockSample, Facts, OsdLabel, osd_label};
use crate::model::{Cluster, Engine, Host, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Stable id, like `ports.mon`.
    pub id: &'static str,
    /// The host, or None for a cluster-wide check.
    pub host: Option<String>,
    pub level: Level,
    pub value: String,
    /// What to do about it (empty when it passes).
    pub hint: String,
}

/// Oldest engine versions cephalo supports (major, minor).
pub const MIN_DOCKER: (u32, u32) = (20, 10);
pub const MIN_PODMAN: (u32, u32) = (3, 0);
/// Clock offset the mons tolerate (mon_clock_drift_allowed).
pub const MAX_CLOCK_OFFSET: f64 = 0.05;
/// Memory the non-OSD daemons want, in bytes.
pub const MON_MEMORY: u64 = 1 << 30;
pub const MGR_MEMORY: u64 = 1 << 29;
pub const MDS_MEMORY: u64 = 1 << 30;
/// Free space wanted under /var/lib/ceph.
pub const MIN_FREE: u64 = 5 << 30;
/// Below this many pids, many OSD threads run out.
pub const MIN_PID_MAX: u64 = 32768;

fn r(
    id: &'static str,
    host: &Host,
    level: Level,
    value: impl Into<String>,
    hint: impl Into<String>,
) -> CheckResult {
    CheckResult {
        id,
        host: Some(host.name.clone()),
        level,
        value: value.into(),
        hint: if level == Level::Pass {
            String::new()
        } else {
            hint.into()
        },
    }
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Parses `20.10.24+dfsg1` or `4.3.1` into (major, minor).
pub fn version_pair(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Every host check on one host's facts. `offset` is the measured clock
/// offset in seconds; `osds` the number of OSD disks expected on it.
pub fn host_checks(
    cluster: &Cluster,
    host: &Host,
    f: &Facts,
    offset: Option<ClockSample>,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    // os
    let os = format!(
        "{} kernel {} {}, cgroup {}",
        f.os.as_deref().unwrap_or("unknown OS"),
        f.kernel.as_deref().unwrap_or("?"),
        f.arch.as_deref().unwrap_or("?"),
        f.cgroup.as_deref().unwrap_or("?")
    );
    let kernel_ok = f
        .kernel
        .as_deref()
        .and_then(version_pair)
        .is_some_and(|v| v >= (4, 15));
    let arch_ok = matches!(
        f.arch.as_deref(),
        Some("x86_64" | "aarch64" | "ppc64le" | "s390x")
    );
    out.push(match (kernel_ok, arch_ok) {
        (true, true) => r("os", host, Level::Pass, os, ""),
        (false, _) => r(
            "os",
            host,
            Level::Fail,
            os,
            "Ceph containers need Linux 4.15 or newer",
        ),
        (_, false) => r(
            "os",
            host,
            Level::Fail,
            os,
            "Ceph images exist for x86_64, aarch64, ppc64le and s390x",
        ),
    });

    // container engine
    let engine = host.engine.command();
    match (f.engines.get(engine), &f.engine_version) {
        (None, _) => out.push(r(
            "engine.installed",
            host,
            Level::Fail,
            format!("{engine} not found on PATH"),
            format!(
                "install {engine} (Debian: apt-get install {})",
                if engine == "docker" {
                    "docker.io"
                } else {
                    "podman"
                }
            ),
        )),
        (Some(path), None) => {
            out.push(r("engine.installed", host, Level::Pass, path.clone(), ""));
            out.push(r(
                "engine.running",
                host,
                Level::Fail,
                f.engine_error
                    .clone()
                    .unwrap_or_default()
                    .lines()
                    .last()
                    .unwrap_or("no answer")
                    .to_string(),
                format!("start the {engine} daemon (cephalo prechecks --fix starts it)"),
            ));
        }
        (Some(path), Some(v)) => {
            out.push(r("engine.installed", host, Level::Pass, path.clone(), ""));
            let min = if host.engine == Engine::Docker {
                MIN_DOCKER
            } else {
                MIN_PODMAN
            };
            let ok = version_pair(v).is_some_and(|p| p >= min);
            out.push(r(
                "engine.running",
                host,
                if ok { Level::Pass } else { Level::Fail },
                format!("{engine} {v}"),
                format!("cephalo needs {engine} {}.{} or newer", min.0, min.1),
            ));
            out.push(match &f.image_id {
                Some(id) => r("engine.image", host, Level::Pass, format!("{} {}", cluster.image, &id[..id.len().min(19)]), ""),
                None => r(
                    "engine.image",
                    host,
                    Level::Warn,
                    format!("{} not on the host", cluster.image),
                    "cephalo pull -i INVENTORY (with --image-archive FILE where no registry is reachable)",
                ),
            });
        }
    }

    // hostname: mon and mgr ids are the host names.
    let short = f.hostname.clone().unwrap_or_default();
    let daemon_ids = host.has(Role::Mon) || host.has(Role::Mgr) || host.has(Role::Mds);
    out.push(if short == host.name {
        r("hostname.matches", host, Level::Pass, short.clone(), "")
    } else {
        r(
            "hostname.matches",
            host,
            if daemon_ids { Level::Fail } else { Level::Warn },
            format!("host calls itself `{short}`, the inventory `{}`", host.name),
            format!(
                "rename the host (hostnamectl set-hostname {}) or the inventory entry",
                host.name
            ),
        )
    });
    if let Some(addr) = host.public_address {
        let a = addr.to_string();
        out.push(if f.resolves_to.is_empty() {
            r(
                "hostname.resolves",
                host,
                Level::Warn,
                format!("`{}` does not resolve on the host", host.name),
                format!("add `{a} {}` to /etc/hosts", host.name),
            )
        } else if f.resolves_to.contains(&a) {
            r(
                "hostname.resolves",
                host,
                Level::Pass,
                format!("{} -> {a}", host.name),
                "",
            )
        } else {
            r(
                "hostname.resolves",
                host,
                Level::Warn,
                format!("{} -> {}, not {a}", host.name, f.resolves_to.join(", ")),
                format!("make `{}` resolve to {a} on every host", host.name),
            )
        });
    }

    // time
    out.push(if f.time_sync.is_empty() {
        r(
            "time.sync",
            host,
            Level::Fail,
            "no chronyd, ntpd or systemd-timesyncd running",
            "install and start chrony (cephalo prechecks --fix starts an installed one)",
        )
    } else {
        r("time.sync", host, Level::Pass, f.time_sync.join(", "), "")
    });
    if let Some(ClockSample { offset: o, rtt }) = offset {
        // The true offset lies within o +- rtt/2: fail only when all of that
        // interval is beyond the limit, warn when part of it is.
        let (low, high) = (o.abs() - rtt / 2.0, o.abs() + rtt / 2.0);
        out.push(r(
            "time.offset",
            host,
            if high <= MAX_CLOCK_OFFSET {
                Level::Pass
            } else if low > MAX_CLOCK_OFFSET {
                Level::Fail
            } else {
                Level::Warn
            },
            format!("{o:+.3} s (+-{:.3} s) from this machine", rtt / 2.0),
            "mons refuse clock skew above 0.05 s: fix time sync",
        ));
    }

    // network
    let wanted = &host.settings.network_interface;
    let iface = if wanted.is_empty() {
        None
    } else {
        f.interfaces.iter().find(|i| &i.name == wanted)
    };
    if !wanted.is_empty() {
        out.push(match iface {
            None => r(
                "network.interface",
                host,
                Level::Fail,
                format!("no interface `{wanted}`"),
                format!(
                    "set network_interface to one of: {}",
                    f.interfaces
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(i) if !i.up => r(
                "network.interface",
                host,
                Level::Fail,
                format!("{wanted} is down"),
                format!("ip link set {wanted} up"),
            ),
            Some(i) => r(
                "network.interface",
                host,
                Level::Pass,
                format!("{wanted} up, {}", i.addresses.join(" ")),
                "",
            ),
        });
    }
    let scope: Vec<&crate::facts::Interface> = match iface {
        Some(i) => vec![i],
        None => f.interfaces.iter().collect(),
    };
    let in_public: Vec<String> = scope
        .iter()
        .flat_map(|i| i.networks())
        .filter(|n| cluster.public_network.contains(&n.addr()))
        .map(|n| n.addr().to_string())
        .collect();
    let on_iface = |where_: &str| {
        if wanted.is_empty() {
            String::new()
        } else {
            format!(" on {where_}")
        }
    };
    out.push(match &host.public_address {
        Some(a) if scope.iter().any(|i| i.owns(*a)) && cluster.public_network.contains(a) => {
            r("network.public", host, Level::Pass, format!("{a}{}", on_iface(wanted)), "")
        }
        Some(a) => r(
            "network.public",
            host,
            Level::Fail,
            format!("{a} is not an address of the host{} in public_network {}", on_iface(wanted), cluster.public_network),
            "set public_address to an address the host has in public_network (and network_interface to its interface)",
        ),
        None if in_public.is_empty() => r(
            "network.public",
            host,
            Level::Fail,
            format!("no address in public_network {}{}", cluster.public_network, on_iface(wanted)),
            "give the host an address in public_network, or fix public_network / network_interface",
        ),
        None => r("network.public", host, Level::Pass, in_public.join(", "), ""),
    });
    if let Some(net) = cluster.cluster_network {
        let any = f
            .interfaces
            .iter()
            .flat_map(|i| i.networks())
            .any(|n| net.contains(&n.addr()));
        out.push(r(
            "network.cluster",
            host,
            if any { Level::Pass } else { Level::Fail },
            if any {
                format!("address in {net}")
            } else {
                format!("no address in cluster_network {net}")
            },
            "give the host an address in cluster_network, or leave cluster_network empty",
        ));
    }
    if host.has(Role::Mon) {
        let bad: Vec<String> = f
            .peers
            .iter()
            .filter_map(|(p, r)| r.as_ref().err().map(|e| format!("{p} ({e})")))
            .collect();
        if !f.peers.is_empty() {
            out.push(if bad.is_empty() {
                r(
                    "network.mons",
                    host,
                    Level::Pass,
                    format!("{} mon ports reachable", f.peers.len()),
                    "",
                )
            } else {
                r(
                    "network.mons",
                    host,
                    Level::Fail,
                    format!("cannot reach {}", bad.join(", ")),
                    "open TCP 3300 and 6789 between the mon hosts",
                )
            });
        }
    }

    // ports
    let ours = |p: &Option<String>| {
        p.as_deref()
            .is_some_and(|n| n.starts_with("ceph-") || n == "radosgw")
    };
    let mine = |a: &str| {
        a == "0.0.0.0"
            || a == "::"
            || a == "*"
            || host.public_address.is_some_and(|p| p.to_string() == a)
    };
    let held = |port: u16| {
        f.listeners
            .iter()
            .filter(move |l| l.port == port && mine(&l.address) && !ours(&l.process))
            .map(|l| {
                format!(
                    "{port} held by {}",
                    l.process.as_deref().unwrap_or("another process")
                )
            })
            .collect::<Vec<_>>()
    };
    let mut port_check = |id: &'static str, ports: &[u16], what: &str| {
        let taken: Vec<String> = ports.iter().flat_map(|p| held(*p)).collect();
        out.push(if taken.is_empty() {
            r(
                id,
                host,
                Level::Pass,
                format!(
                    "{} free",
                    ports
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "",
            )
        } else {
            r(
                id,
                host,
                Level::Fail,
                taken.join(", "),
                format!("stop what holds the port: the {what} needs it"),
            )
        });
    };
    if host.has(Role::Mon) {
        port_check("ports.mon", &[3300, 6789], "mon");
    }
    if host.has(Role::Mgr) && cluster.settings.enable_ceph_mgr_prometheus {
        port_check("ports.mgr", &[9283], "mgr prometheus module");
    }
    if host.has(Role::Rgw) {
        port_check("ports.rgw", &[host.settings.ceph_rgw_port as u16], "rgw");
    }
    if host.has(Role::Osd) || host.has(Role::Mgr) || host.has(Role::Mds) {
        let used = f
            .listeners
            .iter()
            .filter(|l| (6800..=7300).contains(&l.port) && mine(&l.address) && !ours(&l.process))
            .count();
        out.push(r(
            "ports.osd",
            host,
            if used * 10 > 501 {
                Level::Fail
            } else if used > 0 {
                Level::Warn
            } else {
                Level::Pass
            },
            format!("{used} of 501 ports in 6800-7300 taken by other processes"),
            "OSDs, mgrs and mdss bind ports in 6800-7300: free them",
        ));
    }

    // resources
    let osds = expected_osds(host, f);
    let need = osds as u64 * host.settings.osd_memory_target
        + if host.has(Role::Mon) { MON_MEMORY } else { 0 }
        + if host.has(Role::Mgr) { MGR_MEMORY } else { 0 }
        + if host.has(Role::Mds) { MDS_MEMORY } else { 0 };
    if let Some(total) = f.mem_total {
        out.push(r(
            "resources.memory",
            host,
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
        ));
    }
    if let Some((mount, free)) = &f.disk_free {
        out.push(r(
            "resources.disk",
            host,
            if *free >= MIN_FREE {
                Level::Pass
            } else if *free >= MIN_FREE / 5 {
                Level::Warn
            } else {
                Level::Fail
            },
            format!("{} free on {mount} (for /var/lib/ceph)", gib(*free)),
            "mons need several GiB under /var/lib/ceph: free space",
        ));
    }
    if let Some(p) = f.pid_max {
        // Each OSD runs thousands of threads under load.
        let want = MIN_PID_MAX.max(16384 + 4096 * osds as u64);
        out.push(r(
            "resources.pid_max",
            host,
            if p >= want { Level::Pass } else { Level::Fail },
            format!("kernel.pid_max = {p}, {want} wanted for {osds} OSD(s)"),
            "raise kernel.pid_max (cephalo prechecks --fix writes /etc/sysctl.d/90-cephalo-pid-max.conf)",
        ));
    }

    // disks
    if host.has(Role::Osd) {
        out.extend(disk_checks(host, f));
    }
    out
}

/// OSDs a host will run: bootstrap partitions found, existing OSDs, or the
/// configured devices.
pub fn expected_osds(host: &Host, f: &Facts) -> usize {
    if !host.has(Role::Osd) {
        return 0;
    }
    let labelled = f
        .block
        .iter()
        .filter_map(|b| b.part_name.as_deref())
        .filter(|n| osd_label(n).is_some_and(|l| l.is_data()))
        .count();
    labelled.max(host.settings.ceph_osd_devices.len())
}

fn disk_checks(host: &Host, f: &Facts) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let labels: Vec<(&str, OsdLabel)> = f
        .block
        .iter()
        .filter_map(|b| {
            b.part_name
                .as_deref()
                .and_then(|n| osd_label(n).map(|l| (b.name.as_str(), l)))
        })
        .collect();
    // Configured devices must exist and be free to partition, unless they
    // already carry kolla labels.
    for d in &host.settings.ceph_osd_devices {
        let base = d.trim_start_matches("/dev/");
        let dev = f.block.iter().find(|b| b.name == base);
        let parts: Vec<&crate::facts::BlockDev> = f
            .block
            .iter()
            .filter(|b| b.parent.as_deref() == Some(base))
            .collect();
        let labelled = parts
            .iter()
            .any(|p| p.part_name.as_deref().and_then(osd_label).is_some());
        let mounted = f
            .mounts
            .iter()
            .any(|m| m == d || parts.iter().any(|p| *m == format!("/dev/{}", p.name)));
        let in_lvm = f
            .lvm_pvs
            .iter()
            .any(|pv| pv == d || parts.iter().any(|p| *pv == format!("/dev/{}", p.name)));
        out.push(match dev {
            None => r(
                "disks.device",
                host,
                Level::Fail,
                format!("{d} does not exist"),
                "fix ceph_osd_devices for this host",
            ),
            Some(_) if mounted => r(
                "disks.device",
                host,
                Level::Fail,
                format!("{d} is mounted"),
                "unmount it, or remove it from ceph_osd_devices",
            ),
            Some(_) if in_lvm => r(
                "disks.device",
                host,
                Level::Fail,
                format!("{d} is an LVM physical volume"),
                "remove it from LVM, or from ceph_osd_devices",
            ),
            Some(_) if labelled => r(
                "disks.device",
                host,
                Level::Pass,
                format!("{d} has kolla OSD partitions"),
                "",
            ),
            Some(b) if b.signature.is_some() || !parts.is_empty() => r(
                "disks.device",
                host,
                Level::Fail,
                format!(
                    "{d} holds {}",
                    b.signature
                        .clone()
                        .unwrap_or_else(|| format!("{} partition(s)", parts.len()))
                ),
                "it is not empty: cephalo disks prepare refuses it unless --zap names it",
            ),
            Some(b) => r(
                "disks.device",
                host,
                Level::Pass,
                format!("{d} empty, {}", gib(b.size)),
                "",
            ),
        });
    }
    if host.settings.ceph_osd_bootstrap_labels {
        let data: Vec<&(&str, OsdLabel)> = labels
            .iter()
            .filter(|(_, l)| l.is_data() && !l.existing)
            .collect();
        let existing = labels
            .iter()
            .filter(|(_, l)| l.is_data() && l.existing)
            .count();
        out.push(if data.is_empty() && existing == 0 && host.settings.ceph_osd_devices.is_empty() {
            r(
                "disks.bootstrap",
                host,
                Level::Fail,
                "no KOLLA_CEPH_OSD_BOOTSTRAP* partition and no existing OSD",
                "label the OSD disks (parted DEV -s -- mklabel gpt mkpart KOLLA_CEPH_OSD_BOOTSTRAP_BS 1 -1) or set ceph_osd_devices",
            )
        } else {
            r(
                "disks.bootstrap",
                host,
                Level::Pass,
                format!("{} bootstrap partition(s), {existing} existing OSD(s)", data.len()),
                "",
            )
        });
        // A named bootstrap label wants its partners; a partner wants its
        // data partition. kolla skipped such OSDs silently.
        let mut broken = Vec::new();
        for (dev, l) in labels.iter().filter(|(_, l)| !l.existing) {
            let has_data = labels.iter().any(|(_, o)| {
                !o.existing && o.is_data() && o.name == l.name && o.bluestore == l.bluestore
            });
            match l.partner {
                Some(p) if !has_data => broken.push(format!(
                    "{dev} is the _{p} partner of `{}`, which has no data partition",
                    l.name
                )),
                None if !l.bluestore && !l.name.is_empty() => {
                    let has_journal = labels
                        .iter()
                        .any(|(_, o)| !o.existing && o.partner == Some('J') && o.name == l.name);
                    if !has_journal {
                        broken.push(format!(
                            "{dev}: filestore OSD `{}` has no _J journal partition",
                            l.name
                        ));
                    }
                }
                _ => {}
            }
        }
        out.push(if broken.is_empty() {
            r(
                "disks.partners",
                host,
                Level::Pass,
                "every labelled OSD is complete",
                "",
            )
        } else {
            r(
                "disks.partners",
                host,
                Level::Fail,
                broken.join("; "),
                "label the missing partition, or remove the stray label",
            )
        });
    }
    out
}

fn c(
    id: &'static str,
    level: Level,
    value: impl Into<String>,
    hint: impl Into<String>,
) -> CheckResult {
    CheckResult {
        id,
        host: None,
        level,
        value: value.into(),
        hint: if level == Level::Pass {
            String::new()
        } else {
            hint.into()
        },
    }
}

/// Checks on the cluster as a whole.
pub fn cluster_checks(cluster: &Cluster) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mons = cluster.hosts_with(Role::Mon).count();
    out.push(match mons {
        0 => c(
            "cluster.mons",
            Level::Fail,
            "no mon",
            "put at least one host in the mons group",
        ),
        n if n % 2 == 0 => c(
            "cluster.mons",
            Level::Warn,
            format!("{n} mons"),
            "use an odd number of mons",
        ),
        n => c("cluster.mons", Level::Pass, format!("{n} mons"), ""),
    });
    let osd_hosts = cluster.hosts_with(Role::Osd).count() as u64;
    let size = cluster.settings.osd_pool_default_size;
    out.push(if size > osd_hosts {
        c(
            "cluster.pool_size",
            Level::Fail,
            format!("osd_pool_default_size {size} > {osd_hosts} OSD host(s)"),
            "add OSD hosts or lower osd_pool_default_size (PGs would never be clean)",
        )
    } else {
        c(
            "cluster.pool_size",
            Level::Pass,
            format!("size {size} on {osd_hosts} OSD host(s)"),
            "",
        )
    });
    out.push(c(
        "cluster.passwords",
        Level::Pass,
        format!(
            "fsid {} and {} keys present",
            cluster.fsid,
            cluster.secrets.len()
        ),
        "",
    ));
    out.push(c(
        "cluster.release",
        Level::Pass,
        format!("{} ({})", cluster.release, cluster.image),
        "",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_pair("20.10.24+dfsg1"), Some((20, 10)));
        assert_eq!(version_pair("4.3.1"), Some((4, 3)));
    }
}
