//! ceph-ansible's and kolla's ways of naming where a host is, on the fake
//! cluster: addresses learned from interfaces (one `ip -o addr show` per
//! host that needs it, unreachable hosts and missing interfaces named),
//! `osd_crush_location` in the OSD host's ceph.conf (the OSD places itself
//! there at every start; a change restarts only that host's OSDs), and
//! `mds_max_mds` set on the file system once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cephalo::engine::{Engine, Mode, Reporter, recap_text};
use cephalo::facts::addresses::{
    self, Learned, Verdict, failure_of, fill_in, gather, hosts_needing,
};
use cephalo::fake::{FakeCluster, FakeTransport, World, fail, out};
use cephalo::model::{self, Cluster, Sources};
use cephalo::transport::{Command, Endpoint, Output, TransportError};

use super::golden;

/// A kolla multinode with names only: mons on ceph1..3, an OSD-only
/// ceph4, a client, and `network_interface: eth1` in globals.
fn names_only(dir: &Path) -> Cluster {
    std::fs::write(
        dir.join("inventory"),
        "[control]\nceph1\nceph2\nceph3\n[storage]\nceph4\n[admin]\nclient1\n\
         [mons:children]\ncontrol\n[mgrs:children]\ncontrol\n[osds:children]\ncontrol\nstorage\n\
         [clients:children]\nadmin\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("globals.yml"),
        "ceph_release: pacific\npublic_network: 10.88.7.0/24\nnetwork_interface: eth1\n",
    )
    .unwrap();
    let passwords = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/good/passwords.yml");
    std::fs::copy(passwords, dir.join("passwords.yml")).unwrap();
    std::fs::set_permissions(
        dir.join("passwords.yml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    model::load(&Sources {
        inventory: dir.join("inventory"),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Hosts answering `ip -o addr show`: ceph2 has no eth1, ceph3 is down.
struct Interfaces;

impl World for Interfaces {
    fn answer(&mut self, host: &str, cmd: &Command) -> Result<Output, TransportError> {
        if cmd.argv != ["ip", "-o", "addr", "show"] {
            return Ok(fail(127, format!("not scripted: {}", cmd.display())));
        }
        let n = host.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        match host {
            "ceph3" => Err(TransportError::Unreachable {
                host: host.into(),
                target: format!("{host}:22"),
                reason: "no route to host".into(),
            }),
            "ceph2" => Ok(out(
                0,
                "1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 192.168.0.2/24 scope global eth0\n",
            )),
            _ => Ok(out(
                0,
                format!(
                    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                     2: eth0    inet 192.168.0.{n}/24 scope global eth0\n\
                     3: eth1    inet6 fe80::{n}/64 scope link\n\
                     3: eth1    inet 10.88.7.1{n}/24 brd 10.88.7.255 scope global eth1\n"
                ),
            )),
        }
    }
}

fn engine_over(t: Arc<FakeTransport<Interfaces>>, cluster: &Cluster, selected: &[&str]) -> Engine {
    Engine {
        transport: t,
        hosts: cluster
            .hosts
            .iter()
            .filter(|h| selected.contains(&h.name.as_str()))
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 8,
        reporter: Arc::new(Reporter::new(Mode::Json, None).unwrap()),
    }
}

#[tokio::test]
async fn addresses_from_an_interface_are_learned_from_exactly_the_hosts_that_need_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = names_only(dir.path());
    // Names only: SSH goes to the name, which DNS or /etc/hosts resolves.
    assert_eq!(cluster.host("ceph4").unwrap().connection.address, "ceph4");
    assert_eq!(cluster.unresolved_addresses().len(), 5);
    // `--limit ceph4`: ceph4 and every mon (mon_host lists them all); never
    // the client, whose own address nothing uses.
    let selected = ["ceph4".to_string()];
    let needing = hosts_needing(&cluster, &selected);
    assert_eq!(needing, ["ceph1", "ceph2", "ceph3", "ceph4"]);
    let t = Arc::new(FakeTransport::new(Interfaces));
    let engine = engine_over(t.clone(), &cluster, &["ceph4"]);
    let (gathered, recap) = gather(&cluster, &engine, &needing).await;
    // One round trip per host, nothing else.
    let mut sent: Vec<String> = t
        .sent()
        .iter()
        .map(|s| format!("{}: {}", s.host, s.command))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            "ceph1: ip -o addr show",
            "ceph2: ip -o addr show",
            "ceph3: ip -o addr show",
            "ceph4: ip -o addr show"
        ]
    );
    // The unreachable host is named as the SSH layer names it.
    let e = failure_of(&recap, "ceph3")
        .expect("ceph3 failed")
        .to_string();
    assert!(e.contains("ceph3") && e.contains("no route to host"), "{e}");
    assert!(recap.any_unreachable());
    let unresolved = fill_in(&mut cluster, &gathered);
    // The interface's IPv4 address inside public_network.
    let ip = |h: &str| {
        cluster
            .host(h)
            .unwrap()
            .public_address
            .map(|a| a.to_string())
    };
    assert_eq!(ip("ceph1").as_deref(), Some("10.88.7.11"));
    assert_eq!(ip("ceph4").as_deref(), Some("10.88.7.14"));
    assert_eq!(ip("ceph3"), None);
    assert_eq!(ip("client1"), None);
    // ceph2 has no eth1: the message names the host, the interface, what
    // it has, and where network_interface was set.
    let p: Vec<String> = unresolved["ceph2"]
        .errors()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("globals.yml:3 (key `network_interface`)")
            && p[0].contains(
                "host `ceph2` has no interface `eth1` with an address (its interfaces: lo, eth0)"
            ),
        "{}",
        p[0]
    );
    // Each asked host's verdict, as prechecks show it (network.address).
    let learned = Learned { recap, unresolved };
    let verdicts: BTreeMap<String, Verdict> = learned.verdicts(&cluster).into_iter().collect();
    assert_eq!(
        verdicts["ceph1"],
        Verdict::Known(vec!["10.88.7.11 (network_interface)".into()])
    );
    assert!(matches!(&verdicts["ceph2"], Verdict::Unresolved(p) if p.len() == 1));
    assert!(matches!(&verdicts["ceph3"], Verdict::Unreached(e) if e.contains("no route to host")));
    assert_eq!(verdicts.len(), 4);
    // Once every mon is known, ceph.conf lists them.
    let have = addresses::parse("3: eth1    inet 10.88.7.12/24 scope global eth1\n");
    cephalo::model::resolve_host_addresses(&mut cluster, "ceph2", &have).unwrap();
    let have = addresses::parse("3: eth1    inet 10.88.7.13/24 scope global eth1\n");
    cephalo::model::resolve_host_addresses(&mut cluster, "ceph3", &have).unwrap();
    let conf = cephalo::render::ceph_conf(&cluster, cluster.host("ceph4").unwrap()).unwrap();
    assert!(
        conf.contains(
            "mon_host = [v2:10.88.7.11:3300,v1:10.88.7.11:6789],[v2:10.88.7.12:3300,v1:10.88.7.12:6789],[v2:10.88.7.13:3300,v1:10.88.7.13:6789]"
        ),
        "{conf}"
    );
}

