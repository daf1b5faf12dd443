//! The bad days of issue 21 as a matrix, on the fake cluster: states
//! (the first mon stopped, a mon crash-looping on an image older than its
//! data, an OSD's container stopped, the SSH port of one host blocked) x
//! the commands an operator reaches for (status, prechecks' cluster
//! checks, deploy's release guard, deploy --check, gatherkeys, upgrade
//! --status, redeploy). Each cell works, or refuses with its exit code
//! and a way out; the way out, taken, works. (A mixed-version cluster and
//! Tentacle's aes keys have their own tests: `rotate`, `upgrade_run`.)

use std::sync::Arc;

use cephalo::engine::Engine;
use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::{Cluster, Role};
use cephalo::prechecks::Level;
use cephalo::release::Release;
use cephalo::upgrade::run as up;

use super::golden::{HOSTS, IMAGE, cluster};
use super::safety::{deployed, engine, set_global};

const REEF: &str = "quay.io/ceph/ceph:v18";

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    FirstMonStopped,
    MonCrashLooping,
    OsdStopped,
    SshCut,
}

const STATES: [State; 4] = [
    State::FirstMonStopped,
    State::MonCrashLooping,
    State::OsdStopped,
    State::SshCut,
];

/// A deployed cluster put in `state`.
async fn in_state(state: State) -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>) {
    let (dir, t) = deployed().await;
    t.world(|w| {
        // What the first mon's mkfs put in the auth database.
        for e in [
            "client.admin",
            "client.bootstrap-osd",
            "client.bootstrap-mds",
            "client.bootstrap-mgr",
            "client.bootstrap-rgw",
        ] {
            w.ceph.auth.entry(e.into()).or_insert_with(|| {
                cephalo::cephx::Secret::generate(cephalo::release::SecretKind::Aes)
                    .unwrap()
                    .expose()
                    .to_string()
            });
        }
        match state {
            State::FirstMonStopped => {
                w.hosts
                    .get_mut("ceph1")
                    .unwrap()
                    .containers
                    .get_mut("ceph_mon")
                    .unwrap()
                    .running = false;
            }
            State::MonCrashLooping => {
                w.releases.insert(REEF.into(), Release::Reef);
                for h in w.hosts.values_mut() {
                    h.add_image(REEF);
                    for c in h.containers.values_mut() {
                        c.image = REEF.into();
                    }
                }
                w.sync();
                w.hosts
                    .get_mut("ceph1")
                    .unwrap()
                    .containers
                    .get_mut("ceph_mon")
                    .unwrap()
                    .image = IMAGE.into();
            }
            State::OsdStopped => {
                w.hosts
                    .get_mut("ceph2")
                    .unwrap()
                    .containers
                    .get_mut("ceph_osd_1")
                    .unwrap()
                    .running = false;
            }
            State::SshCut => w.hosts.get_mut("ceph3").unwrap().ssh_blocked = true,
        }
        w.sync();
    });
    if state == State::MonCrashLooping {
        set_global(dir.path(), "ceph_release", "reef");
    }
    t.clear_sent();
    (dir, t)
}

fn all(c: &Cluster) -> Vec<String> {
    c.hosts.iter().map(|h| h.name.clone()).collect()
}

/// The engine over `hosts` only (what `--limit` gives).
fn limited(t: Arc<FakeTransport<FakeCluster>>, c: &Cluster, hosts: &[&str]) -> Engine {
    let mut e = engine(t, c);
    e.hosts.retain(|h, _| hosts.contains(&h.as_str()));
    e
}

