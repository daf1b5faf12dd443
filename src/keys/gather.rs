//! `cephalo gatherkeys`: the cluster's keys, fetched from the first mon
//! that answers and is in quorum (each tried with a timeout, never a hang),
//! with the mon's own keyring; written locally through `keyring`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keyring::{self, Entry, Local};
use crate::ceph::reach::{Attempt, why};
use crate::model::{Cluster, Host};
use crate::transport::{Command, Transport, TransportError, checked, run};

/// How long a mon may take to say whether it is in quorum.
const STATUS_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one `ceph auth` command may take.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// A mon gatherkeys asked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub mon: String,
    /// None: used; Some: why it was skipped.
    pub skipped: Option<String>,
}

/// How a fetched key compares with passwords.yml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passwords {
    Matches,
    /// The passwords.yml key name that holds another key.
    Differs(&'static str),
    NotListed,
}

/// One identity's outcome.
#[derive(Debug, Clone)]
pub struct KeyOutcome {
    pub entity: String,
    pub file: PathBuf,
    pub local: Local,
    /// Where the replaced file was kept (or would be, with --check).
    pub backup: Option<PathBuf>,
    /// The identity was missing in the cluster and was created (with
    /// --check: would be created; then there is no key to write yet).
    pub created_in_cluster: bool,
    pub passwords: Passwords,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub tried: Vec<Tried>,
    pub dest: PathBuf,
    /// The folder was created, or tightened to 0700.
    pub dir_changed: bool,
    pub keys: Vec<KeyOutcome>,
    pub check: bool,
}

impl Report {
    pub fn mon(&self) -> &str {
        self.tried
            .iter()
            .find(|t| t.skipped.is_none())
            .map_or("-", |t| t.mon.as_str())
    }

    pub fn changed(&self) -> usize {
        self.keys
            .iter()
            .filter(|k| k.local != Local::Unchanged || k.created_in_cluster)
            .count()
    }

