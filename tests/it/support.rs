//! Paths to the fixtures and small helpers shared by the test modules.

use std::path::{Path, PathBuf};

use cephalo::model::{self, Cluster, Sources};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn corpus(rel: &str) -> PathBuf {
    repo().join("tests/corpus").join(rel)
}

/// Loads a cluster from an inventory with the given globals and passwords.
pub fn load(
    inventory: &Path,
    globals: &Path,
    passwords: &Path,
    extra: &[&str],
) -> cephalo::Result<Cluster> {
    model::load(&Sources {
        inventory: inventory.to_path_buf(),
        globals: Some(globals.to_path_buf()),
        passwords: Some(passwords.to_path_buf()),
        extra_vars: extra.iter().map(|s| s.to_string()).collect(),
    })
}

/// Writes files into a temporary folder: (relative path, content).
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

/// The good passwords fixture (fixed fsid and keys, so renders are stable).
pub fn good_passwords() -> PathBuf {
    corpus("good/passwords.yml")
}

/// The cephalo binary for the end-to-end tests, which may take long (image
/// builds, a deploy): a 30-minute limit instead of none.
pub fn long_cephalo() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cephalo").unwrap();
    c.timeout(std::time::Duration::from_secs(1800));
    c
}

/// What a command printed, stdout then stderr, for failure messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
