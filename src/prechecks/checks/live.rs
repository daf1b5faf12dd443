//! Checks on a cluster that already runs, judged from what its mons
//! answered (`ceph status`, `mon dump`, `versions`): health, quorum and
//! daemon versions. Pure: asking the mons is the caller's part.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{CheckResult, Level};
use crate::model::{Cluster, Role};

/// What the first mon that answered said.
pub struct LiveView<'a> {
    pub cluster: &'a Cluster,
    /// `ceph status`.
    pub status: &'a Value,
    /// The quorum after waiting for running mons to join.
    pub quorum: &'a [String],
    /// `ceph mon dump`, when it answered.
    pub monmap: Option<&'a Value>,
    /// `ceph versions`, or why it did not answer.
    pub versions: Result<&'a Value, String>,
    /// Inventory mons without a ceph_mon container (deploy creates them).
    pub uncreated: &'a [String],
    /// Mons whose container deploy would start or make again, with what
    /// it would do: out of quorum, they are brought back, not a failure.
    pub brought_back: &'a [(String, String)],
    /// The inventory file, for the hints' commands.
    pub inventory: &'a str,
}

/// One named check of a running cluster.
pub struct LiveCheck {
    pub id: &'static str,
    pub judges: &'static str,
    pub run: fn(&LiveView) -> CheckResult,
}

pub const CHECKS: &[LiveCheck] = &[
    LiveCheck {
        id: "cluster.health",
        judges: "the cluster's health (HEALTH_ERR fails)",
        run: health,
    },
    LiveCheck {
        id: "cluster.quorum",
        judges: "every inventory mon in quorum, except new ones deploy adds",
        run: quorum,
    },
    LiveCheck {
        id: "cluster.versions",
        judges: "every daemon runs the same version",
        run: versions,
    },
];

/// Every check of a running cluster.
pub fn live_checks(view: &LiveView) -> Vec<CheckResult> {
    CHECKS.iter().map(|c| (c.run)(view)).collect()
}

