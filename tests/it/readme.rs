//! The README's snippets parse: every ```ini block as an inventory, every
//! ```yaml block as an inventory (when it starts with `all:`) or as a
//! globals file that the model accepts (the "On real servers" walkthrough
//! apart: walkthrough.rs deploys its files).

use std::path::Path;

use cephalo::inventory::Inventory;

use crate::support::{good_passwords, load, repo, scratch};

fn blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    // The walkthrough's files belong together (its globals fit its own
    // inventory): walkthrough.rs deploys them.
    let (before, rest) = readme
        .split_once("\n## On real servers\n")
        .expect("an On real servers section");
    let after = rest.split_once("\n## ").map(|(_, a)| a).unwrap_or_default();
    let readme = format!("{before}\n## {after}");
    crate::support::fenced(&readme, lang)
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

/// The README's exit-code table lists exactly the codes of
/// `cephalo::error::exit` (every `pub const` there, and `ALL`), and 0.
#[test]
fn readme_exit_code_table_matches_the_program() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table: Vec<i32> = readme
        .split("| exit code | meaning |\n")
        .nth(1)
        .expect("an exit-code table")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cell = l.trim_start_matches('|').split('|').next().unwrap().trim();
            cell.parse()
                .unwrap_or_else(|_| panic!("not an exit code: {l}"))
        })
        .collect();
    // The constants as written in src/error.rs, so a new one cannot be
    // left out of ALL either.
    let source = std::fs::read_to_string(repo().join("src/error.rs")).unwrap();
    let mut consts: Vec<i32> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split_once(": i32 = "))
        .map(|(_, v)| v.trim_end_matches(';').parse().unwrap())
        .collect();
    consts.sort();
    let mut all: Vec<i32> = cephalo::error::exit::ALL.iter().map(|(c, _)| *c).collect();
    all.sort();
    assert_eq!(all, consts, "exit::ALL and the constants of src/error.rs");
    let mut want = vec![0];
    want.extend(consts);
    assert_eq!(table, want, "the README's exit-code table");
    assert!(want.contains(&cephalo::error::exit::DRIFT));
}
