//! `cephalo settings [KEY]`: every setting cephalo knows, its default and
//! what it does, from the role defaults compiled into the binary (the
//! files under `roles/` in the repository), so an installed cephalo
//! documents itself. Errors that name an unknown key point here.

use clap::Args;

use crate::error::{Error, Result};
use crate::settings::ROLE_DEFAULTS;

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Show only this setting (its comment and default).
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
}

pub fn exec(a: SettingsArgs) -> Result<()> {
    match a.key {
        None => {
            for (path, text) in ROLE_DEFAULTS {
                println!("# ==== {} ({}) ====", role_of(path), scope_of(path));
                println!("{}", text.trim_end());
                println!();
            }
            Ok(())
        }
        Some(key) => {
            for (path, text) in ROLE_DEFAULTS {
                if let Some(block) = setting_block(text, &key) {
                    println!("# {} ({})", role_of(path), scope_of(path));
                    println!("{}", block.trim_end());
                    return Ok(());
                }
            }
            let keys = ROLE_DEFAULTS.iter().flat_map(|(_, t)| keys_of(t));
            let hint = crate::inventory::did_you_mean(&key, keys)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            Err(Error::Usage(format!(
                "`{key}` is not a setting cephalo knows{hint}; `cephalo settings` lists them all"
            )))
        }
    }
}

/// `roles/osd/defaults.yml` -> `osd`.
fn role_of(path: &str) -> &str {
    path.split('/').nth(1).unwrap_or(path)
}

fn scope_of(path: &str) -> &'static str {
    if role_of(path) == "cluster" {
        "cluster-wide: globals.yml or -e only"
    } else {
        "globals.yml, a group's or a host's vars, or -e"
    }
}

/// The top-level keys of a defaults file.
fn keys_of(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(top_key)
}

fn top_key(line: &str) -> Option<&str> {
    let (k, _) = line.split_once(':')?;
    (!k.is_empty() && !k.starts_with([' ', '#', '-']) && !k.contains(' ')).then_some(k)
}

/// A key's comment (the `#` lines above it, past the keys it shares that
/// comment with) and its value lines.
fn setting_block(text: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| top_key(l) == Some(key))?;
    let value_line = |l: &str| top_key(l).is_some() || l.starts_with(' ') || l.starts_with('-');
    let mut start = at;
    while start > 0 && value_line(lines[start - 1]) {
        start -= 1;
    }
    while start > 0 && lines[start - 1].starts_with('#') {
        start -= 1;
    }
    let mut end = at + 1;
    while end < lines.len() && (lines[end].starts_with(' ') || lines[end].starts_with('-')) {
        end += 1;
    }
    Some(lines[start..end].join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_block_is_its_comment_and_value() {
        let (_, cluster) = ROLE_DEFAULTS[0];
        let b = setting_block(cluster, "ceph_image_tag").unwrap();
        assert!(b.starts_with("# Ceph container image"), "{b}");
        assert!(b.ends_with("ceph_image_tag: \"\"\n"), "{b}");
        let b = setting_block(cluster, "ceph_debug_subsystems").unwrap();
        assert!(
            b.contains("  - lockdep\n") && b.ends_with("  - mgrc\n"),
            "{b}"
        );
        assert!(setting_block(cluster, "nope").is_none());
        assert!(keys_of(cluster).any(|k| k == "public_network"));
    }
}
