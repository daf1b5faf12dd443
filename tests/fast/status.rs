//! `cephalo status` on the fake cluster, on every release the playground
//! serves: every daemon listed with the version it reports; a stopped
//! OSD, a missing mgr, a container of another image and one no role
//! explains flagged; an unreachable host shown while the others are still
//! answered; an unfinished upgrade shown. The health summary is read from
//! each release's real `ceph status` too.

use std::path::Path;

use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::status::{self, Status};
use cephalo::transport::Endpoint;

const HOSTS: [&str; 3] = ["ceph1", "ceph2", "ceph3"];
const RELEASES: [Release; 4] = [
    Release::Nautilus,
    Release::Pacific,
    Release::Reef,
    Release::Tentacle,
];

fn model(dir: &Path, release: Release) -> Cluster {
    let mut inv = String::from("[playground]\n");
    for (i, h) in HOSTS.iter().enumerate() {
        inv += &format!("{h} ansible_host=10.77.0.1{i} public_address=10.77.0.1{i}\n");
    }
    inv += "[mons]\nceph[1:3]\n[mgrs]\nceph[1:3]\n[osds]\nceph[1:3]\n";
    std::fs::write(dir.join("inventory"), inv).unwrap();
    std::fs::write(
        dir.join("globals.yml"),
        format!(
            "ceph_release: {}\npublic_network: 10.77.0.0/24\nceph_osd_devices: [/dev/vdb]\n",
            release.name()
        ),
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

/// A healthy cluster of the model's release: on each host a mon, a mgr
/// and one OSD (osd.0 on ceph1 ...).
fn world(cluster: &Cluster) -> FakeTransport<FakeCluster> {
    FakeTransport::new(FakeCluster::deployed(
        cluster.release,
        &cluster.image,
        &HOSTS,
        1,
    ))
}

async fn status_of(cluster: &Cluster, t: &FakeTransport<FakeCluster>, dir: &Path) -> Status {
    let hosts: Vec<Endpoint> = cluster.hosts.iter().map(Endpoint::of).collect();
    status::status(cluster, t, &hosts, dir).await
}

fn daemon<'a>(s: &'a Status, host: &str, daemon: &str) -> &'a status::report::Daemon {
    s.hosts
        .iter()
        .find(|h| h.host == host)
        .and_then(|h| h.daemons.iter().find(|d| d.daemon == daemon))
        .unwrap_or_else(|| panic!("no {daemon} on {host}: {s:#?}"))
}

#[tokio::test]
async fn a_healthy_cluster_lists_every_daemon_with_its_version_on_every_release() {
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let cluster = model(dir.path(), release);
        let t = world(&cluster);
        let s = status_of(&cluster, &t, dir.path()).await;
        assert!(s.flagged.is_empty(), "{release}: {:#?}", s.flagged);
        assert_eq!((s.unreachable(), s.failed()), (0, 0));
        let h = s.health.as_ref().expect("health");
        assert_eq!(h.status, "HEALTH_OK", "{release}");
        assert_eq!(h.quorum, HOSTS);
        assert_eq!((h.osds, h.osds_up), (3, 3), "{release}");
        let version = cephalo::ceph::parse_version(&cephalo::fake::ceph::version_string(release))
            .unwrap()
            .to_string();
        for (i, host) in HOSTS.iter().enumerate() {
            for d in [
                format!("mon.{host}"),
                format!("mgr.{host}"),
                format!("osd.{i}"),
            ] {
                let row = daemon(&s, host, &d);
                assert_eq!(
                    row.version.as_deref(),
                    Some(version.as_str()),
                    "{release} {d}"
                );
                assert_eq!(row.state, "running");
                assert_eq!(row.image, cluster.image);
                assert!(row.uptime_s.is_some(), "{d}");
            }
        }
        let text = status::report::text(&s);
        assert!(text.contains("health: HEALTH_OK"), "{text}");
        assert!(text.contains("osd.2"), "{text}");
        assert!(!text.contains("FLAGGED"), "{text}");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["hosts"][0]["daemons"][0]["version"], version.as_str());
    }
}

