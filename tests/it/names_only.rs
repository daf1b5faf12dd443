//! Inventories of host names only, as kolla's multinode and ceph-ansible's
//! inventories are written. The `ssh_hosts_file` setting against real
//! OpenSSH servers on loopback (tests/it/sshd.rs): names found only in it
//! are reached, under their names in known_hosts, and a bad line is exit 2
//! naming the file and line. Then for real, on the playground: `playground
//! up --names-only` (a kolla multinode of names plus `network_interface`)
//! deploys to HEALTH_OK, render names what needs facts and renders with
//! `--gather-facts`; and a ceph-ansible-style inventory (`monitor_interface`
//! in host_vars, `public_network` in group_vars/all, an
//! `osd_crush_location`) deploys to HEALTH_OK with the OSD host in its
//! rack. Installs and starts Docker when it is missing (through `up`
//! itself); never skips.

use std::path::{Path, PathBuf};

use crate::sshd::Fleet;
use crate::support::{long_cephalo as cephalo, output_text as text};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hosts_named_only_in_the_ssh_hosts_file_are_reached_under_their_names() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let name = |i: usize| format!("cephalo-hf-node{}", i + 1);
    // The inventory names the hosts only; their addresses are in `hosts`.
    let mut inv = String::from("[hosts]\n");
    let mut hosts = String::from("# names for cephalo only\n");
    let mut known = String::new();
    for (i, h) in fleet.hosts.iter().enumerate() {
        inv += &format!(
            "{} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
            name(i),
            h.port,
            fleet.user,
            fleet.client_key.display()
        );
        hosts += &format!("{} {}\n", h.addr, name(i));
        // Host keys under the name, as OpenSSH keeps them.
        known += &fleet
            .known_hosts_line(i)
            .replace(&format!("[{}]", h.addr), &format!("[{}]", name(i)));
        known.push('\n');
    }
    let inventory = dir.path().join("inventory");
    std::fs::write(&inventory, inv).unwrap();
    let hosts_file = dir.path().join("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, known).unwrap();
    let run = |hosts_file: Option<&Path>| {
        let mut c = cephalo();
        c.env("HOME", dir.path())
            .args(["run", "-i"])
            .arg(&inventory)
            .arg("--known-hosts")
            .arg(&known_hosts)
            .arg("--log-dir")
            .arg(dir.path().join("logs"));
        if let Some(f) = hosts_file {
            c.arg("-e").arg(format!("ssh_hosts_file={}", f.display()));
        }
        c.args(["--", "sh", "-c", "echo $SSH_CONNECTION | cut -d' ' -f3"])
            .output()
            .unwrap()
    };
    let out = run(Some(&hosts_file));
    assert!(out.status.success(), "{}", text(&out));
    for (i, h) in fleet.hosts.iter().enumerate() {
        assert!(
            stdout(&out).contains(&format!("{} | CHANGED | rc=0 >>\n{}\n", name(i), h.addr)),
            "{}",
            text(&out)
        );
    }
    // Without it the names resolve nowhere: unreachable, each named.
    let out = run(None);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("{} | UNREACHABLE |", name(0))),
        "{}",
        text(&out)
    );
    // A line that is not `IP NAME...`: bad input naming the file and line.
    let bad = dir.path().join("bad-hosts");
    std::fs::write(&bad, "10.0.0.1 a\ncephalo-hf-node1 10.0.0.2\n").unwrap();
    let out = run(Some(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "{}:2: `cephalo-hf-node1` is not an IP address",
            bad.display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn render_names_the_mons_that_need_facts_and_gathering_from_an_unreachable_host_is_exit_5() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for f in ["multinode", "globals.yml"] {
        std::fs::copy(
            repo.join("tests/fixtures/kolla-names-only").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    std::fs::copy(
        repo.join("tests/corpus/good/passwords.yml"),
        dir.path().join("passwords.yml"),
    )
    .unwrap();
    crate::support::private_if_secrets(&dir.path().join("passwords.yml"));
    let render = |more: &[&str]| {
        cephalo()
            .env("HOME", dir.path())
            .args(["render", "-i"])
            .arg(dir.path().join("multinode"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--log-dir")
            .arg(dir.path().join("logs"))
            .args(more)
            .output()
            .unwrap()
    };
    // Without facts: each mon named, with where its address comes from
    // and both ways out; nothing connected to, nothing written.
    let out = render(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for mon in ["control01", "control02", "control03"] {
        assert!(
            text(&out).contains(&format!(
                "the address of mon `{mon}` comes from interface eth2 (storage_interface), which needs the host's facts: add --gather-facts (render then connects to the host), or set public_address for `{mon}`"
            )),
            "{}",
            text(&out)
        );
    }
    assert!(!dir.path().join("out").exists());
    assert!(!dir.path().join("logs").exists());
    // With --gather-facts, a host that does not answer is unreachable
    // (exit 5), named with the step.
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 control01 control02 control03 storage01 storage02 compute01 network01 monitoring01\n",
    )
    .unwrap();
    let out = render(&[
        "--gather-facts",
        "-e",
        &format!("ssh_hosts_file={}", hosts.display()),
        "-e",
        "ansible_port=1",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        stdout(&out).contains("control01 | gather addresses | "),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("out").exists());
}

/// Tears the playground down when the test ends, also when it fails.
struct Playground {
    dir: tempfile::TempDir,
}

impl Playground {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = cephalo()
            .args(["playground", "down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

/// `playground up --names-only` with its own name on `subnet`, and
/// `extra` options.
fn up(name: &str, subnet: &str, extra: &[&str]) -> (Playground, String) {
    let pg = Playground {
        dir: tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .unwrap(),
    };
    let out = cephalo()
        .args(["playground", "up", "--names-only", "--release", "pacific"])
        .args(["--name", name, "--subnet", subnet])
        .args(extra)
        .arg("--dir")
        .arg(pg.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "up failed:\n{}", text(&out));
    (pg, stdout(&out))
}

/// `cephalo run` of `argv` on ceph1 of an inventory, with more options
/// (the run log beside the inventory).
fn on_ceph1(inventory: &Path, more: &[&str], argv: &[&str]) -> std::process::Output {
    let logs = inventory.parent().unwrap_or(Path::new(".")).join("logs");
    cephalo()
        .args(["run", "--limit", "ceph1", "-b", "-i"])
        .arg(inventory)
        .arg("--log-dir")
        .arg(logs)
        .args(more)
        .arg("--")
        .args(argv)
        .output()
        .unwrap()
}

#[test]
fn names_only_inventories_of_kolla_and_ceph_ansible_deploy_to_health_ok() {
    let pid = std::process::id();
    let subnet = format!("10.88.{}.0/24", pid % 250);
    let prefix = subnet.trim_end_matches("0/24").to_string();

    // kolla: the playground's own names-only multinode, deployed by `up`.
    let (pg, up_out) = up(&format!("cephalo-names-{pid}"), &subnet, &[]);
    assert!(up_out.contains("HEALTH_OK"), "{up_out}");
    let inventory = std::fs::read_to_string(pg.file("inventory")).unwrap();
    assert!(
        !inventory.contains("ansible_host") && !inventory.contains("public_address"),
        "{inventory}"
    );
    let globals = std::fs::read_to_string(pg.file("globals.yml")).unwrap();
    assert!(globals.contains("network_interface: eth0"), "{globals}");
    assert!(globals.contains("ssh_hosts_file:"), "{globals}");
    let hosts = std::fs::read_to_string(pg.file("hosts")).unwrap();
    assert!(hosts.contains(&format!("{prefix}11 ceph1\n")), "{hosts}");
    // The hosts find each other by name.
    let out = on_ceph1(&pg.file("inventory"), &[], &["getent", "hosts", "ceph2"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("{prefix}12")),
        "{}",
        text(&out)
    );
    // render needs the facts for the mons' addresses ...
    let render = |more: &[&str]| {
        cephalo()
            .args(["render", "-i"])
            .arg(pg.file("inventory"))
            .arg("--out")
            .arg(pg.file("rendered"))
            .arg("--log-dir")
            .arg(pg.file("logs"))
            .args(more)
            .output()
            .unwrap()
    };
    let out = render(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out)
            .contains("the address of mon `ceph1` comes from interface eth0 (network_interface)")
            && text(&out).contains("add --gather-facts"),
        "{}",
        text(&out)
    );
    // ... and gathers them when asked.
    let out = render(&["--gather-facts"]);
    assert!(out.status.success(), "{}", text(&out));
    let conf = walk(&pg.file("rendered/ceph1"))
        .into_iter()
        .find(|p| p.ends_with("ceph.conf"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .expect("a rendered ceph.conf for ceph1");
    assert!(
        conf.contains(&format!("[v2:{prefix}11:3300,v1:{prefix}11:6789]")),
        "{conf}"
    );
    // The prechecks pass, each host's address learned from eth0.
    let out = cephalo()
        .args(["prechecks", "-i"])
        .arg(pg.file("inventory"))
        .arg("--log-dir")
        .arg(pg.file("logs"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("network.address") && l.contains(" pass "))
            .count(),
        3,
        "{}",
        stdout(&out)
    );
    drop(pg);

    // ceph-ansible: `hosts` plus group_vars/all and host_vars files without
    // an extension; monitor_interface per mon, public_network in all.
    let (pg, _) = up(&format!("cephalo-ca-{pid}"), &subnet, &["--no-deploy"]);
    let ca = pg.file("ceph-ansible");
    std::fs::create_dir_all(ca.join("group_vars")).unwrap();
    std::fs::create_dir_all(ca.join("host_vars")).unwrap();
    std::fs::write(
        ca.join("hosts"),
        format!(
            "[mons]\nceph1\nceph2\nceph3\n[mgrs]\nceph1\nceph2\n[osds]\nceph1\nceph2\n\
             ceph3 osd_crush_location=\"{{ 'root': 'default', 'rack': 'r1', 'host': 'ceph3' }}\"\n\
             [mdss]\nceph3\n\n[all:vars]\nansible_user=cephalo\nansible_become=true\n\
             ansible_ssh_private_key_file={}\n",
            pg.file("id_ed25519").display()
        ),
    )
    .unwrap();
    std::fs::write(
        ca.join("group_vars/all"),
        format!("---\ncontainerized_deployment: true\npublic_network: \"{subnet}\"\n"),
    )
    .unwrap();
    for h in ["ceph1", "ceph2", "ceph3"] {
        std::fs::write(ca.join("host_vars").join(h), "monitor_interface: eth0\n").unwrap();
    }
    // The playground's settings for its hosts, without its network lines.
    let globals: String = std::fs::read_to_string(pg.file("globals.yml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("public_network:") && !l.starts_with("network_interface:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(ca.join("globals.yml"), globals).unwrap();
    let common = |c: &mut assert_cmd::Command| {
        c.arg("-i")
            .arg(ca.join("hosts"))
            .arg("--passwords")
            .arg(pg.file("passwords.yml"))
            .arg("--known-hosts")
            .arg(pg.file("known_hosts"))
            .arg("--log-dir")
            .arg(pg.file("logs"));
    };
    let mut deploy = cephalo();
    deploy.arg("deploy");
    common(&mut deploy);
    let out = deploy.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("HEALTH_OK"), "{}", text(&out));
    // ceph3's OSD placed itself in rack r1 (crush_location in its conf).
    let known = pg.file("known_hosts").display().to_string();
    let out = on_ceph1(
        &ca.join("hosts"),
        &["--known-hosts", &known],
        &[
            "docker", "exec", "ceph_mon", "ceph", "osd", "tree", "-f", "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let tree = stdout(&out);
    assert!(tree.contains(r#""name":"r1","type":"rack""#), "{tree}");
    // A second deploy changes nothing.
    let mut again = cephalo();
    again.arg("deploy");
    common(&mut again);
    let out = again.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let printed = stdout(&out);
    let recap: Vec<&str> = printed.lines().filter(|l| l.contains("changed=")).collect();
    assert!(
        !recap.is_empty() && recap.iter().all(|l| l.contains("changed=0 ")),
        "{}",
        text(&out)
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
