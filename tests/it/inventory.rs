//! Inventories as operators write them: INI and YAML, ranges, children,
//! vars, kolla's multinode with its OpenStack groups.

use std::path::Path;

use cephalo::inventory::Inventory;
use cephalo::model::Role;
use serde_json::Value;

use crate::support::{corpus, good_passwords, load, repo, scratch};

fn ini(text: &str) -> Inventory {
    Inventory::parse(Path::new("inv"), text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ini_features_kolla_and_ceph_ansible_users_write() {
    let inv = ini(r#"
# comment
; another comment
ungrouped1

[control]
control[01:03] ansible_user=kolla
localhost   ansible_connection=local

[storage]
stor[a:b]-[1:2] ansible_become=True  # trailing comment
control01 note="two words"

[ceph-mon:children]
control

[all:vars]
network_interface = eth0
"#);
    assert_eq!(
        inv.hosts_of("control"),
        ["control01", "control02", "control03", "localhost"]
    );
    assert_eq!(
        inv.hosts_of("storage"),
        ["stora-1", "stora-2", "storb-1", "storb-2", "control01"]
    );
    assert_eq!(inv.hosts_of("ceph-mon"), inv.hosts_of("control"));
    assert_eq!(inv.hosts_of("ungrouped"), ["ungrouped1"]);
    assert_eq!(inv.hosts_of("all").len(), 9);
    let c01 = &inv.hosts["control01"];
    assert_eq!(
        c01.vars["ansible_user"].value,
        Value::String("kolla".into())
    );
    assert_eq!(c01.vars["note"].value, Value::String("two words".into()));
    assert_eq!(c01.vars["note"].origin.line, Some(12));
    assert_eq!(
        inv.hosts["stora-1"].vars["ansible_become"].value,
        Value::Bool(true)
    );
    assert_eq!(
        inv.groups["all"].vars["network_interface"].value,
        Value::String("eth0".into())
    );
    // A host in several groups is one host.
    assert_eq!(
        inv.groups_of("control01"),
        ["all", "ceph-mon", "storage", "control"]
    );
}

#[test]
fn yaml_inventory_matches_the_ini_one() {
    let yaml = Inventory::parse(
        Path::new("inv.yml"),
        br#"
all:
  vars:
    network_interface: eth0
  hosts:
    ungrouped1:
  children:
    control:
      hosts:
        control[01:03]:
          ansible_user: kolla
        localhost:
          ansible_connection: local
    ceph-mon:
      children:
        control:
"#,
    )
    .unwrap();
    assert_eq!(
        yaml.hosts_of("ceph-mon"),
        ["control01", "control02", "control03", "localhost"]
    );
    assert_eq!(
        yaml.hosts["control02"].vars["ansible_user"].value,
        Value::String("kolla".into())
    );
    assert_eq!(
        yaml.hosts["control02"].vars["ansible_user"]
            .origin
            .key
            .as_deref(),
        Some("all.children.control.hosts.control[01:03].ansible_user")
    );
    assert_eq!(yaml.hosts_of("ungrouped"), ["ungrouped1"]);
}

#[test]
fn real_world_names_pass_the_one_name_rule_in_both_formats() {
    let from_ini = ini(r#"
[ceph-mon]
control01 ansible_host=10.0.0.1
storage-01.dc1.example.com
10.0.0.3

[storage-osd]
stor[01:02].dc1.example.com
ceph_osd_2

[mons:children]
ceph-mon
"#);
    let from_yaml = Inventory::parse(
        Path::new("inv.yml"),
        br#"
all:
  children:
    ceph-mon:
      hosts:
        control01:
          ansible_host: 10.0.0.1
        storage-01.dc1.example.com:
        10.0.0.3:
    storage-osd:
      hosts:
        stor[01:02].dc1.example.com:
        ceph_osd_2:
    mons:
      children:
        ceph-mon:
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for inv in [&from_ini, &from_yaml] {
        assert_eq!(
            inv.hosts_of("mons"),
            ["control01", "storage-01.dc1.example.com", "10.0.0.3"]
        );
        assert_eq!(
            inv.hosts_of("storage-osd"),
            [
                "stor01.dc1.example.com",
                "stor02.dc1.example.com",
                "ceph_osd_2"
            ]
        );
    }
}

#[test]
fn kolla_multinode_example_resolves_to_ceph_roles() {
    let c = load(
        &repo().join("inventory/multinode"),
        &repo().join("inventory/globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap();
    let with = |r: Role| c.hosts_with(r).map(|h| h.name.as_str()).collect::<Vec<_>>();
    assert_eq!(with(Role::Mon), ["control01", "control02", "control03"]);
    assert_eq!(with(Role::Mgr), ["control01", "control02", "control03"]);
    assert_eq!(with(Role::Osd), ["storage01", "storage02", "storage03"]);
    assert_eq!(with(Role::Mds), ["storage01", "storage02", "storage03"]);
    assert_eq!(with(Role::Rgw), ["control01", "control02", "control03"]);
    // Hosts with no Ceph role (network01, compute01, localhost) are not in the model.
    assert_eq!(c.hosts.len(), 6);
    let s1 = c.host("storage01").unwrap();
    assert_eq!(s1.connection.user.as_deref(), Some("kolla"));
    assert!(s1.connection.become_root);
    assert_eq!(s1.settings.network_interface, "eth1");
    assert_eq!(
        c.host("control01").unwrap().settings.network_interface,
        "eth0"
    );
    // The kolla keys of the example globals are noted, not errors.
    let notes: Vec<String> = c.warnings.notes().map(|n| n.to_string()).collect();
    assert!(
        notes[0].contains("5 kolla-ansible or Ansible key(s) not used by cephalo were ignored"),
        "{notes:?}"
    );
}

#[test]
fn all_in_one_example_and_local_connection() {
    let c = load(
        &repo().join("inventory/all-in-one"),
        &repo().join("inventory/globals.yml"),
        &good_passwords(),
        &["osd_pool_default_size=1", "osd_pool_default_min_size=1"],
    )
    .unwrap();
    assert_eq!(c.hosts.len(), 1);
    let h = &c.hosts[0];
    assert!(h.connection.local);
    let roles: Vec<&str> = h.roles.iter().map(|r| r.name()).collect();
    assert_eq!(roles, ["mon", "mgr", "osd", "mds", "rgw"]);
    assert_eq!(h.public_address.unwrap().to_string(), "10.10.10.10");
}

#[test]
fn ceph_ansible_and_old_kolla_group_names() {
    for (mon, osd) in [
        ("mons", "osds"),
        ("ceph-mon", "ceph-osd"),
        ("storage-mon", "storage-osd"),
    ] {
        let dir = scratch(&[(
            "inv",
            &format!(
                "[{mon}]\nm1 ansible_host=10.0.0.1\n\n[{osd}]\no1 ansible_host=10.0.0.5\n\n[mgrs]\no1\n\n[clients]\nc1\n"
            ),
        )]);
        let c = load(
            &dir.path().join("inv"),
            &corpus("good/globals.yml"),
            &good_passwords(),
            &[],
        )
        .unwrap();
        assert!(c.host("m1").unwrap().has(Role::Mon), "{mon}");
        assert!(c.host("o1").unwrap().has(Role::Osd), "{osd}");
        // An explicit mgr group wins over "mgrs on the mons".
        assert!(!c.host("m1").unwrap().has(Role::Mgr));
        assert!(c.host("o1").unwrap().has(Role::Mgr));
        assert_eq!(
            c.host("c1").unwrap().roles.iter().collect::<Vec<_>>(),
            [&Role::Client]
        );
    }
}

#[test]
fn even_mon_count_is_a_warning() {
    let dir = scratch(&[(
        "inv",
        "[mons]\nm1 ansible_host=10.0.0.1\nm2 ansible_host=10.0.0.2\n",
    )]);
    let c = load(
        &dir.path().join("inv"),
        &corpus("good/globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap();
    let w: Vec<String> = c.warnings.warnings().map(|w| w.to_string()).collect();
    assert!(
        w.iter().any(|w| w.contains("2 monitors: an even number")),
        "{w:?}"
    );
}

#[test]
fn limit_patterns() {
    let inv = Inventory::load(&repo().join("inventory/multinode")).unwrap();
    assert_eq!(
        inv.select("ceph-mon").unwrap(),
        ["control01", "control02", "control03"]
    );
    assert_eq!(
        inv.select("ceph-mon:!control02").unwrap(),
        ["control01", "control03"]
    );
    assert_eq!(
        inv.select("storage0*,control01").unwrap(),
        ["control01", "storage01", "storage02", "storage03"]
    );
    assert_eq!(inv.select("ceph-osd:&cinder-volume").unwrap().len(), 3);
    assert!(
        inv.select("nosuch")
            .unwrap_err()
            .contains("`nosuch` in --limit matches no host or group")
    );
}
