//! Ansible's `group_vars/` and `host_vars/` next to an inventory source: a
//! file per group or host named after it, with no extension or `.yml`,
//! `.yaml` or `.json`, or a folder of such files read in name order (later
//! files win). Their vars go to `file_vars`; the precedence over the
//! inventory's own vars is applied where vars are merged.

use std::path::{Path, PathBuf};

use super::{Inventory, Var, Vars};
use crate::error::{Error, Origin, Problems, Result};
use crate::yamlfile;

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// Reads the group_vars/ and host_vars/ beside `inv.path` into the groups'
/// and hosts' `file_vars`; every malformed file is reported.
pub(super) fn read(inv: &mut Inventory) -> Result<()> {
    let dir = inv
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut problems = Problems::default();
    let group_dir = dir.join("group_vars");
    if group_dir.is_dir() {
        for (name, group) in inv.groups.iter_mut() {
            group.file_vars = vars_of(&group_dir, name, &mut problems)?;
        }
    }
    let host_dir = dir.join("host_vars");
    if host_dir.is_dir() {
        for (name, host) in inv.hosts.iter_mut() {
            host.file_vars = vars_of(&host_dir, name, &mut problems)?;
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    Ok(())
}

/// The vars of every file for `name` in `dir`, later files winning.
fn vars_of(dir: &Path, name: &str, problems: &mut Problems) -> Result<Vars> {
    let mut files = Vec::new();
    for ext in EXTENSIONS {
        let p = dir.join(format!("{name}{ext}"));
        if p.is_file() {
            files.push(p);
        } else if ext.is_empty() && p.is_dir() {
            folder_files(&p, &mut files);
        }
    }
    let mut out = Vars::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| Error::Read {
            path: f.clone(),
            source,
        })?;
        let parsed =
            super::decode_text(&f, &bytes).and_then(|text| yamlfile::parse_top_mapping(&f, &text));
        match parsed {
            Ok(keys) => {
                for k in keys {
                    let origin = Origin::at_line(&f, k.line).with_key(&k.key);
                    out.insert(
                        k.key,
                        Var {
                            value: k.value,
                            origin,
                        },
                    );
                }
            }
            Err(Error::Invalid { problems: p }) => problems.extend(p),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The files of a `group_vars/<group>/` folder, in name order, into its
/// subfolders; hidden files and other extensions are skipped, as Ansible
/// skips them.
fn folder_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let file_name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if file_name.starts_with('.') || file_name.ends_with('~') {
            continue;
        }
        if p.is_dir() {
            folder_files(&p, out);
            continue;
        }
        let ext_ok = match p.extension().and_then(|e| e.to_str()) {
            None => true,
            Some(e) => EXTENSIONS.contains(&format!(".{e}").as_str()),
        };
        if ext_ok {
            out.push(p);
        }
    }
}