#[tokio::test]
async fn hosts_with_addresses_in_the_files_are_never_asked() {
    let dir = tempfile::tempdir().unwrap();
    golden::files(dir.path());
    let cluster = golden::cluster(dir.path());
    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    assert!(hosts_needing(&cluster, &all).is_empty());
}

/// The golden files, with a CRUSH location for ceph1 (host_vars) and
/// `mds_max_mds` (globals); `rack` names ceph1's rack.
fn crush_files(dir: &Path, rack: &str) {
    golden::files(dir);
    std::fs::create_dir_all(dir.join("host_vars")).unwrap();
    std::fs::write(
        dir.join("host_vars/ceph1.yml"),
        format!("osd_crush_location:\n  root: default\n  rack: {rack}\n  host: ceph1\n"),
    )
    .unwrap();
    let g = dir.join("globals.yml");
    let text = std::fs::read_to_string(&g).unwrap();
    std::fs::write(&g, format!("{text}mds_max_mds: 2\n")).unwrap();
}

/// ceph.conf as the deploy wrote it to `host`.
fn conf_on(files: &golden::Files, host: &str) -> String {
    let files = files.lock().unwrap();
    let (content, _, _) = files
        .iter()
        .find(|((h, p), _)| h == host && p.ends_with("/ceph.conf"))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no ceph.conf written to {host}"));
    String::from_utf8(content.clone()).unwrap()
}

