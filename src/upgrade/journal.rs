//! The upgrade's journal: which steps are done, and what the cluster was
//! before (flags, MDS settings) so that the end restores it exactly. Kept
//! next to the inventory (`upgrade/<cluster>.json`, written atomically
//! after every step) and mirrored in the mons' config-key store, where a
//! second admin machine sees it, together with the operation lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::release::Release;

/// Where an upgrade stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Started and not finished: running now, failed, or killed.
    InProgress,
    /// Stopped by `--abort`: flags restored, daemons as they were then.
    Aborted,
    Done,
}

/// One file system's settings the MDS steps change and restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsSettings {
    pub max_mds: u64,
    pub allow_standby_replay: bool,
}

/// The journal of one upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub cluster: String,
    pub fsid: String,
    pub from: Release,
    pub to: Release,
    pub state: State,
    /// `user@machine` and pid of the cephalo that last ran it.
    pub holder: String,
    /// Seconds since the epoch.
    pub started: u64,
    pub updated: u64,
    /// Ids of the steps done, in the order they were done.
    pub done: Vec<String>,
    /// The OSD map flags as they were before the upgrade set any (name ->
    /// set); recorded once, by the backup step, and never overwritten.
    pub flags_before: BTreeMap<String, bool>,
    /// Settings a `Hold` step changed, as they were before (name -> value,
    /// None: not set); an entry goes when its setting is put back.
    #[serde(default)]
    pub held_before: BTreeMap<String, Option<String>>,
    /// Each file system's settings before the MDS steps changed them.
    pub fs_before: BTreeMap<String, FsSettings>,
    /// The backup folder.
    pub backup: Option<PathBuf>,
    /// Steps that failed, with Ceph's words, latest last.
    pub errors: Vec<String>,
    /// The image the daemons are moved to (None in journals of earlier
    /// versions): `status` does not flag a daemon the upgrade moved.
    #[serde(default)]
    pub image: Option<String>,
    /// What runs this journal's plan: `upgrade` (journals of earlier
    /// versions), `redeploy`, `rotate-keys`.
    #[serde(default = "upgrade_operation")]
    pub operation: String,
    /// The command that finishes it, as the operator runs it (None: the
    /// upgrade's own, with --to).
    #[serde(default)]
    pub resume: Option<String>,
    /// The health checks present when it started (recorded by its first
    /// preflight): a resumed run refuses only on errors neither these nor
    /// its own steps explain.
    #[serde(default)]
    pub health_before: Option<Vec<String>>,
}

fn upgrade_operation() -> String {
    "upgrade".into()
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Who runs this cephalo: `user@machine pid N`.
pub fn holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into());
    let machine = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{machine} pid {}", std::process::id())
}

impl Journal {
    pub fn new(cluster: &str, fsid: &str, from: Release, to: Release) -> Journal {
        Journal {
            cluster: cluster.to_string(),
            fsid: fsid.to_string(),
            from,
            to,
            state: State::InProgress,
            holder: holder(),
            started: now(),
            updated: now(),
            done: Vec::new(),
            flags_before: BTreeMap::new(),
            held_before: BTreeMap::new(),
            fs_before: BTreeMap::new(),
            backup: None,
            errors: Vec::new(),
            image: None,
            operation: upgrade_operation(),
            resume: None,
            health_before: None,
        }
    }

    pub fn is_done(&self, step: &str) -> bool {
        self.done.iter().any(|d| d == step)
    }

    /// Records a step as done (once).
    pub fn mark_done(&mut self, step: &str) {
        if !self.is_done(step) {
            self.done.push(step.to_string());
        }
        self.updated = now();
    }

    /// The steps done, as a set.
    pub fn done_set(&self) -> BTreeSet<&str> {
        self.done.iter().map(String::as_str).collect()
    }

    /// The journal file of a cluster, next to the inventory.
    pub fn path(inventory_dir: &Path, cluster: &str) -> PathBuf {
        inventory_dir
            .join("upgrade")
            .join(format!("{cluster}.json"))
    }

