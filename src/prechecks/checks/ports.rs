//! Host checks on ports: what the host's daemons will bind is free of
//! other processes (Ceph's own listeners do not count).

use super::{CheckResult, HostCheck, HostView, Level};
use crate::facts::Listener;
use crate::model::Role;

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "ports.mon",
        judges: "a mon host's 3300 and 6789 are free",
        run: mon,
    },
    HostCheck {
        id: "ports.mgr",
        judges: "a mgr host's 9283 is free when the prometheus module is on",
        run: mgr,
    },
    HostCheck {
        id: "ports.rgw",
        judges: "an rgw host's ceph_rgw_port is free",
        run: rgw,
    },
    HostCheck {
        id: "ports.osd",
        judges: "few of 6800-7300 are taken on OSD, mgr and mds hosts",
        run: osd,
    },
];

/// A listener of Ceph itself (a re-deploy finds its own daemons).
fn ours(l: &Listener) -> bool {
    l.process
        .as_deref()
        .is_some_and(|n| n.starts_with("ceph-") || n == "radosgw")
}

/// A listener on an address the host's daemons would bind.
fn mine(v: &HostView, l: &Listener) -> bool {
    let a = l.address.as_str();
    a == "0.0.0.0"
        || a == "::"
        || a == "*"
        || v.host.public_address.is_some_and(|p| p.to_string() == a)
}

/// Another process listening where a daemon of the host must.
fn foreign<'a>(v: &'a HostView) -> impl Iterator<Item = &'a Listener> + 'a {
    v.facts
        .listeners
        .iter()
        .filter(move |l| mine(v, l) && !ours(l))
}

fn free(v: &HostView, id: &'static str, ports: &[u16], what: &str) -> Vec<CheckResult> {
    let taken: Vec<String> = ports
        .iter()
        .flat_map(|port| {
            foreign(v).filter(|l| l.port == *port).map(move |l| {
                format!(
                    "{port} held by {}",
                    l.process.as_deref().unwrap_or("another process")
                )
            })
        })
        .collect();
    vec![if taken.is_empty() {
        v.result(
            id,
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
        v.result(
            id,
            Level::Fail,
            taken.join(", "),
            format!("stop what holds the port: the {what} needs it"),
        )
    }]
}

fn mon(v: &HostView) -> Vec<CheckResult> {
    if !v.host.has(Role::Mon) {
        return Vec::new();
    }
    free(v, "ports.mon", &[3300, 6789], "mon")
}

fn mgr(v: &HostView) -> Vec<CheckResult> {
    if !v.host.has(Role::Mgr) || !v.cluster.settings.enable_ceph_mgr_prometheus {
        return Vec::new();
    }
    free(v, "ports.mgr", &[9283], "mgr prometheus module")
}

fn rgw(v: &HostView) -> Vec<CheckResult> {
    if !v.host.has(Role::Rgw) {
        return Vec::new();
    }
    free(
        v,
        "ports.rgw",
        &[v.host.settings.ceph_rgw_port as u16],
        "rgw",
    )
}

fn osd(v: &HostView) -> Vec<CheckResult> {
    let host = v.host;
    if !(host.has(Role::Osd) || host.has(Role::Mgr) || host.has(Role::Mds)) {
        return Vec::new();
    }
    let used = foreign(v)
        .filter(|l| (6800..=7300).contains(&l.port))
        .count();
    vec![v.result(
        "ports.osd",
        if used * 10 > 501 {
            Level::Fail
        } else if used > 0 {
            Level::Warn
        } else {
            Level::Pass
        },
        format!("{used} of 501 ports in 6800-7300 taken by other processes"),
        "OSDs, mgrs and mdss bind ports in 6800-7300: free them",
    )]
}
