//! `cephalo rotate-keys` on the fake cluster (CVE-2025-30156): a deployed
//! cluster on Tentacle with keys of type aes, in HEALTH_ERR, rotated by
//! the plan through the upgrade's executor: every key aes256k (`mon.`
//! too), written where it is kept, passwords.yml in step (a backup kept),
//! the monmap's ciphers aes256k, noout as before, HEALTH_OK; killed half
//! way, the next run finishes it; with an older client connected, aes
//! stays allowed and the run says why.

use std::path::Path;
use std::sync::Arc;

use cephalo::fake::{FakeCluster, FakeTransport};
use cephalo::model::Cluster;
use cephalo::release::Release;
use cephalo::upgrade::journal::{Journal, State};
use cephalo::upgrade::keys::is_aes256k;
use cephalo::upgrade::run as up;

use super::golden::{Files, HOSTS, cluster, deploy, files, world};
use super::safety::{engine, set_global};

const TENTACLE: &str = "quay.io/ceph/ceph:v20";

/// A cluster deployed on the fake, moved to Tentacle, its keys all aes,
/// the admin and bootstrap keyrings where deploy writes them.
async fn tentacle_with_aes_keys() -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>, Files) {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let stored: Files = Default::default();
    let t = Arc::new(FakeTransport::new(world(stored.clone())));
    let recap = deploy(t.clone(), cluster(dir.path())).await;
    assert!(
        !recap.any_failed(),
        "{}",
        cephalo::engine::recap_text(&recap)
    );
    t.world(|w| {
        w.releases.insert(TENTACLE.into(), Release::Tentacle);
        for h in w.hosts.values_mut() {
            h.add_image(TENTACLE);
            for c in h.containers.values_mut() {
                c.image = TENTACLE.into();
            }
        }
        w.sync();
    });
    client_keys(&t);
    set_global(dir.path(), "ceph_release", "tentacle");
    t.clear_sent();
    (dir, t, stored)
}

/// client.admin and the bootstrap keys in the cluster, of type aes, and
/// their keyrings where deploy writes them.
fn client_keys(t: &FakeTransport<FakeCluster>) {
    t.world(|w| {
        for (name, h) in w.hosts.iter_mut() {
            h.paths.insert("/etc/ceph/ceph.client.admin.keyring".into());
            h.paths
                .insert("/var/lib/ceph/bootstrap-osd/ceph.keyring".into());
            if name == "ceph3" {
                h.paths
                    .insert("/var/lib/ceph/bootstrap-mds/ceph.keyring".into());
            }
        }
        for e in [
            "client.admin",
            "client.bootstrap-osd",
            "client.bootstrap-mds",
            "client.bootstrap-mgr",
        ] {
            w.ceph.auth.entry(e.into()).or_insert_with(|| {
                cephalo::cephx::Secret::generate(cephalo::release::SecretKind::Aes)
                    .unwrap()
                    .expose()
                    .to_string()
            });
        }
    });
}

async fn rotate_run(dir: &Path, t: &Arc<FakeTransport<FakeCluster>>) -> up::Outcome {
    let c: Arc<Cluster> = Arc::new(cluster(dir));
    let engine = engine(t.clone(), &c);
    let live = up::live(&c, &engine).await;
    let journal = up::unfinished(&c, Some(t.as_ref()), dir).await.unwrap();
    let rotated = match &journal {
        Some(_) => Default::default(),
        None => cephalo::upgrade::keys::rotated(&c, t.as_ref())
            .await
            .unwrap(),
    };
    let p = cephalo::upgrade::rotate::plan(&c, &live.layout, c.release, &rotated);
    up::take_lock(&c, t.as_ref(), "rotate-keys", false)
        .await
        .unwrap();
    let j = journal.unwrap_or_else(|| {
        let mut j = Journal::new(&c.name, "fsid", c.release, c.release);
        j.operation = "rotate-keys".into();
        j
    });
    let u = up::upgrade(c, p, j, dir, engine.reporter.clone());
    up::execute(u, &engine).await
}

fn health(t: &FakeTransport<FakeCluster>) -> (String, Vec<String>) {
    t.world(|w| w.ceph.health_summary())
}

fn file_key(stored: &Files, host: &str, path: &str) -> String {
    let f = stored.lock().unwrap();
    let (content, mode, _) = f
        .get(&(host.to_string(), path.to_string()))
        .unwrap_or_else(|| panic!("{host}:{path} not written"));
    assert_eq!(mode, "600", "{host}:{path}");
    String::from_utf8_lossy(content)
        .lines()
        .find_map(|l| l.trim().strip_prefix("key = ").map(str::to_string))
        .unwrap_or_default()
}