#[tokio::test(start_paused = true)]
async fn every_command_works_or_refuses_with_a_way_out_in_every_state() {
    for state in STATES {
        let (dir, t) = in_state(state).await;
        let c = Arc::new(cluster(dir.path()));
        let hosts: Vec<_> = engine(t.clone(), &c).hosts.values().cloned().collect();

        // status: the health through the mons that answer, the state flagged.
        let s = cephalo::status::status(&c, t.as_ref(), &hosts, dir.path()).await;
        assert!(
            s.health.is_some(),
            "{state:?}: status has no health: {:?}",
            s.flagged
        );
        let flagged = s.flagged.join("\n");
        let want = match state {
            State::FirstMonStopped => "ceph1 mon.ceph1: not running",
            State::MonCrashLooping => "ceph1 mon.ceph1: crash-looping",
            State::OsdStopped => "ceph2 osd.1: not running",
            State::SshCut => "",
        };
        assert!(flagged.contains(want), "{state:?}: {flagged}");
        assert_eq!(
            s.unreachable(),
            usize::from(state == State::SshCut),
            "{state:?}"
        );

        // prechecks: a mon deploy brings back is a warning, not a failure.
        let report =
            cephalo::prechecks::run_prechecks(c.clone(), &engine(t.clone(), &c), false).await;
        let quorum = report.results.iter().find(|r| r.id == "cluster.quorum");
        if matches!(state, State::FirstMonStopped | State::MonCrashLooping) {
            let q = quorum.unwrap_or_else(|| panic!("{state:?}: no quorum check"));
            assert_eq!(q.level, Level::Warn, "{state:?}: {}", q.value);
            assert!(
                q.value.contains("deploy brings back ceph1"),
                "{state:?}: {}",
                q.value
            );
        }

        // deploy's release guard: passes, or (a host not reached) refuses
        // with exit 5; its way out, --limit without it, passes.
        let guarded =
            cephalo::deploy::release_guard::guard(&c, &engine(t.clone(), &c), "deploy").await;
        if state == State::SshCut {
            let e = guarded.unwrap_err();
            assert_eq!(e.exit_code(), 5, "{e}");
            assert!(e.to_string().contains("ceph3"), "{e}");
            cephalo::deploy::release_guard::guard(
                &c,
                &limited(t.clone(), &c, &["ceph1", "ceph2"]),
                "deploy",
            )
            .await
            .unwrap();
        } else {
            guarded.unwrap_or_else(|e| panic!("{state:?}: {e}"));
        }

        // deploy --check: names what deploy would do, changes nothing.
        let notes = cephalo::tune::Notes::default();
        let reached: Vec<&str> = HOSTS
            .iter()
            .copied()
            .filter(|h| state != State::SshCut || *h != "ceph3")
            .collect();
        let plan = cephalo::deploy::check_plan(
            &c,
            &reached.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            true,
            false,
            &notes,
        );
        let recap = limited(t.clone(), &c, &reached).run(&plan).await;
        assert!(
            !recap.any_failed(),
            "{state:?}: {}",
            cephalo::engine::recap_text(&recap)
        );
        let lines: Vec<String> = notes
            .lock()
            .unwrap()
            .values()
            .flatten()
            .map(|l| l.text.clone())
            .collect();
        let want = match state {
            State::FirstMonStopped => Some("ceph_mon: exited: would be started"),
            State::MonCrashLooping => Some("ceph_mon: its spec or config differs"),
            State::OsdStopped => Some("ceph_osd_1: exited: would be started"),
            State::SshCut => None,
        };
        if let Some(w) = want {
            assert!(
                lines.iter().any(|l| l.starts_with(w)),
                "{state:?}: {lines:#?}"
            );
        }
        assert!(
            super::safety::container_changes(&t).is_empty(),
            "{state:?}: --check changed containers"
        );

        // gatherkeys: through the first mon that answers, in quorum.
        let mons: Vec<&cephalo::model::Host> = c.hosts_with(Role::Mon).collect();
        let keys = tempfile::tempdir().unwrap();
        let r = cephalo::keys::gather::gather(&c, t.as_ref(), &mons, keys.path(), true)
            .await
            .unwrap_or_else(|e| panic!("{state:?}: gatherkeys: {e}"));
        let want = if matches!(state, State::FirstMonStopped | State::MonCrashLooping) {
            "ceph2"
        } else {
            "ceph1"
        };
        assert_eq!(r.mon(), want, "{state:?}");

        // upgrade --status: the daemons as read; a host not read is named
        // (exit 5), and --limit without it is the way on.
        let live = up::live(&c, &engine(t.clone(), &c)).await;
        let unreached = up::unreached(&live, &all(&c), &dir.path().join("inventory"));
        if state == State::SshCut {
            let e = unreached.unwrap_err();
            assert!(
                e.contains("ceph3: cannot connect") && e.contains("--limit '!ceph3'"),
                "{e}"
            );
            assert!(
                up::unreached(
                    &live,
                    &["ceph1".into(), "ceph2".into()],
                    &dir.path().join("inventory")
                )
                .is_ok()
            );
        } else {
            unreached.unwrap_or_else(|e| panic!("{state:?}: {e}"));
        }

        // redeploy of what is down: the way out of the first three states.
        let name = match state {
            State::FirstMonStopped | State::MonCrashLooping => "mon.ceph1",
            State::OsdStopped => "osd.1",
            State::SshCut => continue,
        };
        let daemons =
            cephalo::upgrade::redeploy::parse_daemons(&live.layout, &[name.to_string()]).unwrap();
        let p = cephalo::upgrade::redeploy::plan(c.release, &live.layout, &daemons);
        let mut j = cephalo::upgrade::journal::Journal::new(&c.name, "fsid", c.release, c.release);
        j.operation = "redeploy".into();
        let e = engine(t.clone(), &c);
        up::take_lock(&c, t.as_ref(), "redeploy", false)
            .await
            .unwrap();
        let run = up::upgrade(c.clone(), p, j, dir.path(), e.reporter.clone());
        let o = up::execute(run, &e).await;
        assert!(
            o.restored.is_none(),
            "{state:?}: {:?}",
            o.upgrade.journal(|j| j.errors.clone())
        );
        t.world(|w| {
            assert_eq!(w.ceph.quorum().len(), 3, "{state:?}");
            assert!(
                w.ceph.osds.values().all(|d| d.running.is_some()),
                "{state:?}"
            );
            assert!(
                w.hosts
                    .values()
                    .flat_map(|h| h.containers.values())
                    .all(|c| c.running && !c.restarting),
                "{state:?}"
            );
        });
    }
}
