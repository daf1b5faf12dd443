//! `disks list` and `disks prepare` on real loop devices of real sshd hosts:
//! labels written and read back from the GPT, non-empty disks refused with
//! nothing changed anywhere, `--zap`, `--check`, filestore journals.

use std::path::Path;

use assert_cmd::Command as Cli;

use crate::prechecks::{LoopDisk, files, sh};
use crate::sshd::Fleet;

fn cephalo(fleet: &Fleet, inv: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Cli::cargo_bin("cephalo")
        .unwrap()
        .args(args)
        .arg("-i")
        .arg(inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(inv.parent().unwrap().join("logs"))
        .assert()
}

/// GPT names on a device, read the way cephalo does (blkid probing).
fn names(dev: &str) -> Vec<String> {
    let base = dev.trim_start_matches("/dev/");
    let parts = sh(&format!(
        "ls /sys/class/block/{base}/ | grep '^{base}p' || true"
    ));
    parts
        .lines()
        .map(|p| sh(&format!("blkid -p -o value -s PART_ENTRY_NAME /dev/{p}")))
        .collect()
}

#[test]
fn prepare_labels_empty_disks_and_refuses_others_unless_zapped() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let empty = LoopDisk::new(&[]);
    // A GPT with no partitions counts as empty; wipe it to a bare disk.
    sh(&format!("wipefs -a -q {}", empty.dev));
    let used = LoopDisk::new(&[]);
    sh(&format!("wipefs -a -q {0} && mkfs.ext4 -q {0}", used.dev));
    let labelled = LoopDisk::new(&["KOLLA_CEPH_OSD_BOOTSTRAP_BS_OLD"]);
    let v0 = format!("ceph_osd_devices=[{},{}]", empty.dev, used.dev);
    let v1 = format!("ceph_osd_devices={}", labelled.dev);
    let inv = files(
        &fleet,
        dir.path(),
        &[(0, &v0), (1, &v1)],
        "\n[osds]\nnode1\nnode2\n",
        "",
    );

    // list: every disk with its state.
    let out = cephalo(&fleet, &inv, &["disks", "list"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let line = |dev: &str, host: &str| {
        text.lines()
            .find(|l| l.starts_with(host) && l.contains(&format!("{dev} ")))
            .unwrap_or_else(|| panic!("{dev} on {host}:\n{text}"))
            .to_string()
    };
    assert!(line(&empty.dev, "node1").ends_with("free"), "{text}");
    assert!(
        line(&used.dev, "node1").ends_with("in use (ext4)"),
        "{text}"
    );
    assert!(
        line(&format!("{}p1", labelled.dev), "node2").contains("KOLLA_CEPH_OSD_BOOTSTRAP_BS_OLD"),
        "{text}"
    );
    assert!(
        line(&format!("{}p1", labelled.dev), "node2").ends_with("bootstrap"),
        "{text}"
    );

    // A disk with a file system: refused, exit 7, and the empty disk on the
    // same run is not touched either.
    let out = cephalo(&fleet, &inv, &["disks", "prepare"]).code(7);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains(&format!(
            "node1  {}  REFUSED  {} holds ext4; name it with --zap node1:{}",
            used.dev, used.dev, used.dev
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "node2  {}  unchanged  already labelled: KOLLA_CEPH_OSD_BOOTSTRAP_BS_OLD",
            labelled.dev
        )),
        "{text}"
    );
    assert!(names(&empty.dev).is_empty(), "nothing changed on any host");
    assert_eq!(
        sh(&format!("blkid -p -o value -s TYPE {}", used.dev)),
        "ext4"
    );

    // --check with --zap: the plan, and still nothing changed.
    let zap = format!("node1:{}", used.dev);
    let out = cephalo(
        &fleet,
        &inv,
        &["disks", "prepare", "--check", "--zap", &zap],
    )
    .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains(&format!(
            "node1  {}  ZAP+LABEL  KOLLA_CEPH_OSD_BOOTSTRAP_BS_NODE1D1",
            used.dev
        )),
        "{text}"
    );
    assert!(
        text.contains("2 device(s) to label (--check: nothing changed)"),
        "{text}"
    );
    assert!(names(&empty.dev).is_empty());

    // For real: both disks of node1 labelled; node2's left alone.
    cephalo(&fleet, &inv, &["disks", "prepare", "--zap", &zap]).success();
    assert_eq!(names(&empty.dev), ["KOLLA_CEPH_OSD_BOOTSTRAP_BS_NODE1D0"]);
    assert_eq!(names(&used.dev), ["KOLLA_CEPH_OSD_BOOTSTRAP_BS_NODE1D1"]);
    assert_eq!(names(&labelled.dev), ["KOLLA_CEPH_OSD_BOOTSTRAP_BS_OLD"]);

    // Again: nothing to do.
    let out = cephalo(&fleet, &inv, &["disks", "prepare"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("0 device(s) to label"), "{text}");
    assert!(
        text.contains(&format!("node1  {}  unchanged", empty.dev)),
        "{text}"
    );
}

#[test]
fn filestore_disks_get_a_journal_partner() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let disk = LoopDisk::new(&[]);
    sh(&format!("wipefs -a -q {}", disk.dev));
    let v = format!(
        "ceph_osd_devices={} ceph_osd_store_type=filestore",
        disk.dev
    );
    let inv = files(&fleet, dir.path(), &[(0, &v)], "\n[osds]\nnode1\n", "");
    cephalo(&fleet, &inv, &["disks", "prepare"]).success();
    assert_eq!(
        names(&disk.dev),
        [
            "KOLLA_CEPH_OSD_BOOTSTRAP_NODE1D0_J",
            "KOLLA_CEPH_OSD_BOOTSTRAP_NODE1D0"
        ]
    );
    // The prechecks see a complete filestore OSD.
    let out = Cli::cargo_bin("cephalo")
        .unwrap()
        .args(["prechecks", "--json", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let partners = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "disks.partners")
        .unwrap();
    assert_eq!(partners["level"], "pass", "{partners}");
}