/// Every key aes256k, each where it is kept, passwords.yml in step.
fn assert_rotated(dir: &Path, t: &FakeTransport<FakeCluster>, stored: &Files) {
    let auth = t.world(|w| w.ceph.auth.clone());
    for (e, k) in &auth {
        assert!(is_aes256k(k), "{e} still aes");
    }
    assert_eq!(
        t.world(|w| w.ceph.ciphers.clone()),
        (
            "aes256k".into(),
            vec!["aes256k".to_string()],
            "aes256k".into()
        )
    );
    assert_eq!(
        file_key(stored, "ceph1", "/var/lib/ceph/mgr/ceph-ceph1/keyring"),
        auth["mgr.ceph1"]
    );
    assert_eq!(
        file_key(stored, "ceph2", "/var/lib/ceph/osd/ceph-1/keyring"),
        auth["osd.1"]
    );
    for h in HOSTS {
        assert_eq!(
            file_key(stored, h, &format!("/var/lib/ceph/mon/ceph-{h}/keyring")),
            auth["mon."]
        );
        assert_eq!(
            file_key(stored, h, "/etc/ceph/ceph.client.admin.keyring"),
            auth["client.admin"]
        );
        assert_eq!(
            file_key(stored, h, "/var/lib/ceph/bootstrap-osd/ceph.keyring"),
            auth["client.bootstrap-osd"]
        );
    }
    let pw = std::fs::read_to_string(dir.join("passwords.yml")).unwrap();
    for (key, entity) in cephalo::passwords::IDENTITIES {
        if let Some(k) = auth.get(*entity) {
            assert!(
                pw.contains(&format!("{key}: {k}")),
                "{key} not rotated in passwords.yml"
            );
        }
    }
    let backups: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("passwords.yml.")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.join("passwords.yml"), backups[0].path()] {
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(!t.world(|w| w.ceph.flags.contains("noout")));
    assert_eq!(health(t).0, "HEALTH_OK", "{:?}", health(t).1);
}

