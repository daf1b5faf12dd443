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
        notes[0].contains(
            "5 kolla-ansible, ceph-ansible or Ansible key(s) not used by cephalo were ignored"
        ),
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

/// The inventory of the shape of ceph-ansible's all_daemons/container.
fn ceph_ansible_fixture() -> cephalo::model::Cluster {
    let dir = repo().join("tests/fixtures/ceph-ansible-all-daemons");
    let globals = scratch(&[("globals.yml", "")]);
    load(
        &dir.join("hosts"),
        &globals.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ceph_ansible_all_daemons_inventory_resolves() {
    use cephalo::model::AddressFrom;
    let c = ceph_ansible_fixture();
    // Networks from group_vars/all (a file without an extension).
    assert_eq!(c.public_network.to_string(), "192.168.17.0/24");
    assert_eq!(c.cluster_network.unwrap().to_string(), "192.168.18.0/24");
    let mon0 = c.host("mon0").unwrap();
    assert!(
        mon0.vars["public_network"]
            .origin
            .to_string()
            .ends_with("group_vars/all:5 (key `public_network`)"),
        "{}",
        mon0.vars["public_network"].origin
    );
    // Two mons at their monitor_address, the third from its interface.
    assert_eq!(mon0.public_address.unwrap().to_string(), "192.168.17.10");
    assert_eq!(
        c.host("mon2").unwrap().public_address.unwrap().to_string(),
        "192.168.17.12"
    );
    let mon1 = c.host("mon1").unwrap();
    assert_eq!(mon1.public_address, None);
    let from = mon1.address_from.as_ref().unwrap();
    assert_eq!(from.from, AddressFrom::Interface("eth1".into()));
    assert_eq!(from.describe(), "from interface eth1 (monitor_interface)");
    assert_eq!(
        c.unresolved_addresses()
            .iter()
            .map(|(h, _)| *h)
            .collect::<Vec<_>>(),
        ["mon1"]
    );
    // The rgw's frontend address from radosgw_interface.
    assert_eq!(
        c.host("rgw0")
            .unwrap()
            .rgw_address_from
            .as_ref()
            .unwrap()
            .from,
        AddressFrom::Interface("eth1".into())
    );
    // The OSD hosts' CRUSH location, as written (an INI Python dict), and
    // their disks from ceph-ansible's `devices` in group_vars/osds.
    let osd0 = c.host("osd0").unwrap();
    let loc: Vec<(&str, &str)> = osd0
        .crush_location
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        loc,
        [
            ("root", "HDD"),
            ("rack", "mon-rackkkk"),
            ("pod", "monpod"),
            ("host", "osd0")
        ]
    );
    assert_eq!(osd0.settings.ceph_osd_devices, ["/dev/sdb", "/dev/sdc"]);
    // The image, max_mds, the overrides, and the rest noted as ignored.
    assert_eq!(c.image, "quay.io/ceph/daemon:latest-pacific");
    assert_eq!(c.mds_max_mds, Some(2));
    assert_eq!(
        c.settings.ceph_conf_overrides["global"]["osd_pool_default_size"].0,
        "1"
    );
    let notes: Vec<String> = c.warnings.notes().map(|n| n.to_string()).collect();
    assert!(
        notes.iter().any(|n| n.contains("ceph-ansible or Ansible key(s) not used by cephalo were ignored (docker, ceph_mon_docker_subnet")),
        "{notes:?}"
    );
    // render names the mon whose address needs facts.
    let e = cephalo::render::ceph_conf(&c, mon0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hosts:3 (key `monitor_interface`)")
            && e.contains(
                "the address of mon `mon1` is not known yet: it comes from interface eth1"
            ),
        "{e}"
    );
}

#[test]
fn facts_fill_in_addresses_from_interfaces() {
    use std::collections::BTreeMap;
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let mut c = ceph_ansible_fixture();
    let mut facts: BTreeMap<String, Vec<(String, IpAddr)>> = BTreeMap::new();
    facts.insert(
        "mon1".into(),
        vec![
            ("eth0".into(), ip("10.0.0.11")),
            ("eth1".into(), ip("fe80::1")),
            ("eth1".into(), ip("192.168.17.11")),
        ],
    );
    facts.insert("rgw0".into(), vec![("eth1".into(), ip("192.168.17.20"))]);
    cephalo::model::resolve_addresses(&mut c, &facts).unwrap();
    assert_eq!(
        c.host("mon1").unwrap().public_address,
        Some(ip("192.168.17.11"))
    );
    assert!(c.unresolved_addresses().is_empty());
    let rgw = c.host("rgw0").unwrap().rgw_address_from.as_ref().unwrap();
    assert_eq!(rgw.address(), Some(ip("192.168.17.20")));
    assert!(
        cephalo::render::ceph_conf(&c, c.host("mon0").unwrap())
            .unwrap()
            .contains("192.168.17.11")
    );
    // An interface that is missing, or without an address on
    // public_network, is an error naming the host, the setting and what
    // the host has.
    for (have, want) in [
        (
            vec![("eth0".to_string(), ip("192.168.17.11"))],
            "host `mon1` has no interface `eth1` with an address (its interfaces: eth0)",
        ),
        (
            vec![("eth1".to_string(), ip("10.1.1.1"))],
            "interface `eth1` of host `mon1` has no address in public_network 192.168.17.0/24 (it has: 10.1.1.1)",
        ),
    ] {
        let mut c = ceph_ansible_fixture();
        let mut facts = facts.clone();
        facts.insert("mon1".into(), have);
        let e = cephalo::model::resolve_addresses(&mut c, &facts)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("hosts:3 (key `monitor_interface`)") && e.contains(want),
            "{e}"
        );
    }
}

