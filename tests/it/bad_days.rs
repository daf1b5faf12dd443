//! Bad days on a real Reef playground (issue 21), before its upgrade to
//! Tentacle (tests/it/upgrade.rs shares the test bed): the first inventory
//! mon's container stopped, then that mon crash-looping on an image older
//! than its data (what deploy made of a stale ceph_image_tag before the
//! release guard), then another host's SSH port closed. In each state
//! every command either works or refuses with its exit code and a fix,
//! and the fix run as printed gets out.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Playground, output_text};

/// `ceph ARGS -f json` through ceph2's mon (ceph1's may be down).
fn ceph2(pg: &Playground, args: &str) -> Value {
    let out = pg.peek(
        "ceph2",
        &format!("docker exec ceph_mon ceph {args} -f json 2>/dev/null"),
    );
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("ceph {args}: {e}: {out}"))
}

fn quorum(pg: &Playground) -> Vec<String> {
    ceph2(pg, "quorum_status")["quorum_names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// Waits (bounded) until the quorum is exactly `want`.
fn wait_quorum(pg: &Playground, want: &[&str]) {
    let start = Instant::now();
    let mut q = Vec::new();
    while start.elapsed() < Duration::from_secs(180) {
        q = quorum(pg);
        if q == want {
            return;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("quorum {q:?}, not {want:?}, after 180 s");
}

/// The exit code and all a command printed.
fn run(pg: &Playground, args: &[&str]) -> (i32, String) {
    let out = pg.cephalo(args);
    (out.status.code().unwrap_or(-1), output_text(&out))
}

fn expect(pg: &Playground, args: &[&str], code: i32, said: &[&str]) -> String {
    let (c, text) = run(pg, args);
    assert_eq!(c, code, "cephalo {args:?}:\n{text}");
    for s in said {
        assert!(text.contains(s), "cephalo {args:?}: {s:?} not in:\n{text}");
    }
    text
}

/// The ids of every daemon container on the hosts.
fn container_ids(pg: &Playground) -> Vec<String> {
    ["ceph1", "ceph2", "ceph3"]
        .iter()
        .map(|h| pg.peek(h, "docker ps -aq --no-trunc | sort"))
        .collect()
}

/// ceph1's mon made again from the Pacific image with the same mounts
/// and command (what a deploy with a stale ceph_image_tag did): Pacific
/// cannot read the store Reef wrote, and the engine restarts it forever.
const CRASH_LOOP: &str = r#"
set -e
binds=$(docker inspect -f '{{range .HostConfig.Binds}}-v {{.}} {{end}}' ceph_mon)
entry=$(docker inspect -f '{{join .Config.Entrypoint " "}}' ceph_mon)
cmd=$(docker inspect -f '{{join .Config.Cmd " "}}' ceph_mon)
docker rm -f ceph_mon >/dev/null
docker run -d --name ceph_mon --restart=always --network=host $binds --entrypoint "$entry" cephalo/ceph:pacific $cmd >/dev/null
"#;

fn crash_loop(pg: &Playground) {
    pg.peek("ceph1", CRASH_LOOP);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let n = pg.peek("ceph1", "docker inspect -f '{{.RestartCount}}' ceph_mon");
        if n.trim().parse::<u32>().unwrap_or(0) >= 2 {
            return;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("ceph1's mon on the Pacific image did not crash-loop");
}

/// Runs a command in a host container itself (not over SSH).
fn in_host(container: &str, script: &str) {
    let out = std::process::Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", output_text(&out));
}

/// The playground's Reef cluster, deployed and healthy, with the Pacific
/// image on its hosts too; `name` is its containers' prefix.
pub(super) fn on_reef(pg: &Playground, name: &str) {
    let keys = pg.dir.path().join("bad-day-keys");
    let keys = keys.to_str().unwrap();

    // 1. The first inventory mon's container stopped.
    pg.peek("ceph1", "docker stop ceph_mon >/dev/null");
    wait_quorum(pg, &["ceph2", "ceph3"]);
    expect(
        pg,
        &["status", "-v"],
        8,
        &[
            "health: HEALTH_WARN",
            "mons in quorum: ceph2, ceph3",
            "mon.ceph1: not running (exited)",
            "ceph: the cluster answered through mon ceph2 (no answer through ceph1: its ceph_mon container is not running (exited))",
        ],
    );
    expect(
        pg,
        &["gatherkeys", "--dest", keys],
        0,
        &["mon ceph1: skipped: its ceph_mon container is not running (exited)"],
    );
    expect(pg, &["upgrade", "--status"], 0, &["no upgrade in progress"]);
    expect(
        pg,
        &["prechecks"],
        0,
        &["deploy brings back ceph1 (its container is exited: deploy starts it)"],
    );
    expect(
        pg,
        &["deploy", "--check"],
        8,
        &["ceph_mon: exited: would be started"],
    );
    expect(pg, &["deploy"], 0, &[]);
    wait_quorum(pg, &["ceph1", "ceph2", "ceph3"]);

    // 2. ceph1's mon crash-looping on the Pacific image.
    crash_loop(pg);
    wait_quorum(pg, &["ceph2", "ceph3"]);
    // The downgrade of issue 21: deploy with the old tag is refused, and
    // nothing is made again.
    let before = container_ids(pg);
    expect(
        pg,
        &["deploy", "-e", "ceph_image_tag=pacific"],
        9,
        &[
            "image cephalo/ceph:pacific holds Ceph 16.2.15 (pacific), not reef",
            "set ceph_image_tag",
            "Nothing was changed.",
        ],
    );
    expect(
        pg,
        &[
            "deploy",
            "--check",
            "--diff",
            "-e",
            "ceph_image_tag=pacific",
        ],
        9,
        &["image cephalo/ceph:pacific holds Ceph 16.2.15 (pacific), not reef"],
    );
    assert_eq!(
        container_ids(pg),
        before,
        "a refused deploy changed containers"
    );
    expect(
        pg,
        &["status"],
        8,
        &["health: HEALTH_WARN", "mon.ceph1: crash-looping ("],
    );
    // (Between two crashes the engine may show it running a moment.)
    expect(
        pg,
        &["gatherkeys", "--dest", keys],
        0,
        &["mon ceph1: skipped: ", "mon ceph2: in quorum"],
    );
    expect(pg, &["upgrade", "--status"], 0, &["no upgrade in progress"]);
    expect(
        pg,
        &["deploy", "--check", "--diff"],
        8,
        &[
            "ceph_mon: its spec or config differs",
            "ceph_mon: image cephalo/ceph:pacific -> cephalo/ceph:reef",
        ],
    );
    expect(pg, &["prechecks"], 0, &["deploy brings back ceph1 ("]);
    // The way out, as a command of its own: redeploy (the guard judges
    // the mon by the mon map's min_mon_release, its data's release).
    expect(
        pg,
        &["redeploy", "mon.ceph1", "--yes"],
        0,
        &[
            "mon.ceph1 on ceph1: made again",
            "redeploy of `ceph` on reef: done",
        ],
    );
    wait_quorum(pg, &["ceph1", "ceph2", "ceph3"]);
    // And as a deploy: its prechecks let it bring the mon back.
    crash_loop(pg);
    wait_quorum(pg, &["ceph2", "ceph3"]);
    expect(pg, &["deploy"], 0, &[]);
    wait_quorum(pg, &["ceph1", "ceph2", "ceph3"]);
    let mon = pg.peek("ceph1", "docker inspect -f '{{.Config.Image}}' ceph_mon");
    assert_eq!(mon.trim(), "cephalo/ceph:reef");

    // 3. ceph3's SSH port closed (the host and its daemons up; issue 27):
    // never read as a host without daemons.
    let ceph3 = format!("{name}-ceph3");
    let rule = "INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset";
    in_host(&ceph3, &format!("iptables -I {rule}"));
    expect(
        pg,
        &["upgrade", "--to", "tentacle", "--yes"],
        5,
        &[
            "ceph3: cannot connect",
            "--limit '!ceph3'",
            "nothing was changed",
        ],
    );
    // (The journal there is the redeploy's, done.)
    let journal =
        std::fs::read_to_string(pg.dir.path().join("upgrade/ceph.json")).unwrap_or_default();
    assert!(
        !journal.contains("\"operation\": \"upgrade\"") && !journal.contains("in-progress"),
        "an upgrade was started: {journal}"
    );
    let plan = expect(
        pg,
        &["upgrade", "--to", "tentacle", "--plan", "--limit", "!ceph3"],
        0,
        &["note: ceph3 could not be asked"],
    );
    assert!(!plan.contains("[require-osd-release]"), "{plan}");
    expect(pg, &["status"], 5, &["ceph3 UNREACHABLE"]);
    expect(pg, &["deploy", "--check"], 5, &["ceph3"]);
    in_host(&ceph3, &format!("iptables -D {rule}"));
}
