//! Host checks of the custom containers (`ceph_custom_containers`): the
//! ports each declares are free on the hosts that run it, and its image is
//! on them (deploy changes nothing on a host that lacks one, and `cephalo
//! pull` brings them).

use super::{CheckResult, HostCheck, HostView, Level};

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "ports.custom",
        judges: "the ports a custom container declares are free on its hosts",
        run: ports,
    },
    HostCheck {
        id: "image.custom",
        judges: "a running engine holds the image of every custom container of the host",
        run: images,
    },
];

fn images(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
    if v.host.custom.is_empty() || f.engine_version.is_none() {
        return Vec::new();
    }
    let missing: Vec<String> = v
        .host
        .custom
        .iter()
        .filter(|c| f.custom_images.get(&c.image) != Some(&true))
        .map(|c| format!("{} ({})", c.image, c.name))
        .collect();
    vec![if missing.is_empty() {
        let all: Vec<&str> = v.host.custom.iter().map(|c| c.image.as_str()).collect();
        v.result("image.custom", Level::Pass, all.join(", "), "")
    } else {
        v.result(
            "image.custom",
            Level::Warn,
            format!("not on the host: {}", missing.join(", ")),
            super::PULL_HINT,
        )
    }]
}

fn ports(v: &HostView) -> Vec<CheckResult> {
    if v.host.custom.is_empty() {
        return Vec::new();
    }
    let mut taken = Vec::new();
    let mut all = Vec::new();
    for c in &v.host.custom {
        for p in &c.ports {
            all.push(p.to_string());
            for l in v.facts.listeners.iter().filter(|l| l.port == *p) {
                taken.push(format!(
                    "{p} ({}) held by {}",
                    c.name,
                    l.process.as_deref().unwrap_or("another process")
                ));
            }
        }
    }
    if all.is_empty() {
        return Vec::new();
    }
    vec![if taken.is_empty() {
        v.result(
            "ports.custom",
            Level::Pass,
            format!("{} free", all.join(", ")),
            "",
        )
    } else {
        // The facts do not say which container holds a port: on a second
        // deploy it is the custom container itself.
        v.result(
            "ports.custom",
            Level::Warn,
            taken.join(", "),
            "stop what holds the port, unless it is the custom container itself (a deploy again)",
        )
    }]
}
