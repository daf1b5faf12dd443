//! Host checks on the container engine: installed, answering in a version
//! cephalo supports, and holding the cluster's image.

use super::{CheckResult, HostCheck, HostView, Level, version_pair};
use crate::model::Engine;

/// Oldest engine versions cephalo supports (major, minor).
pub const MIN_DOCKER: (u32, u32) = (20, 10);
pub const MIN_PODMAN: (u32, u32) = (3, 0);

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "engine.installed",
        judges: "the configured engine's binary is on PATH",
        run: installed,
    },
    HostCheck {
        id: "engine.running",
        judges: "an installed engine answers, in a supported version",
        run: running,
    },
    HostCheck {
        id: "engine.image",
        judges: "a running engine already holds the cluster's image",
        run: image,
    },
];

fn installed(v: &HostView) -> Vec<CheckResult> {
    let engine = v.host.engine.command();
    vec![match v.facts.engines.get(engine) {
        None => v.result(
            "engine.installed",
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
        ),
        Some(path) => v.result("engine.installed", Level::Pass, path.clone(), ""),
    }]
}

fn running(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    let engine = host.engine.command();
    if !f.engines.contains_key(engine) {
        return Vec::new();
    }
    vec![match &f.engine_version {
        None => v.result(
            "engine.running",
            Level::Fail,
            f.engine_error
                .clone()
                .unwrap_or_default()
                .lines()
                .last()
                .unwrap_or("no answer")
                .to_string(),
            format!("start the {engine} daemon (cephalo prechecks --fix starts it)"),
        ),
        Some(ver) => {
            let min = if host.engine == Engine::Docker {
                MIN_DOCKER
            } else {
                MIN_PODMAN
            };
            let ok = version_pair(ver).is_some_and(|p| p >= min);
            v.result(
                "engine.running",
                if ok { Level::Pass } else { Level::Fail },
                format!("{engine} {ver}"),
                format!("cephalo needs {engine} {}.{} or newer", min.0, min.1),
            )
        }
    }]
}

fn image(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
    if !f.engines.contains_key(v.host.engine.command()) || f.engine_version.is_none() {
        return Vec::new();
    }
    let image = &v.cluster.image;
    vec![match &f.image_id {
        Some(id) => v.result(
            "engine.image",
            Level::Pass,
            format!("{image} {}", &id[..id.len().min(19)]),
            "",
        ),
        None => v.result(
            "engine.image",
            Level::Warn,
            format!("{image} not on the host"),
            super::PULL_HINT,
        ),
    }]
}
