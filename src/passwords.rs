//! passwords.yml: the cluster fsid and cephx secrets, and `genpwd`, which
//! fills in what is missing and never changes a value that is there.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;
use uuid::Uuid;

use crate::cephx::{Secret, SecretKind};
use crate::error::{Error, Origin, Problems, Result};
use crate::yamlfile;

/// The cephx identities a cluster needs at bootstrap: passwords.yml key,
/// entity name.
pub const IDENTITIES: &[(&str, &str)] = &[
    ("ceph_mon_key", "mon."),
    ("ceph_client_admin_key", "client.admin"),
    ("ceph_bootstrap_osd_key", "client.bootstrap-osd"),
    ("ceph_bootstrap_mds_key", "client.bootstrap-mds"),
    ("ceph_bootstrap_mgr_key", "client.bootstrap-mgr"),
    ("ceph_bootstrap_rgw_key", "client.bootstrap-rgw"),
];

pub const FSID_KEY: &str = "ceph_cluster_fsid";

/// What passwords.yml holds for the cluster. Other keys (kolla keeps all
/// its OpenStack passwords in the same file) are left alone.
#[derive(Debug, Clone, Default)]
pub struct Passwords {
    pub path: PathBuf,
    pub fsid: Option<(Uuid, Origin)>,
    /// Secrets by entity name (`client.admin`).
    pub keys: IndexMap<String, (Secret, Origin)>,
}

impl Passwords {
    /// Reads passwords.yml; a missing value is not an error here (the model
    /// reports what it needs), a malformed one is.
    pub fn load(path: &Path, problems: &mut Problems) -> Result<Passwords> {
        let out = Self::values(path, problems)?;
        check_mode(path, problems);
        Ok(out)
    }

    /// The values alone, whatever the file's mode (genpwd reads a file it
    /// is about to make private).
    fn values(path: &Path, problems: &mut Problems) -> Result<Passwords> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = crate::inventory::decode_text(path, &bytes)?;
        let top = yamlfile::parse_top_mapping(path, &text)?;
        let mut out = Passwords {
            path: path.to_path_buf(),
            ..Default::default()
        };
        for k in top {
            let origin = Origin::at_line(path, k.line).with_key(&k.key);
            let text = match &k.value {
                Value::Null => continue,
                Value::String(s) if s.trim().is_empty() => continue,
                Value::String(s) => s.trim().to_string(),
                other => {
                    if k.key == FSID_KEY || IDENTITIES.iter().any(|(key, _)| *key == k.key) {
                        problems.error(
                            origin,
                            format!("expected text, found {}", yamlfile::kind(other)),
                        );
                    }
                    continue;
                }
            };
            if k.key == FSID_KEY {
                match Uuid::parse_str(&text) {
                    Ok(u) => out.fsid = Some((u, origin)),
                    Err(_) => problems.error(
                        origin,
                        format!("`{text}` is not a UUID like 7e3a4c5e-0b3d-4c1f-9a53-2f1d3b9e6c21"),
                    ),
                }
            } else if let Some((_, entity)) = IDENTITIES.iter().find(|(key, _)| *key == k.key) {
                match Secret::parse(&text) {
                    Ok(s) => {
                        out.keys.insert(entity.to_string(), (s, origin));
                    }
                    Err(why) => problems.error(origin, format!("not a cephx secret: {why}")),
                }
            } else if let Some(close) = near_miss(&k.key) {
                problems.error(
                    origin,
                    format!("unknown key `{}` (did you mean `{close}`?)", k.key),
                );
            }
        }
        Ok(out)
    }

    pub fn secret(&self, entity: &str) -> Option<&Secret> {
        self.keys.get(entity).map(|(s, _)| s)
    }
}

/// A passwords file open to every user of the machine is an error, open to
/// its group a warning; both name the mode and the fix.
fn check_mode(path: &Path, problems: &mut Problems) {
    if let Some(mode) = loose_mode(path) {
        // Open to every user: an error (any local account could take the
        // cluster's keys). Open to the group only (a shared admin group,
        // as some sites keep /etc/kolla): a warning.
        let text = format!(
            "mode {mode:04o}: the cephx keys in this file are {} {}; run `chmod 600 {}`",
            if mode & 0o044 != 0 {
                "readable by"
            } else {
                "open to"
            },
            if mode & 0o007 != 0 {
                "every user of this machine"
            } else {
                "its group"
            },
            shell_word(path)
        );
        if mode & 0o007 != 0 {
            problems.error(Origin::file(path), text);
        } else {
            problems.warning(Origin::file(path), text);
        }
    }
}

