//! The release guard on the fake cluster: deploy, reconfigure and tune
//! never run a release other than ceph_release, nor an image older than
//! the daemons or the data it would run on (exit 9, nothing changed); a
//! daemon that cannot be asked is judged by its data's release; a host
//! that cannot be asked refuses the run (exit 5), never reads as empty.

use std::sync::Arc;

use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::Cluster;
use cephalo::release::Release;

use super::golden::{HOSTS, cluster, files, world};
use super::safety::{container_changes, deployed, engine, running_cluster, set_global};

const REEF: &str = "quay.io/ceph/ceph:v18";

async fn guard(
    c: &Cluster,
    t: Arc<FakeTransport<FakeCluster>>,
    command: &str,
) -> Result<(), cephalo::error::Error> {
    cephalo::deploy::release_guard::guard(c, &engine(t, c), command).await
}

/// Every command sent only read: no container made, removed, stopped or
/// started, no script (file writes), no `ceph` that sets anything.
fn reads_only(t: &FakeTransport<FakeCluster>) {
    assert!(
        container_changes(t).is_empty(),
        "{:?}",
        container_changes(t)
    );
    for s in t.sent() {
        let c = &s.command;
        let read = c.starts_with("docker ps ")
            || c.starts_with("docker inspect ")
            || c.starts_with("docker image inspect ")
            || c.ends_with(" ceph --version")
            || c.ends_with(" --version")
            || c.ends_with("mon dump -f json")
            || c.ends_with("osd dump -f json");
        assert!(read, "not a read: {}: {c}", s.host);
    }
}

/// Every daemon container of the world moved to `image`, as an upgrade
/// leaves them (their data then belongs to its release).
fn all_on(t: &FakeTransport<FakeCluster>, image: &str) {
    t.world(|w| {
        for h in w.hosts.values_mut() {
            h.add_image(image);
            for c in h.containers.values_mut() {
                c.image = image.into();
            }
        }
        w.sync();
    });
}

