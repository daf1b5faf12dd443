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

/// host -> every var that applies to it, as `ansible-inventory --list`
/// merges them (group vars, group_vars/, host_vars/, several -i).
fn ansible_hostvars(paths: &[&Path]) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut cmd = std::process::Command::new(ansible_inventory());
    cmd.arg("--list");
    for p in paths {
        cmd.arg("-i").arg(p);
    }
    let out = cmd
        .env("ANSIBLE_INVENTORY_ENABLED", "script,ini,yaml")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["_meta"]["hostvars"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(h, vars)| {
            let vars = vars.as_object().unwrap();
            (
                h.clone(),
                vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            )
        })
        .collect()
}

fn our_hostvars(paths: &[&Path]) -> BTreeMap<String, BTreeMap<String, Value>> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    let inv = Inventory::load_all(&paths).unwrap_or_else(|e| panic!("{e}"));
    inv.hosts
        .keys()
        .map(|h| {
            let vars = inv
                .host_vars(h)
                .into_iter()
                .map(|(k, v)| (k, v.value))
                .collect();
            (h.clone(), vars)
        })
        .filter(|(_, v): &(String, BTreeMap<String, Value>)| !v.is_empty())
        .collect()
}

#[test]
fn group_vars_host_vars_and_several_sources_merge_as_ansible_merges_them() {
    let dir = crate::support::scratch(&[
        (
            "one/inv",
            "[mons]\nm1 x=host_inline crush=\"{ 'root': 'HDD', 'host': 'm1' }\"\nm2\n\n[osds:children]\nmons\n\n[all:vars]\nx=all_inline\ny=all_inline\nz=all_inline\n\n[mons:vars]\ny=mons_inline\nz=mons_inline\nw=mons_inline\n",
        ),
        (
            "one/group_vars/all",
            "z: all_file\nw: all_file\nv: all_file\n",
        ),
        ("one/group_vars/osds.yml", "v: osds_file\nu: osds_file\n"),
        (
            "one/group_vars/mons/a.yml",
            "u: mons_file_a\nt: mons_file_a\n",
        ),
        ("one/group_vars/mons/b", "t: mons_file_b\n"),
        (
            "one/host_vars/m1.json",
            "{\"x\": \"m1_file\", \"s\": [1, \"two\"]}",
        ),
        (
            "two/inv.yml",
            "all:\n  children:\n    mons:\n      hosts:\n        m2:\n          y: two_host\n        m3:\n      vars:\n        r: two_mons\n",
        ),
        ("two/group_vars/mons.yaml", "t: two_mons_file\n"),
    ]);
    let one = dir.path().join("one/inv");
    let two = dir.path().join("two/inv.yml");
    for paths in [vec![one.as_path()], vec![one.as_path(), two.as_path()]] {
        let theirs = ansible_hostvars(&paths);
        let ours = our_hostvars(&paths);
        assert_eq!(ours, theirs, "{paths:?}");
    }
    // What that order means: group_vars/all wins over the inventory's
    // [mons:vars]; host_vars/ over the host line; an INI dict is a dict.
    let m1 = &our_hostvars(&[one.as_path()])["m1"];
    assert_eq!(m1["z"], "all_file");
    assert_eq!(m1["y"], "mons_inline");
    assert_eq!(m1["t"], "mons_file_b");
    assert_eq!(m1["x"], "m1_file");
    assert_eq!(m1["crush"]["root"], "HDD");
}

/// What cephalo resolves, without where each value was set.
fn summary(c: &cephalo::model::Cluster) -> String {
    let hosts: Vec<String> = c
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{} {:?} {:?} {:?} {:?}",
                h.name, h.roles, h.connection, h.public_address, h.settings
            )
        })
        .collect();
    format!(
        "{} {} {} {:?}\n{}",
        c.name,
        c.image,
        c.public_network,
        c.settings,
        hosts.join("\n")
    )
}

