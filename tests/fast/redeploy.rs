//! `cephalo redeploy` on the fake cluster: the named daemons made again
//! from the inventory's spec with the upgrade's own steps, gates, flags,
//! journal and lock; a crash-looping mon brought back; the other mons'
//! quorum asked first (a mon that is down is no reason to refuse it).

use std::path::Path;
use std::sync::Arc;

use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::Cluster;
use cephalo::release::Release;
use cephalo::upgrade::journal::{Journal, State};
use cephalo::upgrade::redeploy;
use cephalo::upgrade::run as up;
use cephalo::upgrade::{Check, StepKind};

use super::golden::cluster;
use super::safety::{deployed, engine, set_global};

const REEF: &str = "quay.io/ceph/ceph:v18";

/// One run of `cephalo redeploy NAMES --yes`, as the command does it.
async fn redeploy_run(
    dir: &Path,
    c: Arc<Cluster>,
    t: &Arc<FakeTransport<FakeCluster>>,
    names: &[&str],
) -> up::Outcome {
    let engine = engine(t.clone(), &c);
    let live = up::live(&c, &engine).await;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let daemons = redeploy::parse_daemons(&live.layout, &names).unwrap();
    let p = redeploy::plan(c.release, &live.layout, &daemons);
    up::take_lock(&c, t.as_ref(), "redeploy", false)
        .await
        .unwrap();
    let journal = up::unfinished(&c, Some(t.as_ref()), dir).await.unwrap();
    let j = journal.unwrap_or_else(|| {
        let mut j = Journal::new(&c.name, "fsid", c.release, c.release);
        j.operation = "redeploy".into();
        j.resume = Some(format!("cephalo redeploy -i INV {} --yes", names.join(" ")));
        j
    });
    let u = up::upgrade(c, p, j, dir, engine.reporter.clone());
    up::execute(u, &engine).await
}

/// A deployed Pacific cluster moved to Reef, whose ceph1 mon was then
/// made again from the Pacific image: it crash-loops on its Reef store.
async fn crash_looping_mon() -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>) {
    let (dir, t) = deployed().await;
    t.world(|w| {
        w.releases.insert(REEF.into(), Release::Reef);
        for h in w.hosts.values_mut() {
            h.add_image(REEF);
            for c in h.containers.values_mut() {
                c.image = REEF.into();
            }
        }
        w.sync();
        let h = w.hosts.get_mut("ceph1").unwrap();
        h.containers.get_mut("ceph_mon").unwrap().image = super::golden::IMAGE.into();
        w.sync();
        assert!(w.hosts["ceph1"].containers["ceph_mon"].restarting);
    });
    set_global(dir.path(), "ceph_release", "reef");
    t.clear_sent();
    (dir, t)
}

#[tokio::test(start_paused = true)]
async fn a_crash_looping_mon_is_made_again_and_rejoins() {
    let (dir, t) = crash_looping_mon().await;
    let c = Arc::new(cluster(dir.path()));
    cephalo::deploy::release_guard::guard(&c, &engine(t.clone(), &c), "redeploy")
        .await
        .unwrap();
    let o = redeploy_run(dir.path(), c.clone(), &t, &["mon.ceph1"]).await;
    assert!(
        o.restored.is_none(),
        "{:?}",
        o.upgrade.journal(|j| j.errors.clone())
    );
    t.world(|w| {
        let mon = &w.hosts["ceph1"].containers["ceph_mon"];
        assert_eq!(mon.image, REEF);
        assert!(mon.running && !mon.restarting);
        assert_eq!(w.ceph.quorum(), ["ceph1", "ceph2", "ceph3"]);
        assert!(!w.ceph.config_keys.contains_key("cephalo/lock/ceph"));
        // Only ceph1's mon was touched.
        assert_eq!(w.hosts["ceph2"].containers["ceph_mon"].starts, 1);
    });
    let j = Journal::load(&Journal::path(dir.path(), "ceph"))
        .unwrap()
        .unwrap();
    assert_eq!(j.state, State::Done);
    assert_eq!(j.operation, "redeploy");
    assert!(
        j.summary(None)
            .starts_with("redeploy of `ceph` on reef: done")
    );
}

