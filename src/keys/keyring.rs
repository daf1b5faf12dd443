//! Keyring files as Ceph writes them: parsing `[entity]` sections with
//! their key and caps, one canonical rendering, and the local files
//! gatherkeys writes (0600 in a 0700 folder, atomically, a backup of any
//! different file it replaces). Keys never reach Debug output or errors.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One `[entity]` of a keyring.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub entity: String,
    pub key: String,
    /// `(daemon type, cap)` in file order: `("mon", "allow *")`.
    pub caps: Vec<(String, String)>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("entity", &self.entity)
            .field("key", &"<redacted>")
            .field("caps", &self.caps)
            .finish()
    }
}

impl Entry {
    /// The keyring text, as `ceph auth get` prints it: caps sorted by
    /// daemon type, so that the same identity always renders the same.
    pub fn text(&self) -> String {
        let mut caps = self.caps.clone();
        caps.sort();
        let mut out = format!("[{}]\n\tkey = {}\n", self.entity, self.key);
        for (daemon, cap) in caps {
            out.push_str(&format!(
                "\tcaps {daemon} = \"{}\"\n",
                cap.replace('"', "\\\"")
            ));
        }
        out
    }
}

/// The entries of a keyring file. Lines that are no `[section]`, `key =` or
/// `caps X =` (comments, other settings) are skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Entry {
                entity: name.trim().to_string(),
                key: String::new(),
                caps: Vec::new(),
            });
            continue;
        }
        let Some(entry) = out.last_mut() else {
            continue;
        };
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name == "key" {
            entry.key = value.to_string();
        } else if let Some(daemon) = name.strip_prefix("caps ") {
            let cap = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .replace("\\\"", "\"");
            entry.caps.push((daemon.trim().to_string(), cap));
        }
    }
    out
}

/// The entry of `entity` in a keyring text.
pub fn find(text: &str, entity: &str) -> Option<Entry> {
    parse(text).into_iter().find(|e| e.entity == entity)
}

/// The local file name gatherkeys writes for an identity, ceph-deploy's:
/// `ceph.client.admin.keyring`, `ceph.mon.keyring`,
/// `ceph.bootstrap-osd.keyring`.
pub fn file_name(cluster: &str, entity: &str) -> String {
    let short = match entity {
        "mon." => "mon",
        e if e.starts_with("client.bootstrap-") => &e["client.".len()..],
        e => e,
    };
    format!("{cluster}.{short}.keyring")
}

/// What writing a keyring does to the local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// No file yet.
    Create,
    /// The same text is there.
    Unchanged,
    /// A different file is there: it is kept as a backup. `key_changed`
    /// false means the key is the same and only caps or layout differ.
    Replace { key_changed: bool },
}

/// Compares the file there (if any) with the wanted entry.
pub fn compare(existing: Option<&str>, want: &Entry) -> Local {
    match existing {
        None => Local::Create,
        Some(text) if text == want.text() => Local::Unchanged,
        Some(text) => Local::Replace {
            key_changed: find(text, &want.entity).is_none_or(|e| e.key != want.key),
        },
    }
}

