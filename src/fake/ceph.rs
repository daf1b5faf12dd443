//! The Ceph side of the fake cluster: mons, mgrs, OSDs and MDSs with the
//! release each runs, placement groups that degrade while an OSD is down
//! and settle after, OSD flags, health checks, and the answers of the
//! `ceph` commands cephalo sends, in the JSON shape of each release
//! (Jewel has no `ceph versions` and no mgrs; Nautilus keeps `pg stat`
//! flat; Reef drops the `mds` key of `versions` when there is none).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::release::Release;

/// One daemon: where it runs and the release it runs now (None: stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub host: String,
    pub running: Option<Release>,
    /// The map epoch it was (re)started at (OSDs' `up_from`).
    pub up_from: u64,
}

/// The cluster as the mons see it.
#[derive(Debug, Clone)]
pub struct FakeCeph {
    pub fsid: String,
    pub mons: BTreeMap<String, Daemon>,
    pub mgrs: BTreeMap<String, Daemon>,
    pub osds: BTreeMap<u32, Daemon>,
    pub mdss: BTreeMap<String, Daemon>,
    /// The osdmap epoch: every daemon change makes a new one.
    pub epoch: u64,
    pub flags: BTreeSet<String>,
    pub require_osd_release: Option<Release>,
    pub min_mon_release: Option<Release>,
    pub pgs: u64,
    /// Placement groups not active+clean now.
    pub unclean: u64,
    /// Each `pg stat`/`status` heals this many unclean PGs once all OSDs
    /// are up (recovery takes a few polls).
    pub heal_per_query: u64,
    /// PGs that never become clean (a stuck PG), by id.
    pub stuck: Vec<String>,
    /// Health checks set by a test (name -> message), beside the derived ones.
    pub extra_checks: BTreeMap<String, String>,
    /// `ok-to-stop` answers "no" this many more times.
    pub refuse_ok_to_stop: u32,
    pub filesystems: Vec<String>,
    pub pools: Vec<String>,
    /// Each pool's applications (`rbd`, `cephfs`...).
    pub applications: BTreeMap<String, Vec<String>>,
    /// The uuid each OSD was made with (`osd new`).
    pub osd_uuids: BTreeMap<u32, String>,
    /// Primary affinity of the OSDs set with `osd primary-affinity` (the
    /// others have 1).
    pub primary_affinity: BTreeMap<u32, f64>,
    /// cephx entities and their keys.
    pub auth: BTreeMap<String, String>,
    /// Pending keys (`auth get-or-create-pending`): the entity's key once
    /// it is first used (the next command of the fake commits them all).
    pub pending: BTreeMap<String, String>,
    /// The monmap's auth settings (Squid 19.2.6 / Tentacle 20.2.4 on):
    /// service cipher, allowed ciphers, preferred cipher.
    pub ciphers: (String, Vec<String>, String),
    /// The rotating service keys are still of type aes (until wiped).
    pub rotating_aes: bool,
    /// The mons' config-key store.
    pub config_keys: BTreeMap<String, String>,
    /// The config database: (who, option) -> value.
    pub config: BTreeMap<(String, String), String>,
    /// Each file system's max_mds and allow_standby_replay.
    pub fs_settings: BTreeMap<String, (u64, bool)>,
    /// Connected clients by release: (release, count), for `ceph features`.
    pub clients: Vec<(Release, u64)>,
    /// Pools whose pg_autoscale_mode is `warn` (made before Octopus).
    pub autoscale_warn: BTreeSet<String>,
    /// Every mon has a v2 address (msgr2 on).
    pub msgr2: bool,
    /// When set (the scale simulation), PGs become clean this long (tokio
    /// time) after the last change once every OSD is up, instead of over
    /// `heal_per_query` polls.
    pub clean_after: std::time::Duration,
    /// When the last daemon change happened (tokio time).
    pub changed_at: Option<tokio::time::Instant>,
    /// Some(n) while the mons have never met: they were made from a
    /// `monmaptool --create` map of n mons, and a quorum needs more than
    /// half of them running. None once they formed one (or for a cluster
    /// a test made directly).
    pub initial_monmap: Option<usize>,
}

