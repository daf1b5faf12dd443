//! The checks: pure functions from the model and a host's facts to named
//! results (pass, warn or fail, the value measured and a one-line hint).
//! Each family is a table of named checks in its own file; `host_checks`
//! runs the tables in order. Nothing here touches a host.

pub mod cluster;
pub mod custom;
pub mod disks;
pub mod engine;
pub mod host;
pub mod live;
pub mod network;
pub mod ports;
pub mod resources;
pub mod time;

use serde::Serialize;

use crate::facts::{ClockSample, Facts};
use crate::model::{Cluster, Host};

pub use cluster::cluster_checks;
pub use disks::expected_osds;
pub use engine::{MIN_DOCKER, MIN_PODMAN};
pub use resources::{MDS_MEMORY, MGR_MEMORY, MIN_FREE, MIN_PID_MAX, MON_MEMORY};
pub use time::MAX_CLOCK_OFFSET;

/// The hint of every check that finds an image missing on a host.
pub const PULL_HINT: &str =
    "cephalo pull -i INVENTORY (with --image-archive FILE where no registry is reachable)";

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

impl CheckResult {
    /// A cluster-wide result (the hint only when it does not pass).
    pub fn cluster(
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
}

/// What a host check judges: the cluster, the host, the facts gathered on
/// it and its clock sample.
pub struct HostView<'a> {
    pub cluster: &'a Cluster,
    pub host: &'a Host,
    pub facts: &'a Facts,
    pub clock: Option<ClockSample>,
}

impl HostView<'_> {
    /// A result on this host (the hint only when it does not pass).
    pub fn result(
        &self,
        id: &'static str,
        level: Level,
        value: impl Into<String>,
        hint: impl Into<String>,
    ) -> CheckResult {
        CheckResult {
            host: Some(self.host.name.clone()),
            ..CheckResult::cluster(id, level, value, hint)
        }
    }
}

/// One named check of a family: the id of the results it gives (none when
/// it does not apply to the host, several for one per device), what it
/// judges, and the function judging it.
pub struct HostCheck {
    pub id: &'static str,
    pub judges: &'static str,
    pub run: fn(&HostView) -> Vec<CheckResult>,
}

/// Every host check, family by family, in the order of the report.
pub fn host_table() -> impl Iterator<Item = &'static HostCheck> {
    [
        host::OS,
        engine::CHECKS,
        host::NAME,
        time::CHECKS,
        network::CHECKS,
        ports::CHECKS,
        custom::CHECKS,
        resources::CHECKS,
        disks::CHECKS,
    ]
    .into_iter()
    .flatten()
}

/// Every host check on one host's facts. `clock` is the measured clock
/// offset.
pub fn host_checks(
    cluster: &Cluster,
    host: &Host,
    facts: &Facts,
    clock: Option<ClockSample>,
) -> Vec<CheckResult> {
    let view = HostView {
        cluster,
        host,
        facts,
        clock,
    };
    host_table().flat_map(|c| (c.run)(&view)).collect()
}

