//! The commands as a user runs them: exit codes, messages on stderr, files
//! written, and no secret on any output.

use std::os::unix::fs::PermissionsExt;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::{corpus, repo, scratch};

fn cephalo() -> Command {
    Command::cargo_bin("cephalo").unwrap()
}

fn secrets_of(passwords: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(passwords)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ceph_") && l.contains("_key:"))
        .map(|l| l.split_once(": ").unwrap().1.to_string())
        .collect()
}

#[test]
fn genpwd_then_render_then_inventory() {
    let dir = scratch(&[]);
    let inv = dir.path().join("multinode");
    std::fs::copy(repo().join("inventory/multinode"), &inv).unwrap();
    std::fs::copy(
        repo().join("inventory/globals.yml"),
        dir.path().join("globals.yml"),
    )
    .unwrap();

    let out = cephalo()
        .args(["genpwd", "-i"])
        .arg(&inv)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("generated ceph_cluster_fsid, ceph_mon_key"),
        "{stdout}"
    );
    let pw = dir.path().join("passwords.yml");
    let secrets = secrets_of(&pw);
    assert_eq!(secrets.len(), 6);
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()), "genpwd printed a key");
    }

    let out_dir = dir.path().join("out");
    let out = cephalo()
        .args(["render", "-i"])
        .arg(&inv)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .success();
    let all = format!("{:?}", out.get_output());
    assert!(all.contains("rendered 6 host(s)"), "{all}");
    let conf = out_dir.join("control01/etc/ceph/ceph.conf");
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let ring = out_dir.join("control01/etc/ceph/ceph.client.admin.keyring");
    assert_eq!(
        std::fs::metadata(&ring).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&out_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(
        out_dir
            .join("storage01/containers/ceph_osd_ID.json")
            .exists()
    );
    for entry in walk(&out_dir) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} holds a key without --with-secrets",
                entry.display()
            );
        }
    }
    cephalo()
        .args(["render", "--with-secrets", "--limit", "control01", "-i"])
        .arg(&inv)
        .arg("--out")
        .arg(dir.path().join("out2"))
        .assert()
        .success()
        .stdout(predicate::str::contains("rendered 1 host(s)"));
    let admin = std::fs::read_to_string(
        dir.path()
            .join("out2/control01/etc/ceph/ceph.client.admin.keyring"),
    )
    .unwrap();
    assert!(secrets.iter().any(|s| admin.contains(s.as_str())));

    let out = cephalo()
        .args(["inventory", "--list", "-i"])
        .arg(&inv)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        json["cephalo"]["roles"]["mon"],
        serde_json::json!(["control01", "control02", "control03"])
    );
    assert_eq!(
        json["_meta"]["hostvars"]["storage01"]["network_interface"],
        "eth1"
    );
    assert_eq!(
        json["_meta"]["hostvars"]["storage01"]["cephalo_connection"]["user"],
        "kolla"
    );
    cephalo()
        .args(["inventory", "--graph", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  |--@ceph-osd:\n  |  |--@storage:\n  |  |  |--storage01\n",
        ));
}

