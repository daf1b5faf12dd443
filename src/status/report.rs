//! `cephalo status`'s report, a pure function of the facts read (the
//! cluster's `ceph status`, each host's Ceph containers, the OSD tree, an
//! unfinished upgrade) and the model: the health summary, a row per
//! daemon container, and what is flagged (an image other than the
//! configured one, an inventory daemon missing or stopped, a `ceph_*`
//! container no inventory role explains). Its text table and JSON are
//! here too; nothing here reaches a host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ceph::parse_version;
use crate::model::custom::{CONTAINER_PREFIX, CustomContainer};
use crate::model::{Cluster, Role};

/// One container named `ceph_*` on a host, as the engine and the
/// container itself describe it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerFact {
    pub name: String,
    /// The image reference it was made from.
    pub image: String,
    pub running: bool,
    /// The engine's word: `running`, `exited`, `restarting`, `created`...
    pub state: String,
    /// `.State.StartedAt` as the engine prints it.
    pub started_at: String,
    pub restarts: u32,
    /// What `ceph --version` in it printed (running containers).
    pub version: Option<String>,
}

/// What was found on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFacts {
    Reached(Vec<ContainerFact>),
    /// It could not be reached or logged into (the reason).
    Unreachable {
        why: String,
        host_key: bool,
    },
    /// Reached, but its containers could not be listed (the reason).
    Failed(String),
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `ceph status -f json` through a mon in quorum, or why there is none.
    pub ceph_status: Result<serde_json::Value, String>,
    /// `ceph osd tree -f json` (None: not read): the OSD ids each host
    /// should run.
    pub osd_tree: Option<serde_json::Value>,
    /// The selected hosts in inventory order.
    pub hosts: Vec<(String, HostFacts)>,
    /// The summary of an unfinished upgrade, if one is recorded.
    pub upgrade: Option<String>,
    /// The image an unfinished upgrade moves the daemons to (None: no
    /// upgrade, or a journal that does not say): a daemon on it is not
    /// flagged.
    pub upgrade_image: Option<String>,
    pub now: SystemTime,
}

/// The health summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// HEALTH_OK, HEALTH_WARN, HEALTH_ERR.
    pub status: String,
    /// (code, severity, message) of each check.
    pub checks: Vec<Check>,
    pub quorum: Vec<String>,
    pub osds: u64,
    pub osds_up: u64,
    pub osds_in: u64,
    pub pgs: u64,
    /// (state, count).
    pub pg_states: Vec<(String, u64)>,
    /// The active mgr, when the release's status names it.
    pub mgr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub code: String,
    pub severity: String,
    pub message: String,
}

/// One daemon container (or an inventory daemon with none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Daemon {
    /// `mon.ceph1`, `osd.3`; for a container no role explains, its name.
    pub daemon: String,
    pub container: String,
    /// Empty when there is no container.
    pub image: String,
    /// `16.2.15 (pacific)`, when a running container said.
    pub version: Option<String>,
    /// `running`, `exited`..., `missing` when there is no container.
    pub state: String,
    /// Seconds since it started (running containers).
    pub uptime_s: Option<u64>,
    pub restarts: u32,
    /// Why it is flagged (empty: fine).
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub reachable: bool,
    /// Why it could not be reached or asked.
    pub error: Option<String>,
    pub daemons: Vec<Daemon>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub cluster: String,
    pub fsid: String,
    pub release: String,
    pub image: String,
    pub health: Option<Health>,
    /// Why there is no health summary.
    pub health_error: Option<String>,
    pub upgrade: Option<String>,
    pub hosts: Vec<HostStatus>,
    /// Flagged daemons, as `host daemon: why`.
    pub flagged: Vec<String>,
}

impl Status {
    pub fn unreachable(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| !h.reachable && h.error.is_some())
            .count()
    }

    /// Hosts reached whose containers could not be listed.
    pub fn failed(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| h.reachable && h.error.is_some())
            .count()
    }
}