#[tokio::test(start_paused = true)]
async fn a_configured_release_other_than_the_running_one_is_refused() {
    let (_dir, c, world) = running_cluster("reef", "5a7e0000-0000-4000-8000-000000000003");
    let t = Arc::new(FakeTransport::new(world));
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
    });
    for command in ["deploy", "reconfigure", "tune"] {
        t.clear_sent();
        let e = guard(&c, t.clone(), command).await.unwrap_err();
        assert_eq!(e.exit_code(), 9);
        let text = e.to_string();
        for want in [
            &format!(
                "`cephalo {command}` never runs a release other than ceph_release (reef) nor one older than the data"
            ),
            "  ceph1: mgr.ceph1 16.2.15 (pacific) runs another release\n",
            "  ceph3: osd.2 16.2.15 (pacific) runs another release\n",
            "`cephalo upgrade -i ",
            "inventory --to reef`",
            "Nothing was changed.",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        reads_only(&t);
    }

    // Half upgraded (ceph1's mon runs Reef): the rest are named, not it.
    t.world(|w| {
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.add_image(REEF);
        h.containers.remove("ceph_mon");
        h.add_container("ceph_mon", REEF, &[]);
        w.sync();
    });
    let text = guard(&c, t.clone(), "deploy")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(text.matches("runs another release").count(), 8, "{text}");
    assert!(!text.contains("mon.ceph1"), "{text}");

    // All on Reef, the Reef image on every host: passes.
    all_on(&t, REEF);
    guard(&c, t.clone(), "deploy").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_older_configured_release_is_refused_without_pointing_to_upgrade() {
    let (_dir, c, mut world) = running_cluster("octopus", "5a7e0000-0000-4000-8000-000000000004");
    world
        .releases
        .insert("quay.io/ceph/ceph:v15".into(), Release::Octopus);
    for h in world.hosts.values_mut() {
        h.add_image("quay.io/ceph/ceph:v15");
    }
    let t = Arc::new(FakeTransport::new(world));
    let e = guard(&c, t.clone(), "tune").await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.exit_code(), 9);
    for want in [
        "set ceph_release: pacific",
        "image quay.io/ceph/ceph:v15 holds Ceph 15.2.17 (octopus), older than the cluster's min_mon_release pacific",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(!text.contains("cephalo upgrade"), "{text}");
    reads_only(&t);
    let (_dir, c, world) = running_cluster("pacific", "5a7e0000-0000-4000-8000-000000000005");
    guard(&c, Arc::new(FakeTransport::new(world)), "deploy")
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_fresh_cluster_needs_an_image_of_the_configured_release() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let c = cluster(dir.path());
    let t = Arc::new(FakeTransport::new(world(Default::default())));
    guard(&c, t.clone(), "deploy").await.unwrap();
    reads_only(&t);
    // The image is read once per host and image id for the whole run.
    let probes = |t: &FakeTransport<FakeCluster>| {
        t.sent()
            .iter()
            .filter(|s| s.command.contains("--entrypoint=ceph"))
            .count()
    };
    assert_eq!(probes(&t), HOSTS.len());
    guard(&c, t.clone(), "deploy").await.unwrap();
    assert_eq!(probes(&t), HOSTS.len());

    // ceph_release reef with the Pacific image still named: refused
    // before the first daemon is made.
    set_global(dir.path(), "ceph_release", "reef");
    set_global(dir.path(), "ceph_image_tag", "v16");
    let c = cluster(dir.path());
    let e = guard(&c, t.clone(), "deploy").await.unwrap_err();
    assert_eq!(e.exit_code(), 9);
    assert!(
        e.to_string()
            .contains("ceph1: image quay.io/ceph/ceph:v16 holds Ceph 16.2.15 (pacific), not reef"),
        "{e}"
    );
}

/// The downgrade of issue 21: after an upgrade to Reef, ceph_release says
/// reef but ceph_image_tag still names the Pacific image. Deploy would have
/// recreated every daemon on Pacific (the fake's mon then crash-loops on
/// its Reef store, as the real one did); the guard refuses first.
#[tokio::test(start_paused = true)]
async fn the_old_release_image_after_an_upgrade_is_refused_and_nothing_is_recreated() {
    let (dir, t) = deployed().await;
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
    });
    all_on(&t, REEF);
    t.clear_sent();
    set_global(dir.path(), "ceph_release", "reef");
    set_global(dir.path(), "ceph_image_tag", "v16");
    let c = cluster(dir.path());
    let e = guard(&c, t.clone(), "deploy").await.unwrap_err();
    assert_eq!(e.exit_code(), 9);
    let text = e.to_string();
    for want in [
        "image quay.io/ceph/ceph:v16 holds Ceph 16.2.15 (pacific), not reef",
        "set ceph_image_tag",
        "Nothing was changed.",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    reads_only(&t);
    // What the guard prevents, in the fake: a Reef mon made again from
    // the Pacific image crash-loops.
    t.world(|w| {
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.get_mut("ceph_mon").unwrap().image = "quay.io/ceph/ceph:v16".into();
        w.sync();
        assert!(w.hosts["ceph1"].containers["ceph_mon"].restarting);
    });
}

#[tokio::test(start_paused = true)]
async fn a_point_release_older_than_the_daemons_is_a_downgrade() {
    let (dir, t) = deployed().await;
    let older = "quay.io/ceph/ceph:v18.2.4";
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
        w.releases.insert(older.into(), Release::Reef);
        w.image_versions.insert(
            older.into(),
            "ceph version 18.2.4 (e7ad5345525c7aa95470c26863873b581076945d) reef (stable)".into(),
        );
        for h in w.hosts.values_mut() {
            h.add_image(older);
        }
    });
    all_on(&t, REEF);
    t.clear_sent();
    set_global(dir.path(), "ceph_release", "reef");
    set_global(dir.path(), "ceph_image_tag", "v18.2.4");
    let c = cluster(dir.path());
    let e = guard(&c, t.clone(), "reconfigure").await.unwrap_err();
    assert_eq!(e.exit_code(), 9);
    for host in HOSTS {
        let line = e
            .to_string()
            .lines()
            .find(|l| l.starts_with(&format!("  {host}: ")))
            .map(str::to_string)
            .unwrap_or_default();
        assert!(
            line.contains("image quay.io/ceph/ceph:v18.2.4 holds Ceph 18.2.4 (reef), older than ")
                && line.ends_with(" 18.2.7 (reef) (a downgrade)"),
            "{e}"
        );
    }
    reads_only(&t);
}

