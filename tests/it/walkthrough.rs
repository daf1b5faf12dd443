//! The README's "On real servers" walkthrough, followed step by step on a
//! 3-host Reef playground treated as real servers: the test writes the
//! inventory and globals the README shows, with the playground's addresses,
//! SSH user and key, and each host's disk put in place of the examples
//! (and this test bed's constraints appended to the globals), makes the
//! image archive of step 6 from the playground's image under the upstream
//! name, then runs every `cephalo` line of the section, in order, from the
//! folder that holds `mycluster/`. Each must succeed; the cluster ends
//! HEALTH_OK with its OSDs on the prepared disks, a second deploy changes
//! nothing, and the files the README names are where it says.

use std::path::Path;
use std::process::Command;

use super::support::{Playground, output_text, repo};

/// The README's section, its ```LANG blocks in order.
fn blocks(section: &str, lang: &str) -> Vec<String> {
    super::support::fenced(section, lang)
}

fn section() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    readme
        .split("\n## On real servers\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has an `On real servers` section")
        .to_string()
}

#[test]
fn the_readme_walkthrough_section_names_its_files_and_commands() {
    let s = section();
    assert_eq!(blocks(&s, "ini").len(), 1);
    assert_eq!(blocks(&s, "yaml").len(), 1);
    let commands: Vec<String> = blocks(&s, "sh")
        .concat()
        .lines()
        .map(str::to_string)
        .collect();
    let verbs: Vec<&str> = commands
        .iter()
        .map(|c| c.split_whitespace().nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        verbs,
        [
            "genpwd",
            "run",
            "disks",
            "disks",
            "pull",
            "prechecks",
            "deploy",
            "admin",
            "gatherkeys",
            "status"
        ]
    );
    for c in &commands {
        assert!(
            c.starts_with("cephalo ") && c.contains("-i mycluster/multinode"),
            "{c}"
        );
    }
}

#[test]
fn the_readme_walkthrough_deploys_a_healthy_cluster_on_servers() {
    let s = section();
    let pid = std::process::id();
    let name = format!("cephalo-wt-{pid}");
    let subnet = format!("10.93.{}.0/24", pid % 250);
    let pg = Playground::up(&name, 3, 0, "reef", "docker", &subnet);
    let (hosts, user, key) = pg.hosts();
    assert_eq!(hosts.len(), 3, "{hosts:?}");
    let work = tempfile::tempdir().unwrap();
    let mycluster = work.path().join("mycluster");
    std::fs::create_dir_all(mycluster.join("host_vars")).unwrap();

    // 1. The inventory: the README's, with the servers' addresses and the
    // login the playground hosts take.
    let mut inventory = blocks(&s, "ini").remove(0);
    for (i, (h, address)) in hosts.iter().enumerate() {
        let example = format!("{h} ansible_host=192.0.2.1{}", i + 1);
        assert!(inventory.contains(&example), "{inventory}");
        inventory = inventory.replace(&example, &format!("{h} ansible_host={address}"));
    }
    assert!(inventory.contains("ansible_user=deploy\n"), "{inventory}");
    inventory = inventory.replace(
        "ansible_user=deploy\n",
        &format!("ansible_user={user}\nansible_ssh_private_key_file={key}\n"),
    );
    std::fs::write(mycluster.join("multinode"), inventory).unwrap();

    // 2. The settings: the README's, on the playground's network; each
    // server's disk (the README's /dev/sdb) in its host_vars; and this
    // test bed's constraints.
    let mut globals = blocks(&s, "yaml").remove(0);
    assert!(
        globals.contains("public_network: 192.0.2.0/24\n"),
        "{globals}"
    );
    globals = globals.replace(
        "public_network: 192.0.2.0/24\n",
        &format!("public_network: {subnet}\n"),
    );
    let (bed, overrides) = pg.test_bed();
    globals.push_str(&format!(
        "\n# This test bed (tests/it/walkthrough.rs):\n{bed}ceph_conf_overrides:\n  global:\n{overrides}"
    ));
    std::fs::write(mycluster.join("globals.yml"), globals).unwrap();
    for (h, _) in &hosts {
        let disk = pg.on(
            h,
            "for d in /dev/loop*; do case ${d#/dev/loop} in *p*) ;; *) [ -b \"$d\" ] && echo \"$d\";; esac; done",
        );
        let disk = disk.trim();
        assert!(
            disk.starts_with("/dev/loop") && !disk.contains('\n'),
            "{h}: {disk}"
        );
        std::fs::write(
            mycluster.join(format!("host_vars/{h}.yml")),
            format!("ceph_osd_devices: [{disk}]\n"),
        )
        .unwrap();
    }

    // 6's archive: the playground's image under the upstream name.
    let archive = work.path().join("ceph-v18.tar");
    for args in [
        vec!["tag", "cephalo/ceph:reef", "quay.io/ceph/ceph:v18"],
        vec![
            "save",
            "quay.io/ceph/ceph:v18",
            "-o",
            archive.to_str().unwrap(),
        ],
        vec!["rmi", "quay.io/ceph/ceph:v18"],
    ] {
        let out = Command::new("docker").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            output_text(&out)
        );
    }

    // Every command of the section, as written, from the folder that
    // holds mycluster/ (the archive is there too).
    let bin = env!("CARGO_BIN_EXE_cephalo");
    let run = |line: &str| {
        let words = shlex::split(line).unwrap();
        assert_eq!(words[0], "cephalo", "{line}");
        let out = Command::new(bin)
            .args(&words[1..])
            .current_dir(work.path())
            .output()
            .unwrap();
        (out.status.code(), output_text(&out))
    };
    let commands: Vec<String> = blocks(&s, "sh")
        .concat()
        .lines()
        .map(str::to_string)
        .collect();
    let mut said = Vec::new();
    for line in &commands {
        let (code, text) = run(line);
        assert_eq!(code, Some(0), "`{line}` failed:\n{text}");
        said.push((line.clone(), text));
    }
    let out = |verb: &str| -> &str {
        &said
            .iter()
            .find(|(l, _)| l.split_whitespace().nth(1) == Some(verb))
            .unwrap()
            .1
    };
    assert!(out("deploy").contains("HEALTH_OK"), "{}", out("deploy"));
    assert!(
        out("admin").contains("ceph -s: works (HEALTH_OK"),
        "{}",
        out("admin")
    );
    // The files the README names.
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&mycluster.join("passwords.yml")), 0o600);
    assert!(mycluster.join("known_hosts").is_file());
    assert!(mycluster.join("keys/ceph.client.admin.keyring").is_file());
    assert!(mycluster.join("logs").is_dir());
    // Three OSDs up, each on its server's prepared disk.
    let osds = pg.on(
        "ceph1",
        "docker exec ceph_mon ceph osd stat -f json 2>/dev/null",
    );
    let v: serde_json::Value = serde_json::from_str(osds.trim()).unwrap();
    assert_eq!(v["num_up_osds"], 3, "{v}");
    // And a second deploy changes nothing.
    let (code, text) = run("cephalo deploy -i mycluster/multinode");
    assert_eq!(code, Some(0), "{text}");
    let recap: Vec<&str> = text.lines().filter(|l| l.contains(" : ok=")).collect();
    assert_eq!(recap.len(), 3, "{text}");
    for l in recap {
        assert!(l.contains(" changed=0 "), "{text}");
    }
}
