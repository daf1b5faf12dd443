//! The README's snippets parse: every ```ini block as an inventory, every
//! ```yaml block as an inventory (when it starts with `all:`) or as a
//! globals file that the model accepts.

use std::path::Path;

use cephalo::inventory::Inventory;

use crate::support::{good_passwords, load, repo, scratch};

fn blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match &mut current {
            None if line.trim() == format!("```{lang}") => current = Some(String::new()),
            Some(buf) if line.trim() == "```" => {
                out.push(std::mem::take(buf));
                current = None;
            }
            Some(buf) => {
                buf.push_str(line);
                buf.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn readme_inventory_and_globals_snippets_parse() {
    let ini = blocks("ini");
    assert!(!ini.is_empty(), "the README shows an INI inventory");
    for b in &ini {
        Inventory::parse(Path::new("README.md"), b.as_bytes())
            .unwrap_or_else(|e| panic!("README ini block:\n{b}\n{e}"));
    }
    let yaml = blocks("yaml");
    assert!(
        yaml.len() >= 2,
        "the README shows a YAML inventory and a globals file"
    );
    for b in &yaml {
        if b.starts_with("all:") {
            Inventory::parse(Path::new("README.yml"), b.as_bytes())
                .unwrap_or_else(|e| panic!("README yaml block:\n{b}\n{e}"));
        } else {
            let dir = scratch(&[("globals.yml", b)]);
            load(
                &repo().join("inventory/multinode"),
                &dir.path().join("globals.yml"),
                &good_passwords(),
                &[],
            )
            .unwrap_or_else(|e| panic!("README globals block:\n{b}\n{e}"));
        }
    }
}

/// The README's tuning table lists every tuning setting of the role data.
#[test]
fn readme_lists_every_tuning_setting() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## Tuning\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Tuning section");
    let defaults = std::fs::read_to_string(repo().join("roles/tuning/defaults.yml")).unwrap();
    let keys: Vec<&str> = defaults
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && l.contains(':'))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert!(keys.len() >= 9, "{keys:?}");
    for key in keys
        .iter()
        .chain(&["ceph_debug_off", "ceph_debug_subsystems"])
    {
        assert!(
            section.contains(&format!("`{key}`")),
            "the README's tuning table lacks `{key}`"
        );
    }
}