#[test]
fn kolla_multinode_with_names_only_takes_addresses_from_interfaces() {
    use cephalo::model::AddressFrom;
    let dir = repo().join("tests/fixtures/kolla-names-only");
    let c = load(
        &dir.join("multinode"),
        &dir.join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mons: Vec<&str> = c.hosts_with(Role::Mon).map(|h| h.name.as_str()).collect();
    assert_eq!(mons, ["control01", "control02", "control03"]);
    for h in &c.hosts {
        // kolla's Ceph public network is on storage_interface.
        let from = h.address_from.as_ref().unwrap();
        assert_eq!(
            from.from,
            AddressFrom::Interface("eth2".into()),
            "{}",
            h.name
        );
        assert_eq!(from.origin.line, Some(7));
        // cluster_interface: "{{ storage_interface }}", a Jinja reference.
        assert_eq!(
            h.cluster_address_from.as_ref().unwrap().from,
            AddressFrom::Interface("eth2".into())
        );
    }
    // The rgws listen on api_interface ("{{ network_interface }}"), and
    // enable_ceph_rgw is "{{ enable_ceph | bool }}" (an ignored kolla key).
    assert!(c.settings.enable_ceph_rgw);
    let rgw = c.hosts_with(Role::Rgw).next().unwrap();
    assert_eq!(
        rgw.rgw_address_from.as_ref().unwrap().from,
        AddressFrom::Interface("eth0".into())
    );
    assert_eq!(c.host("control01").unwrap().connection.address, "control01");
}

#[test]
fn jinja_values_in_globals() {
    let run = |globals: &str| {
        let dir = scratch(&[
            ("inv", "[mons]\nm1 ansible_host=10.0.0.1\n"),
            ("globals.yml", globals),
        ]);
        load(
            &dir.path().join("inv"),
            &dir.path().join("globals.yml"),
            &good_passwords(),
            &[],
        )
        .map_err(|e| e.to_string())
    };
    // kolla's own globals.yml line, uncommented.
    let c = run("public_network: 10.0.0.0/24\nnetwork_interface: eth1\nstorage_interface: \"{{ network_interface }}\"\n").unwrap();
    assert_eq!(c.hosts[0].settings.storage_interface, "eth1");
    // A default for what is not set, and a number kept a number.
    let c = run("public_network: 10.0.0.0/24\nstorage_interface: \"{{ bond | default('bond0') }}\"\nosd_memory_target: \"{{ 2 * 1024 }}\"\n").unwrap();
    assert_eq!(c.hosts[0].settings.storage_interface, "bond0");
    assert_eq!(c.hosts[0].settings.osd_memory_target, 2048);
    // What cannot be evaluated is an error at its file, line and key; the
    // literal text never becomes the value.
    let e = run("public_network: 10.0.0.0/24\n\nstorage_interface: \"{{ network_interfac }}\"\n")
        .unwrap_err();
    assert!(
        e.contains("globals.yml:3 (key `storage_interface`): cannot evaluate the Jinja value of `storage_interface`: `network_interfac` is not defined"),
        "{e}"
    );
    let e = run("public_network: \"{{ net | ipaddr('network') }}\"\nnet: x\n").unwrap_err();
    assert!(
        e.contains("globals.yml:1 (key `public_network`)") && e.contains("ipaddr"),
        "{e}"
    );
}

#[test]
fn group_vars_and_host_vars_beside_the_inventory() {
    let dir = scratch(&[
        (
            "inv",
            "[mons]\nm1 ansible_host=10.0.0.1 osd_memory_target=1\nm2 ansible_host=10.0.0.2\nm3 ansible_host=10.0.0.3\n\n[mons:vars]\nceph_rgw_port=1111\n",
        ),
        ("globals.yml", ""),
        (
            "group_vars/all.yml",
            "public_network: 10.0.0.0/24\nceph_rgw_port: 2222\n",
        ),
        ("group_vars/mons/10-a", "ceph_block_nr_requests: 5\n"),
        ("group_vars/mons/20-b.yaml", "ceph_block_nr_requests: 6\n"),
        ("group_vars/mons/.hidden", "ceph_block_nr_requests: 7\n"),
        ("host_vars/m1.json", "{\"osd_memory_target\": 4096}\n"),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let m1 = c.host("m1").unwrap();
    // group_vars/all wins over the inventory's [mons:vars], as in Ansible.
    assert_eq!(m1.settings.ceph_rgw_port, 2222);
    // A folder's files in name order, later winning; hidden files skipped.
    assert_eq!(m1.settings.ceph_block_nr_requests, 6);
    // host_vars/ wins over the inventory's host vars.
    assert_eq!(m1.settings.osd_memory_target, 4096);
    assert_eq!(c.host("m2").unwrap().settings.osd_memory_target, 4294967296);
    // A malformed file is bad input naming it and its line.
    std::fs::write(dir.path().join("group_vars/mons/20-b.yaml"), "a: 1\na: 2\n").unwrap();
    let e = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("group_vars/mons/20-b.yaml:2"), "{e}");
}

#[test]
fn several_inventories_merge_as_ansible_merges_them() {
    let dir = scratch(&[
        (
            "a",
            "[mons]\nm1 ansible_host=10.0.0.1 osd_memory_target=1\n\n[mons:vars]\nceph_rgw_port=1111\n",
        ),
        (
            "b.yml",
            "all:\n  children:\n    mons:\n      hosts:\n        m1:\n          osd_memory_target: 2\n        m2:\n          ansible_host: 10.0.0.2\n        m3:\n          ansible_host: 10.0.0.3\n      vars:\n        ceph_rgw_port: 2222\n    osds:\n      hosts:\n        o1:\n          ansible_host: 10.0.0.9\n",
        ),
    ]);
    let c = cephalo::model::load(&cephalo::model::Sources {
        inventory: dir.path().join("a"),
        more_inventories: vec![dir.path().join("b.yml")],
        globals: Some(corpus("good/globals.yml")),
        passwords: Some(good_passwords()),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["m1", "m2", "m3", "o1"]);
    let m1 = c.host("m1").unwrap();
    assert_eq!(m1.settings.osd_memory_target, 2);
    assert_eq!(m1.settings.ceph_rgw_port, 2222);
    assert!(c.host("o1").unwrap().has(Role::Osd));
}

fn cephalo() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cephalo").unwrap();
    c.timeout(std::time::Duration::from_secs(60));
    c
}

fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn broken_inventory_scripts_are_bad_input_naming_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            script(
                dir.path(),
                "fails",
                "echo 'cmdb: 503 Service Unavailable' >&2\nexit 3\n",
            ),
            "fails --list` exited with status 3: cmdb: 503 Service Unavailable",
        ),
        (
            script(
                dir.path(),
                "garbage",
                "echo '{\"mons\": {\"hosts\": [\"m1\"]'\n",
            ),
            "garbage --list` printed invalid JSON (line 2, column 0: EOF while parsing an object)",
        ),
        (
            script(dir.path(), "hangs", "sleep 600\n"),
            "hangs --list` did not finish within 1 s and was stopped",
        ),
        (
            script(
                dir.path(),
                "bad-name",
                "echo '{\"mons\": {\"hosts\": [\"m1;reboot\"]}, \"_meta\": {\"hostvars\": {}}}'\n",
            ),
            "bad-name (key `mons.hosts`): `m1;reboot` is not a valid host name",
        ),
    ];
    for (path, want) in cases {
        let started = std::time::Instant::now();
        let out = cephalo()
            .args(["inventory", "--list", "-i"])
            .arg(&path)
            .env("CEPHALO_INVENTORY_SCRIPT_TIMEOUT", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert!(err.contains(want), "{}: {err}", path.display());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(started.elapsed().as_secs() < 30, "{}", path.display());
    }
}