/// The backup name of a replaced file: `<file>-<YYYYmmddHHMMSS>` (as
/// ceph-deploy named them), `-1`, `-2` ... when that name is taken.
pub fn backup_path(path: &Path, now: std::time::SystemTime) -> PathBuf {
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let base = format!("{}-{stamp}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

/// Makes `dir` a folder only its owner can enter: created 0700, or an
/// existing one tightened to 0700. Returns true when it changed anything.
pub fn private_dir(dir: &Path) -> std::io::Result<bool> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            if m.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
                return Ok(true);
            }
            Ok(false)
        }
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists and is not a folder",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            // DirBuilder's mode goes through the umask.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Writes `text` to `path` atomically with mode 0600: a temp file beside
/// it (created 0600), synced, renamed over the old one. A different file
/// already there is first copied to `backup`.
pub fn write_private(path: &Path, text: &str, backup: Option<&Path>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Some(b) = backup {
        std::fs::copy(path, b)?;
        std::fs::set_permissions(b, std::fs::Permissions::from_mode(0o600))?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".cephalo-")
        .tempfile_in(dir)
        .map_err(crate::error::without_temp_path)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH_GET: &str = "[client.admin]\n\tkey = AQBgNNFmAAAAABAAp5l0Cw+0rAbvN/8ZwKBg8A==\n\tcaps mds = \"allow *\"\n\tcaps mgr = \"allow *\"\n\tcaps mon = \"allow *\"\n\tcaps osd = \"allow *\"\n";

    #[test]
    fn ceph_auth_get_output_round_trips() {
        let e = find(AUTH_GET, "client.admin").unwrap();
        assert_eq!(e.key, "AQBgNNFmAAAAABAAp5l0Cw+0rAbvN/8ZwKBg8A==");
        assert_eq!(e.caps.len(), 4);
        assert_eq!(e.text(), AUTH_GET);
        // The key never shows in Debug output.
        assert!(!format!("{e:?}").contains("AQBg"));
    }

    #[test]
    fn mon_data_keyring_and_odd_spacing() {
        let text = "# written by ceph-mon\n[mon.]\nkey=AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA==\ncaps mon = allow *\n[client.x]\n\tkey = K\n";
        let e = find(text, "mon.").unwrap();
        assert_eq!(e.caps, vec![("mon".to_string(), "allow *".to_string())]);
        assert_eq!(find(text, "client.x").unwrap().key, "K");
        assert!(find(text, "client.y").is_none());
    }

    #[test]
    fn ceph_deploy_file_names() {
        assert_eq!(file_name("ceph", "mon."), "ceph.mon.keyring");
        assert_eq!(
            file_name("ceph", "client.admin"),
            "ceph.client.admin.keyring"
        );
        assert_eq!(
            file_name("backup", "client.bootstrap-rgw"),
            "backup.bootstrap-rgw.keyring"
        );
    }

    #[test]
    fn what_a_write_would_do() {
        let want = find(AUTH_GET, "client.admin").unwrap();
        assert_eq!(compare(None, &want), Local::Create);
        assert_eq!(compare(Some(AUTH_GET), &want), Local::Unchanged);
        let reordered = "[client.admin]\nkey = AQBgNNFmAAAAABAAp5l0Cw+0rAbvN/8ZwKBg8A==\ncaps osd = \"allow *\"\n";
        assert_eq!(
            compare(Some(reordered), &want),
            Local::Replace { key_changed: false }
        );
        let other = AUTH_GET.replace("AQBg", "AQBh");
        assert_eq!(
            compare(Some(&other), &want),
            Local::Replace { key_changed: true }
        );
        assert_eq!(
            compare(Some("garbage"), &want),
            Local::Replace { key_changed: true }
        );
    }

    #[test]
    fn private_files_and_backups() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        assert!(private_dir(&keys).unwrap());
        assert!(!private_dir(&keys).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            private_dir(&keys).unwrap(),
            "a readable folder is tightened"
        );
        assert_eq!(mode(&keys), 0o700);

        let file = keys.join("ceph.client.admin.keyring");
        write_private(&file, "one\n", None).unwrap();
        assert_eq!(mode(&file), 0o600);
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        let backup = backup_path(&file, now);
        let name = backup.file_name().unwrap().to_string_lossy().to_string();
        let stamp = name.strip_prefix("ceph.client.admin.keyring-").unwrap();
        assert!(stamp.len() == 14 && stamp.starts_with("2026"), "{name}");
        write_private(&file, "two\n", Some(&backup)).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two\n");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "one\n");
        assert_eq!(mode(&backup), 0o600);
        // The same second again: another name, the first backup kept.
        let second = backup_path(&file, now);
        assert_ne!(second, backup);
        assert!(second.display().to_string().ends_with("-1"));
        // No temp file is left behind.
        let names: Vec<String> = std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
