//! `cephalo map` on the fake cluster (Nautilus's and Reef's answer
//! shapes): `map rbd` lists exactly the image's data objects with the PG
//! computed from each name and that PG's acting set, totals that add up
//! per OSD and per host, images in a namespace and with a data pool; the
//! number of commands does not grow with the objects; `map osd` counts
//! what `map rbd` places there; a missing image, pool or OSD is bad input.

use std::path::Path;

use cephalo::error::{ExitCode, exit};
use cephalo::fake::{FakeCluster, FakeImage, FakeTransport};
use cephalo::map::{self, ImageSpec, MapError};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;

const HOSTS: [&str; 3] = ["ceph1", "ceph2", "ceph3"];
const MIB: u64 = 1 << 20;

fn model(dir: &Path, release: Release) -> Cluster {
    let mut inv = String::from("[playground]\n");
    for (i, h) in HOSTS.iter().enumerate() {
        inv += &format!("{h} ansible_host=10.77.0.1{i} public_address=10.77.0.1{i}\n");
    }
    inv += "[mons]\nceph[1:3]\n[osds]\nceph[1:3]\n";
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

/// Two OSDs a host; pools `rbd` and `ec` (RBD) and `other`; `rbd/vm1`
/// written at 0..10 MiB and 32..33 MiB (objects 0, 1, 2 and 8),
/// `rbd/tenant/vm2` with its data in `ec`, written at 0..6 MiB.
fn world(cluster: &Cluster) -> FakeTransport<FakeCluster> {
    let mut w = FakeCluster::deployed(cluster.release, &cluster.image, &HOSTS, 2);
    for (p, app) in [("rbd", Some("rbd")), ("other", None), ("ec", Some("rbd"))] {
        w.ceph.pools.push(p.into());
        if let Some(a) = app {
            w.ceph.applications.insert(p.into(), vec![a.into()]);
        }
    }
    let mut vm1 = FakeImage::new("rbd", "", "vm1", "1f2e3d4c5b6a", 64 * MIB);
    vm1.written = vec![(0, 10 * MIB), (32 * MIB, MIB)];
    let mut vm2 = FakeImage::new("rbd", "tenant", "vm2", "aa11bb22cc33", 64 * MIB);
    vm2.data_pool = Some("ec".into());
    vm2.written = vec![(0, 6 * MIB)];
    w.rbd = vec![vm1, vm2];
    FakeTransport::new(w)
}

fn spec(s: &str) -> ImageSpec {
    ImageSpec::parse(s).unwrap()
}

#[tokio::test]
async fn map_rbd_places_exactly_the_images_objects() {
    for release in [Release::Nautilus, Release::Reef] {
        let dir = tempfile::tempdir().unwrap();
        let cluster = model(dir.path(), release);
        let t = world(&cluster);
        let m = map::map_rbd(&cluster, &t, &spec("rbd/vm1")).await.unwrap();
        let names: Vec<&str> = m.objects.iter().map(|o| o.object.as_str()).collect();
        assert_eq!(
            names,
            [
                "rbd_data.1f2e3d4c5b6a.0000000000000000",
                "rbd_data.1f2e3d4c5b6a.0000000000000001",
                "rbd_data.1f2e3d4c5b6a.0000000000000002",
                "rbd_data.1f2e3d4c5b6a.0000000000000008",
            ],
            "{release}"
        );
        let bytes: Vec<u64> = m.objects.iter().map(|o| o.bytes).collect();
        assert_eq!(bytes, [4 * MIB, 4 * MIB, 2 * MIB, MIB]);
        assert_eq!((m.total_objects, m.total_bytes), (4, 11 * MIB));
        assert!(m.unplaced.is_empty());
        // Each object's PG is its name's, in pool 1 (`rbd`, 8 PGs), and
        // its OSDs are that PG's acting set in the PG table.
        let pgs = t.world(|w| w.ceph.pgs_brief());
        let table = cephalo::map::placement::pg_table(&pgs);
        for o in &m.objects {
            let seed = cephalo::map::placement::rjenkins(o.object.as_bytes()) & 7;
            assert_eq!(o.pg, format!("1.{seed:x}"), "{}", o.object);
            let a = &table[&cephalo::map::placement::PgId::parse(&o.pg).unwrap()];
            assert_eq!((&o.acting, o.primary), (&a.acting, a.primary));
            assert_eq!(o.acting.len(), 3);
        }
        // Totals: 3 copies of each object, one primary each.
        let sum = |f: fn(&map::report::Load) -> u64| -> u64 {
            m.per_osd.iter().map(|o| f(&o.load)).sum()
        };
        assert_eq!(sum(|l| l.objects), 3 * 4);
        assert_eq!(sum(|l| l.primaries), 4);
        assert_eq!(sum(|l| l.bytes), 3 * 11 * MIB);
        let host_bytes: u64 = m.per_host.iter().map(|h| h.load.bytes).sum();
        assert_eq!(host_bytes, 3 * 11 * MIB);
        for o in &m.per_osd {
            let host = &HOSTS[(o.osd / 2) as usize];
            assert_eq!(&o.host, host, "osd.{}", o.osd);
        }
        let map::report::MostLoaded { osd, share } = m.most_loaded.clone().unwrap();
        let most = m.per_osd.iter().map(|o| o.load.bytes).max().unwrap();
        assert_eq!(
            m.per_osd.iter().find(|o| o.osd == osd).unwrap().load.bytes,
            most
        );
        assert!((share - most as f64 / (11 * MIB) as f64).abs() < 1e-9);
        let text = map::report::image_text(&m);
        assert!(
            text.contains(
                "image rbd/vm1 (rbd_data.1f2e3d4c5b6a, data in pool rbd): 4 objects, 11.0 MiB"
            ),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_image_in_a_namespace_with_a_data_pool() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Reef);
    let t = world(&cluster);
    let m = map::map_rbd(&cluster, &t, &spec("rbd/tenant/vm2"))
        .await
        .unwrap();
    assert_eq!(m.image.data_pool, "ec");
    assert_eq!(m.image.prefix, "rbd_data.1.aa11bb22cc33");
    assert_eq!(m.total_objects, 2);
    assert_eq!(m.total_bytes, 6 * MIB);
    for o in &m.objects {
        // Pool 3 (`ec`), the name hashed after its namespace.
        let seed = cephalo::map::placement::object_hash("tenant", &o.object) & 7;
        assert_eq!(o.pg, format!("3.{seed:x}"));
    }
    // Not in the default namespace.
    let e = map::map_rbd(&cluster, &t, &spec("rbd/vm2"))
        .await
        .unwrap_err();
    assert!(matches!(e, MapError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn the_commands_sent_do_not_grow_with_the_objects() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Reef);
    let t = world(&cluster);
    map::map_rbd(&cluster, &t, &spec("rbd/vm1")).await.unwrap();
    let small = t.sent().len();
    t.clear_sent();
    t.world(|w| w.rbd[0].written = vec![(0, 4096 * MIB)]);
    let m = map::map_rbd(&cluster, &t, &spec("rbd/vm1")).await.unwrap();
    assert_eq!(m.total_objects, 1024);
    assert_eq!(t.sent().len(), small, "{:#?}", t.sent());
    assert!(small <= 7, "{small}");
}

#[tokio::test]
async fn map_osd_counts_what_map_rbd_places_there() {
    for release in [Release::Nautilus, Release::Reef] {
        let dir = tempfile::tempdir().unwrap();
        let cluster = model(dir.path(), release);
        let t = world(&cluster);
        let vm1 = map::map_rbd(&cluster, &t, &spec("rbd/vm1")).await.unwrap();
        let vm2 = map::map_rbd(&cluster, &t, &spec("rbd/tenant/vm2"))
            .await
            .unwrap();
        for osd in 0..6 {
            let m = map::map_osd(&cluster, &t, osd).await.unwrap();
            assert_eq!(m.pools, ["rbd", "ec"], "{release}");
            assert_eq!(m.host, HOSTS[(osd / 2) as usize]);
            for (image, placed) in [("rbd/vm1", &vm1), ("rbd/tenant/vm2", &vm2)] {
                let on = placed.per_osd.iter().find(|o| o.osd == osd);
                let listed = m.images.iter().find(|i| i.image == image);
                match (on, listed) {
                    (Some(o), Some(l)) => {
                        assert_eq!((l.objects, l.primary), (o.load.objects, o.load.primaries));
                        assert_eq!(l.total_objects, placed.total_objects);
                    }
                    (None, None) => {}
                    other => panic!("{release} osd.{osd} {image}: {other:?}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn a_missing_image_pool_or_osd_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = model(dir.path(), Release::Reef);
    let t = world(&cluster);
    for s in ["rbd/nope", "nopool/vm1"] {
        let e = map::map_rbd(&cluster, &t, &spec(s)).await.unwrap_err();
        assert_eq!(e.exit_code(), exit::BAD_INPUT, "{s}: {e}");
    }
    let e = map::map_osd(&cluster, &t, 42).await.unwrap_err();
    assert_eq!(e.exit_code(), exit::BAD_INPUT);
    assert_eq!(e.to_string(), "osd.42 is not in the OSD tree");
    // Every mon down: the cluster cannot be asked.
    t.world(|w| {
        for h in w.hosts.values_mut() {
            h.reachable = false;
        }
    });
    let e = map::map_rbd(&cluster, &t, &spec("rbd/vm1"))
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), exit::UNREACHABLE, "{e}");
}
