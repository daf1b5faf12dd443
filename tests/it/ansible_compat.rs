//! The inventory parser against Ansible's own: `ansible-inventory --list
//! --export` (ansible-core from PyPI, installed into a cached virtualenv
//! when missing) must see the same groups, members, children and vars.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cephalo::inventory::Inventory;
use serde_json::Value;

use crate::support::{corpus, repo};

fn ansible_inventory() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let venv = PathBuf::from(
            std::env::var("CEPHALO_VENV").unwrap_or(format!("{home}/.cache/cephalo/venv")),
        );
        let bin = venv.join("bin/ansible-inventory");
        if !bin.exists() {
            let ok = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "python3 -m venv {0} && {0}/bin/pip install -q 'ansible-core>=2.15,<2.18'",
                    venv.display()
                ))
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok && bin.exists(),
                "could not install ansible-core into {}",
                venv.display()
            );
        }
        bin
    })
}

/// group -> (direct hosts, children, vars) and host -> vars, from Ansible.
type View = (
    BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, BTreeMap<String, Value>)>,
    BTreeMap<String, BTreeMap<String, Value>>,
);

fn ansible_view(path: &Path) -> View {
    let out = std::process::Command::new(ansible_inventory())
        .args(["--list", "--export", "-i"])
        .arg(path)
        .env("ANSIBLE_INVENTORY_ENABLED", "ini,yaml")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut groups = BTreeMap::new();
    for (name, g) in v.as_object().unwrap() {
        if name == "_meta" {
            continue;
        }
        let set = |k: &str| -> BTreeSet<String> {
            g[k].as_array()
                .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let vars = g["vars"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        groups.insert(name.clone(), (set("hosts"), set("children"), vars));
    }
    let hosts = v["_meta"]["hostvars"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(h, vars)| {
                    (
                        h.clone(),
                        vars.as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (groups, hosts)
}

fn our_view(path: &Path) -> View {
    let inv = Inventory::load(path).unwrap();
    let mut groups = BTreeMap::new();
    for (name, g) in &inv.groups {
        let hosts: BTreeSet<String> = if name == "all" {
            BTreeSet::new()
        } else {
            g.hosts.iter().cloned().collect()
        };
        let children: BTreeSet<String> = g.children.iter().map(|(c, _)| c.clone()).collect();
        let vars = g
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        groups.insert(name.clone(), (hosts, children, vars));
    }
    let hosts = inv
        .hosts
        .iter()
        .filter(|(_, h)| !h.vars.is_empty())
        .map(|(n, h)| {
            (
                n.clone(),
                h.vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
            )
        })
        .collect();
    (groups, hosts)
}

/// Ansible lists `all`'s children (every top group) and leaves out empty
/// groups; compare what both mean: members, children below `all`, vars.
fn normalize((mut groups, hosts): View) -> View {
    groups.retain(|n, (h, c, v)| n != "all" && (!h.is_empty() || !c.is_empty() || !v.is_empty()));
    (groups, hosts)
}

#[test]
fn ini_and_yaml_inventories_read_as_ansible_reads_them() {
    let files = [
        repo().join("inventory/multinode"),
        repo().join("inventory/all-in-one"),
        corpus("good/inventory"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("features.ini");
    std::fs::write(
        &extra,
        "ungrouped1\n\n[control]\ncontrol[01:03] ansible_user=kolla\nlocalhost ansible_connection=local\n\n[storage]\nstor[a:b]-[1:2] ansible_become=True  # trailing comment\ncontrol01 note=\"two words\" port=2222\n\n[ceph-mon:children]\ncontrol\n\n[all:vars]\nnetwork_interface = eth0\n",
    )
    .unwrap();
    let yaml = dir.path().join("inventory.yml");
    std::fs::write(
        &yaml,
        "all:\n  vars:\n    network_interface: eth0\n  children:\n    control:\n      hosts:\n        control[01:03]:\n          ansible_user: kolla\n          ansible_become: yes\n    ceph-mon:\n      children:\n        control:\n",
    )
    .unwrap();
    // CRLF line ends (Ansible reads them; a leading BOM it does not, and
    // cephalo accepts it: that file is compared in corpus.rs instead).
    let crlf = dir.path().join("crlf.ini");
    let bom_crlf = std::fs::read(corpus("good/inventory-bom-crlf")).unwrap();
    std::fs::write(&crlf, &bom_crlf[3..]).unwrap();
    for f in files.iter().chain([&extra, &yaml, &crlf]) {
        let theirs = normalize(ansible_view(f));
        let ours = normalize(our_view(f));
        assert_eq!(ours.0, theirs.0, "groups of {}", f.display());
        assert_eq!(ours.1, theirs.1, "host vars of {}", f.display());
    }
}