/// The file's permission bits when its group or others may read or write
/// it (a secrets file must be 0600 or tighter); None when it is private
/// or cannot be read.
pub fn loose_mode(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

/// The command that fills in `path`, runnable as printed (the path quoted
/// for a shell when it needs it): every hint about a missing secret gives it.
pub fn genpwd_command(path: &Path) -> String {
    format!("cephalo genpwd --passwords {}", shell_word(path))
}

/// A path as one word a shell reads back unchanged (shlex, as
/// `transport::quote`, which this layer sits below).
fn shell_word(path: &Path) -> String {
    let p = path.display().to_string();
    shlex::try_quote(&p).map_or(p.clone(), |q| q.into_owned())
}

fn near_miss(key: &str) -> Option<&'static str> {
    std::iter::once(FSID_KEY)
        .chain(IDENTITIES.iter().map(|(k, _)| *k))
        .map(|k| (strsim::normalized_damerau_levenshtein(key, k), k))
        .filter(|(s, _)| *s >= 0.8 && *s < 1.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// What genpwd did with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filled {
    Kept(String),
    Generated(String),
}

/// Fills in the fsid and every missing secret; values already there are
/// never changed. The file ends with mode 0600, written atomically.
pub fn genpwd(path: &Path, kind: SecretKind) -> Result<Vec<Filled>> {
    let existing = match std::fs::read(path) {
        Ok(b) => crate::inventory::decode_text(path, &b)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    // Refuse to touch a file whose present values are malformed.
    let mut problems = Problems::default();
    if !existing.is_empty() {
        let tmp = Passwords::values(path, &mut problems)?;
        drop(tmp);
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    let top = yamlfile::parse_top_mapping(path, &existing)?;
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut report = Vec::new();
    let mut appended = Vec::new();
    let wanted = std::iter::once(FSID_KEY).chain(IDENTITIES.iter().map(|(k, _)| *k));
    for key in wanted {
        let present = top.iter().find(|t| t.key == key);
        let has_value = present.is_some_and(|t| match &t.value {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        if has_value {
            report.push(Filled::Kept(key.to_string()));
            continue;
        }
        let value = if key == FSID_KEY {
            Uuid::new_v4().to_string()
        } else {
            Secret::generate(kind)
                .map_err(|e| Error::Usage(format!("cannot get random bytes from the system: {e}")))?
                .expose()
                .to_string()
        };
        let line = format!("{key}: {value}");
        match present {
            // `key:` with no value: fill that line in place.
            Some(t) if t.line >= 1 && (t.line as usize) <= lines.len() => {
                lines[t.line as usize - 1] = line;
            }
            _ => appended.push(line),
        }
        report.push(Filled::Generated(key.to_string()));
    }
    if existing.is_empty() {
        lines.push("---".to_string());
        lines.push(
            "# Secrets of the Ceph cluster, made by `cephalo genpwd`. Keep this file 0600."
                .to_string(),
        );
    }
    lines.extend(appended);
    let mut text = lines.join("\n");
    text.push('\n');
    write_private(path, text.as_bytes())?;
    Ok(report)
}

/// Sets keys of passwords.yml to new values (the rotated cephx keys),
/// keeping every other line as it is: the file before is kept beside it
/// as `passwords.yml.<timestamp>` (0600), and the new one written
/// atomically, 0600. None when every value was already so (nothing
/// written); else the backup's path. A key not in the file is added.
pub fn replace(path: &Path, values: &[(String, String)]) -> Result<Option<PathBuf>> {
    let existing = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let existing = crate::inventory::decode_text(path, &existing)?;
    let top = yamlfile::parse_top_mapping(path, &existing)?;
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut changed = false;
    for (key, value) in values {
        let line = format!("{key}: {value}");
        match top.iter().find(|t| &t.key == key) {
            Some(t) if t.value.as_str() == Some(value.as_str()) => {}
            Some(t) if t.line >= 1 && (t.line as usize) <= lines.len() => {
                lines[t.line as usize - 1] = line;
                changed = true;
            }
            _ => {
                lines.push(line);
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "passwords.yml".into());
    let backup = path.with_file_name(format!("{name}.{stamp}"));
    write_private(&backup, existing.as_bytes())?;
    let mut text = lines.join("\n");
    text.push('\n');
    write_private(path, text.as_bytes())?;
    Ok(Some(backup))
}

/// Writes a file readable only by its owner, atomically (temp file in the
/// same directory, then rename).
pub fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let werr = |source| Error::Write {
        path: path.to_path_buf(),
        source: crate::error::without_temp_path(source),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cephalo-")
        .tempfile_in(dir)
        .map_err(werr)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(werr)?;
    tmp.write_all(content).map_err(werr)?;
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(())
}
