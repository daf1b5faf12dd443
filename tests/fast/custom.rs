//! Custom containers on the fake cluster: deployed on their group's hosts
//! with their cephx user's keyring, left alone by a second deploy,
//! restarted alone when their spec changes, listed by `status` without a
//! flag, removed (with their keyring) by the real destroy script run
//! against a stub engine; and the declarations' problems reported with
//! file, line and key.

use std::path::Path;
use std::sync::Arc;

use cephalo::engine::{Engine, Mode, Recap, Reporter, recap_text};
use cephalo::fake::{FakeCluster, FakeTransport, fresh};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::transport::Endpoint;

const MAPPER: &str = "example/rbd-mapper:1.0";
const EXPORTER: &str = "quay.io/prometheus/node-exporter:v1.8.2";

fn customs(mapper_env: &str) -> String {
    format!(
        r#"enable_ceph_mgr_prometheus: true
ceph_custom_containers:
  - name: rbd-mapper
    image: {MAPPER}
    hosts: mons
    command: ["/usr/bin/mapper", "--port", "9500"]
    ports: [9500]
    env: {{MODE: {mapper_env}}}
    mounts: ["/etc/ceph:/etc/ceph:ro"]
    cephx: {{user: client.mapper, caps: {{mon: "allow r", osd: "allow r"}}}}
    health: ["curl", "-sf", "http://localhost:9500/health"]
    metrics_port: 9500
  - name: node-exporter
    image: {EXPORTER}
    hosts: osds
    ports: [9100]
    metrics_port: 9100
"#
    )
}

fn load(dir: &Path) -> Result<Arc<Cluster>, String> {
    model::load(&Sources {
        inventory: dir.join("inventory"),
        ..Default::default()
    })
    .map(Arc::new)
    .map_err(|e| e.to_string())
}

fn hosts() -> Vec<String> {
    (1..=4).map(|i| format!("ceph{i}")).collect()
}

/// The engine over the fake, every host of the cluster.
fn engine(t: &Arc<FakeTransport<FakeCluster>>, cluster: &Cluster) -> Engine {
    Engine {
        transport: t.clone(),
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: 16,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    }
}

async fn deploy(t: &Arc<FakeTransport<FakeCluster>>, cluster: &Arc<Cluster>) -> Recap {
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let plan = cephalo::deploy::plan(cluster, &selected, false, true);
    let engine = engine(t, cluster);
    let recap = engine.run(&plan).await;
    let failures: Vec<String> = recap
        .results
        .iter()
        .filter(|r| matches!(r.status, cephalo::engine::Status::Failed { .. }))
        .map(|r| format!("{} {}: {:?}", r.host, r.step, r.status))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}\n{}", recap_text(&recap));
    recap
}

/// Container name -> (container id, host) of every custom container.
fn custom_ids(t: &FakeTransport<FakeCluster>) -> Vec<(String, String, String)> {
    t.world(|w| {
        w.hosts
            .iter()
            .flat_map(|(h, fh)| {
                fh.containers
                    .iter()
                    .filter(|(n, _)| n.starts_with("ceph_custom_"))
                    .map(move |(n, c)| (h.clone(), n.clone(), c.id.clone()))
            })
            .collect()
    })
}

/// A lab of 4 hosts (mons on the first 3, OSDs on all) deployed on the
/// fake with the two custom containers; their images are on the hosts.
async fn deployed() -> (tempfile::TempDir, Arc<FakeTransport<FakeCluster>>) {
    let dir = tempfile::tempdir().unwrap();
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("fast")).unwrap();
    let cluster = load(dir.path()).unwrap();
    let mut world = FakeCluster::fresh(Release::Pacific, &cluster.image, &hosts(), 1);
    for h in world.hosts.values_mut() {
        h.add_image(MAPPER);
        h.add_image(EXPORTER);
    }
    let t = Arc::new(FakeTransport::new(world));
    deploy(&t, &cluster).await;
    assert!(
        t.world(|w| w.unknown.is_empty()),
        "{:#?}",
        t.world(|w| w.unknown.clone())
    );
    (dir, t)
}

