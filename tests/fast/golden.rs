//! Golden tests on the fake cluster: the exact remote commands a first
//! deploy of three hosts sends, in order per step, and a second deploy
//! that changes nothing (no container made, no file written). Its world
//! and first deploy serve the other fake-cluster tests too.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cephalo::engine::{Engine, Mode, Recap, Reporter};
use cephalo::fake::{FakeCluster, FakeHost, FakeTransport, out};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::transport::Endpoint;

pub(super) const HOSTS: [&str; 3] = ["ceph1", "ceph2", "ceph3"];
pub(super) const IMAGE: &str = "quay.io/ceph/ceph:v16";

pub(super) fn files(dir: &Path) {
    let mut inv = String::from("[playground]\n");
    for (i, h) in HOSTS.iter().enumerate() {
        inv += &format!(
            "{h} ansible_host=10.77.0.1{} public_address=10.77.0.1{}\n",
            i + 1,
            i + 1
        );
    }
    inv += "[mons]\nceph1\nceph2\nceph3\n[mgrs]\nceph1\nceph2\n[osds]\nceph1\nceph2\nceph3\n[mdss]\nceph3\n";
    std::fs::write(dir.join("inventory"), inv).unwrap();
    std::fs::write(
        dir.join("globals.yml"),
        "ceph_release: pacific\npublic_network: 10.77.0.0/24\nenable_ceph_mds: \"yes\"\n\
         ceph_osd_devices: [/dev/vdb]\n",
    )
    .unwrap();
    let passwords = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/good/passwords.yml");
    std::fs::copy(passwords, dir.join("passwords.yml")).unwrap();
    std::fs::set_permissions(
        dir.join("passwords.yml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
}

pub(super) fn cluster(dir: &Path) -> Cluster {
    model::load(&Sources {
        inventory: dir.join("inventory"),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Each host's files (content, mode, owner ids), written by the put
/// script and read by the probe.
pub(super) type Files = Arc<Mutex<BTreeMap<(String, String), (Vec<u8>, String, String)>>>;

fn sha256_hex(b: &[u8]) -> String {
    cephalo::files::sha256_hex(b)
}

/// Three fresh hosts with the image and one KOLLA bootstrap disk each.
pub(super) fn world(files: Files) -> FakeCluster {
    let mut w = FakeCluster::default();
    w.releases.insert(IMAGE.into(), Release::Pacific);
    w.ceph.pgs = 1;
    w.ceph.mons.clear();
    for h in HOSTS {
        let mut host = FakeHost::new();
        host.add_image(IMAGE);
        w.hosts.insert(h.into(), host);
    }
    let labels: Arc<Mutex<BTreeMap<String, String>>> = Arc::new(Mutex::new(
        HOSTS
            .iter()
            .map(|h| (h.to_string(), "KOLLA_CEPH_OSD_BOOTSTRAP_BS".to_string()))
            .collect(),
    ));
    let fs = files.clone();
    w.on_script(move |host, text, args, input| {
        let path = args.first()?.clone();
        let key = (host.to_string(), path);
        let mut fs = fs.lock().unwrap();
        if text.contains("sha256sum <") {
            return Some(match fs.get(&key) {
                Some((content, mode, ids)) => {
                    let names = if ids == "0:0" {
                        "root:root"
                    } else {
                        "ceph:ceph"
                    };
                    out(
                        0,
                        format!("{mode} {names} {ids}\n{}  -\n", sha256_hex(content)),
                    )
                }
                None => out(0, "absent\n"),
            });
        }
        if text.contains("mktemp") {
            let owner = args
                .get(2)
                .filter(|o| !o.is_empty())
                .map_or("0:0", |o| o.as_str());
            let mode = args.get(1).cloned().unwrap_or_default();
            fs.insert(key, (input.to_vec(), mode, owner.to_string()));
            return Some(out(0, ""));
        }
        None
    });
    let l = labels.clone();
    w.on_script(move |host, text, args, _| {
        // Relabelling a created OSD's partitions (sgdisk -c N:NAME).
        if !text.contains("sgdisk") && !text.contains("parted") {
            return None;
        }
        let name = args.iter().find(|a| a.contains("KOLLA_CEPH_DATA"))?;
        labels
            .lock()
            .unwrap()
            .insert(host.to_string(), name.clone());
        Some(out(0, ""))
    });
    w.on_script(move |host, text, _args, _| {
        if !text.contains("=== $1 ===") || !text.contains("blkid") {
            return None;
        }
        let label = l.lock().unwrap()[host].clone();
        Some(out(
            0,
            format!(
                "=== block ===\ndev vdb 12582912 -\nPTTYPE=gpt\n\ndev vdb1 12580864 vdb\nPART_ENTRY_NAME={label}\nPART_ENTRY_UUID=8f3c0e52-6b1a-4c7e-9d2f-{}\n\n=== mounts ===\n=== lvm ===\n",
                &format!("{:012}", host.trim_start_matches("ceph").parse::<u64>().unwrap_or(0))
            ),
        ))
    });
    // The rest of the host scripts (folders, owners, links, udev, sysctl)
    // change nothing the fake models: they succeed.
    w.on_script(|_, _, _, _| Some(out(0, "")));
    w
}

/// A new OSD's uuid is random: shown as `<uuid>`.
fn without_uuids(line: &str) -> String {
    let is_uuid = |w: &str| {
        w.len() == 36
            && w.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    line.split(' ')
        .map(|w| if is_uuid(w) { "<uuid>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn deploy(t: Arc<FakeTransport<FakeCluster>>, cluster: Cluster) -> Recap {
    let cluster = Arc::new(cluster);
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let plan = cephalo::deploy::plan(&cluster, &selected, true, true);
    let engine = Engine {
        transport: t,
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 10,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    };
    engine.run(&plan).await
}

#[tokio::test(start_paused = true)]
async fn a_first_deploy_of_three_hosts_sends_these_commands_and_a_second_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let stored: Files = Default::default();
    let t = Arc::new(FakeTransport::new(world(stored.clone())));
    let recap = deploy(t.clone(), cluster(dir.path())).await;
    let unknown = t.world(|w| w.unknown.clone());
    assert!(
        !recap.any_failed(),
        "{}\nunknown: {unknown:#?}",
        cephalo::engine::recap_text(&recap)
    );
    assert!(
        unknown.is_empty(),
        "commands the fake does not know: {unknown:#?}"
    );
    // Each host's commands in the order it received them (hosts work in
    // parallel, so the interleaving between hosts is not part of it).
    let mut first: Vec<String> = t
        .sent()
        .iter()
        .map(|s| format!("{}: {}", s.host, without_uuids(&s.command)))
        .collect();
    first.sort_by(|a, b| a.split(':').next().cmp(&b.split(':').next()));
    insta::assert_snapshot!("first_deploy_commands", first.join("\n"));
    t.world(|w| {
        assert_eq!(w.ceph.quorum(), HOSTS);
        assert_eq!(w.ceph.osds.len(), 3);
        assert!(
            w.ceph
                .osds
                .values()
                .all(|o| o.running == Some(Release::Pacific))
        );
        assert_eq!(w.ceph.filesystems, ["cephfs"]);
    });

    // A second deploy: every step finds what it wants, nothing changes.
    t.clear_sent();
    let again = deploy(t.clone(), cluster(dir.path())).await;
    assert!(
        !again.any_failed(),
        "{}",
        cephalo::engine::recap_text(&again)
    );
    let changed: u32 = again.hosts.values().map(|c| c.changed as u32).sum();
    let sent = t.sent();
    let changes: Vec<&str> = sent
        .iter()
        .map(|s| s.command.as_str())
        .filter(|c| {
            c.contains(" run -d ")
                || c.contains("mktemp")
                || c.contains(" rm -f ")
                || c.contains(" stop ")
                || c.contains("osd new")
                || c.contains("--mkfs")
        })
        .collect();
    let all: Vec<&str> = sent.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(
        changed,
        0,
        "{}\n{all:#?}",
        cephalo::engine::recap_text(&again)
    );
    assert!(changes.is_empty(), "a second deploy changed: {changes:#?}");
    let starts: Vec<u32> = t.world(|w| {
        w.hosts
            .values()
            .flat_map(|h| h.containers.values().map(|c| c.starts))
            .collect()
    });
    assert!(
        starts.iter().all(|s| *s == 1),
        "a container was restarted: {starts:?}"
    );
}