/// The OSD containers of each host (a recreated one has a new id).
fn osd_containers(t: &FakeTransport<FakeCluster>) -> BTreeMap<String, Vec<String>> {
    t.world(|w| {
        w.hosts
            .iter()
            .map(|(name, h)| {
                let ids = h
                    .containers
                    .iter()
                    .filter(|(c, _)| c.starts_with("ceph_osd_"))
                    .map(|(_, c)| c.id.clone())
                    .collect();
                (name.clone(), ids)
            })
            .collect()
    })
}

#[tokio::test(start_paused = true)]
async fn crush_location_and_max_mds_are_applied_once_and_a_changed_location_restarts_only_its_host()
{
    let dir = tempfile::tempdir().unwrap();
    crush_files(dir.path(), "r1");
    let stored: golden::Files = Default::default();
    let t = Arc::new(FakeTransport::new(golden::world(stored.clone())));
    let recap = golden::deploy(t.clone(), golden::cluster(dir.path())).await;
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    // The OSD host's ceph.conf places its OSDs; the others keep Ceph's
    // default (host=<name> root=default).
    let conf = conf_on(&stored, "ceph1");
    let osd = conf.split("[osd]").nth(1).unwrap_or_default();
    assert!(
        osd.lines()
            .any(|l| l == "crush_location = root=default rack=r1 host=ceph1"),
        "{conf}"
    );
    assert!(!conf_on(&stored, "ceph2").contains("crush_location"));
    // max_mds set once, on the file system the deploy made.
    let set: Vec<String> = t
        .sent()
        .iter()
        .map(|s| s.command.clone())
        .filter(|c| c.contains("max_mds"))
        .collect();
    assert_eq!(set.len(), 1, "{set:#?}");
    assert!(set[0].ends_with("fs set cephfs max_mds 2"), "{}", set[0]);
    assert_eq!(t.world(|w| w.ceph.fs_settings["cephfs"].0), 2);

    // Again: nothing changes, max_mds is only read.
    t.clear_sent();
    let again = golden::deploy(t.clone(), golden::cluster(dir.path())).await;
    let changed: usize = again.hosts.values().map(|c| c.changed).sum();
    assert_eq!(changed, 0, "{}", recap_text(&again));
    assert!(!t.sent().iter().any(|s| s.command.contains("fs set")));

    // ceph1 moves to another rack: its OSD restarts (and places itself at
    // start), no other OSD does.
    let before = osd_containers(&t);
    crush_files(dir.path(), "r2");
    let moved = golden::deploy(t.clone(), golden::cluster(dir.path())).await;
    assert!(!moved.any_failed(), "{}", recap_text(&moved));
    assert!(conf_on(&stored, "ceph1").contains("crush_location = root=default rack=r2 host=ceph1"));
    let after = osd_containers(&t);
    assert_ne!(after["ceph1"], before["ceph1"], "{before:?} -> {after:?}");
    assert_eq!(after["ceph2"], before["ceph2"]);
    assert_eq!(after["ceph3"], before["ceph3"]);
}
