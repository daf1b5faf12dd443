//! Prechecks against real sshd hosts on loopback (all on this machine, so
//! what differs between hosts is seeded for real: a port held by a
//! listener, a wrong hostname, a missing engine, labelled loop devices).
//! Seeds that would change the machine (a time daemon, mounts, firewall
//! rules) go into the namespaces of an isolated fleet, where only the
//! commands its sshd runs see them.

use std::path::{Path, PathBuf};

use assert_cmd::Command as Cli;
use serde_json::Value;

use crate::sshd::Fleet;

/// Writes inventory, globals and passwords for the fleet; `host_vars`
/// adds vars per host index, `globals` extra lines.
pub fn files(
    fleet: &Fleet,
    dir: &Path,
    host_vars: &[(usize, &str)],
    extra_groups: &str,
    globals: &str,
) -> PathBuf {
    let mut inv = String::from("[mons]\n");
    for (i, h) in fleet.hosts.iter().enumerate() {
        let extra: Vec<&str> = host_vars
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, v)| *v)
            .collect();
        inv.push_str(&format!(
            "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_become=yes public_address={} {}\n",
            h.name,
            h.addr,
            h.port,
            fleet.user,
            fleet.client_key.display(),
            h.addr,
            extra.join(" ")
        ));
    }
    inv.push_str(extra_groups);
    std::fs::write(dir.join("inventory"), inv).unwrap();
    std::fs::write(
        dir.join("globals.yml"),
        format!("public_network: 127.0.0.0/8\nosd_pool_default_size: 1\nosd_pool_default_min_size: 1\nosd_memory_target: 268435456\n{globals}"),
    )
    .unwrap();
    assert!(
        Cli::cargo_bin("cephalo")
            .unwrap()
            .args(["genpwd", "-i"])
            .arg(dir.join("inventory"))
            .assert()
            .get_output()
            .status
            .success()
    );
    dir.join("inventory")
}

fn prechecks(fleet: &Fleet, inv: &Path, args: &[&str]) -> (i32, Value) {
    // In the fleet's network, when it has its own.
    let out = fleet
        .client(env!("CARGO_BIN_EXE_cephalo"))
        .args(["prechecks", "--json", "-i"])
        .arg(inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(inv.parent().unwrap().join("logs"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON report: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), json)
}

fn result<'a>(report: &'a Value, id: &str, host: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id && r["host"] == host)
        .unwrap_or_else(|| panic!("no {id} for {host} in {report:#}"))
}

fn level<'a>(report: &'a Value, id: &str, host: &str) -> &'a str {
    result(report, id, host)["level"].as_str().unwrap()
}