impl Default for FakeCeph {
    fn default() -> Self {
        FakeCeph {
            fsid: "00000000-0000-4000-8000-000000000001".into(),
            mons: BTreeMap::new(),
            mgrs: BTreeMap::new(),
            osds: BTreeMap::new(),
            mdss: BTreeMap::new(),
            epoch: 1,
            flags: ["sortbitwise", "recovery_deletes", "purged_snapdirs"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            require_osd_release: None,
            min_mon_release: None,
            pgs: 0,
            unclean: 0,
            heal_per_query: u64::MAX,
            stuck: Vec::new(),
            extra_checks: BTreeMap::new(),
            refuse_ok_to_stop: 0,
            filesystems: Vec::new(),
            pools: Vec::new(),
            applications: BTreeMap::new(),
            osd_uuids: BTreeMap::new(),
            primary_affinity: BTreeMap::new(),
            auth: BTreeMap::new(),
            pending: BTreeMap::new(),
            ciphers: ("aes".into(), vec!["aes".into()], "aes".into()),
            rotating_aes: true,
            config_keys: BTreeMap::new(),
            config: BTreeMap::new(),
            fs_settings: BTreeMap::new(),
            clients: Vec::new(),
            autoscale_warn: BTreeSet::new(),
            msgr2: true,
            clean_after: std::time::Duration::ZERO,
            changed_at: None,
            initial_monmap: None,
        }
    }
}

/// The version string a release's daemons report.
pub fn version_string(r: Release) -> String {
    let (v, sha) = match r {
        Release::Jewel => {
            return "ceph version 10.2.11 (e4b061b47f07f583c92a050d9e84b1813a35671e)".into();
        }
        Release::Kraken => ("11.2.1", "e0354f9d3b1eea1d75a7dd487ba8098311be38a7"),
        Release::Luminous => ("12.2.13", "584a20eb0237c657dc0567da126be145106aa47e"),
        Release::Mimic => ("13.2.10", "564bdc4ae87418a232fc901524470e1a0f76d641"),
        Release::Nautilus => ("14.2.21", "5ef401921d7a88aea18ec7558f7f9374ebd8f5a6"),
        Release::Octopus => ("15.2.17", "8a82819d84cf884bd39c17e3236e0632ac146dc4"),
        Release::Pacific => ("16.2.15", "618f440892089921c3e944a991122ddc44e60516"),
        Release::Quincy => ("17.2.7", "b12291d110049b2f35e32e0de30d70e9a4c060d2"),
        Release::Reef => ("18.2.7", "6b0e988052ec84cf2d4a54ff9bbbc5e720b621ad"),
        Release::Squid => ("19.2.3", "c92aebb279828e9c3c1f5d24613efca272649e62"),
        Release::Tentacle => ("20.2.4", "4b7be2e3b2c8b4e1e0e8e3c6e3a5d2f1c0b9a8e7"),
    };
    format!("ceph version {v} ({sha}) {} (stable)", r.name())
}

impl FakeCeph {
    /// The release the mons speak: the oldest mon that runs.
    pub fn mon_release(&self) -> Option<Release> {
        self.mons.values().filter_map(|d| d.running).min()
    }