#[test]
fn inventory_list_redacts_secret_vars() {
    let dir = scratch(&[(
        "inv",
        "[mons]\nm1 ansible_host=10.0.0.1 ansible_become_password=hunter2\n",
    )]);
    cephalo()
        .args(["inventory", "-i"])
        .arg(dir.path().join("inv"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(corpus("good/passwords.yml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"ansible_become_password\": \"<redacted>\"",
        ))
        .stdout(predicate::str::contains("hunter2").not());
}

#[test]
fn bad_input_exits_2_naming_file_and_line_and_writes_nothing() {
    let dir = scratch(&[]);
    let out_dir = dir.path().join("out");
    cephalo()
        .args(["render", "-i"])
        .arg(corpus("inventory/bad-range-reversed.ini"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(corpus("good/passwords.yml"))
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad-range-reversed.ini:2: range `[3:1]` ends before it starts",
        ))
        .stderr(predicate::str::contains("nothing was changed"));
    assert!(!out_dir.exists());
    // A missing file is bad input too, named in the message.
    cephalo()
        .args(["inventory", "-i", "/nonexistent/inventory"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/inventory"));
    // Unknown flags: clap's usage error, also 2.
    cephalo().args(["render", "--bogus"]).assert().code(2);
    // A malformed key in passwords.yml is named without echoing it (render
    // reads the passwords; the inventory views do not).
    let pw = scratch(&[("passwords.yml", "ceph_mon_key: AQBsecretsecretsecret\n")]);
    cephalo()
        .args(["render", "--out"])
        .arg(pw.path().join("out"))
        .arg("-i")
        .arg(corpus("good/inventory"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(pw.path().join("passwords.yml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "passwords.yml:1 (key `ceph_mon_key`): not a cephx secret",
        ))
        .stderr(predicate::str::contains("AQBsecret").not());
}

#[test]
fn genpwd_needs_to_know_which_file() {
    cephalo()
        .arg("genpwd")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--passwords FILE"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// gatherkeys, admin and the playground refuse names they do not know
/// with exit code 2, before they connect to anything.
#[test]
fn unknown_mons_hosts_and_engines_are_bad_input() {
    let files = |c: &mut Command| {
        c.arg("-i")
            .arg(corpus("good/inventory"))
            .arg("--globals")
            .arg(corpus("good/globals.yml"))
            .arg("--passwords")
            .arg(corpus("good/passwords.yml"));
    };
    let mut c = cephalo();
    c.args(["gatherkeys", "ceph9"]);
    files(&mut c);
    c.assert().code(2).stderr(
        predicate::str::contains("`ceph9` is not a mon of")
            .and(predicate::str::contains("(mons: ceph1, ceph2, ceph3)")),
    );
    let mut c = cephalo();
    c.args(["admin", "nosuchhost*"]);
    files(&mut c);
    c.assert().code(2).stderr(predicate::str::contains(
        "`nosuchhost*` in --limit matches no host or group of",
    ));
    let mut c = cephalo();
    c.args(["admin"]);
    files(&mut c);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("HOST_PATTERN or --limit"));
    let dir = tempfile::tempdir().unwrap();
    cephalo()
        .args([
            "playground",
            "up",
            "--engine",
            "lxc",
            "--filestore",
            "--release",
            "reef",
            "--dir",
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--engine `lxc`: give docker or podman").and(
                predicate::str::contains("--filestore: reef has no filestore"),
            ),
        );
}

/// `upgrade --plan --from` shows the plan without contacting any host;
/// a jump too far, a downgrade and an unknown release are refused with
/// their own exit codes before anything is touched.
#[test]
fn upgrade_plans_offline_and_refuses_what_ceph_cannot_do() {
    let inv = repo().join("inventory/multinode");
    let pw = corpus("good/passwords.yml");
    let plan = |from: &str, to: &str, json: bool| {
        let mut c = cephalo();
        c.args(["upgrade", "-i"])
            .arg(&inv)
            .arg("--passwords")
            .arg(&pw)
            .args(["--to", to, "--plan", "--from", from]);
        if json {
            c.arg("--json");
        }
        c.assert()
    };
    let out = plan("pacific", "reef", false).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for want in [
        "upgrade pacific -> reef",
        "[flag-set:noout]",
        "[mon:control01]",
        "[osd-host:storage01]",
        "[require-osd-release]",
        "[flag-restore:noout]",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let out = plan("pacific", "reef", true).success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["to"], "reef");
    plan("jewel", "mimic", false)
        .code(7)
        .stderr(predicate::str::contains("upgrade to luminous first"));
    plan("reef", "pacific", false)
        .code(7)
        .stderr(predicate::str::contains("downgrade"));
    plan("pacific", "bobtail", false)
        .code(2)
        .stderr(predicate::str::contains("unknown Ceph release"));
}