#[tokio::test]
async fn custom_containers_run_on_their_groups_hosts_with_their_cephx_user() {
    let (_dir, t) = deployed().await;
    let mut found: Vec<(String, String)> =
        custom_ids(&t).into_iter().map(|(h, n, _)| (h, n)).collect();
    found.sort();
    let want: Vec<(String, String)> = [
        ("ceph1", "ceph_custom_node-exporter"),
        ("ceph1", "ceph_custom_rbd-mapper"),
        ("ceph2", "ceph_custom_node-exporter"),
        ("ceph2", "ceph_custom_rbd-mapper"),
        ("ceph3", "ceph_custom_node-exporter"),
        ("ceph3", "ceph_custom_rbd-mapper"),
        ("ceph4", "ceph_custom_node-exporter"),
    ]
    .iter()
    .map(|(h, n)| (h.to_string(), n.to_string()))
    .collect();
    assert_eq!(found, want);
    let c = t.world(|w| w.hosts["ceph1"].containers["ceph_custom_rbd-mapper"].clone());
    assert_eq!(c.image, MAPPER);
    assert_eq!(c.command, ["/usr/bin/mapper", "--port", "9500"]);
    assert_eq!(c.env["MODE"], "fast");
    // The user exists in the cluster with the declared caps set; its key
    // went to the keyring, never into a command line.
    let key = t.world(|w| w.ceph.auth.get("client.mapper").cloned());
    let key = key.expect("client.mapper was created");
    let sent = t.sent();
    assert!(sent.iter().all(|s| !s.command.contains(&key)));
    assert!(sent.iter().any(|s| {
        s.command
            .contains("auth caps client.mapper mon 'allow r' osd 'allow r'")
    }));
    let runs: Vec<_> = sent
        .iter()
        .filter(|s| s.command.contains("run -d --name ceph_custom_rbd-mapper"))
        .collect();
    assert_eq!(runs.len(), 3);
    for r in runs {
        assert!(r.command.contains("--network=host"), "{}", r.command);
        assert!(
            r.command.contains("-v /etc/ceph:/etc/ceph:ro"),
            "{}",
            r.command
        );
        assert!(
            r.command.ends_with("'--health-cmd=curl -sf http://localhost:9500/health' example/rbd-mapper:1.0 /usr/bin/mapper --port 9500"),
            "{}",
            r.command
        );
    }
}

