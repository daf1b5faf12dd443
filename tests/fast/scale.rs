//! Deploy at scale on the fake cluster: new OSDs on every host at once,
//! existing OSDs restarted host by host (each host's together) after
//! `ok-to-stop`, and `noout` put back as it was, also when a restart fails.
//! Virtual time (tokio's paused clock) orders the commands; no test here
//! measures anything.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cephalo::engine::{Engine, Mode, Recap, Reporter, recap_text};
use cephalo::fake::{FakeCluster, FakeTransport, Sent, fresh};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::transport::{Command, Endpoint};

const IMAGE: &str = "quay.io/ceph/ceph:v16";

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("ceph{i}")).collect()
}

fn load(dir: &Path) -> Arc<Cluster> {
    Arc::new(
        model::load(&Sources {
            inventory: dir.join("inventory"),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}")),
    )
}

async fn play(t: Arc<FakeTransport<FakeCluster>>, cluster: &Arc<Cluster>, create: bool) -> Recap {
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let plan = cephalo::deploy::plan(cluster, &selected, create, create);
    let engine = Engine {
        transport: t,
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 16,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    };
    engine.run(&plan).await
}

/// A cluster of `hosts` x `disks` deployed on the fake, and its files.
async fn deployed(
    hosts: usize,
    disks: usize,
    latency: cephalo::fake::Latency,
) -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>, Recap) {
    let dir = tempfile::tempdir().unwrap();
    let hosts = names(hosts);
    fresh::write_lab(dir.path(), &hosts, disks, "").unwrap();
    let world = FakeCluster::fresh(Release::Pacific, IMAGE, &hosts, disks);
    let t = Arc::new(FakeTransport::new(world).with_latency(latency));
    let recap = play(t.clone(), &load(dir.path()), true).await;
    let unknown = t.world(|w| w.unknown.clone());
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    assert!(unknown.is_empty(), "{unknown:#?}");
    t.world(|w| assert_eq!(w.ceph.osds.len(), hosts.len() * disks));
    (dir, t, recap)
}

/// The globals again, with an `[osd]` override (and `extra`).
fn override_osd(dir: &Path, extra: &str) -> Arc<Cluster> {
    let g = dir.join("globals.yml");
    let text = std::fs::read_to_string(&g).unwrap();
    std::fs::write(
        &g,
        format!("{text}ceph_conf_overrides:\n  osd:\n    osd_max_backfills: 2\n{extra}"),
    )
    .unwrap();
    load(dir)
}

fn no_latency() -> cephalo::fake::Latency {
    Arc::new(|_, _| Duration::ZERO)
}

