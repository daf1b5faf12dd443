//! Unknown is never empty, as a user meets it (issue 27): the inventory's
//! hosts on loopback where no sshd listens (connection refused at once).
//! Every command that reads the cluster's layout exits 5 and names each
//! host; none says "nothing to do" or shows an empty cluster as fine.

use assert_cmd::Command;

use crate::support::{corpus, scratch};

fn inventory() -> tempfile::TempDir {
    let dir = scratch(&[
        (
            "multinode",
            "[mons]\nceph1 ansible_host=127.0.0.1 ansible_port=1\nceph2 ansible_host=127.0.0.2 ansible_port=1\n\
             ceph3 ansible_host=127.0.0.3 ansible_port=1\n[mgrs]\nceph1\nceph2\n[osds]\nceph1\nceph2\nceph3\n",
        ),
        (
            "globals.yml",
            "ceph_release: pacific\npublic_network: 127.0.0.0/8\nceph_osd_devices: [/dev/vdb]\n",
        ),
    ]);
    std::fs::copy(
        corpus("good/passwords.yml"),
        dir.path().join("passwords.yml"),
    )
    .unwrap();
    crate::support::private_if_secrets(&dir.path().join("passwords.yml"));
    dir
}

#[test]
fn every_command_that_reads_the_layout_exits_5_naming_the_hosts() {
    let dir = inventory();
    let inv = dir.path().join("multinode");
    let cases: [&[&str]; 5] = [
        &["upgrade", "--to", "reef", "--yes"],
        &["upgrade", "--to", "reef", "--status"],
        &["upgrade", "--status"],
        &["status"],
        &["deploy", "--check"],
    ];
    for args in cases {
        let out = Command::cargo_bin("cephalo")
            .unwrap()
            .args(args)
            .arg("-i")
            .arg(&inv)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(5), "{args:?}:\n{text}");
        for h in ["ceph1", "ceph2", "ceph3"] {
            assert!(text.contains(h), "{args:?}: {h} not named:\n{text}");
        }
        assert!(!text.contains("nothing to do"), "{args:?}:\n{text}");
        assert!(
            !text.contains("no upgrade in progress"),
            "{args:?}:\n{text}"
        );
    }
}
