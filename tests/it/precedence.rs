//! The precedence chain, lowest first: role defaults < globals.yml < group
//! vars (all, then parents, then children: first the inventory's own, then
//! group_vars/ files) < host vars (the inventory's, then host_vars/) < -e.
//! Cluster-wide settings: defaults < globals.yml < group `all` < -e.
//! (ansible_compat.rs proves the group and host part against Ansible.)

use crate::support::{good_passwords, load, scratch};

const INVENTORY: &str = "\
[mons]
m1 ansible_host=10.0.0.1
m2 ansible_host=10.0.0.2 osd_memory_target=5000
m3 ansible_host=10.0.0.3

[osds:children]
mons

[all:vars]
osd_memory_target=1000

[osds:vars]
osd_memory_target=2000

[mons:vars]
osd_memory_target=3000
";

fn target(extra: &[&str], inventory: &str, globals: &str) -> Vec<(String, u64, String)> {
    let dir = scratch(&[("inv", inventory), ("globals.yml", globals)]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        extra,
    )
    .unwrap();
    c.hosts
        .iter()
        .map(|h| {
            let origin = h.vars["osd_memory_target"].origin.to_string();
            let origin = origin.rsplit('/').next().unwrap().to_string();
            (h.name.clone(), h.settings.osd_memory_target, origin)
        })
        .collect()
}

#[test]
fn each_layer_wins_over_the_ones_below() {
    let globals = "public_network: 10.0.0.0/24\nosd_memory_target: 900\n";
    // Role default only.
    let t = target(
        &[],
        "[mons]\nm1 ansible_host=10.0.0.1\n",
        "public_network: 10.0.0.0/24\n",
    );
    assert_eq!(t[0].1, 4294967296);
    assert_eq!(t[0].2, "defaults.yml:6 (key `osd_memory_target`)");
    // globals over defaults.
    let t = target(&[], "[mons]\nm1 ansible_host=10.0.0.1\n", globals);
    assert_eq!(
        (t[0].1, t[0].2.as_str()),
        (900, "globals.yml:2 (key `osd_memory_target`)")
    );
    // Group vars over globals; the child group (mons) over its parent (osds)
    // and over all; host vars over groups.
    let t = target(&[], INVENTORY, globals);
    assert_eq!(
        (t[0].1, t[0].2.as_str()),
        (3000, "inv:16 (key `osd_memory_target`)")
    );
    assert_eq!(
        (t[1].1, t[1].2.as_str()),
        (5000, "inv:3 (key `osd_memory_target`)")
    );
    // -e over everything.
    let t = target(&["osd_memory_target=7000"], INVENTORY, globals);
    assert!(
        t.iter()
            .all(|(_, v, o)| *v == 7000 && o == "-e (key `osd_memory_target`)"),
        "{t:?}"
    );
}

