//! Custom containers and Prometheus targets on a real 3-host Pacific
//! playground:
//! - a small service image built in the test (FROM the playground's Ceph
//!   image, a shell loop as its command) runs on the hosts of its group
//!   (ceph1, ceph3) with /etc/ceph read-only and its own cephx user, and
//!   lists the cluster's pools with that user;
//! - `status` lists it without a flag;
//! - a second deploy leaves every container as it was; a change of its
//!   environment is named by `deploy --check` (exit 8) and makes only it
//!   again; prechecks find its image on its hosts, and say so when it is
//!   gone from one;
//! - with `enable_ceph_mgr_prometheus` the targets `prometheus-targets`
//!   prints answer, the active mgr's with Ceph metrics, also after the
//!   active mgr fails over (`ceph mgr fail`);
//! - `destroy` removes it and its keyring.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Playground, long_cephalo, output_text};

const IMAGE: &str = "cephalo/mapper:1";
const HOSTS: [&str; 3] = ["ceph1", "ceph2", "ceph3"];

/// The custom container's declaration, with `mode` in its environment.
fn declaration(mode: &str) -> String {
    format!(
        r#"
enable_ceph_mgr_prometheus: true
ceph_custom_containers:
  - name: mapper
    image: {IMAGE}
    hosts: mappers
    command: ["sh", "-c", "cd /tmp && echo mapper_up 1 > metrics && python3 -m http.server 9500 >/dev/null 2>&1 & while true; do ceph --id mapper osd pool ls > /tmp/pools 2>&1; sleep 5; done"]
    ports: [9500]
    env: {{MODE: {mode}}}
    mounts: ["/etc/ceph:/etc/ceph:ro"]
    cephx: {{user: client.mapper, caps: {{mon: "allow r", osd: "allow r"}}}}
    restart: unless-stopped
    health: ["test", "-s", "/tmp/pools"]
    metrics_port: 9500
"#
    )
}

fn write_globals(pg: &Playground, base: &str, mode: &str) {
    std::fs::write(
        pg.dir.path().join("globals.yml"),
        format!("{base}{}", declaration(mode)),
    )
    .unwrap();
}

/// host -> container name -> container id, of every `ceph_*` container.
fn containers(pg: &Playground) -> BTreeMap<String, BTreeMap<String, String>> {
    HOSTS
        .iter()
        .map(|h| {
            let listing = pg.on(
                h,
                "docker ps -a --filter name=ceph_ --format '{{.Names}} {{.ID}}'",
            );
            let map = listing
                .lines()
                .filter_map(|l| l.trim().split_once(' '))
                .map(|(n, id)| (n.to_string(), id.to_string()))
                .collect();
            (h.to_string(), map)
        })
        .collect()
}

/// The body of `http://ADDRESS/metrics` fetched from ceph1 (inside its
/// mon container, on the host network), or the error.
fn scrape(pg: &Playground, address: &str) -> String {
    pg.on(
        "ceph1",
        &format!(
            "docker exec ceph_mon python3 -c \"import sys, urllib.request as u; \
             print(u.urlopen('http://{address}/metrics', timeout=10).read().decode())\" 2>&1 || true"
        ),
    )
}

/// The active mgr's name, once one is available.
fn active_mgr(pg: &Playground) -> String {
    let d = pg.ceph_json("mgr dump");
    if d["available"] == true {
        d["active_name"].as_str().unwrap_or_default().to_string()
    } else {
        String::new()
    }
}