/// A daemon running as wanted is made again too (a new container), with
/// noout held while an OSD is, and put back.
#[tokio::test(start_paused = true)]
async fn a_healthy_osd_is_made_again_behind_noout_and_ok_to_stop() {
    let (dir, t) = deployed().await;
    let c = Arc::new(cluster(dir.path()));
    let before = t.world(|w| w.hosts["ceph2"].containers["ceph_osd_1"].id.clone());
    let live = up::live(&c, &engine(t.clone(), &c)).await;
    let p = redeploy::plan(
        c.release,
        &live.layout,
        &redeploy::parse_daemons(&live.layout, &["osd.1".to_string()]).unwrap(),
    );
    let text = p.to_text();
    assert!(text.starts_with("redeploy on pacific:"), "{text}");
    for want in [
        "[flag-set:noout]",
        "[redeploy:osd.1]",
        "`ceph osd ok-to-stop 1`",
        "[flag-restore:noout]",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
    let o = redeploy_run(dir.path(), c, &t, &["osd.1"]).await;
    assert!(
        o.restored.is_none(),
        "{:?}",
        o.upgrade.journal(|j| j.errors.clone())
    );
    t.world(|w| {
        let osd = &w.hosts["ceph2"].containers["ceph_osd_1"];
        assert_ne!(osd.id, before, "not made again");
        assert!(osd.running);
        assert!(!w.ceph.flags.contains("noout"));
        assert!(w.ceph.osds.values().all(|d| d.running.is_some()));
    });
    let sent: Vec<String> = t.sent().iter().map(|s| s.command.clone()).collect();
    let pos = |w: &str| {
        sent.iter()
            .position(|c| c.contains(w))
            .unwrap_or(usize::MAX)
    };
    assert!(pos("osd set noout") < pos("ok-to-stop 1"), "{sent:#?}");
    assert!(pos("ok-to-stop 1") < pos("rm ceph_osd_1"), "{sent:#?}");
}

/// Without the mon being made again, the others must hold a quorum: with
/// a second mon stopped, the run refuses before changing anything, and
/// names the command for the other one.
#[tokio::test(start_paused = true)]
async fn without_the_other_mons_quorum_it_refuses_naming_the_way() {
    let (dir, t) = crash_looping_mon().await;
    t.world(|w| {
        w.hosts
            .get_mut("ceph2")
            .unwrap()
            .containers
            .get_mut("ceph_mon")
            .unwrap()
            .running = false;
        w.sync();
    });
    let c = Arc::new(cluster(dir.path()));
    let live = up::live(&c, &engine(t.clone(), &c)).await;
    let p = redeploy::plan(
        c.release,
        &live.layout,
        &redeploy::parse_daemons(&live.layout, &["mon.ceph1".to_string()]).unwrap(),
    );
    assert!(matches!(
        &p.phases[0].steps[0].kind,
        StepKind::Check {
            check: Check::OthersInQuorum { .. }
        }
    ));
    let o = redeploy_run(dir.path(), c, &t, &["mon.ceph1"]).await;
    let errors = o.upgrade.journal(|j| j.errors.clone()).join("\n");
    assert!(
        errors.contains("out of it: ceph2")
            && errors.contains("cephalo redeploy -i ")
            && errors.contains("mon.ceph2"),
        "{errors}"
    );
    t.world(|w| {
        assert!(
            w.hosts["ceph1"].containers["ceph_mon"].restarting,
            "touched"
        );
    });
}

#[test]
fn an_unknown_daemon_is_named_with_the_known_ones() {
    let layout = cephalo::upgrade::Layout::default();
    let e = redeploy::parse_daemons(&layout, &["mon.nope".into()]).unwrap_err();
    assert!(
        e.contains("`mon.nope` is not a daemon of the inventory"),
        "{e}"
    );
    let e = redeploy::parse_daemons(&layout, &[]).unwrap_err();
    assert!(e.contains("mon.HOST"), "{e}");
}