#[tokio::test(start_paused = true)]
async fn every_key_is_rotated_written_where_it_is_kept_and_health_is_ok() {
    let (dir, t, stored) = tentacle_with_aes_keys().await;
    let (status, checks) = health(&t);
    assert_eq!(status, "HEALTH_ERR");
    assert!(
        checks.iter().any(|c| c == "AUTH_INSECURE_SERVICE_KEY_TYPE"),
        "{checks:?}"
    );
    let c = cluster(dir.path());
    let left = cephalo::upgrade::keys::left_to_rotate(&c, t.as_ref())
        .await
        .unwrap();
    assert!(
        left.iter().any(|l| l == "mon.: key of type aes"),
        "{left:?}"
    );
    let o = rotate_run(dir.path(), &t).await;
    assert!(
        o.restored.is_none(),
        "{:?}",
        o.upgrade.journal(|j| j.errors.clone())
    );
    assert_rotated(dir.path(), &t, &stored);
    assert!(
        cephalo::upgrade::keys::left_to_rotate(&c, t.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    let j = Journal::load(&Journal::path(dir.path(), "ceph"))
        .unwrap()
        .unwrap();
    assert_eq!(j.state, State::Done);
    // Again: nothing left, no daemon made again.
    t.clear_sent();
    let o = rotate_run(dir.path(), &t).await;
    assert!(o.restored.is_none());
    let rms: Vec<String> = t
        .sent()
        .iter()
        .filter(|s| s.command.starts_with("docker rm ") || s.command.starts_with("docker stop "))
        .map(|s| format!("{}: {}", s.host, s.command))
        .collect();
    assert!(rms.is_empty(), "a second run made daemons again: {rms:?}");
}

/// Cut off at points all through the run (a kill, a lost network): the
/// next run finishes, and every key ends where it belongs.
#[tokio::test(start_paused = true)]
async fn a_run_cut_off_anywhere_is_finished_by_the_next() {
    let total = {
        let (dir, t, _) = tentacle_with_aes_keys().await;
        let before = t.world(|w| w.commands);
        rotate_run(dir.path(), &t).await;
        t.world(|w| w.commands) - before
    };
    for k in 1..6 {
        let (dir, t, stored) = tentacle_with_aes_keys().await;
        let cut = total * k / 6;
        t.world(|w| w.cut_after = Some(w.commands + cut));
        rotate_run(dir.path(), &t).await;
        t.world(|w| w.cut_after = None);
        let o = rotate_run(dir.path(), &t).await;
        assert!(
            o.restored.is_none(),
            "cut at {cut}: {:?}",
            o.upgrade.journal(|j| j.errors.clone())
        );
        assert_rotated(dir.path(), &t, &stored);
    }
}

/// A client older than Tentacle connected: every key is rotated, but aes
/// stays allowed (it could not log in with an aes256k key), and the run
/// says so.
#[tokio::test(start_paused = true)]
async fn with_an_older_client_connected_aes_stays_allowed_and_is_named() {
    let (dir, t, _) = tentacle_with_aes_keys().await;
    t.world(|w| w.ceph.clients.push((Release::Reef, 2)));
    let o = rotate_run(dir.path(), &t).await;
    assert!(o.restored.is_none());
    let said = o.upgrade.said.lock().unwrap().join("\n");
    assert!(
        said.contains("aes stays allowed") && said.contains("2 on reef"),
        "{said}"
    );
    assert_eq!(t.world(|w| w.ceph.ciphers.1.clone()), ["aes"]);
    assert_eq!(t.world(|w| w.ceph.ciphers.0.clone()), "aes256k");
}

/// Reef -> Tentacle as `cephalo upgrade --to tentacle` runs it: the
/// rotation is its last phase, and it ends at HEALTH_OK. Cut off once the
/// mons run Tentacle (HEALTH_ERR from the aes keys) and aborted, the next
/// run is not refused for the health its own steps caused, and finishes.
#[tokio::test(start_paused = true)]
async fn an_upgrade_to_tentacle_rotates_the_keys_last_and_resumes_after_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    set_global(dir.path(), "ceph_release", "reef");
    let stored: Files = Default::default();
    let mut w = world(stored.clone());
    let reef = "quay.io/ceph/ceph:v18";
    w.releases.insert(reef.into(), Release::Reef);
    w.releases.insert(TENTACLE.into(), Release::Tentacle);
    for h in w.hosts.values_mut() {
        h.add_image(reef);
        h.add_image(TENTACLE);
    }
    let t = Arc::new(FakeTransport::new(w));
    let recap = deploy(t.clone(), cluster(dir.path())).await;
    assert!(
        !recap.any_failed(),
        "{}",
        cephalo::engine::recap_text(&recap)
    );
    t.world(|w| w.ceph.require_osd_release = Some(Release::Reef));
    client_keys(&t);
    set_global(dir.path(), "ceph_release", "tentacle");
    let upgrade = |t: Arc<FakeTransport<FakeCluster>>, abort: bool| {
        let dir = dir.path().to_path_buf();
        async move {
            let c = Arc::new(cluster(&dir));
            let engine = engine(t.clone(), &c);
            let journal = up::unfinished(&c, Some(t.as_ref()), &dir).await.unwrap();
            let live = up::live(&c, &engine).await;
            let from = journal
                .as_ref()
                .map(|j| j.from)
                .or(up::source_release(&live.daemons))
                .unwrap();
            let mut p = cephalo::upgrade::plan(
                from,
                Release::Tentacle,
                &live.layout,
                &cephalo::upgrade::PlanOptions::default(),
            )
            .unwrap();
            let rotated = match &journal {
                Some(_) => Default::default(),
                None => cephalo::upgrade::keys::rotated(&c, t.as_ref())
                    .await
                    .unwrap(),
            };
            assert!(cephalo::upgrade::rotate::append_to_upgrade(
                &mut p,
                &c,
                &live.layout,
                &rotated
            ));
            let j =
                journal.unwrap_or_else(|| Journal::new(&c.name, "fsid", from, Release::Tentacle));
            let u = up::upgrade(c.clone(), p, j, &dir, engine.reporter.clone());
            if abort {
                up::abort(u.clone(), &engine).await;
                return None;
            }
            up::take_lock(&c, t.as_ref(), "upgrade", false)
                .await
                .unwrap();
            Some(up::execute(u, &engine).await)
        }
    };
    // Cut off once the mons run Tentacle and the health is HEALTH_ERR.
    t.world(|w| w.cut_after = Some(w.commands + 100));
    upgrade(t.clone(), false).await;
    t.world(|w| w.cut_after = None);
    assert!(t.world(|w| {
        w.ceph
            .mons
            .values()
            .all(|d| d.running == Some(Release::Tentacle))
    }));
    assert_eq!(health(&t).0, "HEALTH_ERR", "{:?}", health(&t).1);
    upgrade(t.clone(), true).await;
    let o = upgrade(t.clone(), false).await.unwrap();
    assert!(
        o.restored.is_none(),
        "{:?}",
        o.upgrade.journal(|j| j.errors.clone())
    );
    assert_rotated(dir.path(), &t, &stored);
    t.world(|w| {
        assert!(
            w.ceph
                .mons
                .values()
                .all(|d| d.running == Some(Release::Tentacle))
        );
        assert_eq!(w.ceph.require_osd_release, Some(Release::Tentacle));
    });
}