pub fn sh(script: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A loop device with GPT partitions of the given names; detached on drop.
pub struct LoopDisk {
    pub dev: String,
    _file: tempfile::NamedTempFile,
}

impl LoopDisk {
    pub fn new(labels: &[&str]) -> LoopDisk {
        let file = tempfile::NamedTempFile::new().unwrap();
        sh(&format!("truncate -s 64M {}", file.path().display()));
        let dev = sh(&format!("losetup -f --show -P {}", file.path().display()));
        let mut script = format!("parted -s {dev} mklabel gpt");
        for (i, l) in labels.iter().enumerate() {
            script.push_str(&format!(" mkpart {l} {}MiB {}MiB", 1 + i * 20, 20 + i * 20));
        }
        sh(&script);
        LoopDisk { dev, _file: file }
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .status();
    }
}

/// Runs a shell script in the fleet's namespaces (only its hosts see what
/// it does).
fn inside(fleet: &Fleet, script: &str, args: &[&str]) {
    let out = fleet
        .inside("sh")
        .args(["-c", script, "sh"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops the chronyd of the fleet's own pid namespace (what --fix started
/// there), never one of the machine or of a container.
fn stop_chronyd(fleet: &Fleet) {
    inside(
        fleet,
        "me=$(readlink /proc/self/ns/pid); for p in /proc/[0-9]*; do [ \"$(readlink $p/ns/pid 2>/dev/null)\" = \"$me\" ] && [ \"$(cat $p/comm 2>/dev/null)\" = chronyd ] && kill ${p#/proc/}; done; true",
        &[],
    );
}

fn machine_hostname() -> String {
    sh("hostname -s 2>/dev/null || hostname")
}

#[test]
fn every_check_passes_and_fails_on_real_hosts() {
    let fleet = Fleet::start(3);
    let dir = tempfile::tempdir().unwrap();
    let good = LoopDisk::new(&[
        "KOLLA_CEPH_OSD_BOOTSTRAP_BS_GOOD1",
        "KOLLA_CEPH_OSD_BOOTSTRAP_BS_GOOD1_D",
    ]);
    let orphan = LoopDisk::new(&["KOLLA_CEPH_OSD_BOOTSTRAP_LOST_J"]);
    // node2's mon port is taken by a listener of this test.
    let _held = std::net::TcpListener::bind((fleet.hosts[1].addr, 6789)).unwrap();
    let me = machine_hostname();
    let vars0 = format!("network_interface=lo ceph_osd_devices={}", good.dev);
    let vars1 = format!(
        "osd_memory_target=10995116277760 ceph_osd_devices={}",
        orphan.dev
    );
    let inv = files(
        &fleet,
        dir.path(),
        &[
            (0, &vars0),
            (1, &vars1),
            (
                2,
                "container_engine=podman network_interface=eth9 ceph_osd_devices=/dev/cephalo-nonexistent",
            ),
        ],
        "\n[osds]\nnode[1:3]\n",
        "",
    );
    // The first host is named as the machine calls itself.
    let text = std::fs::read_to_string(&inv)
        .unwrap()
        .replacen("node1 ", &format!("{me} "), 1)
        .replace("node[1:3]", &format!("{me}\nnode2\nnode3"));
    std::fs::write(&inv, text).unwrap();
    let (code, report) = prechecks(&fleet, &inv, &[]);
    assert_eq!(code, 3, "any failed check exits 3");
    let n0 = me.as_str();
    let expect = [
        ("connection", n0, "pass"),
        ("os", n0, "pass"),
        ("hostname.matches", n0, "pass"),
        ("hostname.matches", "node2", "fail"),
        ("engine.installed", n0, "pass"),
        ("engine.installed", "node3", "fail"),
        ("network.interface", n0, "pass"),
        ("network.interface", "node3", "fail"),
        ("network.public", n0, "pass"),
        ("ports.mon", n0, "pass"),
        ("ports.mon", "node2", "fail"),
        ("resources.memory", n0, "pass"),
        ("resources.memory", "node2", "fail"),
        ("disks.device", n0, "pass"),
        ("disks.device", "node3", "fail"),
        ("disks.bootstrap", n0, "pass"),
        ("disks.partners", n0, "pass"),
        ("disks.partners", "node2", "fail"),
        ("network.mons", n0, "pass"),
    ];
    let wrong: Vec<String> = expect
        .iter()
        .filter(|(id, h, l)| level(&report, id, h) != *l)
        .map(|(id, h, l)| format!("{id} on {h}: wanted {l}, got {}", result(&report, id, h)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Same clock: never a failure (a warning when a loaded machine makes the
    // round trip too long to tell).
    assert_ne!(level(&report, "time.offset", n0), "fail");
    assert!(
        result(&report, "engine.installed", "node3")["value"]
            .as_str()
            .unwrap()
            .contains("podman not found on PATH")
    );
    assert!(
        result(&report, "ports.mon", "node2")["value"]
            .as_str()
            .unwrap()
            .starts_with("6789 held by ")
    );
    assert!(
        result(&report, "disks.partners", "node2")["value"]
            .as_str()
            .unwrap()
            .contains("is the _J partner of `LOST`, which has no data partition")
    );
    assert!(
        result(&report, "disks.device", "node3")["value"]
            .as_str()
            .unwrap()
            .contains("/dev/cephalo-nonexistent does not exist")
    );
    assert!(
        result(&report, "hostname.matches", "node2")["hint"]
            .as_str()
            .unwrap()
            .contains("hostnamectl set-hostname node2")
    );
    // Cluster-wide: pool size against OSD hosts.
    assert_eq!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "cluster.pool_size")
            .unwrap()["level"],
        "pass"
    );
}

#[test]
fn clock_offset_is_measured() {
    // The hosts' sessions run with a clock 5 s ahead (libfaketime).
    let lib = sh("ls /usr/lib/*/faketime/libfaketime.so.1 | head -n 1");
    let fleet = Fleet::start_with_env(1, &[("LD_PRELOAD", &lib), ("FAKETIME", "+5s")]);
    let dir = tempfile::tempdir().unwrap();
    let inv = files(&fleet, dir.path(), &[], "", "");
    let (_, report) = prechecks(&fleet, &inv, &[]);
    assert_eq!(level(&report, "time.offset", "node1"), "fail");
    let v = result(&report, "time.offset", "node1")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(v.starts_with("+5.0") || v.starts_with("+4.9"), "{v}");
}

/// Seeds that would change the machine (a time daemon, a small
/// /var/lib/ceph, a dropped port), each made in the namespaces of an
/// isolated fleet: its own processes, mounts and network. One test, in
/// order; nothing to undo on the machine, also when it fails.
#[test]
fn machine_wide_seeds_time_sync_disk_space_mon_reachability_pid_max_and_fix() {
    let fleet = Fleet::start_isolated(2);
    let dir = tempfile::tempdir().unwrap();
    let devices = "ceph_osd_devices=[/dev/x1,/dev/x2,/dev/x3,/dev/x4,/dev/x5]";
    let inv = files(&fleet, dir.path(), &[(1, devices)], "\n[osds]\nnode2\n", "");

    // No time daemon (the fleet's pid namespace has none, whatever the
    // machine runs); pid_max too low for five OSDs (32768 < 36864).
    let (_, report) = prechecks(&fleet, &inv, &[]);
    assert_eq!(level(&report, "time.sync", "node1"), "fail", "{report:#}");
    assert_eq!(level(&report, "resources.pid_max", "node1"), "pass");
    assert_eq!(level(&report, "resources.pid_max", "node2"), "fail");
    assert_eq!(level(&report, "resources.disk", "node1"), "pass");

    // --fix starts the installed chrony, and the check passes after. The
    // hosts' chrony.conf (the fleet's copy) gets no network source: a test
    // sends no traffic beyond this machine (Debian's default asks the public
    // NTP pool). Its state stays in the fleet's folder, and in there
    // chronyd runs with -x (never steers the clock; tests/it/sandbox.sh).
    std::fs::write(
        fleet.etc("chrony/chrony.conf"),
        format!(
            "# cephalo tests: no network time source\nlocal stratum 10\nbindcmdaddress 127.0.0.1\nbindcmdaddress /\npidfile {}\n",
            fleet.dir.path().join("chronyd.pid").display()
        ),
    )
    .unwrap();
    let (_, report) = prechecks(&fleet, &inv, &["--fix", "--limit", "node1"]);
    assert_eq!(level(&report, "time.sync", "node1"), "pass", "{report:#}");
    assert_eq!(result(&report, "time.sync", "node1")["value"], "chronyd");
    assert!(
        report["fixed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fixed"] == "started the time sync service"),
        "{report:#}"
    );
    stop_chronyd(&fleet);

    // /var/lib/ceph on a 100 MiB file system: too little room.
    inside(
        &fleet,
        SMALL_VAR_LIB_CEPH,
        &[&fleet.dir.path().display().to_string()],
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains("cephalo-it"),
        "the machine sees a seed:\n{mounts}"
    );
    let (_, report) = prechecks(&fleet, &inv, &["--limit", "node1"]);
    inside(
        &fleet,
        "umount -R /var/lib && umount -R \"$1/var-lib\"",
        &[&fleet.dir.path().display().to_string()],
    );
    assert_eq!(
        level(&report, "resources.disk", "node1"),
        "fail",
        "{report:#}"
    );
    assert!(
        result(&report, "resources.disk", "node1")["value"]
            .as_str()
            .unwrap()
            .contains("free on /var/lib/ceph"),
        "{report:#}"
    );

    // node2's mon ports silently dropped (in the fleet's network): node1
    // cannot reach its peer.
    let rule = [
        "INPUT",
        "-d",
        &fleet.hosts[1].addr.to_string(),
        "-p",
        "tcp",
        "-m",
        "multiport",
        "--dports",
        "3300,6789",
        "-j",
        "DROP",
    ]
    .map(str::to_string);
    inside(
        &fleet,
        "iptables -I \"$@\"",
        &rule.each_ref().map(String::as_str),
    );
    let machine_rules = sh("iptables -S INPUT");
    assert!(
        !machine_rules.contains(&rule[2]),
        "the machine sees a seed:\n{machine_rules}"
    );
    let (_, report) = prechecks(&fleet, &inv, &["--limit", "node1"]);
    inside(
        &fleet,
        "iptables -D \"$@\"",
        &rule.each_ref().map(String::as_str),
    );
    assert_eq!(
        level(&report, "network.mons", "node1"),
        "fail",
        "{report:#}"
    );
    assert!(
        result(&report, "network.mons", "node1")["value"]
            .as_str()
            .unwrap()
            .contains(&format!("{}:3300", fleet.hosts[1].addr))
    );
}

/// In the fleet's mount namespace: /var/lib/ceph on a 100 MiB tmpfs, the
/// other entries of /var/lib the machine's (bind mounts), and nothing
/// created on the machine (/var/lib/ceph may not exist there). $1 is the
/// fleet's folder, where /var/lib stays reachable as var-lib.
const SMALL_VAR_LIB_CEPH: &str = r#"set -eu
keep=$1/var-lib
mkdir "$keep"
mount --rbind /var/lib "$keep"
mount -t tmpfs -o size=1M,mode=755 cephalo-it /var/lib
for e in "$keep"/* "$keep"/.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=${e##*/}
  if [ -L "$e" ]; then cp -P "$e" "/var/lib/$n"; continue; fi
  if [ -d "$e" ]; then mkdir "/var/lib/$n"; else : > "/var/lib/$n"; fi
  mount --rbind "$e" "/var/lib/$n"
done
mkdir -p /var/lib/ceph
mount -t tmpfs -o size=100M cephalo-it /var/lib/ceph
"#;

#[test]
fn an_unreachable_host_is_a_failed_connection() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let inv = files(&fleet, dir.path(), &[], "", "");
    let text = std::fs::read_to_string(&inv).unwrap()
        + "\n[mons]\nghost ansible_host=127.0.0.1 ansible_port=1 public_address=127.0.0.1\n";
    std::fs::write(&inv, text).unwrap();
    let (code, report) = prechecks(&fleet, &inv, &[]);
    assert_eq!(code, 3);
    assert_eq!(level(&report, "connection", "ghost"), "fail");
    assert!(
        result(&report, "connection", "ghost")["value"]
            .as_str()
            .unwrap()
            .contains("cannot connect to 127.0.0.1:1")
    );
    assert_eq!(level(&report, "connection", "node1"), "pass");
}

#[test]
fn table_shows_every_check_per_host() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let inv = files(&fleet, dir.path(), &[], "", "");
    let out = Cli::cargo_bin("cephalo")
        .unwrap()
        .args(["prechecks", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("CHECK")
            && first.contains("HOST")
            && first.contains("VALUE")
            && first.contains("HINT"),
        "{text}"
    );
    assert!(
        text.contains("hostname.matches   node1  FAIL    host calls itself"),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().starts_with("prechecks: "),
        "{text}"
    );
}

/// kolla's all-in-one naming: one host called `localhost` in the
/// inventory, reached over loopback, whose own name is something else. Its
/// name checks pass (the daemon ids are `localhost`), and its pool size 1
/// fits its one OSD host. (Written for the lead's e2e run.)
#[test]
fn a_single_host_named_localhost_passes_its_name_and_pool_checks() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let inv = files(&fleet, dir.path(), &[], "\n[osds]\nnode1\n", "");
    let text = std::fs::read_to_string(&inv)
        .unwrap()
        .replace("node1", "localhost");
    std::fs::write(&inv, text).unwrap();
    let (_code, report) = prechecks(&fleet, &inv, &[]);
    assert_eq!(level(&report, "hostname.matches", "localhost"), "pass");
    assert_eq!(level(&report, "hostname.resolves", "localhost"), "pass");
    assert!(
        result(&report, "hostname.matches", "localhost")["value"]
            .as_str()
            .unwrap()
            .starts_with("`localhost` on a single-host cluster"),
        "{report:#}"
    );
    assert_eq!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "cluster.pool_size")
            .unwrap()["level"],
        "pass"
    );
}
