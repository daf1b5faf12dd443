//! Host checks on the system itself: kernel and architecture the Ceph
//! images run on, and the host's name (mon and mgr ids are host names).

use super::{CheckResult, HostCheck, HostView, Level, version_pair};
use crate::model::Role;

pub const OS: &[HostCheck] = &[HostCheck {
    id: "os",
    judges: "kernel 4.15 or newer on an architecture Ceph images exist for",
    run: os,
}];

pub const NAME: &[HostCheck] = &[
    HostCheck {
        id: "hostname.matches",
        judges: "the host's short name is its inventory name",
        run: hostname_matches,
    },
    HostCheck {
        id: "hostname.resolves",
        judges: "the inventory name resolves to public_address on the host",
        run: hostname_resolves,
    },
];

fn os(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
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
    vec![match (kernel_ok, arch_ok) {
        (true, true) => v.result("os", Level::Pass, os, ""),
        (false, _) => v.result(
            "os",
            Level::Fail,
            os,
            "Ceph containers need Linux 4.15 or newer",
        ),
        (_, false) => v.result(
            "os",
            Level::Fail,
            os,
            "Ceph images exist for x86_64, aarch64, ppc64le and s390x",
        ),
    }]
}

/// The all-in-one case: a cluster of one host, named `localhost` in the
/// inventory (as kolla's all-in-one names it) and reached on this machine
/// (`ansible_connection=local`) or over loopback. Its daemon ids are
/// `localhost`, which Ceph accepts; the host's own name does not matter.
fn single_local_host(v: &HostView) -> bool {
    let c = &v.host.connection;
    let loopback = c
        .address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || c.address == "localhost";
    v.host.name == "localhost" && v.cluster.hosts.len() == 1 && (c.local || loopback)
}

fn hostname_matches(v: &HostView) -> Vec<CheckResult> {
    let host = v.host;
    let short = v.facts.hostname.clone().unwrap_or_default();
    let daemon_ids = host.has(Role::Mon) || host.has(Role::Mgr) || host.has(Role::Mds);
    vec![if short == host.name {
        v.result("hostname.matches", Level::Pass, short, "")
    } else if single_local_host(v) {
        v.result(
            "hostname.matches",
            Level::Pass,
            format!("`localhost` on a single-host cluster (the host calls itself `{short}`)"),
            "",
        )
    } else {
        let level = if daemon_ids { Level::Fail } else { Level::Warn };
        let value = format!("host calls itself `{short}`, the inventory `{}`", host.name);
        // A host is never renamed to `localhost` (or any loopback name):
        // the inventory entry is what must change.
        let hint = if host.name == "localhost" || short.is_empty() || short == "localhost" {
            format!(
                "name the host by its own name in the inventory (`{}` ansible_connection=local, \
                 or ansible_host=127.0.0.1 on this machine)",
                if short.is_empty() || short == "localhost" {
                    "HOSTNAME"
                } else {
                    short.as_str()
                }
            )
        } else {
            format!(
                "rename the host (hostnamectl set-hostname {}) or the inventory entry (`{short}`)",
                host.name
            )
        };
        v.result("hostname.matches", level, value, hint)
    }]
}

fn hostname_resolves(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    let Some(addr) = host.public_address else {
        return Vec::new();
    };
    let a = addr.to_string();
    vec![if single_local_host(v) {
        v.result(
            "hostname.resolves",
            Level::Pass,
            format!("`localhost` is this machine; the daemons use public_address {a}"),
            "",
        )
    } else if f.resolves_to.is_empty() {
        v.result(
            "hostname.resolves",
            Level::Warn,
            format!("`{}` does not resolve on the host", host.name),
            format!("add `{a} {}` to /etc/hosts", host.name),
        )
    } else if f.resolves_to.contains(&a) {
        v.result(
            "hostname.resolves",
            Level::Pass,
            format!("{} -> {a}", host.name),
            "",
        )
    } else {
        v.result(
            "hostname.resolves",
            Level::Warn,
            format!("{} -> {}, not {a}", host.name, f.resolves_to.join(", ")),
            format!("make `{}` resolve to {a} on every host", host.name),
        )
    }]
}
