//! `cephalo status` and `cephalo map` on real 3-host playgrounds, Reef and
//! Nautilus (the JSON shapes of `pg dump`, `rbd namespace ls` and `ceph
//! status` differ), run on the upgrade e2e tests' test beds before their
//! upgrades (tests/it/upgrade.rs):
//! - status on the healthy cluster lists every daemon with the version
//!   it reports, flags nothing, exits 0;
//! - map: an RBD pool, a 64 MiB image written whole by `rbd bench`, and an
//!   image in a namespace with a separate data pool: `map rbd` lists
//!   exactly the data objects `rados ls` shows, each with the PG and acting
//!   set `ceph osd map` gives for it; the per-OSD and per-host totals add
//!   up to the image; `map osd` lists the image with the count `map rbd`
//!   puts on that OSD;
//! - a stopped OSD container is flagged (exit 8);
//! - a paused host (ceph3) is shown unreachable (exit 5) while the other
//!   hosts are still listed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::support::{Playground, output_text};

/// A command with `--json` and the exit code expected: its JSON.
fn json(pg: &Playground, args: &[&str], code: i32) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = pg.cephalo(&a);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}:\n{}",
        output_text(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}:\n{}", output_text(&out)))
}

/// The rows of one host in a status report.
fn rows<'a>(s: &'a Value, host: &str) -> &'a Vec<Value> {
    s["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == host)
        .unwrap_or_else(|| panic!("no {host}: {s}"))["daemons"]
        .as_array()
        .unwrap()
}

/// Every daemon of every host runs, with a version of `major`; mons on
/// all three, an OSD on each.
fn healthy(pg: &Playground, major: &str) {
    let s = json(pg, &["status"], 0);
    assert_eq!(s["flagged"], Value::Array(vec![]), "{s}");
    let plain = pg.cephalo(&["status"]);
    assert_eq!(plain.status.code(), Some(0), "{}", output_text(&plain));
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(
        text.contains("mons in quorum: ceph1, ceph2, ceph3"),
        "{text}"
    );
    for host in ["ceph1", "ceph2", "ceph3"] {
        let r = rows(&s, host);
        assert!(
            r.iter().any(|d| d["daemon"] == format!("mon.{host}")),
            "{s}"
        );
        assert!(
            r.iter()
                .any(|d| d["daemon"].as_str().unwrap().starts_with("osd.")),
            "{s}"
        );
        for d in r {
            assert_eq!(d["state"], "running", "{d}");
            let v = d["version"].as_str().unwrap_or_else(|| panic!("{d}"));
            assert!(v.starts_with(major), "{d}");
            assert!(text.contains(v), "{text}");
            assert!(d["uptime_s"].is_u64(), "{d}");
        }
    }
}

/// In the mon container on ceph1.
fn in_mon(pg: &Playground, script: &str) -> String {
    pg.on("ceph1", &format!("docker exec ceph_mon sh -c '{script}'"))
}