/// `quorum_names` of `ceph status` or `ceph quorum_status`.
pub fn quorum_names(v: &Value) -> Vec<String> {
    v["quorum_names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// When no mon answered: a bootstrap that stopped half way (some mons not
/// created yet), mons that are down, or no cluster yet (no container).
pub fn no_answer(any_container: bool, uncreated: &[String], tried: &[String]) -> Vec<CheckResult> {
    if any_container && !uncreated.is_empty() {
        vec![CheckResult::cluster(
            "cluster.health",
            Level::Warn,
            format!(
                "no mon answers, and {} ha{} no ceph_mon yet: a bootstrap that stopped half way? ({})",
                uncreated.join(", "),
                if uncreated.len() == 1 { "s" } else { "ve" },
                tried.join("; ")
            ),
            "deploy creates the missing mons",
        )]
    } else if any_container {
        vec![CheckResult::cluster(
            "cluster.health",
            Level::Fail,
            format!("no mon answers ({})", tried.join("; ")),
            "start the mons: the cluster cannot be checked",
        )]
    } else {
        // No cluster yet: nothing to ask.
        Vec::new()
    }
}

fn health(v: &LiveView) -> CheckResult {
    let c = CheckResult::cluster;
    let health = v.status["health"]["status"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let checks: Vec<String> = v.status["health"]["checks"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let value = if checks.is_empty() {
        health.clone()
    } else {
        format!("{health}: {}", checks.join(", "))
    };
    match health.as_str() {
        "HEALTH_OK" => c("cluster.health", Level::Pass, value, ""),
        "HEALTH_WARN" => c(
            "cluster.health",
            Level::Warn,
            value,
            "see `ceph health detail`",
        ),
        _ => {
            // Errors only from keys of type aes (CVE-2025-30156): the way
            // out is a command of cephalo's.
            let errors: Vec<&String> = checks
                .iter()
                .filter(|k| v.status["health"]["checks"][k.as_str()]["severity"] == "HEALTH_ERR")
                .collect();
            let keys = !errors.is_empty() && errors.iter().all(|k| k.starts_with("AUTH_INSECURE_"));
            let hint = if keys {
                format!(
                    "keys of type aes (CVE-2025-30156): `cephalo rotate-keys -i {} --yes`",
                    v.inventory
                )
            } else {
                "fix the cluster's errors first (`ceph health detail`)".to_string()
            };
            CheckResult::cluster("cluster.health", Level::Fail, value, hint)
        }
    }
}

fn quorum(v: &LiveView) -> CheckResult {
    let quorum = v.quorum;
    // Inventory mons not in the monmap at all are new: deploy adds them.
    let monmap: Option<Vec<String>> = v.monmap.map(|m| {
        m["mons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["name"].as_str().map(str::to_string))
            .collect()
    });
    let (missing, new): (Vec<&str>, Vec<&str>) = v
        .cluster
        .hosts_with(Role::Mon)
        .map(|h| h.name.as_str())
        .filter(|n| !quorum.iter().any(|q| q == n))
        .partition(|n| {
            !v.uncreated.iter().any(|u| u == n)
                && monmap.as_ref().is_none_or(|m| m.iter().any(|x| x == n))
        });
    // Out of quorum with a container deploy starts or makes again: this
    // deploy brings them back; the others it cannot fix.
    let back = |n: &str| v.brought_back.iter().find(|(m, _)| m == n).map(|(_, w)| w);
    let (back_now, stuck): (Vec<&str>, Vec<&str>) = missing.iter().partition(|n| back(n).is_some());
    let joining = if new.is_empty() {
        String::new()
    } else {
        format!("; new, deploy adds them: {}", new.join(", "))
    };
    if !stuck.is_empty() {
        let first = stuck[0];
        return CheckResult::cluster(
            "cluster.quorum",
            Level::Fail,
            format!(
                "not in quorum: {} (in quorum: {}); its container is as deploy would make it, so deploy cannot bring it back",
                stuck.join(", "),
                quorum.join(", ")
            ),
            format!(
                "see why it does not join: `cephalo run -i {} --limit {first} -b -- docker logs --tail 30 ceph_mon` (podman: podman logs); `cephalo status -i {}` shows every daemon",
                v.inventory, v.inventory
            ),
        );
    }
    if !back_now.is_empty() {
        let said: Vec<String> = back_now
            .iter()
            .map(|n| format!("{n} ({})", back(n).map_or("", |w| w.as_str())))
            .collect();
        return CheckResult::cluster(
            "cluster.quorum",
            Level::Warn,
            format!(
                "in quorum: {}; deploy brings back {}{joining}",
                quorum.join(", "),
                said.join(", ")
            ),
            "",
        );
    }
    CheckResult::cluster(
        "cluster.quorum",
        Level::Pass,
        format!("in quorum: {}{joining}", quorum.join(", ")),
        "",
    )
}

fn versions(v: &LiveView) -> CheckResult {
    let versions = match &v.versions {
        Ok(versions) => versions,
        Err(e) => return CheckResult::cluster("cluster.versions", Level::Warn, e.clone(), ""),
    };
    let mut parts = Vec::new();
    let mut all = BTreeSet::new();
    for (daemon, counts) in versions
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "overall")
    {
        for (version, n) in counts.as_object().into_iter().flatten() {
            // "ceph version 16.2.15 (sha) pacific (stable)"
            let short = version
                .split_whitespace()
                .nth(2)
                .unwrap_or(version)
                .to_string();
            all.insert(short.clone());
            parts.push(format!("{daemon} {short} x{n}"));
        }
    }
    if all.len() <= 1 {
        CheckResult::cluster("cluster.versions", Level::Pass, parts.join(", "), "")
    } else {
        CheckResult::cluster(
            "cluster.versions",
            Level::Warn,
            parts.join(", "),
            "daemons run different versions: finish the upgrade",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_of_a_running_cluster() {
        let (_dir, cluster) = crate::prechecks::checks::tests::all_in_one();
        let status = json!({
            "health": {"status": "HEALTH_WARN", "checks": {"MON_DOWN": {}}},
            "quorum_names": []
        });
        let versions = json!({
            "mon": {"ceph version 16.2.15 (x) pacific (stable)": 1},
            "osd": {"ceph version 16.2.14 (y) pacific (stable)": 2},
            "overall": {}
        });
        let monmap = json!({"mons": [{"name": "localhost"}]});
        let view = LiveView {
            cluster: &cluster,
            status: &status,
            quorum: &quorum_names(&status),
            monmap: Some(&monmap),
            versions: Ok(&versions),
            uncreated: &[],
            brought_back: &[],
            inventory: "inventory/all-in-one",
        };
        let got: Vec<(&str, Level, String)> = live_checks(&view)
            .into_iter()
            .map(|r| (r.id, r.level, r.value))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "cluster.health",
                    Level::Warn,
                    "HEALTH_WARN: MON_DOWN".into()
                ),
                (
                    "cluster.quorum",
                    Level::Fail,
                    "not in quorum: localhost (in quorum: ); its container is as deploy would make it, so deploy cannot bring it back".into()
                ),
                (
                    "cluster.versions",
                    Level::Warn,
                    "mon 16.2.15 x1, osd 16.2.14 x2".into()
                ),
            ]
        );
        // A mon not in the monmap is new: deploy adds it.
        let empty = json!({"mons": []});
        let view = LiveView {
            monmap: Some(&empty),
            ..view
        };
        assert_eq!(quorum(&view).level, Level::Pass);
        // A mon deploy starts or makes again is brought back: a note.
        let back = [(
            "localhost".to_string(),
            "its container is exited: deploy starts it".to_string(),
        )];
        let view = LiveView {
            monmap: Some(&monmap),
            brought_back: &back,
            ..view
        };
        let q = quorum(&view);
        assert_eq!(q.level, Level::Warn);
        assert!(
            q.value.contains(
                "deploy brings back localhost (its container is exited: deploy starts it)"
            ),
            "{}",
            q.value
        );
        assert!(no_answer(false, &[], &[]).is_empty());
        assert_eq!(
            no_answer(true, &["a".into()], &["x".into()])[0].level,
            Level::Warn
        );
    }
}