#[test]
fn inventory_views_need_no_passwords_and_no_globals() {
    let dir = repo().join("tests/fixtures/ceph-ansible-all-daemons");
    let out = cephalo()
        .args(["inventory", "--list", "-i"])
        .arg(dir.join("hosts"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no globals.yml: the role defaults apply"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mon1 = &v["_meta"]["hostvars"]["mon1"];
    assert_eq!(
        mon1["cephalo_public_address"],
        "from interface eth1 (monitor_interface)"
    );
    assert_eq!(
        v["_meta"]["hostvars"]["osd1"]["cephalo_crush_location"],
        serde_json::json!({"root": "default", "host": "osd1"})
    );
    assert_eq!(v["cephalo"]["public_network"], "192.168.17.0/24");
    // A kolla inventory with neither file: hosts and groups all the same.
    let kolla = scratch(&[(
        "multinode",
        "[ceph-mon]\ncontrol01\n[ceph-osd]\nstorage01\n",
    )]);
    let out = cephalo()
        .args(["inventory", "--graph", "-i"])
        .arg(kolla.path().join("multinode"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--@ceph-mon:\n  |  |--control01"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The same as `ansible-inventory --list` JSON, which lists the groups
    // under `all` too.
    let json = scratch(&[(
        "inv.json",
        r#"{"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped", "ceph-mon", "ceph-osd"]}, "ceph-mon": {"hosts": ["control01"]}, "ceph-osd": {"hosts": ["storage01"]}}"#,
    )]);
    let out = cephalo()
        .args(["inventory", "--graph", "-i"])
        .arg(json.path().join("inv.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "@all:\n  |--@ceph-mon:\n  |  |--control01\n  |--@ceph-osd:\n  |  |--storage01\n"
    );
}

#[test]
fn cephalos_own_settings_win_over_ceph_ansible_names_with_a_note() {
    use cephalo::model::AddressFrom;
    let dir = scratch(&[
        (
            "hosts",
            "[mons]\nm1 monitor_address_block=10.0.0.0/25 monitor_address=x.x.x.x\nm2 public_address=10.0.0.2 monitor_address=10.0.0.99\nm3 ansible_host=10.0.0.3\n\n[osds]\no1 devices=\"['/dev/sdb']\" ceph_osd_devices=/dev/sdc\n",
        ),
        (
            "group_vars/all",
            "public_network: 10.0.0.0/24\nceph_docker_image_tag: v16\nmonitor_interface: interface\n",
        ),
        ("globals.yml", "ceph_image_tag: v17\n"),
    ]);
    let c = load(
        &dir.path().join("hosts"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // ceph-ansible's placeholders (x.x.x.x, interface) mean "not set".
    assert_eq!(
        c.host("m1").unwrap().address_from.as_ref().unwrap().from,
        AddressFrom::Network("10.0.0.0/25".parse().unwrap())
    );
    assert_eq!(
        c.host("m2").unwrap().public_address.unwrap().to_string(),
        "10.0.0.2"
    );
    assert_eq!(
        c.host("o1").unwrap().settings.ceph_osd_devices,
        ["/dev/sdc"]
    );
    assert!(c.image.ends_with(":v17"), "{}", c.image);
    let notes: Vec<String> = c.warnings.notes().map(|n| n.to_string()).collect();
    for want in [
        "hosts:3 (key `monitor_address`): cephalo's `public_address`",
        "wins over ceph-ansible's `monitor_address` for mon `m2`",
        "hosts:7 (key `devices`): cephalo's `ceph_osd_devices`",
        "group_vars/all:2 (key `ceph_docker_image_tag`): cephalo's `ceph_image_tag` (",
    ] {
        assert!(notes.iter().any(|n| n.contains(want)), "{want}: {notes:?}");
    }
    // The block is filled from facts like an interface.
    let mut c = c;
    let facts = [(
        "m1".to_string(),
        vec![
            ("eth0".to_string(), "192.168.0.1".parse().unwrap()),
            ("eth1".to_string(), "10.0.0.1".parse().unwrap()),
        ],
    )]
    .into_iter()
    .collect();
    cephalo::model::resolve_addresses(&mut c, &facts).unwrap();
    assert_eq!(
        c.host("m1").unwrap().public_address.unwrap().to_string(),
        "10.0.0.1"
    );
}