#[tokio::test]
async fn stopped_missing_foreign_and_unexplained_containers_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Reef);
    let t = world(&cluster);
    t.world(|w| {
        let c2 = w.hosts.get_mut("ceph2").unwrap();
        c2.containers.get_mut("ceph_osd_1").unwrap().running = false;
        c2.containers.get_mut("ceph_mgr").unwrap().restarts = 7;
        let c3 = w.hosts.get_mut("ceph3").unwrap();
        c3.containers.remove("ceph_mgr");
        c3.add_container("ceph_exporter", "quay.io/ceph/ceph:v18", &[]);
        let c1 = w.hosts.get_mut("ceph1").unwrap();
        c1.containers.remove("ceph_mon");
        c1.add_container("ceph_mon", "quay.io/ceph/ceph:v18.2.7", &[]);
        w.releases
            .insert("quay.io/ceph/ceph:v18.2.7".into(), Release::Reef);
        w.sync();
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    let osd1 = daemon(&s, "ceph2", "osd.1");
    assert_eq!(osd1.state, "exited");
    assert_eq!(osd1.flags, ["not running (exited)"]);
    assert_eq!(osd1.uptime_s, None);
    assert_eq!(daemon(&s, "ceph2", "mgr.ceph2").restarts, 7);
    assert!(daemon(&s, "ceph2", "mgr.ceph2").flags.is_empty());
    let mgr3 = daemon(&s, "ceph3", "mgr.ceph3");
    assert_eq!(mgr3.state, "missing");
    let exporter = daemon(&s, "ceph3", "ceph_exporter");
    assert_eq!(
        exporter.flags,
        ["no inventory role explains this container"]
    );
    let mon1 = daemon(&s, "ceph1", "mon.ceph1");
    assert_eq!(
        mon1.flags,
        [format!(
            "image quay.io/ceph/ceph:v18.2.7 is not the configured {}",
            cluster.image
        )]
    );
    assert_eq!(s.flagged.len(), 4, "{:#?}", s.flagged);
    assert!(s.flagged.iter().any(|f| f.starts_with("ceph2 osd.1: ")));
    let h = s.health.as_ref().unwrap();
    assert_ne!(h.status, "HEALTH_OK");
    assert_eq!(h.osds_up, 2);
    assert!(status::report::text(&s).contains("FLAGGED"));
}

#[tokio::test]
async fn an_unreachable_host_is_shown_and_the_rest_still_answered() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Pacific);
    let t = world(&cluster);
    t.world(|w| w.hosts.get_mut("ceph3").unwrap().reachable = false);
    let s = status_of(&cluster, &t, dir.path()).await;
    assert_eq!(s.unreachable(), 1);
    let c3 = s.hosts.iter().find(|h| h.host == "ceph3").unwrap();
    assert!(!c3.reachable);
    assert!(
        c3.error.as_deref().unwrap().contains("cannot connect"),
        "{c3:?}"
    );
    assert_eq!(daemon(&s, "ceph1", "osd.0").state, "running");
    assert_eq!(daemon(&s, "ceph2", "mon.ceph2").state, "running");
    // The mons that answer still give the health.
    assert!(s.health.is_some());
    assert!(status::report::text(&s).contains("ceph3 UNREACHABLE: "));
}

#[tokio::test]
async fn no_mon_answering_is_flagged_and_an_unfinished_upgrade_shown() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Reef);
    let t = world(&cluster);
    let j = cephalo::upgrade::journal::Journal::new(
        "ceph",
        &cluster.fsid.to_string(),
        Release::Pacific,
        Release::Reef,
    );
    t.world(|w| {
        w.ceph
            .config_keys
            .insert("cephalo/upgrade/ceph".into(), j.to_line());
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    let u = s.upgrade.as_deref().expect("the upgrade");
    assert!(u.contains("pacific -> reef: in progress"), "{u}");
    assert!(status::report::text(&s).contains(u));

    t.world(|w| {
        for h in w.hosts.values_mut() {
            h.containers.get_mut("ceph_mon").unwrap().running = false;
        }
        w.sync();
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    assert!(s.health.is_none());
    assert!(
        s.flagged
            .iter()
            .any(|f| f.starts_with("cluster: no health summary")),
        "{:#?}",
        s.flagged
    );
}

/// Half way through Pacific -> Reef (ceph1's mon moved to the Reef
/// image), status shows the upgrade and flags only what it did not move:
/// the moved mon is where the upgrade put it, not "not the configured
/// image"; and the first mon crash-looping does not keep the health away.
#[tokio::test]
async fn daemons_an_upgrade_in_progress_moved_are_not_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Pacific);
    let t = world(&cluster);
    let reef = "quay.io/ceph/ceph:v18";
    let mut j = cephalo::upgrade::journal::Journal::new(
        "ceph",
        &cluster.fsid.to_string(),
        Release::Pacific,
        Release::Reef,
    );
    j.image = Some(reef.into());
    t.world(|w| {
        w.releases.insert(reef.into(), Release::Reef);
        w.ceph
            .config_keys
            .insert("cephalo/upgrade/ceph".into(), j.to_line());
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.remove("ceph_mon");
        h.add_container("ceph_mon", reef, &[]);
        w.sync();
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    assert!(s.upgrade.is_some());
    assert!(s.flagged.is_empty(), "{:#?}", s.flagged);
    // The same container on an image no upgrade names is flagged.
    t.world(|w| {
        w.ceph.config_keys.clear();
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    assert!(
        s.flagged
            .iter()
            .any(|f| f.contains("mon.ceph1: image quay.io/ceph/ceph:v18 is not the configured")),
        "{:#?}",
        s.flagged
    );
    // ceph1's mon crash-looping on an image older than its data: the
    // health comes through ceph2, and the mon is flagged as not running.
    t.world(|w| {
        w.releases
            .insert("quay.io/ceph/ceph:v15".into(), Release::Octopus);
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.remove("ceph_mon");
        h.add_container("ceph_mon", "quay.io/ceph/ceph:v15", &[]);
        w.sync();
    });
    let s = status_of(&cluster, &t, dir.path()).await;
    assert!(s.health.is_some(), "{:#?}", s.flagged);
    assert!(
        s.flagged
            .iter()
            .any(|f| f.starts_with("ceph1 mon.ceph1: crash-looping")),
        "{:#?}",
        s.flagged
    );
}

#[test]
fn the_health_summary_of_every_release_real_status() {
    for r in ["nautilus", "pacific", "reef", "tentacle"] {
        let path = format!(
            "{}/tests/fixtures/ceph/{r}/status.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let h = status::report::health(&v);
        assert_eq!(h.status, "HEALTH_OK", "{r}");
        assert_eq!(h.quorum, HOSTS, "{r}");
        assert_eq!((h.osds, h.osds_up, h.osds_in), (3, 3, 3), "{r}");
        assert!(h.pgs > 0, "{r}");
        assert_eq!(
            h.pg_states.iter().map(|(_, c)| c).sum::<u64>(),
            h.pgs,
            "{r}"
        );
    }
}
