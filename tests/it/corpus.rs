//! The malformed-input corpus: every file in tests/corpus/{inventory,
//! globals,passwords} must fail with exit code 2 and the exact message
//! listed in tests/corpus/expected.tsv, naming its file (and line or key).

use cephalo::error::exit;

use crate::support::{corpus, load};

#[test]
fn every_malformed_input_gets_its_message() {
    let table = std::fs::read_to_string(corpus("expected.tsv")).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (case, expected) = line.split_once('\t').expect("case<TAB>expected");
        let file = corpus(case);
        let (inv, globals, passwords) = match case.split('/').next().unwrap() {
            "inventory" => (
                file.clone(),
                corpus("good/globals.yml"),
                corpus("good/passwords.yml"),
            ),
            "globals" => (
                corpus("good/inventory"),
                file.clone(),
                corpus("good/passwords.yml"),
            ),
            "passwords" => (
                corpus("good/inventory"),
                corpus("good/globals.yml"),
                file.clone(),
            ),
            other => panic!("unknown corpus folder {other}"),
        };
        match load(&inv, &globals, &passwords, &[]) {
            Ok(_) => failures.push(format!("{case}: loaded without error")),
            Err(e) => {
                let msg = e.to_string();
                let want = format!("{}{expected}", file.display());
                if e.exit_code() != exit::BAD_INPUT {
                    failures.push(format!("{case}: exit code {} instead of 2", e.exit_code()));
                }
                // `:3: ...` and ` (key ...` must follow the file's path; other
                // texts need the path anywhere in the message.
                let found = if expected.starts_with(':') || expected.starts_with(" (") {
                    msg.contains(&want)
                } else {
                    msg.contains(&file.display().to_string()) && msg.contains(expected)
                };
                if !found {
                    failures.push(format!("{case}:\n  wanted: {want}\n  got:    {msg}"));
                }
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 30,
        "the corpus must keep at least 30 cases, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = crate::support::scratch(&[
        (
            "inv",
            "[mons]\nceph1 ansible_host=10.0.0.1\n\n[osds]\nceph[3:1]\n",
        ),
        (
            "globals.yml",
            "public_network: 10.0.0.0/24\npublic_network: 10.0.1.0/24\n",
        ),
        ("passwords.yml", "ceph_cluster_fsid: nope\n"),
    ]);
    let e = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &dir.path().join("passwords.yml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    // A malformed file does not hide the problems of the others.
    assert!(
        e.contains("inv:5: range `[3:1]` ends before it starts"),
        "{e}"
    );
    assert!(e.contains("globals.yml:2: invalid YAML: duplicate"), "{e}");
    assert!(
        e.contains("passwords.yml:1 (key `ceph_cluster_fsid`): `nope` is not a UUID"),
        "{e}"
    );
    let dir = crate::support::scratch(&[
        (
            "inv",
            "[mons]\nceph1 ansible_host=10.0.0.1 osd_memory_targt=1\nceph2\n",
        ),
        (
            "globals.yml",
            "public_network: 10.0.0/24\nceph_release: pacfic\n",
        ),
    ]);
    let e = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &corpus("good/passwords.yml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    for part in [
        "globals.yml:1 (key `public_network`)",
        "globals.yml:2 (key `ceph_release`)",
        "inv:2 (key `osd_memory_targt`)",
        "mon `ceph2` needs its address",
        "4 error(s) in the input; nothing was changed",
    ] {
        assert!(e.contains(part), "missing `{part}` in:\n{e}");
    }
}

#[test]
fn bom_and_crlf_are_accepted() {
    let clean = load(
        &corpus("good/inventory"),
        &corpus("good/globals.yml"),
        &corpus("good/passwords.yml"),
        &[],
    )
    .unwrap();
    let dos = load(
        &corpus("good/inventory-bom-crlf"),
        &corpus("good/globals.yml"),
        &corpus("good/passwords.yml"),
        &[],
    )
    .unwrap();
    let names = |c: &cephalo::model::Cluster| {
        c.hosts
            .iter()
            .map(|h| (h.name.clone(), h.roles.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&clean), names(&dos));
    assert_eq!(dos.hosts[0].connection.address, "10.0.0.1");
}

#[test]
fn bad_extra_vars_and_override_files() {
    let e = load(
        &corpus("good/inventory"),
        &corpus("good/globals.yml"),
        &corpus("good/passwords.yml"),
        &["ceph_release"],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("-e (key `ceph_release`): expected `-e key=value`, found `ceph_release`"),
        "{e}"
    );
    let dir = crate::support::scratch(&[
        (
            "globals.yml",
            "ceph_release: pacific\npublic_network: 10.0.0.0/24\n",
        ),
        (
            "config/ceph.conf",
            "[global]\nmon_max_pg_per_osd = 300\nnot an option\n",
        ),
        ("config/ceph2/ceph.conf", "debug_ms = 1\n"),
    ]);
    let e = load(
        &corpus("good/inventory"),
        &dir.path().join("globals.yml"),
        &corpus("good/passwords.yml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("config/ceph.conf:3: expected `option = value`, found `not an option`"),
        "{e}"
    );
    assert!(
        e.contains("config/ceph2/ceph.conf:1: option `debug_ms` comes before any section"),
        "{e}"
    );
}

#[test]
fn hostile_names_from_extra_vars_are_bad_input() {
    for (extra, want) in [
        (
            "cluster_name=ceph;reboot",
            "-e (key `cluster_name`): cluster_name: `ceph;reboot` is not a valid cluster name",
        ),
        (
            "ceph_image_tag=$(id)",
            "-e (key `ceph_image_tag`): ceph_image_tag: `$(id)` is not a valid image reference",
        ),
        (
            "ceph_image_name=-ceph",
            "-e (key `ceph_image_name`): ceph_image_name: `-ceph` is not a valid image reference",
        ),
        (
            "ceph_osd_devices=[/dev/sdb, \"/dev/sd c\"]",
            "-e (key `ceph_osd_devices`): OSD device of host `ceph1`: `/dev/sd c` is not a valid device path",
        ),
    ] {
        let e = load(
            &corpus("good/inventory"),
            &corpus("good/globals.yml"),
            &corpus("good/passwords.yml"),
            &[extra],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), exit::BAD_INPUT, "{extra}");
        assert!(e.to_string().contains(want), "{extra}:\n{e}");
    }
}