    /// Reads the journal; None when there is none.
    pub fn load(path: &Path) -> Result<Option<Journal>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: not an upgrade journal: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the journal atomically (a temp file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        std::fs::write(&tmp, text + "\n")
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The journal as one line, for the config-key store.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A journal read back from the config-key store.
    pub fn from_line(text: &str) -> Option<Journal> {
        serde_json::from_str(text.trim()).ok()
    }

    /// One line saying where the upgrade stands.
    pub fn summary(&self, total_steps: Option<usize>) -> String {
        let state = match self.state {
            State::InProgress => "in progress",
            State::Aborted => "aborted",
            State::Done => "done",
        };
        let steps = match total_steps {
            Some(n) => format!("{} of {n} steps done", self.done.len()),
            None => format!("{} steps done", self.done.len()),
        };
        let held = if self.held_before.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self
                .held_before
                .iter()
                .map(|(name, was)| format!("{name} (was {})", was.as_deref().unwrap_or("not set")))
                .collect();
            format!("; held until a run of it ends: {}", list.join(", "))
        };
        let what = if self.from == self.to {
            format!("on {}", self.to)
        } else {
            format!("{} -> {}", self.from, self.to)
        };
        format!(
            "{} of `{}` {what}: {state}, {steps}; last run by {}, {} s ago{held}",
            self.operation,
            self.cluster,
            self.holder,
            now().saturating_sub(self.updated)
        )
    }
}

/// The config-key holding a cluster's upgrade journal.
pub fn journal_key(cluster: &str) -> String {
    format!("cephalo/upgrade/{cluster}")
}

/// The config-key holding a cluster's operation lock.
pub fn lock_key(cluster: &str) -> String {
    format!("cephalo/lock/{cluster}")
}

/// An operation lock: who holds it, since when, for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub holder: String,
    pub since: u64,
    pub operation: String,
}

impl Lock {
    pub fn mine(operation: &str) -> Lock {
        Lock {
            holder: holder(),
            since: now(),
            operation: operation.to_string(),
        }
    }

    /// Held by this machine and user (any pid: a killed run's lock is
    /// taken over by the next run on the same machine).
    pub fn is_ours(&self) -> bool {
        let me = holder();
        let machine = |h: &str| h.split(" pid ").next().unwrap_or("").to_string();
        machine(&self.holder) == machine(&me)
    }

    pub fn describe(&self) -> String {
        format!(
            "held by {} for `{}` since {} s ago",
            self.holder,
            self.operation,
            now().saturating_sub(self.since)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_survives_a_round_trip_through_its_file_and_the_config_key_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = Journal::path(dir.path(), "ceph");
        assert_eq!(Journal::load(&path).unwrap(), None);
        let mut j = Journal::new("ceph", "fsid", Release::Nautilus, Release::Pacific);
        j.flags_before.insert("noout".into(), false);
        j.held_before
            .insert("primary-affinity osd.3".into(), Some("1".into()));
        j.held_before
            .insert("config osd/osd_pool_default_read_lease_ratio".into(), None);
        j.mark_done("backup");
        j.mark_done("backup");
        j.save(&path).unwrap();
        let back = Journal::load(&path).unwrap().unwrap();
        assert_eq!(back, j);
        assert_eq!(back.done, ["backup"]);
        assert_eq!(Journal::from_line(&j.to_line()), Some(j.clone()));
        // What is held shows in --status and in the refusals.
        assert!(
            j.summary(None).ends_with(
                "held until a run of it ends: config osd/osd_pool_default_read_lease_ratio (was not set), primary-affinity osd.3 (was 1)"
            ),
            "{}",
            j.summary(None)
        );
        // A journal of an earlier cephalo, without held_before, loads.
        let old = j.to_line().replace(
            r#""held_before":{"config osd/osd_pool_default_read_lease_ratio":null,"primary-affinity osd.3":"1"},"#,
            "",
        );
        assert!(!old.contains("held_before"), "{old}");
        assert!(Journal::from_line(&old).unwrap().held_before.is_empty());
        std::fs::write(&path, "{not json").unwrap();
        assert!(
            Journal::load(&path)
                .unwrap_err()
                .contains("not an upgrade journal")
        );
    }

    #[test]
    fn a_lock_of_this_machine_is_ours_whatever_the_pid() {
        let mut l = Lock::mine("upgrade");
        assert!(l.is_ours());
        l.holder = l
            .holder
            .replace(&format!("pid {}", std::process::id()), "pid 1");
        assert!(l.is_ours());
        l.holder = "admin@other-machine pid 7".into();
        assert!(!l.is_ours());
        assert!(l.describe().contains("admin@other-machine"));
    }
}
