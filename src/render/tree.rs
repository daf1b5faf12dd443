//! `render --out DIR`: each host's files written under `DIR/<host>/` for
//! review (DIR new, empty, or an earlier render's), and what an earlier
//! run wrote there and is no longer rendered removed. Each host folder carries a list of the files cephalo wrote in
//! it (`.cephalo-rendered`): only files on such a list are ever removed,
//! never anything cephalo did not write.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::HostRender;
use crate::error::{Error, Result};

/// The list of files cephalo wrote in a host folder, one relative path a
/// line.
pub const MARKER: &str = ".cephalo-rendered";

/// What `write_tree` did.
#[derive(Debug, Default)]
pub struct Written {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Host folders of an earlier run removed (the host is no longer in
    /// the inventory).
    pub removed_hosts: Vec<String>,
}

fn werr(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Write { path, source }
}

/// Writes each host's files under `dir/<host>/<path on the host>` and its
/// container specs under `dir/<host>/containers/<name>.json`. A file an
/// earlier run wrote for a host and this one does not is removed; so is
/// the folder of a host cephalo rendered before that is not in
/// `inventory_hosts` any more (a host left out by `--limit` is kept).
pub fn write_tree(
    dir: &Path,
    renders: &[HostRender],
    inventory_hosts: &[String],
) -> Result<Written> {
    refuse_foreign(dir)?;
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(werr(dir))?;
    let mut out = Written::default();
    for r in renders {
        let base = dir.join(&r.host);
        let mut items: Vec<(String, u32, String)> = r
            .files
            .iter()
            .map(|f| {
                (
                    f.path.trim_start_matches('/').to_string(),
                    f.mode,
                    f.content.clone(),
                )
            })
            .collect();
        for c in &r.containers {
            let json = serde_json::to_string_pretty(c).map_err(|e| Error::Usage(e.to_string()))?;
            items.push((format!("containers/{}.json", c.name), 0o644, json + "\n"));
        }
        let before = listed(&base);
        let now: BTreeSet<String> = items.iter().map(|(rel, _, _)| rel.clone()).collect();
        for (rel, mode, content) in &items {
            let path = base.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(werr(parent))?;
            }
            std::fs::write(&path, content).map_err(werr(&path))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                .map_err(werr(&path))?;
            out.files.push(path);
        }
        remove_listed(&base, before.difference(&now))?;
        let list: String = now.iter().map(|rel| format!("{rel}\n")).collect();
        let marker = base.join(MARKER);
        std::fs::write(&marker, list).map_err(werr(&marker))?;
    }
    let entries = std::fs::read_dir(dir).map_err(werr(dir))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let base = e.path();
        if inventory_hosts.contains(&name) || !base.join(MARKER).is_file() {
            continue;
        }
        let before = listed(&base);
        remove_listed(&base, before.iter())?;
        let marker = base.join(MARKER);
        std::fs::remove_file(&marker).map_err(werr(&marker))?;
        // Kept when anything cephalo did not write is left in it.
        let _ = std::fs::remove_dir(&base);
        out.removed_hosts.push(name);
    }
    out.removed_hosts.sort();
    Ok(out)
}

/// A folder that exists, is not empty and holds no host folder an earlier
/// render wrote is someone else's: nothing is written into it (nor its
/// mode changed).
fn refuse_foreign(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut any = false;
    for e in entries.flatten() {
        if e.path().join(MARKER).is_file() {
            return Ok(());
        }
        any = true;
    }
    if any {
        return Err(Error::Usage(format!(
            "{}: this folder holds files that no earlier `cephalo render` wrote; give --out a new or empty folder (or one render wrote before)",
            dir.display()
        )));
    }
    Ok(())
}

/// The files a host folder's list names (none without a list). A line that
/// would leave the folder (absolute, `..`) is ignored.
fn listed(base: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(base.join(MARKER))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('/')
                && Path::new(l)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        })
        .map(str::to_string)
        .collect()
}

/// Removes the listed files (those still there) and then the folders left
/// empty under `base`.
fn remove_listed<'a>(base: &Path, rels: impl Iterator<Item = &'a String>) -> Result<()> {
    for rel in rels {
        let path = base.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(werr(&path)(e)),
        }
        let mut parent = path.parent();
        while let Some(p) = parent.filter(|p| p.starts_with(base) && *p != base) {
            if std::fs::remove_dir(p).is_err() {
                break;
            }
            parent = p.parent();
        }
    }
    Ok(())
}