/// `prometheus-targets` as file_sd JSON: (job, host, address) of each.
fn targets(pg: &Playground) -> Vec<(String, String, String)> {
    // From the inventory alone: no host, no run log.
    let out = long_cephalo()
        .args(["prometheus-targets", "--format", "file-sd", "-i"])
        .arg(pg.inventory())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["labels"]["job"].as_str().unwrap().to_string(),
                t["labels"]["host"].as_str().unwrap().to_string(),
                t["targets"][0].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits until the active mgr's target (and only a mgr target) answers
/// with Ceph metrics; returns the active mgr.
fn active_answers(pg: &Playground, mgrs: &[(String, String, String)]) -> String {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let active = active_mgr(pg);
        if let Some((_, _, address)) = mgrs.iter().find(|(_, h, _)| *h == active) {
            let body = scrape(pg, address);
            if body.contains("ceph_health_status") {
                return active;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the active mgr ({active}) did not answer with ceph_health_status"
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

#[test]
fn custom_container_and_prometheus_targets_on_pacific() {
    let pid = std::process::id();
    let name = format!("cephalo-cu-{pid}");
    let pg = Playground::up(
        &name,
        3,
        0,
        "pacific",
        "docker",
        &format!("10.90.{}.0/24", pid % 250),
    );
    // The service image, on every host (the group decides where it runs).
    for h in HOSTS {
        pg.on(
            h,
            &format!(
                "printf 'FROM cephalo/ceph:pacific\\nENTRYPOINT []\\nLABEL purpose=cephalo-test\\n' | docker build -q -t {IMAGE} - >/dev/null"
            ),
        );
    }
    let inventory = std::fs::read_to_string(pg.inventory()).unwrap();
    std::fs::write(
        pg.inventory(),
        format!("{inventory}\n[mappers]\nceph1\nceph3\n"),
    )
    .unwrap();
    let base = std::fs::read_to_string(pg.dir.path().join("globals.yml")).unwrap();
    write_globals(&pg, &base, "one");
    let deployed = pg.deploy();
    assert!(deployed.contains("HEALTH_OK"), "{deployed}");

    // On the group's hosts only, with a read-only /etc/ceph, its keyring
    // 0600 and its user's caps.
    let first = containers(&pg);
    for h in HOSTS {
        let has = first[h].contains_key("ceph_custom_mapper");
        assert_eq!(has, h != "ceph2", "{h}: {first:?}");
    }
    pg.on(
        "ceph1",
        "docker exec ceph_mon ceph osd pool create mapped 8 >/dev/null 2>&1",
    );
    for h in ["ceph1", "ceph3"] {
        let pools = pg.on(
            h,
            "docker exec ceph_custom_mapper ceph --id mapper osd pool ls",
        );
        assert!(pools.lines().any(|l| l.trim() == "mapped"), "{h}: {pools}");
        let ro = pg.on(
            h,
            "docker exec ceph_custom_mapper sh -c 'touch /etc/ceph/x 2>/dev/null && echo writable || echo read-only'",
        );
        assert_eq!(ro.trim(), "read-only", "{h}");
        let mode = pg.on(h, "stat -c %a /etc/ceph/ceph.client.mapper.keyring");
        assert_eq!(mode.trim(), "600", "{h}");
        let env = pg.on(h, "docker exec ceph_custom_mapper sh -c 'echo $MODE'");
        assert_eq!(env.trim(), "one", "{h}");
    }
    // Read apart from the run logs (the answer holds the key).
    let caps: serde_json::Value = serde_json::from_str(
        pg.peek(
            "ceph1",
            "docker exec ceph_mon ceph auth get client.mapper -f json 2>/dev/null",
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(caps[0]["caps"]["mon"], "allow r", "{caps}");
    assert_eq!(caps[0]["caps"]["osd"], "allow r", "{caps}");
    // The key is in no run log.
    let key = pg.peek(
        "ceph1",
        "docker exec ceph_mon ceph auth get-key client.mapper",
    );
    for e in std::fs::read_dir(pg.logs()).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        assert!(
            !text.contains(key.trim()),
            "the mapper's key is in a run log"
        );
    }
    // status lists it, flags nothing.
    let status = pg.cephalo(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", output_text(&status));
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    let text = s.to_string();
    assert!(text.contains("\"custom.mapper\""), "{text}");

    // Deployed again: nothing made again.
    pg.deploy();
    assert_eq!(containers(&pg), first);
    // Its environment changed: `deploy --check` names the mappers and
    // nothing else (exit 8, drift), and changes nothing; a deploy makes
    // only the mappers again.
    write_globals(&pg, &base, "two");
    let check = pg.cephalo(&["deploy", "--check"]);
    let text = output_text(&check);
    assert_eq!(check.status.code(), Some(8), "{text}");
    let drift: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" | ") && l.contains("would be"))
        .collect();
    assert_eq!(drift.len(), 2, "{text}");
    for (line, h) in drift.iter().zip(["ceph1", "ceph3"]) {
        assert!(
            line.starts_with(&format!("{h} | ceph_custom_mapper: ")),
            "{text}"
        );
    }
    assert_eq!(containers(&pg), first);
    // prechecks: the image of each host's custom containers is there;
    // gone from ceph3, it is named there.
    let judged = |pg: &Playground| -> Vec<(String, String, String)> {
        let out = pg.cephalo(&["prechecks", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let report: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {}", output_text(&out)));
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"] == "image.custom")
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("host"), s("level"), s("value"))
            })
            .collect()
    };
    let found = judged(&pg);
    assert_eq!(
        found
            .iter()
            .map(|(h, l, v)| (h.as_str(), l.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("ceph1", "pass", IMAGE), ("ceph3", "pass", IMAGE)],
        "{found:?}"
    );
    pg.on(
        "ceph3",
        &format!("docker tag {IMAGE} {IMAGE}-kept && docker rmi {IMAGE} >/dev/null"),
    );
    let found = judged(&pg);
    assert!(
        found
            .iter()
            .any(|(h, l, v)| h == "ceph3" && l == "warn" && v.contains(IMAGE)),
        "{found:?}"
    );
    pg.on(
        "ceph3",
        &format!("docker tag {IMAGE}-kept {IMAGE} && docker rmi {IMAGE}-kept >/dev/null"),
    );
    pg.deploy();
    let after = containers(&pg);
    for h in HOSTS {
        for (n, id) in &first[h] {
            let now = &after[h][n];
            if n == "ceph_custom_mapper" {
                assert_ne!(now, id, "{h} {n} was not made again");
            } else {
                assert_eq!(now, id, "{h} {n} was made again");
            }
        }
        if h != "ceph2" {
            let env = pg.on(h, "docker exec ceph_custom_mapper sh -c 'echo $MODE'");
            assert_eq!(env.trim(), "two", "{h}");
        }
    }

    // Prometheus: both mgrs and the two mappers; the active mgr answers
    // with Ceph metrics, the mappers answer HTTP.
    let all = targets(&pg);
    let mgrs: Vec<_> = all
        .iter()
        .filter(|(j, _, _)| j == "ceph")
        .cloned()
        .collect();
    assert_eq!(mgrs.len(), 2, "{all:?}");
    let mappers: Vec<_> = all.iter().filter(|(j, _, _)| j == "mapper").collect();
    assert_eq!(
        mappers
            .iter()
            .map(|(_, h, _)| h.as_str())
            .collect::<Vec<_>>(),
        ["ceph1", "ceph3"]
    );
    for (_, h, address) in &mappers {
        let body = scrape(&pg, address);
        assert!(body.contains("mapper_up 1"), "{h} {address}: {body}");
    }
    let before = active_answers(&pg, &mgrs);
    // Fail over: the other mgr becomes active and its target answers.
    pg.on(
        "ceph1",
        &format!("docker exec ceph_mon ceph mgr fail {before}"),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    while active_mgr(&pg) == before || active_mgr(&pg).is_empty() {
        assert!(Instant::now() < deadline, "no other mgr became active");
        std::thread::sleep(Duration::from_secs(3));
    }
    let after_failover = active_answers(&pg, &mgrs);
    assert_ne!(after_failover, before);

    // destroy removes it and its keyring.
    let out = long_cephalo()
        .args(["destroy", "--yes-i-really-really-mean-it", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "destroy failed:\n{}",
        output_text(&out)
    );
    for h in HOSTS {
        let left = pg.on(
            h,
            "docker ps -a --filter name=ceph_ --format '{{.Names}}'; ls /etc/ceph/ceph.client.mapper.keyring 2>/dev/null || true",
        );
        assert!(left.trim().is_empty(), "{h}: {left}");
    }
}
