//! Prometheus scrape targets of a cluster (`cephalo prometheus-targets`):
//! the mgrs' prometheus module (active and standbys, at each mgr host's
//! public address and `mgr/prometheus/server_port`) and the custom
//! containers that declare a metrics port, each labelled with cluster,
//! host and daemon; printed as file_sd JSON or a `scrape_configs:`
//! snippet. Built from the model alone; only `--live` asks the cluster
//! which mgr is active.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::model::{Cluster, Host, Role};
use crate::transport::{Transport, TransportError};

/// The mgr prometheus module's port when nothing else is set.
pub const MGR_DEFAULT_PORT: u16 = 9283;
/// The job of the mgrs' targets.
pub const MGR_JOB: &str = "ceph";

/// One scrape target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    pub job: String,
    /// `host:port` (`[v6]:port`).
    pub address: String,
    /// cluster, host, daemon (and `ceph_mgr_active` with `--live`).
    pub labels: BTreeMap<String, String>,
}

/// The targets, and notes for the operator (a mgr host reached by its
/// connection address, the module off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

/// The address a host is scraped at: its public address, else the one
/// cephalo connects to.
fn address(h: &Host, port: u16, notes: &mut Vec<String>) -> String {
    match h.public_address {
        Some(ip) => SocketAddr::new(ip, port).to_string(),
        None => {
            notes.push(format!(
                "{}: its public address comes from facts; scraped at its connection address {}",
                h.name, h.connection.address
            ));
            match h.connection.address.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, port).to_string(),
                Err(_) => format!("{}:{port}", h.connection.address),
            }
        }
    }
}

/// `mgr/prometheus/server_port` as a mgr host's ceph.conf sets it (host
/// override file, then `config/ceph.conf`, then `ceph_conf_overrides`;
/// `[mgr.ID]`, then `[mgr]`, then `[global]`), else 9283.
pub fn mgr_port(cluster: &Cluster, h: &Host) -> Result<u16, String> {
    const KEY: &str = "mgr/prometheus/server_port";
    let sections = [format!("mgr.{}", h.name), "mgr".into(), "global".into()];
    let files = [
        cluster.conf_overrides.per_host.get(&h.name),
        cluster.conf_overrides.global.as_ref(),
    ];
    let from_files = files.iter().flatten().find_map(|c| {
        sections
            .iter()
            .find_map(|s| c.get(s, KEY).map(str::to_string))
    });
    let from_globals = || {
        sections.iter().find_map(|s| {
            cluster
                .settings
                .ceph_conf_overrides
                .get(s)?
                .iter()
                .find(|(k, _)| {
                    crate::model::conf::normalize_key(k) == crate::model::conf::normalize_key(KEY)
                })
                .map(|(_, v)| v.0.clone())
        })
    };
    match from_files.or_else(from_globals) {
        None => Ok(MGR_DEFAULT_PORT),
        Some(v) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{KEY} = `{v}` is not a port (1 to 65535)")),
    }
}

/// The targets of the model; `active`: the active mgr's name, when asked
/// (`--live`), which labels each mgr target `ceph_mgr_active`.
pub fn targets(cluster: &Cluster, active: Option<&str>) -> Result<Targets, String> {
    let mut out = Targets::default();
    let labels = |h: &Host, daemon: String| {
        BTreeMap::from([
            ("cluster".to_string(), cluster.name.clone()),
            ("host".to_string(), h.name.clone()),
            ("daemon".to_string(), daemon),
        ])
    };
    if !cluster.release.has_mgr() {
        out.notes
            .push(format!("{} has no mgr: no mgr targets", cluster.release));
    } else if !cluster.settings.enable_ceph_mgr_prometheus {
        out.notes.push(
            "enable_ceph_mgr_prometheus is off: no mgr targets (turn it on and deploy to enable the module)"
                .into(),
        );
    } else {
        for h in cluster.hosts_with(Role::Mgr) {
            let port = mgr_port(cluster, h).map_err(|e| format!("{}: {e}", h.name))?;
            let mut l = labels(h, format!("mgr.{}", h.name));
            if let Some(a) = active {
                l.insert("ceph_mgr_active".into(), (a == h.name).to_string());
            }
            out.targets.push(Target {
                job: MGR_JOB.into(),
                address: address(h, port, &mut out.notes),
                labels: l,
            });
        }
    }
    for h in &cluster.hosts {
        for c in &h.custom {
            if let Some(port) = c.metrics_port {
                out.targets.push(Target {
                    job: c.name.clone(),
                    address: address(h, port, &mut out.notes),
                    labels: labels(h, format!("custom.{}", c.name)),
                });
            }
        }
    }
    out.notes.dedup();
    Ok(out)
}

/// Prometheus file_sd JSON: one entry per target, its job as a label.
pub fn file_sd(targets: &[Target]) -> String {
    let entries: Vec<serde_json::Value> = targets
        .iter()
        .map(|t| {
            let mut labels = t.labels.clone();
            labels.insert("job".into(), t.job.clone());
            serde_json::json!({"targets": [t.address], "labels": labels})
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    text.push('\n');
    text
}

/// A `scrape_configs:` snippet: one job per target kind, in the order
/// first met, a static config per target; the mgrs' job honours the labels
/// the module exports (as the Ceph documentation advises).
pub fn scrape_config(targets: &[Target]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut jobs: Vec<&str> = Vec::new();
    for t in targets {
        if !jobs.contains(&t.job.as_str()) {
            jobs.push(&t.job);
        }
    }
    let mut y = String::from("scrape_configs:\n");
    for job in jobs {
        let _ = writeln!(y, "  - job_name: {}", q(job));
        if job == MGR_JOB {
            y.push_str("    honor_labels: true\n");
        }
        y.push_str("    static_configs:\n");
        for t in targets.iter().filter(|t| t.job == job) {
            let _ = writeln!(y, "      - targets: [{}]", q(&t.address));
            y.push_str("        labels:\n");
            for (k, v) in &t.labels {
                let _ = writeln!(y, "          {k}: {}", q(v));
            }
        }
    }
    y
}

/// The active mgr's name, from `ceph mgr dump` through a mon.
pub async fn active_mgr(
    cluster: &Cluster,
    t: &dyn Transport,
) -> Result<Option<String>, TransportError> {
    let v = crate::ceph::ceph_json(cluster, t, &["mgr", "dump"]).await?;
    Ok(v["active_name"]
        .as_str()
        .filter(|n| !n.is_empty() && v["available"].as_bool() != Some(false))
        .map(str::to_string))
}