pub(crate) fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Parses `20.10.24+dfsg1` or `4.3.1` into (major, minor).
pub fn version_pair(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_pair("20.10.24+dfsg1"), Some((20, 10)));
        assert_eq!(version_pair("4.3.1"), Some((4, 3)));
    }

    /// The repository's all-in-one inventory (host `localhost`, every
    /// role), with fresh passwords.
    pub(super) fn all_in_one() -> (tempfile::TempDir, Cluster) {
        all_in_one_with(&[])
    }

    /// The all-in-one with `-e` values.
    fn all_in_one_with(extra: &[&str]) -> (tempfile::TempDir, Cluster) {
        let dir = tempfile::tempdir().expect("tempdir");
        let passwords = dir.path().join("passwords.yml");
        crate::passwords::genpwd(&passwords, crate::release::SecretKind::Aes).expect("genpwd");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let cluster = crate::model::load(&crate::model::Sources {
            inventory: root.join("inventory/all-in-one"),
            globals: Some(root.join("inventory/globals-all-in-one.yml")),
            passwords: Some(passwords),
            extra_vars: extra.iter().map(|e| e.to_string()).collect(),
            ..Default::default()
        })
        .expect("the all-in-one inventory loads");
        (dir, cluster)
    }

    #[test]
    fn the_tables_judge_fixture_facts() {
        let (_dir, cluster) = all_in_one();
        let host = cluster.host("localhost").expect("localhost");
        let facts = crate::facts::parse(include_str!(
            "../../../tests/fixtures/prechecks/gather-bookworm.txt"
        ));
        let clock = Some(ClockSample {
            offset: 0.001,
            rtt: 0.002,
        });
        let view = HostView {
            cluster: &cluster,
            host,
            facts: &facts,
            clock,
        };
        // Every result carries the id of the check that gave it.
        for c in host_table() {
            for r in (c.run)(&view) {
                assert_eq!((r.id, r.host.as_deref()), (c.id, Some("localhost")));
            }
        }
        let results = host_checks(&cluster, host, &facts, clock);
        let got: Vec<(&str, Level)> = results.iter().map(|r| (r.id, r.level)).collect();
        use Level::*;
        assert_eq!(
            got,
            [
                ("os", Pass),
                ("engine.installed", Pass),
                ("engine.running", Pass),
                ("engine.image", Warn),
                ("hostname.matches", Pass),
                ("hostname.resolves", Pass),
                ("time.sync", Fail),
                ("time.offset", Pass),
                ("network.interface", Pass),
                ("network.public", Fail),
                ("network.mons", Pass),
                ("ports.mon", Pass),
                ("ports.rgw", Pass),
                ("ports.osd", Pass),
                ("resources.memory", Pass),
                ("resources.disk", Pass),
                ("resources.pid_max", Pass),
                ("disks.bootstrap", Pass),
                ("disks.partners", Pass),
            ]
        );
        let value = |id: &str| {
            results
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.value.as_str())
        };
        assert_eq!(
            value("hostname.matches"),
            Some("`localhost` on a single-host cluster (the host calls itself `vm`)")
        );
        assert_eq!(
            value("disks.bootstrap"),
            Some("1 bootstrap partition(s), 0 existing OSD(s)")
        );
    }

    /// The all-in-one example passes the checks that are about its own
    /// files (the name, the pool size); `localhost` in a cluster of more
    /// hosts fails, and no hint ever says to rename a host to localhost.
    #[test]
    fn the_all_in_one_passes_its_name_and_pool_checks_and_localhost_elsewhere_fails() {
        let (_dir, cluster) = all_in_one();
        let pool = super::cluster::cluster_checks(&cluster)
            .into_iter()
            .find(|r| r.id == "cluster.pool_size")
            .unwrap();
        assert_eq!(pool.level, Level::Pass, "{}", pool.value);

        let facts = crate::facts::parse(include_str!(
            "../../../tests/fixtures/prechecks/gather-bookworm.txt"
        ));
        let mut grown = cluster.clone();
        let mut other = grown.hosts[0].clone();
        other.name = "ceph2".into();
        grown.hosts.push(other);
        let host = grown.host("localhost").unwrap();
        let view = HostView {
            cluster: &grown,
            host,
            facts: &facts,
            clock: None,
        };
        let r = &super::host::NAME[0].run;
        let got = r(&view);
        assert_eq!(got[0].id, "hostname.matches");
        assert_eq!(got[0].level, Level::Fail);
        assert!(
            !got[0].hint.contains("set-hostname localhost"),
            "{}",
            got[0].hint
        );
        assert!(
            got[0]
                .hint
                .contains("name the host by its own name in the inventory (`vm`"),
            "{}",
            got[0].hint
        );
    }

    /// On an IPv6 public_network, network.public looks for the host's IPv6
    /// address (the fixture's eth0 has fd00::2/64).
    #[test]
    fn an_ipv6_public_network_needs_an_ipv6_address_on_the_host() {
        let facts = crate::facts::parse(include_str!(
            "../../../tests/fixtures/prechecks/gather-bookworm.txt"
        ));
        for (address, want) in [("fd00::2", Level::Pass), ("fd00::9", Level::Fail)] {
            let (_dir, cluster) = all_in_one_with(&[
                "public_network=fd00::/64",
                &format!("public_address={address}"),
            ]);
            let view = HostView {
                cluster: &cluster,
                host: &cluster.hosts[0],
                facts: &facts,
                clock: None,
            };
            let r = super::network::CHECKS
                .iter()
                .find(|c| c.id == "network.public")
                .map(|c| (c.run)(&view))
                .unwrap();
            assert_eq!(r[0].level, want, "{address}: {}", r[0].value);
        }
    }

    #[test]
    fn ids_are_unique_and_in_their_family() {
        let ids: Vec<&str> = host_table().map(|c| c.id).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(host_table().all(|c| !c.judges.is_empty()));
    }
}
