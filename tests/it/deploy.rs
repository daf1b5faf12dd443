//! `cephalo deploy` on a real 3-host Pacific playground: prechecks pass,
//! the cluster reaches HEALTH_OK with 3 mons in quorum, an active mgr and a
//! standby, 3 OSDs up and in and an active MDS; 64 objects written with
//! rados read back with the same sha256; a second deploy changes nothing
//! and keeps every container id.

use std::time::{Duration, Instant};

use crate::support::{Playground, long_cephalo as cephalo, output_text as all};
use serde_json::Value;

fn prechecks_json(pg: &Playground) -> Value {
    let out = cephalo()
        .args(["prechecks", "--json", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}", all(&out)))
}

fn cluster_check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {report:#}"))
}

fn level<'a>(report: &'a Value, id: &str) -> &'a str {
    cluster_check(report, id)["level"].as_str().unwrap()
}

fn value<'a>(report: &'a Value, id: &str) -> &'a str {
    cluster_check(report, id)["value"].as_str().unwrap()
}

/// Runs the prechecks until `done` says so (at most 2 minutes).
fn wait_report(pg: &Playground, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let r = prechecks_json(pg);
        if done(&r) {
            return r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waited 2 minutes: {r:#}"
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// The events of the newest run log of a deploy (or reconfigure).
fn last_log(pg: &Playground) -> Vec<Value> {
    let mut logs: Vec<_> = std::fs::read_dir(pg.logs())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    logs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    // The test's own `cephalo run` calls write run logs too.
    logs.iter()
        .rev()
        .map(|p| -> Vec<Value> {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .find(|events| {
            events
                .iter()
                .any(|e| e["event"] == "plan_started" && e["plan"] == "deploy")
        })
        .expect("a deploy's run log")
}

fn container_ids(pg: &Playground) -> Vec<String> {
    (1..=3)
        .map(|k| {
            pg.on(
                &format!("ceph{k}"),
                "docker ps --no-trunc --format '{{.Names}} {{.ID}}' | sort",
            )
        })
        .collect()
}

#[test]
fn deploy_a_healthy_cluster_then_change_nothing() {
    let pid = std::process::id();
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let t = Instant::now();
    let pg = Playground::up(
        &format!("cephalo-dep-{pid}"),
        3,
        0,
        "pacific",
        "docker",
        &format!("10.80.{}.0/24", pid % 250),
    );
    timings.push(("playground up with pull", t.elapsed()));

    // The prechecks pass on the playground as it is made.
    let out = cephalo()
        .args(["prechecks", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prechecks failed on the playground:\n{}",
        all(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" warn, 0 fail on 3 host(s)"),
        "{}",
        all(&out)
    );

    let t = Instant::now();
    let first = pg.deploy();
    timings.push(("deploy", t.elapsed()));
    assert!(first.contains("HEALTH_OK"), "{first}");
    // New OSDs are made on every host at once: their mkfs runs overlap.
    let mkfs: Vec<(u64, u64, String)> = last_log(&pg)
        .iter()
        .filter(|e| {
            e["event"] == "command"
                && e["command"]
                    .as_str()
                    .is_some_and(|c| c.contains("ceph-osd") && c.contains("--mkfs"))
        })
        .map(|e| {
            let start = e["start_ms"].as_u64().unwrap_or(0);
            (
                start,
                start + e["ms"].as_u64().unwrap_or(0),
                e["host"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(mkfs.len(), 3, "{mkfs:?}");
    let overlapping = mkfs.iter().enumerate().any(|(i, a)| {
        mkfs[i + 1..]
            .iter()
            .any(|b| b.0 < a.1 && a.0 < b.1 && a.2 != b.2)
    });
    assert!(
        overlapping,
        "OSD creations one host after another: {mkfs:?}"
    );

    let status = pg.ceph_json("status");
    assert_eq!(status["health"]["status"], "HEALTH_OK", "{status:#}");
    let quorum: Vec<&str> = status["quorum_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(quorum, ["ceph1", "ceph2", "ceph3"]);
    let osdmap = if status["osdmap"]["osdmap"].is_object() {
        &status["osdmap"]["osdmap"]
    } else {
        &status["osdmap"]
    };
    assert_eq!(
        (
            osdmap["num_osds"].as_u64(),
            osdmap["num_up_osds"].as_u64(),
            osdmap["num_in_osds"].as_u64()
        ),
        (Some(3), Some(3), Some(3)),
        "{status:#}"
    );
    let mgr = pg.ceph_json("mgr dump");
    assert!(mgr["available"].as_bool().unwrap_or(false), "{mgr:#}");
    assert_eq!(
        mgr["standbys"].as_array().map(|s| s.len()),
        Some(1),
        "{mgr:#}"
    );
    let fs = pg.ceph_json("fs status");
    let ranks = fs["mdsmap"].as_array().unwrap();
    assert!(
        ranks
            .iter()
            .any(|m| m["state"] == "active" && m["name"] == "ceph3"),
        "{fs:#}"
    );
    // The OSD partitions were renamed, so a re-run does not see them again.
    let names = pg.on("ceph2", "for p in /sys/class/block/loop*p1; do d=/dev/$(basename $p); [ -b $d ] && blkid -p -o value -s PART_ENTRY_NAME $d; done; true");
    assert!(
        names.lines().any(|n| n.starts_with("KOLLA_CEPH_DATA_BS_")),
        "{names}"
    );
    assert!(!names.contains("KOLLA_CEPH_OSD_BOOTSTRAP"), "{names}");
    // The OSD container has the TCMalloc setting.
    let env = pg.on("ceph1", "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $(docker ps -q --filter name=ceph_osd_)");
    assert!(
        env.contains("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=134217728"),
        "{env}"
    );

    // 64 objects in, 64 objects out with the same content.
    let t = Instant::now();
    let rados = pg.on(
        "ceph1",
        "docker exec ceph_mon sh -c 'ceph osd pool create cephalo-test 32 >/dev/null 2>&1; ceph osd pool application enable cephalo-test rados >/dev/null 2>&1; \
         mkdir -p /tmp/in /tmp/out && for i in $(seq 1 64); do head -c 65536 /dev/urandom > /tmp/in/o$i && rados -p cephalo-test put o$i /tmp/in/o$i || exit 1; done; \
         for i in $(seq 1 64); do rados -p cephalo-test get o$i /tmp/out/o$i || exit 1; done; \
         cd /tmp/in && sha256sum o* > /tmp/in.sum && cd /tmp/out && sha256sum -c --quiet /tmp/in.sum && echo intact $(ls /tmp/out | wc -l)'",
    );
    timings.push(("rados 64 objects", t.elapsed()));
    assert!(rados.contains("intact 64"), "{rados}");

    // On a running cluster the prechecks also ask it: health, quorum and
    // versions; a mon that stops is reported by name.
    let report = prechecks_json(&pg);
    assert_eq!(level(&report, "cluster.health"), "pass", "{report:#}");
    assert_eq!(level(&report, "cluster.quorum"), "pass", "{report:#}");
    assert!(
        value(&report, "cluster.versions").contains("mon 16.2.15 x3"),
        "{report:#}"
    );
    pg.on("ceph3", "docker stop ceph_mon >/dev/null");
    // (An election in progress shows no quorum at all for a moment.) A
    // stopped mon is one deploy brings back: a warning naming it, not a
    // failure that would stop the deploy that fixes it.
    let stopped = wait_report(&pg, |r| {
        value(r, "cluster.quorum")
            .contains("deploy brings back ceph3 (its container is exited: deploy starts it)")
    });
    assert_eq!(level(&stopped, "cluster.quorum"), "warn", "{stopped:#}");
    pg.on("ceph3", "docker start ceph_mon >/dev/null");
    wait_report(&pg, |r| {
        level(r, "cluster.quorum") == "pass" && level(r, "cluster.health") == "pass"
    });

    // Again: nothing changes, no container is recreated.
    let before = container_ids(&pg);
    let t = Instant::now();
    let second = pg.deploy();
    timings.push(("second deploy", t.elapsed()));
    assert_eq!(second.matches("changed=0 ").count(), 3, "{second}");
    assert_eq!(container_ids(&pg), before);

    // reconfigure after an [osd] override restarts the OSDs only, and the
    // cluster is healthy after (clean PGs are waited for after each OSD).
    std::fs::create_dir_all(pg.dir.path().join("config")).unwrap();
    std::fs::write(
        pg.dir.path().join("config/ceph.conf"),
        "[osd]\nosd_max_backfills = 2\n",
    )
    .unwrap();
    let t = Instant::now();
    let out = cephalo()
        .args(["reconfigure", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    assert!(out.status.success(), "reconfigure failed:\n{}", all(&out));
    let third = String::from_utf8_lossy(&out.stdout).to_string();
    timings.push(("reconfigure after an [osd] override", t.elapsed()));
    assert!(third.contains("HEALTH_OK"), "{third}");
    let after = container_ids(&pg);
    for (b, a) in before.iter().zip(&after) {
        for (lb, la) in b.lines().zip(a.lines()) {
            if lb.starts_with("ceph_osd_") {
                assert_ne!(lb, la, "the OSD was not restarted");
            } else {
                assert_eq!(lb, la, "only OSDs restart");
            }
        }
    }
    let conf = pg.on("ceph2", "grep osd_max_backfills /etc/ceph/ceph.conf");
    assert!(conf.contains("osd_max_backfills = 2"), "{conf}");
    // In its run log: noout set before the first OSD stops and unset after
    // the last is back; each host's OSDs stopped and waited for before the
    // next host's; noout is not left set.
    let events = last_log(&pg);
    let cmds: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "command")
        .map(|e| {
            (
                e["host"].as_str().unwrap_or("").to_string(),
                e["command"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let at = |pat: &str| cmds.iter().position(|(_, c)| c.contains(pat));
    let stops: Vec<(usize, &str)> = cmds
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| c.contains(" stop ") && c.contains("ceph_osd_"))
        .map(|(i, (h, _))| (i, h.as_str()))
        .collect();
    let mut hosts: Vec<&str> = stops.iter().map(|(_, h)| *h).collect();
    hosts.sort_unstable();
    assert_eq!(hosts, ["ceph1", "ceph2", "ceph3"], "each OSD host once");
    let set = at("osd set noout").expect("noout set");
    let unset = at("osd unset noout").expect("noout unset");
    assert!(
        set < stops[0].0 && unset > stops[2].0,
        "noout around the restarts"
    );
    for w in stops.windows(2) {
        assert!(
            cmds[w[0].0..w[1].0]
                .iter()
                .any(|(_, c)| c.contains("ok-to-stop")),
            "ok-to-stop before each host"
        );
    }
    let flags = pg.ceph_json("osd dump")["flags"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!flags.contains("noout"), "noout left set: {flags}");

    // destroy needs to be meant; with --zap it leaves the disks ready for a
    // new deploy, which brings a fresh cluster up again.
    let out = cephalo()
        .args(["destroy", "--zap", "-i"])
        .arg(pg.inventory())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(all(&out).contains("--yes-i-really-really-mean-it"));
    let out = cephalo()
        .args(["destroy", "--zap", "--yes-i-really-really-mean-it", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    assert!(out.status.success(), "destroy failed:\n{}", all(&out));
    for k in 1..=3 {
        let left = pg.on(&format!("ceph{k}"), "docker ps -a --format '{{.Names}}' | grep ^ceph_ || true; find /var/lib/ceph/mon /var/lib/ceph/osd -mindepth 1");
        assert_eq!(left.trim(), "", "ceph{k} kept: {left}");
    }
    let names = pg.on("ceph1", "for p in /sys/class/block/loop*p1; do d=/dev/$(basename $p); [ -b $d ] && blkid -p -o value -s PART_ENTRY_NAME $d; done; true");
    assert!(
        names
            .lines()
            .any(|n| n.starts_with("KOLLA_CEPH_OSD_BOOTSTRAP_BS_OSD")),
        "{names}"
    );
    // A deploy killed during the mon bootstrap as soon as ceph1's mon
    // runs (it waits alone for two mons that were never made, with no
    // quorum to join), then one killed while the OSDs are created on every
    // host at once: the next deploy completes, prechecks included,
    // without any clean-up by hand.
    let t = Instant::now();
    for (step, after) in [
        ("bootstrap mons", Some("changed: ceph1 ")),
        ("osd creations", None),
    ] {
        let mut killed = std::process::Command::new(env!("CARGO_BIN_EXE_cephalo"))
            .args(["deploy", "-v", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Step lines go to stderr (stdout is for results).
        let lines = std::io::BufReader::new(killed.stderr.take().unwrap());
        let mut seen = Vec::new();
        let marker = format!("STEP [{step}]");
        let mut in_step = false;
        for line in std::io::BufRead::lines(lines) {
            let line = line.unwrap();
            in_step |= line.starts_with(&marker);
            let now = in_step
                && match after {
                    Some(done) => line.starts_with(done),
                    None => line.starts_with(&marker),
                };
            seen.push(line);
            if now {
                if after.is_none() {
                    std::thread::sleep(Duration::from_secs(4));
                }
                break;
            }
        }
        killed.kill().unwrap();
        killed.wait().unwrap();
        assert!(seen.iter().any(|l| l.starts_with(&marker)), "{seen:?}");
        if let Some(done) = after {
            assert!(seen.iter().any(|l| l.starts_with(done)), "{seen:?}");
        }
    }
    let again = pg.deploy();
    timings.push(("deploy after destroy --zap, killed twice", t.elapsed()));
    assert!(again.contains("HEALTH_OK"), "{again}");
    assert!(again.contains("osd: 3 osds: 3 up"), "{again}");

    let out = cephalo()
        .args(["playground", "down", "--dir"])
        .arg(pg.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all(&out));
    for (what, took) in &timings {
        eprintln!("deploy e2e: {what}: {:.1} s", took.as_secs_f64());
    }
}