/// Reads the health summary of `ceph status -f json` (Nautilus nests the
/// OSD counts one level deeper; Reef names no active mgr).
pub fn health(s: &serde_json::Value) -> Health {
    let osdmap = if s["osdmap"]["osdmap"].is_object() {
        &s["osdmap"]["osdmap"]
    } else {
        &s["osdmap"]
    };
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    Health {
        status: s["health"]["status"].as_str().unwrap_or("?").to_string(),
        checks: s["health"]["checks"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(code, c)| Check {
                code: code.clone(),
                severity: c["severity"].as_str().unwrap_or("").to_string(),
                message: c["summary"]["message"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
        quorum: crate::ceph::quorum_names(s),
        osds: n(&osdmap["num_osds"]),
        osds_up: n(&osdmap["num_up_osds"]),
        osds_in: n(&osdmap["num_in_osds"]),
        pgs: n(&s["pgmap"]["num_pgs"]),
        pg_states: s["pgmap"]["pgs_by_state"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["state_name"].as_str().unwrap_or("?").to_string(),
                    n(&p["count"]),
                )
            })
            .collect(),
        mgr: s["mgrmap"]["active_name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    }
}

/// The containers a host's roles call for (OSDs: those the OSD tree puts
/// under it; without the tree, none is called for by id).
fn wanted(cluster: &Cluster, host: &str, osds: Option<&BTreeMap<String, Vec<u32>>>) -> Vec<String> {
    let Some(h) = cluster.host(host) else {
        return Vec::new();
    };
    let mut want = Vec::new();
    for (role, on, name) in [
        (Role::Mon, true, "ceph_mon"),
        (Role::Mgr, cluster.release.has_mgr(), "ceph_mgr"),
        (Role::Mds, cluster.settings.enable_ceph_mds, "ceph_mds"),
        (Role::Rgw, cluster.settings.enable_ceph_rgw, "ceph_rgw"),
    ] {
        if on && h.has(role) {
            want.push(name.to_string());
        }
    }
    if h.has(Role::Osd)
        && let Some(ids) = osds.and_then(|o| o.get(host))
    {
        want.extend(ids.iter().map(|id| format!("ceph_osd_{id}")));
    }
    want.extend(h.custom.iter().map(|c| c.container()));
    want
}

/// The declared custom container of this name on the host.
fn custom<'a>(cluster: &'a Cluster, host: &str, container: &str) -> Option<&'a CustomContainer> {
    cluster
        .host(host)?
        .custom
        .iter()
        .find(|c| c.container() == container)
}

/// Whether a host's roles explain a container of this name.
fn explained(cluster: &Cluster, host: &str, container: &str, wanted: &[String]) -> bool {
    if wanted.iter().any(|w| w == container) {
        return true;
    }
    // An OSD container on an OSD host that the tree does not list (being
    // made, or the tree unread) is the OSD role's.
    cluster.host(host).is_some_and(|h| h.has(Role::Osd))
        && container
            .strip_prefix("ceph_osd_")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// `mon.ceph1`, `osd.3`; other names as they are.
fn daemon_name(container: &str, host: &str) -> String {
    if let Some(id) = container.strip_prefix("ceph_osd_") {
        return format!("osd.{id}");
    }
    if let Some(name) = container.strip_prefix(CONTAINER_PREFIX) {
        return format!("custom.{name}");
    }
    match container {
        "ceph_mon" | "ceph_mgr" | "ceph_mds" | "ceph_rgw" => {
            format!("{}.{host}", container.trim_start_matches("ceph_"))
        }
        other => other.to_string(),
    }
}

/// Seconds from a `.State.StartedAt` (docker's RFC 3339, podman's `Go`
/// form `2026-11-30 12:00:00.1 +0100 CET`) to `now`.
pub fn uptime(started_at: &str, now: SystemTime) -> Option<u64> {
    let s = started_at.trim();
    if s.is_empty() || s.starts_with("0001-") {
        return None;
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let (at, offset) = match words.as_slice() {
        [one] => (humantime::parse_rfc3339_weak(one).ok()?, 0i64),
        [date, time, zone, ..] if zone.starts_with(['+', '-']) && zone.len() == 5 => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hh: i64 = zone[1..3].parse().ok()?;
            let mm: i64 = zone[3..5].parse().ok()?;
            let at = humantime::parse_rfc3339_weak(&format!("{date}T{time}")).ok()?;
            (at, sign * (hh * 3600 + mm * 60))
        }
        [date, time, ..] => (
            humantime::parse_rfc3339_weak(&format!("{date}T{time}")).ok()?,
            0,
        ),
        [] => return None,
    };
    // A local time `offset` east of UTC is that much earlier in UTC.
    let secs = at.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64 - offset;
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?);
    Some(now.duration_since(at).unwrap_or_default().as_secs())
}

/// Builds the report from the facts and the model.
pub fn build(cluster: &Cluster, facts: &Facts) -> Status {
    let tree = facts
        .osd_tree
        .as_ref()
        .map(crate::upgrade::run::osds_by_host);
    let mut flagged = Vec::new();
    let mut hosts = Vec::new();
    for (host, found) in &facts.hosts {
        let containers = match found {
            HostFacts::Reached(c) => c,
            HostFacts::Unreachable { why, .. } => {
                hosts.push(HostStatus {
                    host: host.clone(),
                    reachable: false,
                    error: Some(why.clone()),
                    daemons: Vec::new(),
                });
                continue;
            }
            HostFacts::Failed(why) => {
                hosts.push(HostStatus {
                    host: host.clone(),
                    reachable: true,
                    error: Some(why.clone()),
                    daemons: Vec::new(),
                });
                continue;
            }
        };
        let want = wanted(cluster, host, tree.as_ref());
        let mut daemons = Vec::new();
        let have: BTreeSet<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        for c in containers {
            let mut flags = Vec::new();
            let version = c.version.as_deref().and_then(parse_version);
            if !explained(cluster, host, &c.name, &want) {
                flags.push("no inventory role explains this container".to_string());
            } else {
                if !c.running {
                    flags.push(format!("not running ({})", c.state));
                } else if c.state == "restarting"
                    || (c.restarts > 0 && uptime(&c.started_at, facts.now).is_some_and(|s| s < 30))
                {
                    // The engine says running while it restarts it again
                    // and again (or caught it between two crashes).
                    flags.push(format!(
                        "crash-looping ({} restarts): its daemon is down",
                        c.restarts
                    ));
                }
                if let Some(x) = custom(cluster, host, &c.name) {
                    // A custom container runs its own image, not Ceph's.
                    if c.image != x.image {
                        flags.push(format!("image {} is not the declared {}", c.image, x.image));
                    }
                } else if facts.upgrade_image.as_deref() == Some(c.image.as_str()) {
                    // Moved by the upgrade in progress (shown above the tables).
                } else if c.image != cluster.image {
                    flags.push(format!(
                        "image {} is not the configured {}",
                        c.image, cluster.image
                    ));
                } else if let Some(r) = version.and_then(|v| v.release())
                    && r != cluster.release
                {
                    flags.push(format!(
                        "runs {r}, the configured release is {}",
                        cluster.release
                    ));
                }
            }
            daemons.push(Daemon {
                daemon: daemon_name(&c.name, host),
                container: c.name.clone(),
                image: c.image.clone(),
                version: version.map(|v| v.to_string()),
                state: c.state.clone(),
                uptime_s: if c.running {
                    uptime(&c.started_at, facts.now)
                } else {
                    None
                },
                restarts: c.restarts,
                flags,
            });
        }
        for w in want.iter().filter(|w| !have.contains(w.as_str())) {
            daemons.push(Daemon {
                daemon: daemon_name(w, host),
                container: w.clone(),
                image: String::new(),
                version: None,
                state: "missing".into(),
                uptime_s: None,
                restarts: 0,
                flags: vec!["the inventory calls for it, but there is no container".into()],
            });
        }
        daemons.sort_by_key(|d| (rank(&d.container), d.container.clone()));
        for d in &daemons {
            for f in &d.flags {
                flagged.push(format!("{host} {}: {f}", d.daemon));
            }
        }
        hosts.push(HostStatus {
            host: host.clone(),
            reachable: true,
            error: None,
            daemons,
        });
    }
    let (health, health_error) = match &facts.ceph_status {
        Ok(s) => (Some(health(s)), None),
        Err(e) => {
            flagged.push(format!("cluster: no health summary: {e}"));
            (None, Some(e.clone()))
        }
    };
    Status {
        cluster: cluster.name.clone(),
        fsid: cluster.fsid.to_string(),
        release: cluster.release.to_string(),
        image: cluster.image.clone(),
        health,
        health_error,
        upgrade: facts.upgrade.clone(),
        hosts,
        flagged,
    }
}

/// Daemons in the order operators read them: mon, mgr, OSDs, mds, rgw,
/// anything else (custom containers).
fn rank(container: &str) -> (u8, u64) {
    match container {
        "ceph_mon" => (0, 0),
        "ceph_mgr" => (1, 0),
        "ceph_mds" => (3, 0),
        "ceph_rgw" => (4, 0),
        c => match c.strip_prefix("ceph_osd_").and_then(|i| i.parse().ok()) {
            Some(id) => (2, id),
            None => (5, 0),
        },
    }
}

/// `3d04h`, `2h05m`, `4m10s`.
fn age(s: u64) -> String {
    let (d, h, m) = (s / 86400, s / 3600 % 24, s / 60 % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m{:02}s", s % 60)
    }
}

/// The report for people: health, upgrade, a table per host, the flags.
pub fn text(s: &Status) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "cluster {} ({}), configured {} {}",
        s.cluster, s.fsid, s.release, s.image
    );
    match (&s.health, &s.health_error) {
        (Some(h), _) => {
            let _ = writeln!(t, "health: {}", h.status);
            for c in &h.checks {
                let _ = writeln!(t, "  {} {}: {}", c.severity, c.code, c.message);
            }
            let _ = writeln!(t, "mons in quorum: {}", h.quorum.join(", "));
            if let Some(m) = &h.mgr {
                let _ = writeln!(t, "mgr active: {m}");
            }
            let _ = writeln!(t, "osds: {} up, {} in, of {}", h.osds_up, h.osds_in, h.osds);
            let states: Vec<String> = h
                .pg_states
                .iter()
                .map(|(n, c)| format!("{c} {n}"))
                .collect();
            let _ = writeln!(t, "pgs: {} ({})", h.pgs, states.join(", "));
        }
        (None, e) => {
            let _ = writeln!(t, "health: unknown ({})", e.as_deref().unwrap_or("-"));
        }
    }
    if let Some(u) = &s.upgrade {
        let _ = writeln!(t, "{u}");
    }
    let mut rows: Vec<[String; 8]> = vec![
        [
            "host", "daemon", "image", "version", "state", "uptime", "restarts", "",
        ]
        .map(String::from),
    ];
    let mut down = Vec::new();
    for h in &s.hosts {
        if let Some(e) = &h.error {
            let what = if h.reachable {
                "containers not listed"
            } else {
                "UNREACHABLE"
            };
            down.push(format!("{} {what}: {e}", h.host));
            continue;
        }
        for d in &h.daemons {
            rows.push([
                h.host.clone(),
                d.daemon.clone(),
                if d.image.is_empty() {
                    "-".into()
                } else {
                    d.image.clone()
                },
                d.version.clone().unwrap_or_else(|| "-".into()),
                d.state.clone(),
                d.uptime_s.map_or("-".to_string(), age),
                d.restarts.to_string(),
                if d.flags.is_empty() { "" } else { "FLAGGED" }.to_string(),
            ]);
        }
    }
    let mut width = [0usize; 8];
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    t.push('\n');
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(width).enumerate() {
            // uptime and restarts right-aligned
            if i == 5 || i == 6 {
                let _ = write!(line, "{c:>w$}  ");
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        let _ = writeln!(t, "{}", line.trim_end());
    }
    for d in down {
        let _ = writeln!(t, "{d}");
    }
    if !s.flagged.is_empty() {
        let _ = writeln!(t, "\nflagged:");
        for f in &s.flagged {
            let _ = writeln!(t, "  {f}");
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_from_both_engines_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_040_000 + 3723);
        // 2026-12-01T... : 1_796_040_000 is 2026-11-30T12:00:00Z
        let docker = "2026-11-30T12:00:00.123456789Z";
        assert_eq!(uptime(docker, now), Some(3723));
        // podman: Go's default time form, with a zone an hour east.
        assert_eq!(uptime("2026-11-30 13:00:00.5 +0100 CET", now), Some(3723));
        assert_eq!(uptime("0001-01-01T00:00:00Z", now), None);
        assert_eq!(uptime("", now), None);
        assert_eq!(uptime("garbage", now), None);
        assert_eq!(age(3723), "1h02m");
        assert_eq!(age(59), "0m59s");
        assert_eq!(age(2 * 86400 + 3 * 3600), "2d03h");
    }
}