    /// The text gatherkeys prints: which mons were tried, then one line
    /// per identity. Never a key.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for t in &self.tried {
            match &t.skipped {
                Some(why) => out.push_str(&format!("mon {}: skipped: {why}\n", t.mon)),
                None => out.push_str(&format!("mon {}: in quorum, keys fetched from it\n", t.mon)),
            }
        }
        let would = if self.check { "would be " } else { "" };
        if self.dir_changed {
            out.push_str(&format!(
                "{}: {would}made a 0700 folder\n",
                self.dest.display()
            ));
        }
        for k in &self.keys {
            let file = k
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut what = match &k.local {
                Local::Create => format!("{would}written"),
                Local::Unchanged => "unchanged".to_string(),
                Local::Replace { key_changed } => format!(
                    "{would}replaced ({}; the old file {} kept as {})",
                    if *key_changed {
                        "a different key"
                    } else {
                        "same key, other caps or layout"
                    },
                    if self.check { "would be" } else { "is" },
                    k.backup
                        .as_ref()
                        .and_then(|b| b.file_name())
                        .map(|f| f.to_string_lossy().to_string())
                        .unwrap_or_default()
                ),
            };
            if k.created_in_cluster {
                what = format!("missing in the cluster: {would}created; {what}");
            }
            let pw = match &k.passwords {
                Passwords::Matches => "matches passwords.yml".to_string(),
                Passwords::Differs(name) => format!("DIFFERS from passwords.yml ({name})"),
                Passwords::NotListed => "not in passwords.yml".to_string(),
            };
            out.push_str(&format!("{:<22} {file:<32} {what}; {pw}\n", k.entity));
        }
        out.push_str(&format!(
            "{} key(s) from mon {} in {}: {} {}changed, {} unchanged\n",
            self.keys.len(),
            self.mon(),
            self.dest.display(),
            self.changed(),
            would,
            self.keys.len() - self.changed()
        ));
        out
    }

    /// Warnings: each identity whose cluster key is not the one in
    /// passwords.yml.
    pub fn warnings(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter_map(|k| match &k.passwords {
                Passwords::Differs(name) => Some(format!(
                    "warning: the cluster's key of {} differs from `{name}` in passwords.yml; daemons cephalo deploys get the passwords.yml key (rotated in the cluster? then update passwords.yml)",
                    k.entity
                )),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("no mon answered in quorum; tried:\n{}", list(.tried))]
    NoMon {
        tried: Vec<Tried>,
        /// Every mon was unreachable over SSH.
        all_unreachable: bool,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::ExitCode for GatherError {
    fn exit_code(&self) -> i32 {
        use crate::error::exit;
        match self {
            GatherError::NoMon {
                all_unreachable: true,
                ..
            } => exit::UNREACHABLE,
            GatherError::NoMon { .. } => exit::HOST_FAILED,
            GatherError::Write { .. } => exit::FAILURE,
        }
    }
}

impl From<GatherError> for crate::Error {
    fn from(e: GatherError) -> Self {
        crate::Error::operation(e)
    }
}

fn list(tried: &[Tried]) -> String {
    tried
        .iter()
        .map(|t| format!("  {}: {}", t.mon, t.skipped.as_deref().unwrap_or("used")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identities gatherkeys fetches, in ceph-deploy's order.
pub fn identities(cluster: &Cluster) -> Vec<&'static str> {
    let mut v = vec![
        "mon.",
        "client.admin",
        "client.bootstrap-osd",
        "client.bootstrap-mds",
    ];
    if cluster.release.has_mgr() {
        v.push("client.bootstrap-mgr");
    }
    v.push("client.bootstrap-rgw");
    v
}

/// `ENGINE exec ceph_mon ARGS...` on the mon.
fn in_mon(mon: &Host, args: &[&str], timeout: Duration) -> Command {
    let mut argv: Vec<String> = vec![
        mon.engine.command().into(),
        "exec".into(),
        "ceph_mon".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    Command::new(argv)
        .become_root(mon.connection.become_root)
        .timeout(timeout)
}

/// Asks one mon, with timeouts: in quorum? then every key.
async fn from_mon(
    cluster: &Cluster,
    t: &dyn Transport,
    mon: &Host,
    check: bool,
) -> Result<Vec<(Entry, bool)>, TransportError> {
    let ep = crate::transport::Endpoint::of(mon);
    let said = |reason: String| TransportError::Other {
        host: mon.name.clone(),
        reason,
    };
    let c = cluster.name.as_str();
    // The admin socket answers without quorum: it never hangs on a mon
    // that is out of it (ceph-deploy's gatherkeys did).
    let status = crate::ceph::mon_status(cluster, mon, t, STATUS_TIMEOUT).await?;
    if !status.in_quorum() {
        return Err(said(format!("not in quorum (state: {})", status.state)));
    }
    let mon_keyring = format!("/var/lib/ceph/mon/{c}-{}/keyring", mon.name);
    let text = checked(
        t,
        &ep,
        &in_mon(mon, &["cat", &mon_keyring], AUTH_TIMEOUT).secret(),
    )
    .await?
    .stdout_text();
    let mon_entry = keyring::find(&text, "mon.")
        .filter(|e| !e.key.is_empty())
        .ok_or_else(|| said(format!("{mon_keyring} holds no mon. key")))?;
    let mut out = vec![(mon_entry, false)];
    let auth = |verb: &str, entity: &str, caps: &[&str]| {
        let mut args = vec![
            "ceph",
            "--cluster",
            c,
            "--connect-timeout",
            "10",
            "--name",
            "mon.",
            "--keyring",
            &mon_keyring,
            "auth",
            verb,
            entity,
        ];
        args.extend(caps);
        in_mon(mon, &args, AUTH_TIMEOUT).secret()
    };
    for entity in identities(cluster).into_iter().skip(1) {
        let cmd = auth("get", entity, &[]);
        let got = run(t, &ep, &cmd).await?;
        let (text, created) = if got.success() {
            (got.stdout_text(), false)
        } else if got.stderr_text().contains("ENOENT") && entity.starts_with("client.bootstrap-") {
            if check {
                out.push((
                    Entry {
                        entity: entity.to_string(),
                        key: String::new(),
                        caps: Vec::new(),
                    },
                    true,
                ));
                continue;
            }
            let profile = format!("allow profile {}", &entity["client.".len()..]);
            let made = checked(t, &ep, &auth("get-or-create", entity, &["mon", &profile])).await?;
            (made.stdout_text(), true)
        } else {
            return Err(said(format!(
                "`{}` failed: {}",
                cmd.display(),
                got.stderr_tail(2).trim()
            )));
        };
        let entry = keyring::find(&text, entity)
            .filter(|e| !e.key.is_empty())
            .ok_or_else(|| said(format!("`ceph auth get {entity}` printed no key for it")))?;
        out.push((entry, created));
    }
    Ok(out)
}

/// How long gatherkeys asks again while the mons hold an election.
const ELECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Tries the mons in order and writes (or, with `check`, compares) the
/// keyrings in `dest`.
pub async fn gather(
    cluster: &Cluster,
    t: &dyn Transport,
    mons: &[&Host],
    dest: &Path,
    check: bool,
) -> Result<Report, GatherError> {
    let mut tried: Vec<Tried>;
    let mut unreachable;
    let mut fetched = None;
    // Every mon in an election (electing, probing): a quorum is forming,
    // which takes seconds; ask them all again for a short while. A mon
    // that is down or unreachable is still never waited on.
    let started = tokio::time::Instant::now();
    loop {
        let skipped = std::sync::Mutex::new(Vec::new());
        let answered =
            crate::ceph::reach::through_these(cluster, mons.to_vec(), "gatherkeys", |mon| {
                let skipped = &skipped;
                async move {
                    match from_mon(cluster, t, mon, check).await {
                        Ok(keys) => Attempt::Answered(Ok(keys)),
                        Err(e) => {
                            let e = crate::ceph::reach::explain(t, mon, e).await;
                            if let Ok(mut s) = skipped.lock() {
                                s.push((mon.name.clone(), e.is_unreachable(), why(&e)));
                            }
                            Attempt::NoAnswer(e)
                        }
                    }
                }
            })
            .await;
        let skipped = skipped.into_inner().unwrap_or_default();
        unreachable = skipped.iter().filter(|(_, u, _)| *u).count();
        tried = skipped
            .into_iter()
            .map(|(mon, _, why)| Tried {
                mon,
                skipped: Some(why),
            })
            .collect();
        if let Ok((mon, keys)) = answered {
            tried.push(Tried {
                mon: mon.name.clone(),
                skipped: None,
            });
            fetched = Some(keys);
        }
        let electing = tried.iter().any(|t| {
            t.skipped
                .as_deref()
                .is_some_and(|w| w.contains("(state: electing)") || w.contains("(state: probing)"))
        });
        if fetched.is_some() || !electing || started.elapsed() >= ELECTION_WAIT {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    let Some(fetched) = fetched else {
        return Err(GatherError::NoMon {
            all_unreachable: unreachable == tried.len(),
            tried,
        });
    };
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GatherError::Write { path, source }
    };
    let dir_changed = if check {
        std::fs::metadata(dest).map_or(true, |m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o077 != 0
        })
    } else {
        keyring::private_dir(dest).map_err(write_err(dest))?
    };
    let now = std::time::SystemTime::now();
    let mut keys = Vec::new();
    for (entry, created) in fetched {
        let file = dest.join(keyring::file_name(&cluster.name, &entry.entity));
        let passwords = match cluster.secrets.get(&entry.entity) {
            _ if entry.key.is_empty() => Passwords::NotListed,
            Some(s) if s.expose() == entry.key => Passwords::Matches,
            Some(_) => Passwords::Differs(
                crate::passwords::IDENTITIES
                    .iter()
                    .find(|(_, e)| *e == entry.entity)
                    .map_or("?", |(k, _)| *k),
            ),
            None => Passwords::NotListed,
        };
        let existing = match std::fs::read_to_string(&file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(GatherError::Write { path: file, source });
            }
        };
        let local = if entry.key.is_empty() {
            // --check of an identity the cluster lacks: its key is made later.
            match existing {
                None => Local::Create,
                Some(_) => Local::Replace { key_changed: true },
            }
        } else {
            keyring::compare(existing.as_deref(), &entry)
        };
        let backup =
            matches!(local, Local::Replace { .. }).then(|| keyring::backup_path(&file, now));
        if !check && local != Local::Unchanged {
            keyring::write_private(&file, &entry.text(), backup.as_deref())
                .map_err(write_err(&file))?;
        }
        keys.push(KeyOutcome {
            entity: entry.entity.clone(),
            file,
            local,
            backup,
            created_in_cluster: created,
            passwords,
        });
    }
    Ok(Report {
        tried,
        dest: dest.to_path_buf(),
        dir_changed,
        keys,
        check,
    })
}