fn ceph_sent<'a>(sent: &'a [Sent], what: &str) -> Vec<&'a Sent> {
    sent.iter()
        .filter(|s| s.command.contains(&format!("connect-timeout 15 {what}")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_first_deploy_creates_the_osds_of_all_hosts_at_once_and_waits_once() {
    // A mkfs takes 3 s, every other command 20 ms.
    let latency: cephalo::fake::Latency = Arc::new(|_, cmd: &Command| {
        if cmd.argv.iter().any(|a| a == "--mkfs")
            && cmd.argv.iter().any(|a| a == "--entrypoint=ceph-osd")
        {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(20)
        }
    });
    let (_dir, t, _) = deployed(4, 2, latency).await;
    let sent = t.sent();
    let mkfs: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.command.contains("ceph-osd") && s.command.contains("--mkfs"))
        .collect();
    assert_eq!(mkfs.len(), 8);
    // Each ended at `at` after 3 s: all eight ran in one 3 s window, so
    // every host's (and both of a host's) overlapped.
    let first_end = mkfs.iter().map(|s| s.at).min().unwrap();
    let last_end = mkfs.iter().map(|s| s.at).max().unwrap();
    assert!(
        last_end - first_end < Duration::from_secs(3),
        "creations did not overlap: {:?}",
        mkfs.iter().map(|s| (&s.host, s.at)).collect::<Vec<_>>()
    );
    // One `osd dump` per poll of one wait, not one wait per OSD.
    let dumps = ceph_sent(&sent, "osd dump").len();
    assert!((1..=8).contains(&dumps), "{dumps} osd dumps");
    assert!(
        ceph_sent(&sent, "osd set noout").is_empty(),
        "nothing restarted"
    );
}

#[tokio::test(start_paused = true)]
async fn an_osd_override_restarts_host_by_host_each_hosts_osds_together() {
    let (dir, t, _) = deployed(3, 2, no_latency()).await;
    let cluster = override_osd(dir.path(), "");
    t.clear_sent();
    let recap = play(t.clone(), &cluster, false).await;
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    let sent = t.sent();
    // The OSD containers removed (to be made again with the new config),
    // each host's two together, hosts one after another.
    let key = |s: &Sent| s.command.clone();
    let events: Vec<String> = sent
        .iter()
        .filter(|s| {
            (s.command.contains(" rm ") && s.command.contains("ceph_osd_"))
                || s.command.contains("ok-to-stop")
                || s.command.contains("pg stat")
                || s.command.contains("noout")
        })
        .map(|s| {
            let c = key(s);
            if c.contains(" rm ") {
                format!("{}: restart {}", s.host, c.rsplit('_').next().unwrap())
            } else {
                c.split("15 ").nth(1).unwrap_or(&c).to_string()
            }
        })
        .collect();
    insta::assert_snapshot!("osd_override_restarts", events.join("\n"));
    assert_eq!(ceph_sent(&sent, "osd set noout").len(), 1);
    t.world(|w| {
        assert!(!w.ceph.flags.contains("noout"), "noout put back");
        assert!(w.ceph.osds.values().all(|o| o.running.is_some()));
        let mons: Vec<u32> = w
            .hosts
            .values()
            .map(|h| h.containers["ceph_mon"].starts)
            .collect();
        assert_eq!(mons, [1, 1, 1], "mons untouched");
    });
}

#[tokio::test(start_paused = true)]
async fn the_restarts_stop_when_ok_to_stop_says_no_past_the_bound_and_say_why() {
    let (dir, t, _) = deployed(3, 1, no_latency()).await;
    let cluster = override_osd(dir.path(), "ceph_osd_ok_to_stop_timeout: 60\n");
    t.world(|w| w.ceph.refuse_ok_to_stop = 1000);
    t.clear_sent();
    let recap = play(t.clone(), &cluster, false).await;
    assert!(recap.stopped && recap.any_failed());
    let failed: Vec<String> = recap
        .results
        .iter()
        .filter_map(|r| match &r.status {
            cephalo::engine::Status::Failed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("Ceph does not let osd.0 stop") && failed[0].contains("EBUSY"),
        "{}",
        failed[0]
    );
    let sent = t.sent();
    // Asked again after 2, 4, 8, 16 and 30 s: within the 60 s bound.
    let asked = ceph_sent(&sent, "osd ok-to-stop");
    assert_eq!(asked.len(), 6, "{asked:#?}");
    assert!(asked.last().unwrap().at - asked[0].at <= Duration::from_secs(60));
    assert!(
        !sent
            .iter()
            .any(|s| s.command.contains(" rm ") && s.command.contains("ceph_osd_"))
    );
    // The other hosts restarted nothing, and noout is off again.
    let skipped = recap
        .results
        .iter()
        .filter(|r| matches!(r.status, cephalo::engine::Status::Skipped(_)))
        .count();
    assert_eq!(skipped, 2, "{}", recap_text(&recap));
    assert_eq!(ceph_sent(&sent, "osd unset noout").len(), 1);
    t.world(|w| assert!(!w.ceph.flags.contains("noout")));
}

#[tokio::test(start_paused = true)]
async fn noout_is_put_back_when_a_restart_fails_and_left_when_it_was_set() {
    for set_before in [false, true] {
        let (dir, t, _) = deployed(3, 1, no_latency()).await;
        let cluster = override_osd(dir.path(), "");
        // A PG that never becomes clean: the first host's wait fails.
        t.world(|w| {
            w.ceph.stuck = vec!["1.0".into()];
            if set_before {
                w.ceph.flags.insert("noout".into());
            }
        });
        t.clear_sent();
        let recap = play(t.clone(), &cluster, false).await;
        assert!(
            recap.stopped && recap.any_failed(),
            "{}",
            recap_text(&recap)
        );
        let sent = t.sent();
        let restarted: Vec<&str> = sent
            .iter()
            .filter(|s| s.command.contains(" rm ") && s.command.contains("ceph_osd_"))
            .map(|s| s.host.as_str())
            .collect();
        assert_eq!(restarted, ["ceph1"], "one host, then stop");
        let (set, unset) = (
            ceph_sent(&sent, "osd set noout").len(),
            ceph_sent(&sent, "osd unset noout").len(),
        );
        if set_before {
            assert_eq!((set, unset), (0, 0));
            t.world(|w| assert!(w.ceph.flags.contains("noout")));
        } else {
            assert_eq!((set, unset), (1, 1));
            t.world(|w| assert!(!w.ceph.flags.contains("noout")));
        }
    }
}

/// The fake cluster, with the first `ceph-osd --mkfs` on `host` failing.
struct MkfsFailsOnce {
    inner: FakeCluster,
    host: &'static str,
    failed: bool,
}

impl cephalo::fake::World for MkfsFailsOnce {
    fn answer(
        &mut self,
        host: &str,
        cmd: &Command,
    ) -> Result<cephalo::transport::Output, cephalo::transport::TransportError> {
        let mkfs = cmd.argv.iter().any(|a| a == "--mkfs")
            && cmd.argv.iter().any(|a| a == "--entrypoint=ceph-osd");
        if mkfs && host == self.host && !self.failed {
            self.failed = true;
            return Ok(cephalo::fake::fail(1, "mkfs: I/O error"));
        }
        self.inner.answer(host, cmd)
    }
}

#[tokio::test(start_paused = true)]
async fn a_half_failed_parallel_creation_is_completed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = names(3);
    fresh::write_lab(dir.path(), &hosts, 2, "").unwrap();
    let world = MkfsFailsOnce {
        inner: FakeCluster::fresh(Release::Pacific, IMAGE, &hosts, 2),
        host: "ceph2",
        failed: false,
    };
    let t = Arc::new(FakeTransport::new(world));
    let cluster = load(dir.path());
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let engine = || Engine {
        transport: t.clone(),
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 16,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    };
    let plan = || cephalo::deploy::plan(&cluster, &selected, true, true);
    let first = engine().run(&plan()).await;
    assert!(first.stopped && first.hosts["ceph2"].failed == 1);
    // The other hosts made both their OSDs; ceph2 the one whose mkfs worked.
    let running = |t: &FakeTransport<MkfsFailsOnce>| {
        t.world(|w| {
            w.inner
                .hosts
                .iter()
                .map(|(h, fh)| {
                    (
                        h.clone(),
                        fh.containers
                            .keys()
                            .filter(|c| c.starts_with("ceph_osd_"))
                            .count(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        running(&t),
        [
            ("ceph1".into(), 2),
            ("ceph2".into(), 1),
            ("ceph3".into(), 2)
        ]
    );
    // The failed creation's id is in the map, never up: a leftover.
    let ghost = t.world(|w| {
        let down: Vec<u32> = w.inner.ceph.osds_down();
        assert_eq!(w.inner.ceph.osds.len(), 6, "{:?}", w.inner.ceph.osds);
        assert_eq!(down.len(), 1, "{down:?}");
        down[0]
    });
    let before = t.sent().len();
    let again = engine().run(&plan()).await;
    assert!(!again.any_failed(), "{}", recap_text(&again));
    // Purged once, and made again: six OSDs, no ghost left in the map.
    let purges: Vec<String> = t.sent()[before..]
        .iter()
        .filter(|s| s.command.contains("osd purge"))
        .map(|s| s.command.clone())
        .collect();
    assert_eq!(purges.len(), 1, "{purges:?}");
    assert!(
        purges[0].contains(&format!("osd purge {ghost} --yes-i-really-mean-it")),
        "{purges:?}"
    );
    t.world(|w| assert_eq!(w.inner.ceph.osds.len(), 6, "{:?}", w.inner.ceph.osds));
    assert_eq!(
        running(&t),
        [
            ("ceph1".into(), 2),
            ("ceph2".into(), 2),
            ("ceph3".into(), 2)
        ]
    );
    t.world(|w| assert!(w.inner.ceph.osds.values().all(|o| o.running.is_some())));
}

#[tokio::test(start_paused = true)]
async fn a_deploy_stopped_after_the_first_mon_started_is_completed_by_the_next_run() {
    // The first run reaches nothing after ceph1's mon container started
    // (cephalo killed there): ceph1 waits alone, with a monmap of three
    // mons that never met, and no quorum answers `mon getmap`.
    let dir = tempfile::tempdir().unwrap();
    let hosts = names(3);
    fresh::write_lab(dir.path(), &hosts, 1, "").unwrap();
    let mut world = FakeCluster::fresh(Release::Pacific, IMAGE, &hosts, 1);
    let t = Arc::new(FakeTransport::new(FakeCluster::default()));
    let cluster = load(dir.path());
    let first_mon_started = {
        let probe = Arc::new(FakeTransport::new(FakeCluster::fresh(
            Release::Pacific,
            IMAGE,
            &hosts,
            1,
        )));
        play(probe.clone(), &cluster, true).await;
        probe
            .sent()
            .iter()
            .position(|s| s.host == "ceph1" && s.command.contains("run -d --name ceph_mon"))
            .unwrap()
    };
    world.cut_after = Some(first_mon_started + 2);
    t.world(|w| *w = world);
    let first = play(t.clone(), &cluster, true).await;
    assert!(
        first.stopped && first.any_unreachable(),
        "{}",
        recap_text(&first)
    );
    t.world(|w| {
        assert_eq!(w.ceph.mons.keys().collect::<Vec<_>>(), ["ceph1"]);
        assert!(w.ceph.quorum().is_empty() && w.ceph.monmap_epoch() == 0);
        w.cut_after = None;
    });
    let before = t.sent().len();
    let again = play(t.clone(), &cluster, true).await;
    assert!(!again.any_failed(), "{}", recap_text(&again));
    t.world(|w| {
        assert_eq!(w.ceph.quorum(), ["ceph1", "ceph2", "ceph3"]);
        assert_eq!(w.ceph.monmap_epoch(), 1);
        assert_eq!(w.ceph.osds.len(), 3);
    });
    // ceph2 was made from a first monmap of all three, like ceph1; ceph3
    // joined the quorum ceph1 and ceph2 formed.
    let sent = &t.sent()[before..];
    let monmaps: Vec<&str> = sent
        .iter()
        .filter(|s| s.command.contains("--entrypoint=monmaptool"))
        .map(|s| s.host.as_str())
        .collect();
    assert_eq!(monmaps, ["ceph2"]);
    let getmaps: Vec<&str> = sent
        .iter()
        .filter(|s| s.command.contains("mon getmap"))
        .map(|s| s.host.as_str())
        .collect();
    assert_eq!(getmaps.len(), 1, "{getmaps:?}");
}

#[tokio::test(start_paused = true)]
async fn folders_and_keyrings_go_to_the_ceph_user_of_the_image() {
    // An upstream image: its ceph user is 167, not Debian's 64045.
    let dir = tempfile::tempdir().unwrap();
    let hosts = names(3);
    fresh::write_lab(dir.path(), &hosts, 1, "").unwrap();
    let mut world = FakeCluster::fresh(Release::Pacific, IMAGE, &hosts, 1);
    world.image_users.insert(IMAGE.into(), "167:167".into());
    let t = Arc::new(FakeTransport::new(world));
    let recap = play(t.clone(), &load(dir.path()), true).await;
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    let sent = t.sent();
    let owned: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.command.contains("167:167"))
        .collect();
    // Each host: its folders, the mon's keyring, folder and monmap, the
    // OSD's folder and keyring (and the mgr's, where one runs).
    for h in &hosts {
        let n = owned.iter().filter(|s| &s.host == h).count();
        assert!(n >= 5, "{h}: {n} commands give files to 167:167");
    }
    let debian: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.command.contains("64045"))
        .collect();
    assert!(debian.is_empty(), "{debian:#?}");
    // Asked once per host, whatever the number of steps that need it.
    let asked = sent
        .iter()
        .filter(|s| s.command.contains("--entrypoint=stat"))
        .count();
    assert_eq!(asked, 3);
}
