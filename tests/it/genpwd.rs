//! genpwd: fills in what is missing, never changes a value, 0600, and the
//! keys it makes are accepted by Ceph's own ceph-authtool.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use cephalo::cephx::{Secret, SecretKind};
use cephalo::passwords::{self, Filled, IDENTITIES};
use cephalo::release::Release;

use crate::support::scratch;

fn authtool(args: &[&str]) -> std::process::Output {
    Command::new("ceph-authtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "ceph-authtool (Debian package ceph-common) must be installed for this test: {e}"
            )
        })
}

/// Adds a key to a new keyring with ceph-authtool and reads it back.
fn authtool_round_trip(key: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("k.keyring");
    let ring = ring.to_str().unwrap();
    let add = authtool(&[
        ring,
        "--create-keyring",
        "--name",
        "client.test",
        "--add-key",
        key,
    ]);
    if !add.status.success() {
        return Err(String::from_utf8_lossy(&add.stderr).into_owned());
    }
    let print = authtool(&[ring, "-p", "-n", "client.test"]);
    assert!(print.status.success());
    Ok(String::from_utf8_lossy(&print.stdout).trim().to_string())
}

fn local_release() -> Release {
    let out = authtool(&["--version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // "ceph version 16.2.15 (...) pacific (stable)"
    let major = text
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .unwrap_or_default();
    Release::parse(major).unwrap_or_else(|| panic!("unknown ceph-authtool version: {text}"))
}

#[test]
fn generated_keys_are_accepted_by_ceph_authtool() {
    let dir = scratch(&[]);
    let path = dir.path().join("passwords.yml");
    passwords::genpwd(&path, SecretKind::Aes).unwrap();
    let mut problems = cephalo::error::Problems::default();
    let pw = passwords::Passwords::load(&path, &mut problems).unwrap();
    assert!(problems.is_empty());
    assert_eq!(pw.keys.len(), IDENTITIES.len());
    for (entity, (secret, _)) in &pw.keys {
        let back = authtool_round_trip(secret.expose())
            .unwrap_or_else(|e| panic!("{entity}: ceph-authtool refused the key: {e}"));
        assert_eq!(back, secret.expose(), "{entity}");
    }
}

#[test]
fn release_table_matches_the_local_ceph_authtool() {
    // The table says which releases accept type-2 (AES-256) secrets and
    // which type their ceph-authtool makes; the local binary must agree.
    let release = local_release();
    let aes256 = Secret::generate(SecretKind::Aes256).unwrap();
    let accepted = authtool_round_trip(aes256.expose()).is_ok();
    assert_eq!(accepted, release.info().accepts_aes256, "{release}");
    let made = String::from_utf8_lossy(&authtool(&["--gen-print-key"]).stdout)
        .trim()
        .to_string();
    let made = Secret::parse(&made).unwrap();
    assert_eq!(made.kind(), release.info().generated_secret, "{release}");
}

#[test]
fn genpwd_fills_gaps_and_never_changes_a_value() {
    let dir = scratch(&[(
        "passwords.yml",
        "---\n# kolla's passwords live here too\nkeystone_admin_password: s3cret\nceph_cluster_fsid: 2d0f6a4e-1111-4222-8333-944455556666\nceph_mon_key:\nceph_client_admin_key: ~\n",
    )]);
    let path = dir.path().join("passwords.yml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let report = passwords::genpwd(&path, SecretKind::Aes).unwrap();
    assert_eq!(report[0], Filled::Kept("ceph_cluster_fsid".into()));
    assert!(
        report[1..]
            .iter()
            .all(|f| matches!(f, Filled::Generated(_)))
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("---\n# kolla's passwords live here too\nkeystone_admin_password: s3cret\nceph_cluster_fsid: 2d0f6a4e-1111-4222-8333-944455556666\nceph_mon_key: AQ"), "{text}");
    assert_eq!(
        text.lines().count(),
        10,
        "filled in place, the rest appended:\n{text}"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second run keeps everything byte for byte.
    let report = passwords::genpwd(&path, SecretKind::Aes).unwrap();
    assert!(report.iter().all(|f| matches!(f, Filled::Kept(_))));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn genpwd_refuses_a_file_with_a_malformed_value() {
    let dir = scratch(&[("passwords.yml", "ceph_mon_key: garbage!\n")]);
    let path = dir.path().join("passwords.yml");
    let e = passwords::genpwd(&path, SecretKind::Aes).unwrap_err();
    assert!(
        e.to_string()
            .contains("passwords.yml:1 (key `ceph_mon_key`): not a cephx secret"),
        "{e}"
    );
    assert!(
        !e.to_string().contains("garbage"),
        "the bad value is not echoed: {e}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "ceph_mon_key: garbage!\n"
    );
}

#[test]
fn tentacle_gets_aes256_keys_by_default() {
    let mut p = cephalo::error::Problems::default();
    let o = cephalo::error::Origin::default();
    assert_eq!(
        cephalo::model::secret_kind("auto", Release::Tentacle, &o, &mut p),
        Some(SecretKind::Aes256)
    );
    assert_eq!(
        cephalo::model::secret_kind("auto", Release::Reef, &o, &mut p),
        Some(SecretKind::Aes)
    );
    assert_eq!(
        cephalo::model::secret_kind("aes", Release::Tentacle, &o, &mut p),
        Some(SecretKind::Aes)
    );
    assert!(p.is_empty());
}