#[test]
fn ansible_inventory_json_and_scripts_resolve_as_the_ini_they_came_from() {
    let ini = repo().join("inventory/multinode");
    let globals = repo().join("inventory/globals.yml");
    let load = |inv: &Path| {
        crate::support::load(inv, &globals, &crate::support::good_passwords(), &[])
            .unwrap_or_else(|e| panic!("{}: {e}", inv.display()))
    };
    let want = summary(&load(&ini));
    // ansible-inventory itself writes the JSON.
    let out = std::process::Command::new(ansible_inventory())
        .arg("--list")
        .arg("-i")
        .arg(&ini)
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("inventory.json");
    std::fs::write(&json, &out.stdout).unwrap();
    assert_eq!(summary(&load(&json)), want, "ansible-inventory --list JSON");
    // A script printing it with _meta, and one answering --host per host.
    let with_meta = dir.path().join("with-meta.sh");
    std::fs::write(
        &with_meta,
        format!(
            "#!/bin/sh\n[ \"$1\" = --list ] && exec cat {}\necho '{{}}'\n",
            json.display()
        ),
    )
    .unwrap();
    let per_host = dir.path().join("per-host.py");
    std::fs::write(
        &per_host,
        format!(
            "#!/usr/bin/env python3\nimport json, sys\ndoc = json.load(open({:?}))\nmeta = doc.pop('_meta')['hostvars']\nif sys.argv[1] == '--list':\n    print(json.dumps(doc))\nelse:\n    print(json.dumps(meta.get(sys.argv[2], {{}})))\n",
            json.display().to_string()
        ),
    )
    .unwrap();
    for script in [&with_meta, &per_host] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(summary(&load(script)), want, "{}", script.display());
        // Ansible reads the script the same way.
        assert_eq!(
            ansible_hostvars(&[script.as_path()]),
            ansible_hostvars(&[ini.as_path()]),
            "{}",
            script.display()
        );
    }
}

/// ceph-ansible's all_daemons/container inventory (the shape of
/// tests/fixtures/ceph-ansible-all-daemons) with the line its group_vars/all
/// really has: `monitor_interface` chosen by the Ansible fact
/// `ansible_distribution`. `inventory --list` shows it as written, as
/// `ansible-inventory --list` does, with a note naming the fact, and exits
/// 0; a command that would act on it says which fact it needs and how to
/// give the value instead (issue 22: facts offered to templates are next).
#[test]
fn a_value_needing_an_ansible_fact_is_shown_as_written_by_inventory_list() {
    let fixture = repo().join("tests/fixtures/ceph-ansible-all-daemons");
    let template = "{{ 'eth1' if ansible_distribution == 'CentOS' else 'ens6' }}";
    let all = format!(
        "{}monitor_interface: \"{template}\"\n",
        std::fs::read_to_string(fixture.join("group_vars/all")).unwrap()
    );
    let mut files = vec![
        ("group_vars/all".to_string(), all),
        ("globals.yml".to_string(), String::new()),
    ];
    for f in ["hosts", "group_vars/mons", "group_vars/osds"] {
        files.push((
            f.to_string(),
            std::fs::read_to_string(fixture.join(f)).unwrap(),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = crate::support::scratch(&refs);
    let hosts = dir.path().join("hosts");

    let out = assert_cmd::Command::cargo_bin("cephalo")
        .unwrap()
        .args(["inventory", "--list", "-i"])
        .arg(&hosts)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("group_vars/all")
            && stderr.contains("`monitor_interface` needs Ansible's fact `ansible_distribution`"),
        "{stderr}"
    );
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = ansible_hostvars(&[hosts.as_path()]);
    // Every var both show is the same (cephalo shows the values of the
    // other templates evaluated, its settings only, and no secrets).
    let mut compared = 0;
    for (host, vars) in &theirs {
        let mine = ours["_meta"]["hostvars"][host]
            .as_object()
            .unwrap_or_else(|| panic!("no {host} in {ours}"));
        for (k, v) in vars {
            let Some(m) = mine.get(k) else { continue };
            let evaluated =
                k != "monitor_interface" && v.as_str().is_some_and(|s| s.contains("{{"));
            if m == "<redacted>" || evaluated {
                continue;
            }
            assert_eq!(m, v, "{host}: {k}");
            compared += 1;
        }
    }
    assert!(compared > 20, "{compared} vars compared");
    // osd0 has no monitor_interface of its own: the template, as written,
    // by both; mon1's own `eth1` as well.
    assert_eq!(theirs["osd0"]["monitor_interface"], template);
    assert_eq!(
        ours["_meta"]["hostvars"]["osd0"]["monitor_interface"],
        template
    );
    assert_eq!(
        ours["_meta"]["hostvars"]["mon1"]["monitor_interface"],
        "eth1"
    );

    let out = assert_cmd::Command::cargo_bin("cephalo")
        .unwrap()
        .args(["render", "-i"])
        .arg(&hosts)
        .arg("--globals")
        .arg(dir.path().join("globals.yml"))
        .arg("--passwords")
        .arg(crate::support::good_passwords())
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("it needs Ansible's fact `ansible_distribution`")
            && stderr.contains("host_vars/HOST"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}