    pub fn quorum(&self) -> Vec<String> {
        let running: Vec<String> = self
            .mons
            .iter()
            .filter(|(_, d)| d.running.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        match self.initial_monmap {
            Some(n) if running.len() * 2 <= n => Vec::new(),
            _ => running,
        }
    }

    /// The epoch of the mons' monmap: 0 until they first formed a quorum.
    pub fn monmap_epoch(&self) -> u64 {
        if self.initial_monmap.is_some() { 0 } else { 1 }
    }

    pub fn osds_down(&self) -> Vec<u32> {
        self.osds
            .iter()
            .filter(|(_, d)| d.running.is_none())
            .map(|(id, _)| *id)
            .collect()
    }

    /// A daemon (re)started or stopped: a new map; PGs on a stopped OSD
    /// degrade, and settle over later polls once every OSD is up again.
    pub fn changed(&mut self) {
        if !self.quorum().is_empty() {
            // The mons met: from now on the monmap is the cluster's.
            self.initial_monmap = None;
        }
        self.epoch += 1;
        self.changed_at = Some(tokio::time::Instant::now());
        let down = self.osds_down().len() as u64;
        if down > 0 && !self.osds.is_empty() {
            let share = self.pgs * down / self.osds.len() as u64;
            self.unclean = self.unclean.max(share.max(1).min(self.pgs));
        }
    }

    pub(super) fn settle(&mut self) {
        if !self.clean_after.is_zero() {
            let settled = self
                .changed_at
                .is_none_or(|t| t.elapsed() >= self.clean_after);
            if settled && self.osds_down().is_empty() {
                self.unclean = 0;
            }
            return;
        }
        if self.osds_down().is_empty() {
            self.unclean = self.unclean.saturating_sub(self.heal_per_query);
        }
    }

    pub(super) fn health(&self) -> (String, BTreeMap<String, (String, String)>) {
        let mut checks: BTreeMap<String, (String, String)> = BTreeMap::new();
        let warn = |m: &str| ("HEALTH_WARN".to_string(), m.to_string());
        let shown: Vec<&str> = ["noout", "nodeep-scrub", "noscrub", "norebalance"]
            .into_iter()
            .filter(|f| self.flags.contains(*f))
            .collect();
        if !shown.is_empty() {
            checks.insert(
                "OSDMAP_FLAGS".into(),
                warn(&format!("{} flag(s) set", shown.join(","))),
            );
        }
        let down = self.osds_down();
        if !down.is_empty() {
            checks.insert(
                "OSD_DOWN".into(),
                warn(&format!("{} osds down", down.len())),
            );
        }
        let out_of_quorum = self.mons.len() - self.quorum().len();
        if out_of_quorum > 0 {
            checks.insert(
                "MON_DOWN".into(),
                warn(&format!("{out_of_quorum}/{} mons down", self.mons.len())),
            );
        }
        let unclean = self.unclean + self.stuck.len() as u64;
        if unclean > 0 {
            checks.insert(
                "PG_DEGRADED".into(),
                warn(&format!("Degraded data redundancy: {unclean} pgs degraded")),
            );
        }
        for (k, m) in &self.extra_checks {
            checks.insert(k.clone(), warn(m));
        }
        if self.release().warns_insecure_key_types() {
            self.insecure_keys(&mut checks);
        }
        let status = if checks.is_empty() {
            "HEALTH_OK"
        } else if checks.values().any(|(s, _)| s == "HEALTH_ERR") {
            "HEALTH_ERR"
        } else {
            "HEALTH_WARN"
        };
        (status.into(), checks)
    }

    /// Whether a key is of type aes (1), as its first two bytes say.
    pub fn is_aes(key: &str) -> bool {
        crate::cephx::Secret::parse(key).is_ok_and(|s| s.kind().type_id() == 1)
    }

    /// The CVE-2025-30156 checks of 19.2.6 / 20.2.4, from the keys and the
    /// monmap's auth settings, as the helper's run on 20.2.4 saw them.
    fn insecure_keys(&self, checks: &mut BTreeMap<String, (String, String)>) {
        let err = |m: String| ("HEALTH_ERR".to_string(), m);
        let warn = |m: String| ("HEALTH_WARN".to_string(), m);
        let aes = |prefixes: &[&str]| -> Vec<&String> {
            self.auth
                .iter()
                .filter(|(e, k)| prefixes.iter().any(|p| e.starts_with(p)) && Self::is_aes(k))
                .map(|(e, _)| e)
                .collect()
        };
        let services = aes(&["mgr.", "osd.", "mds."]);
        if !services.is_empty() {
            checks.insert(
                "AUTH_INSECURE_SERVICE_KEY_TYPE".into(),
                err(format!(
                    "{} auth service entities with insecure key types",
                    services.len()
                )),
            );
        }
        if self.ciphers.0 == "aes" {
            checks.insert(
                "AUTH_INSECURE_SERVICE_TICKETS".into(),
                err("Monitors are configured to issue insecure service tickets".into()),
            );
        }
        if self.rotating_aes {
            checks.insert(
                "AUTH_INSECURE_ROTATING_SERVICE_KEY_TYPE".into(),
                warn("4 rotating auth service keys using insecure key types".into()),
            );
        }
        let clients = aes(&["client."]);
        if !clients.is_empty() {
            checks.insert(
                "AUTH_INSECURE_CLIENT_KEY_TYPE".into(),
                warn(format!(
                    "{} auth client entities with insecure key types",
                    clients.len()
                )),
            );
        }
        if self.ciphers.1.iter().any(|c| c == "aes") {
            checks.insert(
                "AUTH_INSECURE_KEYS_ALLOWED".into(),
                warn("Monitors are configured to allow auth using insecure key types".into()),
            );
            checks.insert(
                "AUTH_INSECURE_KEYS_CREATABLE".into(),
                warn("Monitors are configured to allow creation of insecure key types".into()),
            );
        }
    }

    /// The health status and the names of its checks, for tests.
    pub fn health_summary(&self) -> (String, Vec<String>) {
        let (status, checks) = self.health();
        (status, checks.into_keys().collect())
    }

    pub(super) fn health_json(&self) -> Value {
        let (status, checks) = self.health();
        let checks: serde_json::Map<String, Value> = checks
            .into_iter()
            .map(|(k, (sev, msg))| {
                (
                    k,
                    json!({"severity": sev, "summary": {"message": msg, "count": 1}, "muted": false}),
                )
            })
            .collect();
        json!({"status": status, "checks": checks, "mutes": []})
    }

    pub(super) fn pg_states(&self) -> Vec<(String, u64)> {
        let bad = self.unclean + self.stuck.len() as u64;
        let mut v = Vec::new();
        if self.pgs > bad {
            v.push(("active+clean".to_string(), self.pgs - bad));
        }
        if bad > 0 {
            v.push(("active+undersized+degraded".to_string(), bad));
        }
        v
    }

    pub(super) fn release(&self) -> Release {
        self.mon_release().unwrap_or(Release::Pacific)
    }

    pub(super) fn osdmap(&self) -> Value {
        let up = self.osds.values().filter(|d| d.running.is_some()).count();
        let m = json!({
            "epoch": self.epoch,
            "num_osds": self.osds.len(),
            "num_up_osds": up,
            "num_in_osds": self.osds.len(),
        });
        // Before Octopus `ceph status` nests the counts one level deeper.
        if self.release() < Release::Octopus {
            json!({ "osdmap": m })
        } else {
            m
        }
    }

    pub(super) fn versions(&self) -> Value {
        let count = |m: &mut BTreeMap<String, u64>, r: Option<Release>| {
            if let Some(r) = r {
                *m.entry(version_string(r)).or_default() += 1;
            }
        };
        let mut all = BTreeMap::new();
        let mut v = serde_json::Map::new();
        let groups: [(&str, Vec<Option<Release>>); 4] = [
            ("mon", self.mons.values().map(|d| d.running).collect()),
            ("mgr", self.mgrs.values().map(|d| d.running).collect()),
            ("osd", self.osds.values().map(|d| d.running).collect()),
            ("mds", self.mdss.values().map(|d| d.running).collect()),
        ];
        for (kind, runs) in groups {
            let mut m = BTreeMap::new();
            for r in runs {
                count(&mut m, r);
                count(&mut all, r);
            }
            if m.is_empty() && kind == "mds" && self.release() >= Release::Reef {
                continue;
            }
            v.insert(kind.into(), json!(m));
        }
        v.insert("overall".into(), json!(all));
        Value::Object(v)
    }

    pub(super) fn flags_text(&self) -> String {
        self.flags.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Output;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn cluster(r: Release) -> FakeCeph {
        let mut c = FakeCeph {
            pgs: 33,
            ..Default::default()
        };
        let d = |h: &str| Daemon {
            host: h.into(),
            running: Some(r),
            up_from: 1,
        };
        for h in ["ceph1", "ceph2", "ceph3"] {
            c.mons.insert(h.into(), d(h));
        }
        for (i, h) in ["ceph1", "ceph2", "ceph3"].iter().enumerate() {
            c.osds.insert(i as u32, d(h));
        }
        c
    }

    fn json_of(o: &Output) -> Value {
        serde_json::from_slice(&o.stdout).expect("json")
    }

    #[test]
    fn versions_follow_each_release_shape() {
        let mut reef = cluster(Release::Reef);
        let v = json_of(&reef.answer(&args("versions -f json")));
        assert!(v.get("mds").is_none(), "Reef drops mds when none: {v}");
        assert_eq!(v["osd"][version_string(Release::Reef)], 3);
        let mut pacific = cluster(Release::Pacific);
        let v = json_of(&pacific.answer(&args("versions -f json")));
        assert_eq!(v["mds"], json!({}));
        let mut jewel = cluster(Release::Jewel);
        assert_eq!(jewel.answer(&args("versions -f json")).status, 22);
        assert!(!version_string(Release::Jewel).contains("jewel"));
    }

    #[test]
    fn a_stopped_osd_degrades_pgs_that_settle_after_it_is_back() {
        let mut c = cluster(Release::Pacific);
        c.heal_per_query = 20;
        c.osds.get_mut(&1).unwrap().running = None;
        c.changed();
        let s = json_of(&c.answer(&args("status -f json")));
        assert_eq!(s["health"]["status"], "HEALTH_WARN");
        assert!(s["health"]["checks"]["OSD_DOWN"].is_object());
        c.osds.get_mut(&1).unwrap().running = Some(Release::Pacific);
        c.changed();
        let first = json_of(&c.answer(&args("pg stat -f json")));
        let second = json_of(&c.answer(&args("pg stat -f json")));
        let clean = |v: &Value| {
            v["pg_summary"]["num_pg_by_state"][0]["num"]
                .as_u64()
                .unwrap()
        };
        assert!(clean(&first) < 33);
        assert_eq!(clean(&second), 33);
        assert_eq!(
            json_of(&c.answer(&args("health -f json")))["status"],
            "HEALTH_OK"
        );
    }

    #[test]
    fn ok_to_stop_refuses_when_told_and_when_another_osd_is_down() {
        let mut c = cluster(Release::Pacific);
        c.refuse_ok_to_stop = 1;
        assert_eq!(c.answer(&args("osd ok-to-stop 0")).status, 16);
        assert_eq!(c.answer(&args("osd ok-to-stop 0")).status, 0);
        c.osds.get_mut(&2).unwrap().running = None;
        assert_eq!(c.answer(&args("osd ok-to-stop 0")).status, 16);
        assert_eq!(c.answer(&args("osd ok-to-stop 2")).status, 0);
        let mut jewel = cluster(Release::Jewel);
        assert_eq!(jewel.answer(&args("osd ok-to-stop 0")).status, 22);
    }

    #[test]
    fn flags_are_set_and_shown_in_health_and_osd_dump() {
        let mut c = cluster(Release::Reef);
        c.answer(&args("osd set noout"));
        let d = json_of(&c.answer(&args("osd dump -f json")));
        assert!(d["flags"].as_str().unwrap().contains("noout"));
        assert!(d["flags_set"].as_array().unwrap().contains(&json!("noout")));
        assert!(json_of(&c.answer(&args("health -f json")))["checks"]["OSDMAP_FLAGS"].is_object());
        c.answer(&args("osd unset noout"));
        assert_eq!(
            json_of(&c.answer(&args("health -f json")))["status"],
            "HEALTH_OK"
        );
    }

    #[test]
    fn nautilus_pg_stat_is_flat_and_status_nests_osdmap() {
        let mut c = cluster(Release::Nautilus);
        let p = json_of(&c.answer(&args("pg stat -f json")));
        assert_eq!(p["num_pgs"], 33);
        let s = json_of(&c.answer(&args("status -f json")));
        assert_eq!(s["osdmap"]["osdmap"]["num_osds"], 3);
    }
}