/// `ceph osd map POOL OBJ [NS]` of each name: name -> (pgid, acting,
/// primary); one script for all of them.
fn osd_map(
    pg: &Playground,
    pool: &str,
    ns: &str,
    names: &BTreeSet<String>,
) -> BTreeMap<String, (String, Vec<i64>, i64)> {
    let list = names.iter().cloned().collect::<Vec<_>>().join(" ");
    let out = in_mon(
        pg,
        &format!("for o in {list}; do ceph osd map {pool} $o {ns} -f json; echo; done"),
    );
    out.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let acting = v["acting"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_i64().unwrap())
                .collect();
            // Some releases print a namespaced object as `NS/NAME`.
            let objname = v["objname"].as_str().unwrap();
            (
                objname.rsplit('/').next().unwrap_or(objname).to_string(),
                (
                    v["pgid"].as_str().unwrap().to_string(),
                    acting,
                    v["acting_primary"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// `map rbd SPEC` agrees with `rados ls` and `ceph osd map` on every
/// object; totals add up (3 copies a PG). Returns the map.
fn map_agrees(
    pg: &Playground,
    spec: &str,
    data_pool: &str,
    ns: &str,
    objects: u64,
    bytes: u64,
) -> Value {
    let m = json(pg, &["map", "rbd", spec], 0);
    let prefix = m["image"]["prefix"].as_str().unwrap().to_string();
    assert_eq!(m["image"]["data_pool"], data_pool, "{m}");
    let ns_flag = if ns.is_empty() {
        String::new()
    } else {
        format!("-N {ns}")
    };
    let listed: BTreeSet<String> = in_mon(pg, &format!("rados -p {data_pool} {ns_flag} ls"))
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&format!("{prefix}.")))
        .map(str::to_string)
        .collect();
    let mapped: BTreeSet<String> = m["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mapped, listed, "{spec}: map rbd and rados ls");
    assert_eq!(m["total_objects"], objects, "{m}");
    assert_eq!(m["total_bytes"], bytes, "{m}");
    let truth = osd_map(pg, data_pool, ns, &listed);
    assert_eq!(truth.len(), listed.len());
    for o in m["objects"].as_array().unwrap() {
        let name = o["object"].as_str().unwrap();
        let (pgid, acting, primary) = truth
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in `ceph osd map`'s answers: {truth:?}"));
        assert_eq!(o["pg"].as_str().unwrap(), pgid, "{name}");
        let got: Vec<i64> = o["acting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_i64().unwrap())
            .collect();
        assert_eq!(&got, acting, "{name}");
        assert_eq!(o["primary"].as_i64().unwrap(), *primary, "{name}");
    }
    let sum = |rows: &Value, key: &str| -> u64 {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum(&m["per_osd"], "objects"), 3 * objects, "{m}");
    assert_eq!(sum(&m["per_osd"], "primaries"), objects, "{m}");
    assert_eq!(sum(&m["per_osd"], "bytes"), 3 * bytes, "{m}");
    for key in ["objects", "primaries", "bytes"] {
        assert_eq!(sum(&m["per_host"], key), sum(&m["per_osd"], key), "{key}");
    }
    let share = m["most_loaded"]["share"].as_f64().unwrap();
    assert!(share > 0.0 && share <= 1.0, "{m}");
    m
}

fn map(pg: &Playground) {
    // A pool, a 64 MiB image written whole; a namespace, a data pool and
    // an 8 MiB image of random data imported into both (two objects; a
    // `rbd bench` of 8 MiB left one object on Nautilus and Reef alike).
    in_mon(
        pg,
        "set -e; ceph osd pool create rbd 32 >/dev/null 2>&1; rbd pool init rbd; \
         ceph osd pool create rbddata 16 >/dev/null 2>&1; rbd pool init rbddata; \
         rbd namespace create rbd/tenant; \
         rbd create --size 64 rbd/vm1; \
         rbd bench --io-type write --io-size 4M --io-total 64M --io-pattern seq rbd/vm1 >/dev/null; \
         head -c 8388608 /dev/urandom >/tmp/vm2; \
         rbd import --data-pool rbddata /tmp/vm2 rbd/tenant/vm2 >/dev/null 2>&1; rm -f /tmp/vm2",
    );
    let vm1 = map_agrees(pg, "rbd/vm1", "rbd", "", 16, 64 << 20);
    let vm2 = map_agrees(pg, "rbd/tenant/vm2", "rbddata", "tenant", 2, 8 << 20);
    // `map osd` of one OSD counts what `map rbd` put there.
    let osd = vm1["per_osd"][0]["osd"].as_i64().unwrap();
    let on = json(pg, &["map", "osd", &osd.to_string()], 0);
    for (spec, m) in [("rbd/vm1", &vm1), ("rbd/tenant/vm2", &vm2)] {
        let want = m["per_osd"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["osd"] == osd);
        let got = on["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["image"] == spec);
        match (want, got) {
            (Some(w), Some(g)) => {
                assert_eq!(g["objects"], w["objects"], "{on}");
                assert_eq!(g["primary"], w["primaries"], "{on}");
                assert_eq!(g["total_objects"], m["total_objects"], "{on}");
            }
            (None, None) => {}
            other => panic!("osd.{osd} {spec}: {other:?}"),
        }
    }
    let text = pg.cephalo(&["map", "osd", &format!("osd.{osd}")]);
    assert!(text.status.success(), "{}", output_text(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("rbd/vm1"));
    // A missing image is bad input.
    let missing = pg.cephalo(&["map", "rbd", "rbd/nope"]);
    assert_eq!(missing.status.code(), Some(2), "{}", output_text(&missing));
}

/// A stopped OSD container is flagged, exit 8; started again, 0.
fn stopped_osd(pg: &Playground) {
    let name = pg.on(
        "ceph2",
        "docker ps --filter name=ceph_osd_ --format '{{.Names}}' | head -1",
    );
    let name = name.trim().to_string();
    assert!(name.starts_with("ceph_osd_"), "{name}");
    pg.on("ceph2", &format!("docker stop {name} >/dev/null"));
    let s = json(pg, &["status"], 8);
    let id = name.trim_start_matches("ceph_osd_");
    let flag = format!("ceph2 osd.{id}: not running (exited)");
    assert!(
        s["flagged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == flag.as_str()),
        "{s}"
    );
    let plain = pg.cephalo(&["status"]);
    assert_eq!(plain.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&plain.stdout).contains(&flag));
    pg.on("ceph2", &format!("docker start {name} >/dev/null"));
}

/// A paused host: unreachable, exit 5, the others listed.
fn unreachable(pg: &Playground, name: &str) {
    let host = format!("{name}-ceph3");
    let paused = std::process::Command::new("docker")
        .args(["pause", &host])
        .output()
        .unwrap();
    assert!(paused.status.success(), "{}", output_text(&paused));
    let s = json(pg, &["status"], 5);
    let _ = std::process::Command::new("docker")
        .args(["unpause", &host])
        .output();
    let c3 = s["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "ceph3")
        .unwrap();
    assert_eq!(c3["reachable"], false, "{s}");
    assert!(c3["error"].is_string(), "{s}");
    for host in ["ceph1", "ceph2"] {
        assert!(
            rows(&s, host)
                .iter()
                .any(|d| d["daemon"] == format!("mon.{host}")),
            "{s}"
        );
    }
}

/// Every check of this file on a freshly deployed 3-host playground named
/// `name` (its host containers are `{name}-cephN`) whose daemons report
/// versions starting with `major`. The upgrade e2e tests call it on their
/// test beds before they start (Nautilus and Reef), so that no playground
/// is made for status alone.
pub fn status_and_map(pg: &Playground, name: &str, major: &str) {
    healthy(pg, major);
    map(pg);
    stopped_osd(pg);
    unreachable(pg, name);
}