/// A mon crash-looping on a wrong image: its version cannot be read, so
/// it is judged by the mon map's min_mon_release, not refused for being
/// unknown; with the right image configured, deploy passes the guard and
/// makes the mon again from it, and it is back in quorum.
#[tokio::test(start_paused = true)]
async fn a_crash_looping_mon_is_judged_by_its_data_and_deploy_brings_it_back() {
    let (dir, t) = deployed().await;
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
    });
    all_on(&t, REEF);
    t.world(|w| {
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.get_mut("ceph_mon").unwrap().image = super::golden::IMAGE.into();
        w.sync();
        assert!(w.hosts["ceph1"].containers["ceph_mon"].restarting);
        assert_eq!(w.ceph.quorum(), ["ceph2", "ceph3"]);
    });
    set_global(dir.path(), "ceph_release", "reef");
    let c = cluster(dir.path());
    assert_eq!(c.image, REEF);
    guard(&c, t.clone(), "deploy").await.unwrap();
    let recap = super::golden::deploy(t.clone(), c).await;
    assert!(
        !recap.any_failed(),
        "{}",
        cephalo::engine::recap_text(&recap)
    );
    t.world(|w| {
        let mon = &w.hosts["ceph1"].containers["ceph_mon"];
        assert_eq!(mon.image, REEF);
        assert!(mon.running && !mon.restarting);
        assert_eq!(w.ceph.quorum(), ["ceph1", "ceph2", "ceph3"]);
    });
}

/// Unknown is never empty: a host that cannot be asked refuses the run
/// with the unreachable exit code, naming it.
#[tokio::test(start_paused = true)]
async fn a_host_that_cannot_be_asked_refuses_the_run() {
    let (_dir, c, mut world) = running_cluster("pacific", "5a7e0000-0000-4000-8000-000000000006");
    world.hosts.get_mut("ceph2").unwrap().reachable = false;
    let t = Arc::new(FakeTransport::new(world));
    let e = guard(&c, t.clone(), "deploy").await.unwrap_err();
    assert_eq!(e.exit_code(), 5, "{e}");
    assert!(e.to_string().contains("ceph2: cannot connect"), "{e}");
    reads_only(&t);
}

/// The globals keys an upgrade tells the operator to set: only those that
/// differ from what makes the model name the upgraded image.
#[test]
fn the_keys_that_name_an_image_are_only_those_that_differ() {
    use cephalo::model::image::keys_for;
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let settings = |tag: &str, registry: &str, namespace: &str| {
        set_global(dir.path(), "ceph_image_tag", tag);
        set_global(dir.path(), "ceph_image_registry", registry);
        set_global(dir.path(), "ceph_image_namespace", namespace);
        cluster(dir.path()).settings
    };
    let reef = Release::Reef;
    let up = settings("\"\"", "quay.io", "ceph");
    assert!(keys_for(&up, reef, "quay.io/ceph/ceph:v18").is_empty());
    assert_eq!(
        keys_for(&up, reef, "quay.io/ceph/ceph:v18.2.7"),
        [("ceph_image_tag", "v18.2.7".to_string())]
    );
    // The playground's images: a release name as the tag, no registry.
    let pg = settings("pacific", "\"\"", "cephalo");
    assert_eq!(
        keys_for(&pg, reef, "cephalo/ceph:reef"),
        [("ceph_image_tag", "reef".to_string())]
    );
    // Another registry, with a port, and a deeper namespace.
    assert_eq!(
        keys_for(&up, reef, "registry.local:5000/mirror/ceph/ceph:v18.2.7"),
        [
            ("ceph_image_registry", "registry.local:5000".to_string()),
            ("ceph_image_namespace", "mirror/ceph".to_string()),
            ("ceph_image_tag", "v18.2.7".to_string()),
        ]
    );
}

