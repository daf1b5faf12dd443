//! Unknown is never empty (issue 27), on the fake cluster: a host whose
//! SSH port is blocked (its daemons still run) or every host unreachable
//! is a host cephalo could not look at, never one without daemons. The
//! upgrade stops before its first step naming each host (exit 5); with
//! `--limit` leaving the host out it runs, and leaves the cluster's
//! finishing steps (require-osd-release) for a run that sees that host;
//! status says the same.

use std::path::Path;
use std::sync::Arc;

use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::release::Release;
use cephalo::upgrade::journal::Journal;
use cephalo::upgrade::run as up;
use cephalo::upgrade::{PlanOptions, StepKind, plan};

use super::upgrade_run::{engine, pacific, target};

fn block_ssh(t: &FakeTransport<FakeCluster>, hosts: &[&str]) {
    t.world(|w| {
        for h in hosts {
            w.hosts.get_mut(*h).unwrap().ssh_blocked = true;
        }
    });
}

async fn live(dir: &Path, t: &Arc<FakeTransport<FakeCluster>>) -> up::Live {
    let cluster = target(dir);
    up::live(&cluster, &engine(t.clone(), &cluster)).await
}

const ALL: [&str; 3] = ["ceph1", "ceph2", "ceph3"];

fn names(hosts: &[&str]) -> Vec<String> {
    hosts.iter().map(|h| h.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_host_not_reached_stops_the_upgrade_before_its_first_step_naming_it() {
    for blocked in [&["ceph3"][..], &ALL[..]] {
        let dir = tempfile::tempdir().unwrap();
        let t = pacific(dir.path()).await;
        block_ssh(&t, blocked);
        let live = live(dir.path(), &t).await;
        assert_eq!(live.unknown.len(), blocked.len());
        let inventory = dir.path().join("inventory");
        let e = up::unreached(&live, &names(&ALL), &inventory).unwrap_err();
        for h in blocked {
            assert!(
                e.contains(&format!("  {h}: cannot connect to {h}:22")),
                "{h} not named:\n{e}"
            );
        }
        assert!(e.contains("nothing was changed"), "{e}");
        // Leaving hosts out is a way on only while some host answered.
        assert_eq!(e.contains("--limit '!"), blocked.len() < ALL.len(), "{e}");
        assert!(!e.contains("nothing to do"), "{e}");
        // Not a step was run: no flag, no lock, no journal.
        t.world(|w| {
            assert!(!w.ceph.flags.contains("noout"));
            assert!(w.ceph.config_keys.is_empty(), "{:?}", w.ceph.config_keys);
            assert_eq!(w.ceph.require_osd_release, Some(Release::Pacific));
        });
        assert!(
            Journal::load(&Journal::path(dir.path(), "ceph"))
                .unwrap()
                .is_none()
        );
    }
}

/// `--limit '!ceph3'` with ceph3's SSH blocked: the plan leaves ceph3's
/// daemons out and has no finishing step; the run upgrades ceph1 and
/// ceph2, and require-osd-release stays as it was.
#[tokio::test(start_paused = true)]
async fn left_out_by_limit_the_upgrade_runs_and_does_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    block_ssh(&t, &["ceph3"]);
    let cluster = Arc::new(target(dir.path()));
    let engine = engine(t.clone(), &cluster);
    let live = up::live(&cluster, &engine).await;
    let selected = names(&["ceph1", "ceph2"]);
    let notes = up::unreached(&live, &selected, &dir.path().join("inventory")).unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("note: ceph3 could not be asked (cannot connect to ceph3:22")
            && notes[0].contains("require-osd-release"),
        "{notes:?}"
    );
    let options = PlanOptions {
        hosts: Some(selected.iter().cloned().collect()),
        ..Default::default()
    };
    let from = up::source_release(&live.daemons).unwrap();
    assert_eq!(from, Release::Pacific);
    let p = plan(from, Release::Reef, &live.layout, &options).unwrap();
    assert!(
        p.left_out.iter().any(|d| d.host == "ceph3"),
        "{:?}",
        p.left_out
    );
    let finishing = p
        .phases
        .iter()
        .flat_map(|ph| &ph.steps)
        .filter(|s| matches!(s.kind, StepKind::RequireOsdRelease { .. }))
        .count();
    assert_eq!(finishing, 0, "{}", p.to_text());
    up::take_lock(&cluster, t.as_ref(), "upgrade", false)
        .await
        .unwrap();
    let j = Journal::new(&cluster.name, "fsid", from, Release::Reef);
    let u = up::upgrade(cluster.clone(), p, j, dir.path(), engine.reporter.clone());
    let o = up::execute(u, &engine).await;
    assert!(
        o.restored.is_none(),
        "{:?}",
        o.upgrade.journal(|j| j.errors.clone())
    );
    t.world(|w| {
        let c = &w.ceph;
        assert_eq!(c.require_osd_release, Some(Release::Pacific));
        for (id, d) in c.mons.iter().chain(&c.mgrs) {
            let want = if d.host == "ceph3" {
                Release::Pacific
            } else {
                Release::Reef
            };
            assert_eq!(d.running, Some(want), "{id} on {}", d.host);
        }
        assert!(!c.flags.contains("noout"));
    });
}

/// `cephalo status` names a host it could not read as such (the exit
/// code 5 comes from it), never as a host without daemons.
#[tokio::test(start_paused = true)]
async fn status_names_a_host_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let t = pacific(dir.path()).await;
    block_ssh(&t, &["ceph2"]);
    let cluster = target(dir.path());
    let hosts: Vec<_> = engine(t.clone(), &cluster)
        .hosts
        .values()
        .cloned()
        .collect();
    let s = cephalo::status::status(&cluster, t.as_ref(), &hosts, dir.path()).await;
    assert_eq!(s.unreachable(), 1);
    let h = s.hosts.iter().find(|h| h.host == "ceph2").unwrap();
    assert!(!h.reachable);
    assert!(
        h.error.as_deref().unwrap_or("").contains("cannot connect"),
        "{:?}",
        h.error
    );
    let text = cephalo::status::report::text(&s);
    assert!(text.contains("ceph2"), "{text}");
    // The cluster itself answered through the other mons.
    assert!(s.health.is_some(), "{text}");
}
