//! The upgrade executor on the fake cluster: a Pacific cluster deployed by
//! the real deploy plan is upgraded to Reef by the real upgrade plan. Then
//! the same upgrade fails at command after command (a lost connection, a
//! crashed tool), or is killed outright, and each time the next run
//! resumes and ends with every daemon on Reef, `require-osd-release reef`
//! and the flags as they were before; `ok-to-stop` saying no past its
//! bound stops the upgrade with Ceph's words and the flags restored.

use std::path::Path;
use std::sync::Arc;

use cephalo::engine::{Engine, Mode, Reporter};
use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::transport::Endpoint;
use cephalo::upgrade::journal::{Journal, State};
use cephalo::upgrade::run as up;
use cephalo::upgrade::{PlanOptions, plan};

use super::golden;

pub(super) const REEF: &str = "quay.io/ceph/ceph:v18";

/// The model with the target release, as `cephalo upgrade --to reef` loads it.
pub(super) fn target(dir: &Path) -> Cluster {
    model::load(&Sources {
        inventory: dir.join("inventory"),
        extra_vars: vec!["ceph_release=reef".into()],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
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

/// A healthy Pacific cluster (deployed for real on the fake), the Reef
/// image on every host, `noout` not set, `noscrub` set by the operator.
pub(super) async fn pacific(dir: &Path) -> Arc<FakeTransport<FakeCluster>> {
    golden::files(dir);
    let t = Arc::new(FakeTransport::new(golden::world(Default::default())));
    let recap = golden::deploy(t.clone(), golden::cluster(dir)).await;
    assert!(
        !recap.any_failed(),
        "{}",
        cephalo::engine::recap_text(&recap)
    );
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
        for h in w.hosts.values_mut() {
            h.add_image(REEF);
        }
        w.ceph.require_osd_release = Some(Release::Pacific);
        w.ceph.flags.insert("noscrub".into());
        w.ceph.primary_affinity.insert(2, 0.5);
    });
    t
}

/// One run of `cephalo upgrade --to reef --yes`, as the command does it:
/// the unfinished journal if any, the live layout, the plan, the run.
pub(super) async fn run_upgrade(dir: &Path, t: &Arc<FakeTransport<FakeCluster>>) -> up::Outcome {
    let cluster = Arc::new(target(dir));
    let engine = engine(t.clone(), &cluster);
    let journal = up::unfinished(&cluster, Some(t.as_ref()), dir)
        .await
        .unwrap();
    let live = up::live(&cluster, &engine).await;
    let from = journal
        .as_ref()
        .map(|j| j.from)
        .or(up::source_release(&live.daemons))
        .unwrap();
    let p = plan(from, Release::Reef, &live.layout, &PlanOptions::default()).unwrap();
    up::take_lock(&cluster, t.as_ref(), "upgrade", false)
        .await
        .unwrap();
    let j = journal.unwrap_or_else(|| Journal::new(&cluster.name, "fsid", from, Release::Reef));
    let u = up::upgrade(cluster, p, j, dir, engine.reporter.clone());
    up::execute(u, &engine).await
}

/// Every daemon on Reef, finalised, flags as before, journal done.
pub(super) fn assert_upgraded(dir: &Path, t: &FakeTransport<FakeCluster>) {
    t.world(|w| {
        let c = &w.ceph;
        for (kind, daemons) in [("mon", &c.mons), ("mgr", &c.mgrs), ("mds", &c.mdss)] {
            for (id, d) in daemons {
                assert_eq!(d.running, Some(Release::Reef), "{kind}.{id}");
            }
        }
        for (id, d) in &c.osds {
            assert_eq!(d.running, Some(Release::Reef), "osd.{id}");
        }
        assert_eq!(c.require_osd_release, Some(Release::Reef));
        assert!(!c.flags.contains("noout"), "noout left set: {:?}", c.flags);
        assert!(
            c.flags.contains("noscrub"),
            "the operator's noscrub was lost"
        );
        assert!(
            !c.config_keys.contains_key("cephalo/lock/ceph"),
            "lock kept"
        );
        assert_eq!(c.quorum().len(), 3);
        held_as_before(c, "upgraded");
    });
    let j = Journal::load(&Journal::path(dir, "ceph")).unwrap().unwrap();
    assert_eq!(j.state, State::Done);
    assert!(j.held_before.is_empty(), "{:?}", j.held_before);
}

const LEASE: &str = "osd_pool_default_read_lease_ratio";

/// What the OSD phase holds is as before the upgrade: the primary
/// affinities (the operator's 0.5 on osd.2 too) and no read lease set.
pub(super) fn held_as_before(c: &cephalo::fake::FakeCeph, when: &str) {
    let affinity: Vec<f64> = (0..3).map(|i| c.affinity(i)).collect();
    assert_eq!(
        affinity,
        [1.0, 1.0, 0.5],
        "{when}: primary affinity not put back"
    );
    assert!(
        !c.config.keys().any(|(_, o)| o == LEASE),
        "{when}: read lease left set: {:?}",
        c.config
    );
}

#[tokio::test(start_paused = true)]
async fn pacific_to_reef_upgrades_every_daemon_in_order_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    t.clear_sent();
    let o = run_upgrade(dir.path(), &t).await;
    assert!(
        o.restored.is_none(),
        "{}\n{:?}",
        cephalo::engine::recap_text(&o.recap),
        o.upgrade.journal(|j| j.errors.clone())
    );
    assert_upgraded(dir.path(), &t);
    // Mons first, one at a time, then mgrs, then OSDs, then the MDS.
    let runs: Vec<String> = t
        .sent()
        .iter()
        .filter(|s| s.command.contains(" run -d --name "))
        .map(|s| {
            let name = s
                .command
                .split(" --name ")
                .nth(1)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("");
            format!("{}:{name}", s.host)
        })
        .collect();
    assert_eq!(
        runs,
        [
            "ceph1:ceph_mon",
            "ceph2:ceph_mon",
            "ceph3:ceph_mon",
            "ceph1:ceph_mgr",
            "ceph2:ceph_mgr",
            "ceph1:ceph_osd_0",
            "ceph2:ceph_osd_1",
            "ceph3:ceph_osd_2",
            "ceph3:ceph_mds"
        ]
    );
    let sent: Vec<String> = t.sent().iter().map(|s| s.command.clone()).collect();
    let first = |pat: &str| {
        sent.iter()
            .position(|c| c.contains(pat))
            .unwrap_or_else(|| panic!("never sent: {pat}"))
    };
    assert!(
        first("osd set noout") < first("--name ceph_mon"),
        "noout before the daemons"
    );
    assert!(first("osd ok-to-stop 0") < first("--name ceph_osd_0"));
    // The lease is short for the OSD phase; each host's OSDs lead no PG
    // while they restart, and get their affinity back after.
    assert!(first(&format!("config set osd {LEASE} 0.2")) < first("docker stop -t 120 ceph_osd_0"));
    assert!(first(&format!("config rm osd {LEASE}")) > first("--name ceph_osd_2"));
    assert!(first("osd primary-affinity osd.0 0") < first("osd ok-to-stop 0"));
    // Pacific OSDs keep leases: the old, 16 s one is waited out before the
    // first primary moves.
    let at = |pat: &str| t.sent()[first(pat)].at;
    assert!(
        at("osd primary-affinity osd.0 0") - at(&format!("config set osd {LEASE} 0.2"))
            >= std::time::Duration::from_secs(16)
    );
    assert!(first("osd primary-affinity osd.0 1") > first("--name ceph_osd_0"));
    assert!(first("osd primary-affinity osd.0 1") < first("osd primary-affinity osd.1 0"));
    assert!(first("osd primary-affinity osd.2 0.5") > first("--name ceph_osd_2"));
    assert!(first("require-osd-release reef") > first("--name ceph_mds"));
    assert!(first("osd unset noout") > first("require-osd-release reef"));
    let rows = o.upgrade.upgraded.lock().unwrap().clone();
    assert!(
        rows.iter()
            .any(|r| r.daemon == "osd.0" && r.old == "pacific" && r.new == "reef"),
        "{rows:?}"
    );

    // Run again: nothing is restarted.
    let cluster = target(dir.path());
    let engine = engine(t.clone(), &cluster);
    let live = up::live(&cluster, &engine).await;
    assert!(
        live.daemons
            .iter()
            .all(|d| d.release == Some(Release::Reef))
    );
    assert!(
        up::unfinished(&cluster, Some(t.as_ref()), dir.path())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_any_command_stops_with_flags_restored_and_the_next_run_finishes() {
    let total = clean_run_commands().await;
    let mut failed_runs = 0;
    let step = (total / 30).max(1);
    for at in (1..=total).step_by(step) {
        let dir = tempfile::tempdir().unwrap();
        let t = pacific(dir.path()).await;
        t.world(|w| w.fail_command = Some(w.commands + at));
        let o = run_upgrade(dir.path(), &t).await;
        if o.restored.is_some() {
            failed_runs += 1;
            t.world(|w| {
                assert!(
                    !w.ceph.flags.contains("noout"),
                    "fault at command {at}: noout left set"
                );
                assert!(
                    w.ceph.flags.contains("noscrub"),
                    "fault at command {at}: noscrub lost"
                );
                held_as_before(&w.ceph, &format!("fault at command {at}"));
            });
            let j = Journal::load(&Journal::path(dir.path(), "ceph"))
                .unwrap()
                .unwrap();
            assert_eq!(j.state, State::InProgress, "fault at command {at}");
            assert!(!j.errors.is_empty());
        }
        t.world(|w| w.fail_command = None);
        let again = run_upgrade(dir.path(), &t).await;
        assert!(
            again.restored.is_none(),
            "fault at command {at}: the resumed run failed: {:?}",
            again.upgrade.journal(|j| j.errors.clone())
        );
        assert_upgraded(dir.path(), &t);
    }
    // Not every fault stops a run, by design: a failed poll is asked again,
    // a `ceph` call that got no answer through one mon is asked through
    // the next, the journal's mirror in the mons and the version probes are
    // best effort. A quarter at least must stop it, or this test proves
    // little.
    assert!(
        failed_runs > total / step / 4,
        "most injected faults must stop the run ({failed_runs} of {} at {step}, {total} commands)",
        total / step
    );
}

/// How many commands a clean upgrade sends.
async fn clean_run_commands() -> usize {
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    let before = t.world(|w| w.commands);
    let o = run_upgrade(dir.path(), &t).await;
    assert!(o.restored.is_none());
    t.world(|w| w.commands) - before
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_off_anywhere_like_a_kill_is_resumed_and_the_flags_end_as_before() {
    let total = clean_run_commands().await;
    // Past the reading of the layout (the first 25 commands or so).
    for cut in (1..8).map(|k| 25 + (total - 30) * k / 8) {
        let dir = tempfile::tempdir().unwrap();
        let t = pacific(dir.path()).await;
        // From command `cut` on nothing reaches the cluster: not even the
        // flag restore (as when cephalo is killed, or its network cut).
        t.world(|w| w.cut_after = Some(w.commands + cut));
        let o = run_upgrade(dir.path(), &t).await;
        assert!(o.restored.is_some(), "cut at {cut}: the run did not notice");
        t.world(|w| w.cut_after = None);
        let again = run_upgrade(dir.path(), &t).await;
        assert!(
            again.restored.is_none(),
            "cut at {cut}: {:?}",
            again.upgrade.journal(|j| j.errors.clone())
        );
        assert_upgraded(dir.path(), &t);
    }
}

#[tokio::test(start_paused = true)]
async fn ok_to_stop_saying_no_past_its_bound_stops_with_cephs_words() {
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    t.world(|w| w.ceph.refuse_ok_to_stop = 10_000);
    let o = run_upgrade(dir.path(), &t).await;
    assert!(o.restored.is_some());
    let err = o.upgrade.journal(|j| j.errors.last().cloned()).unwrap();
    assert!(
        err.contains("osd-host:ceph1") && err.contains("EBUSY") && err.contains("paused"),
        "{err}"
    );
    t.world(|w| {
        assert!(!w.ceph.flags.contains("noout"));
        // The OSDs were not stopped; the mons and mgrs are already on Reef.
        assert!(
            w.ceph
                .osds
                .values()
                .all(|d| d.running == Some(Release::Pacific))
        );
        assert!(
            w.ceph
                .mons
                .values()
                .all(|d| d.running == Some(Release::Reef))
        );
        w.ceph.refuse_ok_to_stop = 3;
    });
    // Ceph says yes after a few asks: the next run finishes.
    let again = run_upgrade(dir.path(), &t).await;
    assert!(
        again.restored.is_none(),
        "{:?}",
        again.upgrade.journal(|j| j.errors.clone())
    );
    assert_upgraded(dir.path(), &t);
}

/// Jewel -> Luminous, which no machine here can run for real: a Jewel
/// cluster (no mgrs, no `ceph versions`, a version string without a
/// release name) on the fake is upgraded by the real plan and executor.
#[tokio::test(start_paused = true)]
async fn jewel_to_luminous_sets_sortbitwise_creates_the_mgrs_and_finalises() {
    let dir = tempfile::tempdir().unwrap();
    golden::files(dir.path());
    let jewel = "cephalo/ceph:jewel";
    let luminous = "quay.io/ceph/ceph:luminous";
    let mut world = FakeCluster::deployed(Release::Jewel, jewel, &golden::HOSTS, 1);
    world.releases.insert(luminous.into(), Release::Luminous);
    for h in world.hosts.values_mut() {
        h.add_image(luminous);
    }
    world.ceph.flags.remove("sortbitwise");
    world.ceph.require_osd_release = None;
    // Files probed are absent (then written); every other script (keyrings,
    // folders) succeeds on the fake hosts.
    world.on_script(|_, text, _, _| {
        Some(cephalo::fake::out(
            0,
            if text.contains("sha256sum <") {
                "absent\n"
            } else {
                ""
            },
        ))
    });
    let t = Arc::new(FakeTransport::new(world));
    let cluster = Arc::new(
        model::load(&Sources {
            inventory: dir.path().join("inventory"),
            extra_vars: vec![
                "ceph_release=luminous".into(),
                "ceph_image_tag=luminous".into(),
                "enable_ceph_mds=no".into(),
            ],
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let engine = engine(t.clone(), &cluster);
    let live = up::live(&cluster, &engine).await;
    assert_eq!(up::source_release(&live.daemons), Some(Release::Jewel));
    let p = plan(
        Release::Jewel,
        Release::Luminous,
        &live.layout,
        &PlanOptions::default(),
    )
    .unwrap();
    let j = Journal::new(&cluster.name, "fsid", Release::Jewel, Release::Luminous);
    let u = up::upgrade(cluster, p, j, dir.path(), engine.reporter.clone());
    let o = up::execute(u, &engine).await;
    assert!(
        o.restored.is_none(),
        "{}\n{:?}",
        cephalo::engine::recap_text(&o.recap),
        o.upgrade.journal(|j| j.errors.clone())
    );
    let sent: Vec<String> = t.sent().iter().map(|s| s.command.clone()).collect();
    let first = |pat: &str| {
        sent.iter()
            .position(|c| c.contains(pat))
            .unwrap_or_else(|| panic!("never sent: {pat}"))
    };
    assert!(
        first("osd set sortbitwise") < first("--name ceph_mon"),
        "sortbitwise first"
    );
    assert!(
        first("auth get-or-create mgr.ceph1") > first("--name ceph_mon"),
        "mgrs after the mons"
    );
    assert!(first("auth caps client.admin") > first("--name ceph_mon"));
    assert!(
        first("mon feature ls") < first("--name ceph_osd_0"),
        "luminous mons before OSDs"
    );
    t.world(|w| {
        let c = &w.ceph;
        assert!(
            c.mons
                .values()
                .all(|d| d.running == Some(Release::Luminous))
        );
        assert!(
            c.osds
                .values()
                .all(|d| d.running == Some(Release::Luminous))
        );
        assert_eq!(c.mgrs.len(), 2, "a mgr on each mgr host");
        assert!(
            c.mgrs
                .values()
                .all(|d| d.running == Some(Release::Luminous))
        );
        assert!(
            c.flags.contains("sortbitwise"),
            "sortbitwise is never unset"
        );
        assert!(!c.flags.contains("noout"));
        assert_eq!(c.require_osd_release, Some(Release::Luminous));
    });
}