/// After an upgrade, the keys the upgrade names (ceph_release, and the
/// image keys where they differ) make `deploy --check` find no container
/// to change; before them, every daemon would be made again on the old
/// release (what the guard then refuses).
#[tokio::test(start_paused = true)]
async fn after_an_upgrade_its_keys_make_deploy_check_clean() {
    use super::upgrade_run::{pacific, run_upgrade, target};
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    let o = run_upgrade(dir.path(), &t).await;
    assert!(o.restored.is_none());
    let container_drift = |c: Cluster| {
        let t = t.clone();
        async move {
            let c = Arc::new(c);
            let notes = cephalo::tune::Notes::default();
            let plan =
                cephalo::deploy::check_plan(&c, &super::safety::selected(&c), true, false, &notes);
            let recap = engine(t, &c).run(&plan).await;
            assert!(
                !recap.any_failed(),
                "{}",
                cephalo::engine::recap_text(&recap)
            );
            let notes = notes.lock().unwrap();
            notes
                .values()
                .flatten()
                .filter(|l| l.drift && l.text.starts_with("ceph_"))
                .count()
        }
    };
    assert!(container_drift(cluster(dir.path())).await > 0);
    let upgraded = target(dir.path());
    let mut keys = vec![("ceph_release", "reef".to_string())];
    keys.extend(cephalo::model::image::keys_for(
        &cluster(dir.path()).settings,
        Release::Reef,
        &upgraded.image,
    ));
    for (k, v) in keys {
        set_global(dir.path(), k, &v);
    }
    assert_eq!(container_drift(cluster(dir.path())).await, 0);
}

/// `deploy --check --diff` says field by field how a daemon to recreate
/// differs, an image change with both Ceph versions and the guard's word.
#[tokio::test(start_paused = true)]
async fn check_diff_shows_the_image_versions_and_fields_of_a_container() {
    let (dir, t) = deployed().await;
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
    });
    all_on(&t, REEF);
    set_global(dir.path(), "ceph_release", "reef");
    set_global(dir.path(), "ceph_image_tag", "v16");
    set_global(
        dir.path(),
        "ceph_tcmalloc_max_total_thread_cache_bytes",
        "67108864",
    );
    let c = Arc::new(cluster(dir.path()));
    let notes = cephalo::tune::Notes::default();
    let plan = cephalo::deploy::check_plan(&c, &super::safety::selected(&c), true, true, &notes);
    t.clear_sent();
    engine(t.clone(), &c).run(&plan).await;
    let lines: Vec<String> = notes.lock().unwrap()["ceph1"]
        .iter()
        .map(|l| l.text.clone())
        .collect();
    let has = |want: &str| lines.iter().any(|l| l == want);
    assert!(
        has(
            "  ceph_mon: image quay.io/ceph/ceph:v18 -> quay.io/ceph/ceph:v16 (18.2.7 -> 16.2.15: a downgrade, refused)"
        ),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "  ceph_osd_0: env TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: 134217728 -> 67108864"
        )),
        "{lines:#?}"
    );
    assert!(
        container_changes(&t).is_empty(),
        "{:?}",
        container_changes(&t)
    );
}

/// A daemon caught between two crashes reports the old image's version:
/// older than its data, it cannot be running on it, so it is judged by
/// its data (min_mon_release), not as a daemon of another release.
#[test]
fn a_daemon_older_than_its_data_is_judged_by_its_data() {
    use cephalo::deploy::release_guard::{Floor, RunningDaemon, judge};
    let v = cephalo::ceph::parse_version("ceph version 16.2.15 (x) pacific (stable)");
    let mon = RunningDaemon {
        host: "ceph1".into(),
        container: "ceph_mon".into(),
        version: v,
        release: Some(Release::Pacific),
        why: String::new(),
    };
    let floor = Floor {
        mon: Some(Release::Reef),
        osd: Some(Release::Reef),
    };
    assert!(judge(Release::Reef, std::slice::from_ref(&mon), &[], floor).is_empty());
    // Without a floor it is what it says.
    assert_eq!(judge(Release::Reef, &[mon], &[], Floor::default()).len(), 1);
}