#[tokio::test]
async fn a_second_deploy_changes_nothing_and_a_spec_change_restarts_only_that_container() {
    let (dir, t) = deployed().await;
    let before = custom_ids(&t);
    t.clear_sent();
    let cluster = load(dir.path()).unwrap();
    let recap = deploy(&t, &cluster).await;
    let changed: usize = recap.hosts.values().map(|c| c.changed).sum();
    assert_eq!(changed, 0, "{}", recap_text(&recap));
    assert_eq!(custom_ids(&t), before);
    assert!(
        !t.sent()
            .iter()
            .any(|s| s.command.contains(" run -d ") || s.command.contains(" rm "))
    );

    // The mapper's environment changes: the mappers are made again, the
    // exporters and every Ceph daemon stay.
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("slow")).unwrap();
    let cluster = load(dir.path()).unwrap();
    let ceph_before = t.world(|w| {
        w.hosts
            .iter()
            .flat_map(|(h, fh)| {
                fh.containers
                    .iter()
                    .filter(|(n, _)| !n.starts_with("ceph_custom_"))
                    .map(move |(n, c)| (h.clone(), n.clone(), c.id.clone()))
            })
            .collect::<Vec<_>>()
    });
    deploy(&t, &cluster).await;
    for ((h, n, id), (h2, n2, id2)) in before.iter().zip(custom_ids(&t)) {
        assert_eq!((h, n), (&h2, &n2));
        if n.ends_with("rbd-mapper") {
            assert_ne!(*id, id2, "{h} {n} was not replaced");
        } else {
            assert_eq!(*id, id2, "{h} {n} was replaced");
        }
    }
    let ceph_after = t.world(|w| {
        w.hosts
            .iter()
            .flat_map(|(h, fh)| {
                fh.containers
                    .iter()
                    .filter(|(n, _)| !n.starts_with("ceph_custom_"))
                    .map(move |(n, c)| (h.clone(), n.clone(), c.id.clone()))
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(ceph_before, ceph_after);
    let env =
        t.world(|w| w.hosts["ceph2"].containers["ceph_custom_rbd-mapper"].env["MODE"].clone());
    assert_eq!(env, "slow");
}

/// `deploy --check`'s drift lines about containers by host, after a
/// check plan ran (the fake keeps no sysctl files: tuning is left out).
async fn check(
    t: &Arc<FakeTransport<FakeCluster>>,
    cluster: &Arc<Cluster>,
) -> Vec<(String, String)> {
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let notes = cephalo::tune::Notes::default();
    let plan = cephalo::deploy::check_plan(cluster, &selected, true, false, &notes);
    let engine = engine(t, cluster);
    let recap = engine.run(&plan).await;
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    let notes = notes.lock().unwrap();
    notes
        .iter()
        .flat_map(|(h, lines)| {
            lines
                .iter()
                .filter(|l| l.drift && l.text.starts_with("ceph_"))
                .map(move |l| (h.clone(), l.text.clone()))
        })
        .collect()
}

#[tokio::test]
async fn deploy_check_names_a_custom_container_to_restart_and_changes_nothing() {
    let (dir, t) = deployed().await;
    let cluster = load(dir.path()).unwrap();
    assert_eq!(check(&t, &cluster).await, []);
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("slow")).unwrap();
    let cluster = load(dir.path()).unwrap();
    let before = custom_ids(&t);
    t.clear_sent();
    let drift = check(&t, &cluster).await;
    let want: Vec<(String, String)> = ["ceph1", "ceph2", "ceph3"]
        .iter()
        .map(|h| {
            (
                h.to_string(),
                format!(
                    "ceph_custom_rbd-mapper: {}: would be recreated",
                    cephalo::containers::SPEC_DIFFERS
                ),
            )
        })
        .collect();
    assert_eq!(drift, want);
    assert_eq!(custom_ids(&t), before);
    // (A `run --rm` of `stat` in the image reads its ceph user.)
    assert!(!t.sent().iter().any(|s| s.command.contains(" run -d ")
        || s.command.contains(" rm ")
        || s.command.contains(" stop ")));
    // Its image gone from ceph2: the check says the run would stop there.
    t.world(|w| {
        w.hosts.get_mut("ceph2").unwrap().images.remove(MAPPER);
    });
    let drift = check(&t, &cluster).await;
    assert!(
        drift.contains(&(
            "ceph2".to_string(),
            format!(
                "ceph_custom_rbd-mapper: image {MAPPER} is not on the host: run `cephalo pull -i {}` first",
                dir.path().join("inventory").display()
            )
        )),
        "{drift:#?}"
    );
}

#[tokio::test]
async fn status_lists_custom_containers_without_a_flag() {
    let (dir, t) = deployed().await;
    let cluster = load(dir.path()).unwrap();
    let eps: Vec<Endpoint> = cluster.hosts.iter().map(Endpoint::of).collect();
    let s = cephalo::status::status(&cluster, t.as_ref(), &eps, dir.path()).await;
    let customs: Vec<String> = s
        .hosts
        .iter()
        .flat_map(|h| {
            h.daemons
                .iter()
                .map(move |d| format!("{} {}", h.host, d.daemon))
        })
        .filter(|d| d.contains("custom."))
        .collect();
    assert_eq!(customs.len(), 7, "{customs:?}");
    assert!(customs.contains(&"ceph1 custom.rbd-mapper".to_string()));
    assert!(
        !s.flagged.iter().any(|f| f.contains("custom.")),
        "{:#?}",
        s.flagged
    );
    // Gone from a host that should run it: flagged as missing.
    t.world(|w| {
        w.hosts
            .get_mut("ceph4")
            .unwrap()
            .containers
            .remove("ceph_custom_node-exporter")
    });
    let s = cephalo::status::status(&cluster, t.as_ref(), &eps, dir.path()).await;
    assert!(
        s.flagged
            .iter()
            .any(|f| f.starts_with("ceph4 custom.node-exporter: the inventory calls for it")),
        "{:#?}",
        s.flagged
    );
}

#[test]
fn pull_takes_each_custom_image_to_the_hosts_that_run_it() {
    let dir = tempfile::tempdir().unwrap();
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("fast")).unwrap();
    let cluster = load(dir.path()).unwrap();
    let selected: Vec<String> = vec!["ceph1".into(), "ceph4".into()];
    assert_eq!(
        cephalo::pull::custom_images(&cluster, &selected),
        [
            (MAPPER.to_string(), vec!["ceph1".to_string()]),
            (
                EXPORTER.to_string(),
                vec!["ceph1".to_string(), "ceph4".to_string()]
            ),
        ]
    );
}

/// The real destroy script with a stub engine and a stub `rm` first on
/// PATH (nothing on this machine is removed): it removes the custom
/// containers with the daemons', and the keyrings it is given.
#[test]
fn destroy_removes_custom_containers_and_their_keyrings() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("log");
    let stub = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    stub(
        "docker",
        &format!(
            "case $1 in ps) printf 'ceph_mon\\nceph_custom_rbd-mapper\\nceph_osd_3\\nother\\nceph_exporter\\n' ;; *) echo \"docker $*\" >> {} ;; esac",
            log.display()
        ),
    );
    stub("rm", &format!("echo \"rm $*\" >> {}", log.display()));
    stub("ls", "true");
    for tool in ["grep", "basename", "dirname", "cat"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    let keyring = dir.path().join("ceph.client.mapper.keyring");
    std::fs::write(&keyring, "[client.mapper]\n").unwrap();
    let cmd = cephalo::deploy::destroy::script("docker", "ceph", false)
        .arg(keyring.display().to_string())
        .command();
    assert_eq!(cmd.argv[0], "sh");
    let out = std::process::Command::new("/bin/sh")
        .args(&cmd.argv[1..])
        .env("PATH", &bin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("docker rm -f ceph_mon ceph_custom_rbd-mapper ceph_osd_3\n"),
        "{log}"
    );
    assert!(
        log.contains(&format!("rm -f {}", keyring.display())),
        "{log}"
    );
}

#[test]
fn declaration_problems_name_the_file_line_and_key() {
    let cases: &[(&str, &str)] = &[
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    portz: [1]\n",
            "unknown key `portz` in a custom container (did you mean `ports`?)",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: monz\n",
            "`monz` is not a group of the inventory (did you mean `mons`?)",
        ),
        (
            "ceph_custom_containers:\n  - name: 'x;rm'\n    image: a/b:1\n    hosts: mons\n",
            "`x;rm` is not a valid daemon id",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    ports: [70000]\n",
            "`70000` is not a port",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    ports: [6789]\n",
            "port 6789 of custom container `x` is the mon's on ceph1",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    cephx: {user: client.x, caps: {mon: 'r'}}\n",
            "`r` is not a cap",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    cephx: {user: client.admin, caps: {mon: 'allow r'}}\n",
            "`client.admin` is cephalo's own",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    mounts: ['etc:/etc']\n",
            "`etc:/etc` is not a bind mount",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n    restart: sometimes\n",
            "`sometimes` is not a restart policy",
        ),
        (
            "ceph_custom_containers:\n  - name: x\n    image: a/b:1\n    hosts: mons\n  - name: x\n    image: a/b:1\n    hosts: osds\n",
            "custom container `x` is declared twice",
        ),
    ];
    for (globals, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        fresh::write_lab(dir.path(), &hosts(), 1, globals).unwrap();
        let err = load(dir.path()).expect_err(globals);
        assert!(err.contains(want), "{globals}\nwanted: {want}\ngot: {err}");
        assert!(err.contains("globals.yml:4"), "{err}");
        assert!(err.contains("(key `ceph_custom_containers["), "{err}");
    }
    // One user, two sets of caps (host vars of one host differ).
    let dir = tempfile::tempdir().unwrap();
    fresh::write_lab(
        dir.path(),
        &hosts(),
        1,
        "ceph_custom_containers:\n  - {name: x, image: a/b:1, hosts: mons, cephx: {user: client.x, caps: {mon: allow r}}}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("host_vars")).unwrap();
    std::fs::write(
        dir.path().join("host_vars/ceph2.yml"),
        "ceph_custom_containers:\n  - {name: x, image: a/b:1, hosts: mons, cephx: {user: client.x, caps: {mon: allow rw}}}\n",
    )
    .unwrap();
    let err = load(dir.path()).expect_err("caps differ");
    assert!(
        err.contains("cephx user `client.x` has other caps"),
        "{err}"
    );
}

#[test]
fn prechecks_find_a_custom_containers_port_taken() {
    use cephalo::facts::{Facts, Listener};
    use cephalo::prechecks::{Level, checks::host_checks};
    let dir = tempfile::tempdir().unwrap();
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("fast")).unwrap();
    let cluster = load(dir.path()).unwrap();
    let judged = |host: &str, port: u16| {
        let facts = Facts {
            listeners: vec![Listener {
                address: "0.0.0.0".into(),
                port,
                process: Some("nginx".into()),
            }],
            ..Default::default()
        };
        host_checks(&cluster, cluster.host(host).unwrap(), &facts, None)
            .into_iter()
            .filter(|r| r.id == "ports.custom")
            .map(|r| (r.level, r.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        judged("ceph1", 9500),
        [(Level::Warn, "9500 (rbd-mapper) held by nginx".to_string())]
    );
    assert_eq!(
        judged("ceph1", 80),
        [(Level::Pass, "9500, 9100 free".to_string())]
    );
    assert_eq!(
        judged("ceph4", 9500),
        [(Level::Pass, "9100 free".to_string())]
    );
}

#[test]
fn prechecks_find_a_custom_containers_image_missing() {
    use cephalo::facts::{Facts, parse};
    use cephalo::prechecks::{Level, checks::host_checks};
    let dir = tempfile::tempdir().unwrap();
    fresh::write_lab(dir.path(), &hosts(), 1, &customs("fast")).unwrap();
    let cluster = load(dir.path()).unwrap();
    // As the gather script prints them: an id, or `missing`.
    let gathered = parse(&format!(
        "=== engine_version ===\n20.10.24\nrc=0\n=== custom_images ===\n{MAPPER} sha256:0123456789abcdef\n{EXPORTER} missing\n"
    ));
    assert_eq!(gathered.custom_images.get(MAPPER), Some(&true));
    assert_eq!(gathered.custom_images.get(EXPORTER), Some(&false));
    let judged = |host: &str, facts: &Facts| {
        host_checks(&cluster, cluster.host(host).unwrap(), facts, None)
            .into_iter()
            .filter(|r| r.id == "image.custom")
            .map(|r| (r.level, r.value))
            .collect::<Vec<_>>()
    };
    // ceph1 runs the mapper (a mon) and the exporter (an OSD host).
    assert_eq!(
        judged("ceph1", &gathered),
        [(
            Level::Warn,
            format!("not on the host: {EXPORTER} (node-exporter)")
        )]
    );
    // ceph4 is an OSD host only: the exporter is all it needs.
    assert_eq!(
        judged("ceph4", &gathered),
        [(
            Level::Warn,
            format!("not on the host: {EXPORTER} (node-exporter)")
        )]
    );
    let mut all = gathered.clone();
    all.custom_images.insert(EXPORTER.into(), true);
    assert_eq!(
        judged("ceph1", &all),
        [(Level::Pass, format!("{MAPPER}, {EXPORTER}"))]
    );
    // No engine answering: the engine checks say so, this one is silent.
    let no_engine = Facts {
        engine_version: None,
        ..all
    };
    assert!(judged("ceph1", &no_engine).is_empty());
}