#[test]
fn booleans_in_every_ansible_spelling() {
    for (spelling, want) in [
        ("yes", true),
        ("\"yes\"", true),
        ("on", true),
        ("true", true),
        ("True", true),
        ("no", false),
        ("'no'", false),
        ("off", false),
        ("false", false),
    ] {
        let dir = scratch(&[
            ("inv", "[mons]\nm1 ansible_host=10.0.0.1\n"),
            (
                "globals.yml",
                &format!("public_network: 10.0.0.0/24\nceph_debug_off: {spelling}\n"),
            ),
        ]);
        let c = load(
            &dir.path().join("inv"),
            &dir.path().join("globals.yml"),
            &good_passwords(),
            &[],
        )
        .unwrap();
        assert_eq!(c.settings.ceph_debug_off, want, "{spelling}");
    }
    // INI group vars are text; they are read the same way.
    let dir = scratch(&[
        (
            "inv",
            "[mons]\nm1 ansible_host=10.0.0.1\n\n[mons:vars]\nceph_osd_bootstrap_labels=no\n",
        ),
        ("globals.yml", "public_network: 10.0.0.0/24\n"),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &["ceph_debug_off=off"],
    )
    .unwrap();
    assert!(!c.hosts[0].settings.ceph_osd_bootstrap_labels);
    assert!(!c.settings.ceph_debug_off);
}

#[test]
fn cluster_settings_come_from_globals_and_extra_vars_only() {
    let dir = scratch(&[
        ("inv", "[mons]\nm1 ansible_host=10.0.0.1\n"),
        (
            "globals.yml",
            "public_network: 10.0.0.0/24\nceph_release: pacific\n",
        ),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &["ceph_release=reef"],
    )
    .unwrap();
    assert_eq!(c.release.name(), "reef");
    assert_eq!(c.image, "quay.io/ceph/ceph:v18");
}

#[test]
fn cluster_settings_may_come_from_group_all_as_ceph_ansible_keeps_them() {
    let dir = scratch(&[
        (
            "inv",
            "[mons]\nm1 ansible_host=10.0.0.1\n\n[all:vars]\nceph_release=quincy\n",
        ),
        (
            "group_vars/all",
            "public_network: 10.0.0.0/24\nceph_release: reef\n",
        ),
        ("globals.yml", "ceph_release: pacific\n"),
    ]);
    let run = |extra: &[&str]| {
        load(
            &dir.path().join("inv"),
            &dir.path().join("globals.yml"),
            &good_passwords(),
            extra,
        )
    };
    // group_vars/all over [all:vars] over globals; -e over all.
    assert_eq!(run(&[]).unwrap().release.name(), "reef");
    assert_eq!(
        run(&["ceph_release=squid"]).unwrap().release.name(),
        "squid"
    );
    // Any other group may not set them.
    std::fs::write(dir.path().join("group_vars/mons"), "ceph_release: reef\n").unwrap();
    let e = run(&[]).unwrap_err().to_string();
    assert!(
        e.contains("group_vars/mons:1 (key `ceph_release`): `ceph_release` is a cluster-wide setting and cannot be set in group_vars/mons"),
        "{e}"
    );
}

/// Two sibling groups (same depth from `all`) set a value differently for
/// a host in both: the later name wins, as in Ansible, and a note names
/// both groups, the losing value's place and the winner, once. No note
/// when the siblings agree or when a host var decides.
#[test]
fn sibling_groups_that_disagree_get_a_note_naming_both_and_the_winner() {
    let inventory = "\
[mons]
m1 ansible_host=10.0.0.1
m2 ansible_host=10.0.0.2 osd_memory_target=5000

[rack_a]
m1
m2

[rack_b]
m1
m2

[rack_a:vars]
osd_memory_target=2000

[rack_b:vars]
osd_memory_target=3000
";
    let notes = |inventory: &str| -> (Vec<(String, u64)>, Vec<String>) {
        let dir = scratch(&[
            ("inv", inventory),
            ("globals.yml", "public_network: 10.0.0.0/24\n"),
        ]);
        let c = load(
            &dir.path().join("inv"),
            &dir.path().join("globals.yml"),
            &good_passwords(),
            &[],
        )
        .unwrap();
        let values = c
            .hosts
            .iter()
            .map(|h| (h.name.clone(), h.settings.osd_memory_target))
            .collect();
        let notes = c
            .warnings
            .notes()
            .map(|n| n.to_string())
            .filter(|n| n.contains("sibling"))
            .map(|n| n.replace(&format!("{}/", dir.path().display()), ""))
            .collect();
        (values, notes)
    };
    let (values, said) = notes(inventory);
    assert_eq!(values, [("m1".into(), 3000), ("m2".into(), 5000)]);
    assert_eq!(
        said,
        [
            "note: inv:17 (key `osd_memory_target`): `osd_memory_target` differs between sibling groups `rack_a` (inv:14 (key `osd_memory_target`)) and `rack_b`; host `m1` is in both and gets `rack_b`'s (groups of one depth apply by name, the later wins, as in Ansible)"
        ]
    );
    let (_, said) = notes(&inventory.replace("=3000", "=2000"));
    assert!(said.is_empty(), "{said:?}");
}
