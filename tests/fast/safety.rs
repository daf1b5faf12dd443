//! Safety of deploy, reconfigure and tune on the fake cluster: a container
//! is never removed while its replacement's image is missing, a replaced
//! one is stopped gracefully first, the same tag with new content is
//! recreated, and `ceph` goes through another mon when the first is
//! stopped or crash-looping. The release guard's tests are in `release`.

use std::path::Path;
use std::sync::Arc;

use cephalo::engine::{Engine, Mode, Recap, Reporter};
use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::Cluster;
use cephalo::release::Release;
use cephalo::transport::Endpoint;

use super::golden::{Files, HOSTS, IMAGE, cluster, deploy, files, world};

/// Sets a key of globals.yml (replacing its line, or added).
pub(super) fn set_global(dir: &Path, key: &str, value: &str) {
    let path = dir.join("globals.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{key}:")))
        .map(str::to_string)
        .collect();
    lines.push(format!("{key}: {value}"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

pub(super) fn engine(t: Arc<FakeTransport<FakeCluster>>, cluster: &Cluster) -> Engine {
    Engine {
        transport: t,
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 10,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    }
}

pub(super) fn selected(cluster: &Cluster) -> Vec<String> {
    cluster.hosts.iter().map(|h| h.name.clone()).collect()
}

/// `reconfigure` (without the health wait) on the fake cluster.
async fn reconfigure(t: Arc<FakeTransport<FakeCluster>>, cluster: Cluster) -> Recap {
    let cluster = Arc::new(cluster);
    let plan = cephalo::deploy::plan(&cluster, &selected(&cluster), false, false);
    engine(t, &cluster).run(&plan).await
}

/// Three hosts after a first deploy of Pacific, the sent commands cleared.
pub(super) async fn deployed() -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>) {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let stored: Files = Default::default();
    let t = Arc::new(FakeTransport::new(world(stored)));
    let recap = deploy(t.clone(), cluster(dir.path())).await;
    assert!(
        !recap.any_failed(),
        "{}",
        cephalo::engine::recap_text(&recap)
    );
    t.clear_sent();
    (dir, t)
}

/// Commands that change a container.
pub(super) fn container_changes(t: &FakeTransport<FakeCluster>) -> Vec<String> {
    t.sent()
        .iter()
        .map(|s| format!("{}: {}", s.host, s.command))
        .filter(|c| {
            c.contains(" run -d ")
                || c.contains(" rm ")
                || c.contains(" stop ")
                || c.contains(" start ")
        })
        .collect()
}

pub(super) fn errors(recap: &Recap) -> String {
    recap
        .results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| e.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn an_image_missing_on_the_host_fails_before_any_container_is_touched() {
    let (dir, t) = deployed().await;
    // A new image reference of the same release, on no host yet.
    set_global(dir.path(), "ceph_image_tag", "pacific-v2");
    t.world(|w| {
        w.releases
            .insert("quay.io/ceph/ceph:pacific-v2".into(), Release::Pacific)
    });
    let recap = reconfigure(t.clone(), cluster(dir.path())).await;
    assert!(recap.any_failed());
    let e = errors(&recap);
    assert!(
        e.contains("image quay.io/ceph/ceph:pacific-v2 is not on ceph1")
            && e.contains("nothing was changed")
            && e.contains("cephalo pull"),
        "{e}"
    );
    assert!(
        container_changes(&t).is_empty(),
        "{:#?}",
        container_changes(&t)
    );
    t.world(|w| {
        for h in w.hosts.values() {
            for c in h.containers.values() {
                assert!(c.running && c.starts == 1 && c.image == IMAGE, "{c:?}");
            }
        }
    });
}

#[tokio::test(start_paused = true)]
async fn a_replaced_container_is_stopped_gracefully_then_removed_then_run() {
    let (dir, t) = deployed().await;
    // A larger TCMalloc cache changes the OSDs' spec; they get 90 s to stop.
    set_global(
        dir.path(),
        "ceph_tcmalloc_max_total_thread_cache_bytes",
        "268435456",
    );
    set_global(dir.path(), "ceph_osd_stop_timeout", "90");
    let recap = reconfigure(t.clone(), cluster(dir.path())).await;
    assert!(!recap.any_failed(), "{}", errors(&recap));
    let osd0: Vec<String> = t
        .sent()
        .iter()
        .filter(|s| s.host == "ceph1")
        .map(|s| s.command.clone())
        .skip_while(|c| !c.contains("ceph_osd_0"))
        .filter(|c| c.contains("ceph_osd_0") || c.contains("image inspect"))
        .collect();
    let short: Vec<&str> = osd0
        .iter()
        .map(|c| c.split(" --").next().unwrap_or(c))
        .collect();
    assert_eq!(
        short,
        [
            // The OSD step's own look.
            "docker inspect",
            "docker image inspect",
            // The host's OSDs stopped together (then marked down), once
            // the image they will run from is known to be there.
            "docker image inspect",
            "docker inspect",
            "docker image inspect",
            "docker stop -t 90 ceph_osd_0",
            // Ensure's look: stopped, so removed and run again.
            "docker inspect",
            "docker image inspect",
            "docker rm ceph_osd_0",
            "docker run -d",
        ],
        "{osd0:#?}"
    );
    // Marked down in the map between its stop and its start, so clients
    // wait for no heartbeat grace (Nautilus OSDs do not tell the mons).
    let sent: Vec<String> = t.sent().iter().map(|s| s.command.clone()).collect();
    let at = |what: &str| sent.iter().position(|c| c.contains(what)).unwrap();
    let down = at(" osd down 0 --definitely-dead");
    assert!(
        at("stop -t 90 ceph_osd_0") < down && down < at("run -d --name ceph_osd_0"),
        "{sent:#?}"
    );
    // Only the OSDs (their spec changed), each once, and never `rm -f`.
    let changes = container_changes(&t);
    assert_eq!(changes.len(), 9, "{changes:#?}");
    assert!(
        changes.iter().all(|c| c.contains("ceph_osd_")),
        "{changes:#?}"
    );
    assert!(!changes.iter().any(|c| c.contains("rm -f")));
    t.world(|w| {
        let c = &w.hosts["ceph2"].containers["ceph_osd_1"];
        assert!(c.running);
        assert_eq!(c.env["TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES"], "268435456");
    });
}

#[tokio::test(start_paused = true)]
async fn the_same_tag_with_new_content_is_recreated_and_then_left_alone() {
    let (dir, t) = deployed().await;
    let new_id = format!("sha256:{}", "ab".repeat(32));
    t.world(|w| {
        for h in w.hosts.values_mut() {
            h.images.insert(IMAGE.into(), new_id.clone());
        }
    });
    // --check names the reason, the run recreates every daemon on it.
    let c = Arc::new(cluster(dir.path()));
    let notes = cephalo::tune::Notes::default();
    let check = cephalo::deploy::check_plan(&c, &selected(&c), false, false, &notes);
    engine(t.clone(), &c).run(&check).await;
    let said = format!("{:?}", notes.lock().unwrap());
    assert!(
        said.contains("ceph_mon: image quay.io/ceph/ceph:v16 has new content (")
            && said.contains(" -> abababababab): would be recreated"),
        "{said}"
    );
    assert!(container_changes(&t).is_empty());
    let recap = reconfigure(t.clone(), cluster(dir.path())).await;
    assert!(!recap.any_failed(), "{}", errors(&recap));
    t.world(|w| {
        for h in w.hosts.values() {
            for (name, c) in &h.containers {
                assert_eq!(c.image_id, new_id, "{name}");
                assert!(c.running, "{name}");
            }
        }
    });
    // Then nothing is different: nothing changes.
    t.clear_sent();
    let recap = reconfigure(t.clone(), cluster(dir.path())).await;
    assert!(!recap.any_failed(), "{}", errors(&recap));
    assert!(
        container_changes(&t).is_empty(),
        "{:#?}",
        container_changes(&t)
    );
}

/// A deployed Pacific cluster (one OSD per host) and its model, with an
/// fsid of its own (the mon that answered is remembered per cluster).
pub(super) fn running_cluster(
    release: &str,
    fsid: &str,
) -> (tempfile::TempDir, Cluster, FakeCluster) {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    set_global(dir.path(), "ceph_release", release);
    let mut c = cluster(dir.path());
    c.fsid = fsid.parse().unwrap();
    let world = FakeCluster::deployed(Release::Pacific, IMAGE, &HOSTS, 1);
    (dir, c, world)
}

pub(super) fn stop(t: &FakeTransport<FakeCluster>, host: &str, container: &str) {
    t.world(|w| {
        w.hosts
            .get_mut(host)
            .unwrap()
            .containers
            .get_mut(container)
            .unwrap()
            .running = false;
        w.sync();
    });
}

#[tokio::test(start_paused = true)]
async fn ceph_goes_through_the_next_mon_when_the_first_is_stopped() {
    let (_dir, c, world) = running_cluster("pacific", "5a7e0000-0000-4000-8000-000000000001");
    let t = FakeTransport::new(world);
    stop(&t, "ceph1", "ceph_mon");
    let q = cephalo::ceph::quorum(&c, &t).await.unwrap();
    assert_eq!(q, ["ceph2", "ceph3"]);
    let hosts = |t: &FakeTransport<FakeCluster>| -> Vec<String> {
        t.sent().iter().map(|s| s.host.clone()).collect()
    };
    // ceph1: the call, then the engine asked why (no timeout waited).
    assert_eq!(hosts(&t), ["ceph1", "ceph1", "ceph2"]);
    // The mon that answered is asked first for the rest of the run.
    t.clear_sent();
    let s = cephalo::ceph::ceph_json(&c, &t, &["status"]).await.unwrap();
    assert_eq!(s["health"]["checks"]["MON_DOWN"]["severity"], "HEALTH_WARN");
    assert_eq!(hosts(&t), ["ceph2"]);
    // ceph1 back, ceph2 stopped: the remembered one first, then ceph1.
    t.clear_sent();
    t.world(|w| {
        let c = w.hosts.get_mut("ceph1").unwrap();
        c.containers.get_mut("ceph_mon").unwrap().running = true;
        w.sync();
    });
    stop(&t, "ceph2", "ceph_mon");
    cephalo::ceph::ceph_out(&c, &t, &["-s"], false)
        .await
        .unwrap();
    assert_eq!(hosts(&t), ["ceph2", "ceph2", "ceph1"]);
    // No mon container runs: every mon is tried, each reason said.
    t.clear_sent();
    stop(&t, "ceph1", "ceph_mon");
    stop(&t, "ceph3", "ceph_mon");
    let e = cephalo::ceph::ceph_out(&c, &t, &["-s"], false)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        hosts(&t),
        ["ceph1", "ceph1", "ceph2", "ceph2", "ceph3", "ceph3"]
    );
    assert!(
        e.contains(
            "no mon answered `ceph -s`: ceph1: its ceph_mon container is not running (exited); \
             ceph2: its ceph_mon container is not running (exited); \
             ceph3: its ceph_mon container is not running (exited)"
        ),
        "{e}"
    );
}

/// A mon crash-looping on an image older than its data (the engine says
/// "is restarting", words no list of cephalo's names): the cluster still
/// answers through the next mon, judged by Ceph's own answer, and with
/// `-v` the run says which mon answered and why the first did not.
#[tokio::test(start_paused = true)]
async fn a_crash_looping_first_mon_is_passed_over_by_every_kind_of_call() {
    let (_dir, c, mut world) = running_cluster("pacific", "5a7e0000-0000-4000-8000-000000000011");
    world
        .releases
        .insert("quay.io/ceph/ceph:v15".into(), Release::Octopus);
    let t = FakeTransport::new(world);
    t.world(|w| {
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.remove("ceph_mon");
        h.add_container("ceph_mon", "quay.io/ceph/ceph:v15", &[]);
        w.sync();
        assert!(w.hosts["ceph1"].containers["ceph_mon"].restarting);
    });
    let said = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    {
        let said = said.clone();
        c.learned.reach.lock().unwrap().say =
            Some(Arc::new(move |s: &str| said.lock().unwrap().push(s.into())));
    }
    let q = cephalo::ceph::quorum(&c, &t).await.unwrap();
    assert_eq!(q, ["ceph2", "ceph3"]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let fsid = cephalo::ceph::in_mon_container(
        &c,
        &t,
        &words(&["ceph", "fsid"]),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(!fsid.trim().is_empty());
    let said = said.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0]
            .starts_with("ceph: the cluster answered through mon ceph2 (no answer through ceph1: ")
            && said[0].contains("its ceph_mon container is not running (restarting"),
        "{said:?}"
    );
    // A tool's own failure through a mon the cluster answers through is
    // the cluster's answer: not asked again elsewhere.
    t.clear_sent();
    let e = cephalo::ceph::in_mon_container(
        &c,
        &t,
        &words(&[
            "rbd",
            "--cluster",
            "ceph",
            "info",
            "--format",
            "json",
            "--pool",
            "rbd",
            "--image",
            "none",
        ]),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("error opening image none"), "{e}");
    assert!(t.sent().iter().all(|s| s.host == "ceph2"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn ceph_errors_of_the_cluster_are_not_retried_on_other_mons() {
    let (_dir, c, world) = running_cluster("pacific", "5a7e0000-0000-4000-8000-000000000002");
    let t = FakeTransport::new(world);
    let e = cephalo::ceph::ceph_out(&c, &t, &["auth", "get", "client.nobody"], false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ENOENT"), "{e}");
    assert_eq!(t.sent().len(), 1);
}
