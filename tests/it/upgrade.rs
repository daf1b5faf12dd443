//! Real rolling upgrades on the playground: Nautilus with its MDS, 256
//! objects with checksums and a client writing and reading for the whole
//! time, upgraded in place to Pacific (killed with SIGKILL once its mgrs
//! are done, and run again) and then to Reef (aborted half way, paused by a
//! stopped OSD, its SSH connections to one host cut, and run again).
//! After each: every daemon on the new release, require-osd-release set,
//! flags as before, HEALTH_OK, every object intact, no client I/O error,
//! and a second upgrade changes nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Playground, long_cephalo, output_text};

/// The client's loop (in a container of the old release's image on
/// client1): put and get one of 64 objects over and over (0.2 s apart, so
/// that it does not take a core of the 2-core test machine), counting
/// failures and the longest gap between two successful round trips; each
/// gap over 3 s goes to /io/stalls as `END_MS GAP_MS PUT_MS GET_MS` (epoch
/// ms, the clock the run logs use), for bench/upgrade.sh to find the step
/// it fell in.
const CLIENT_IO: &str = r#"
set -u
i=0; errors=0; maxgap=0; last=$(date +%s%N)
while [ ! -e /io/stop ]; do
  i=$((i+1)); o=io-$((i % 64))
  head -c 4096 /dev/urandom >/tmp/w
  t0=$(date +%s%N)
  if timeout 60 rados -p io put "$o" /tmp/w && t1=$(date +%s%N) && timeout 60 rados -p io get "$o" /tmp/r && cmp -s /tmp/w /tmp/r; then
    now=$(date +%s%N); gap=$(( (now - last) / 1000000 )); [ "$gap" -gt "$maxgap" ] && maxgap=$gap; last=$now
    [ "$gap" -gt 3000 ] && echo "$((now / 1000000)) $gap $(( (t1 - t0) / 1000000 )) $(( (now - t1) / 1000000 ))" >>/io/stalls
  else
    errors=$((errors+1)); echo "op $i failed at $(date)" >>/io/errors
  fi
  echo "$i $errors $maxgap" >/io/progress.tmp && mv /io/progress.tmp /io/progress
  sleep 0.2
done
"#;

/// Writes 256 objects of random data and prints `name sha256` of each.
const WRITE_OBJECTS: &str = r#"
set -eu
for i in $(seq 1 256); do
  head -c 65536 /dev/urandom >/tmp/o
  rados -p data put "obj-$i" /tmp/o
  echo "obj-$i $(sha256sum </tmp/o | cut -d' ' -f1)"
done
"#;

/// Reads the 256 objects back and prints `name sha256` of each.
const READ_OBJECTS: &str = r#"
set -eu
for i in $(seq 1 256); do
  rados -p data get "obj-$i" /tmp/o
  echo "obj-$i $(sha256sum </tmp/o | cut -d' ' -f1)"
done
"#;

/// The `obj-N SHA256` lines of a write or read, without what the client
/// printed on stderr beside them (a Nautilus client to Reef mons logs
/// "monclient: handle_auth_reply_more no authorizer?" and goes on).
fn checksums(said: &str) -> String {
    said.lines()
        .filter(|l| l.starts_with("obj-"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(out: &std::process::Output) -> String {
    output_text(out)
}

struct Run<'a> {
    pg: &'a Playground,
}

impl Run<'_> {
    fn upgrade(&self, args: &[&str]) -> std::process::Output {
        long_cephalo()
            .args(["upgrade", "-i"])
            .arg(self.pg.inventory())
            .arg("--log-dir")
            .arg(self.pg.logs())
            .args(args)
            .output()
            .unwrap()
    }

    /// `cephalo upgrade ... --yes` in the background.
    fn upgrade_child(&self, to: &str) -> Child {
        Command::new(env!("CARGO_BIN_EXE_cephalo"))
            .args(["upgrade", "-i"])
            .arg(self.pg.inventory())
            .arg("--log-dir")
            .arg(self.pg.logs())
            .args(["--to", to, "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn image(&self, release: &str) {
        let out = long_cephalo()
            .args(["playground", "image", "--release", release, "--dir"])
            .arg(self.pg.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "image {release}:\n{}", text(&out));
    }

    fn journal(&self) -> Option<Value> {
        let p = self.pg.dir.path().join("upgrade").join("ceph.json");
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    }

    /// Waits (bounded) until the journal says `pred`.
    fn wait_journal(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.journal().is_some_and(|j| pred(&j)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "{what} within {} s; journal: {:?}",
            limit.as_secs(),
            self.journal()
        );
    }

    /// Waits for HEALTH_OK but for the `noscrub` flag the test set as an
    /// operator would (its OSDMAP_FLAGS warning stays while it is set).
    fn health_ok(&self, limit: Duration) {
        self.health_ok_but(limit, &[]);
    }

    /// `health_ok`, with the checks whose code starts with one of `known`
    /// aside as well.
    fn health_ok_but(&self, limit: Duration, known: &[&str]) {
        let start = Instant::now();
        let mut last = Value::Null;
        while start.elapsed() < limit {
            last = self.pg.ceph_json("health detail");
            let others: Vec<&String> = last["checks"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(code, c)| {
                    let noscrub = code.as_str() == "OSDMAP_FLAGS"
                        && c["summary"]["message"] == "noscrub flag(s) set";
                    let aside = known.iter().any(|k| code.starts_with(k));
                    !noscrub && !aside
                })
                .map(|(code, _)| code)
                .collect();
            if others.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
        panic!(
            "no HEALTH_OK (noscrub aside) within {} s:\n{last:#}",
            limit.as_secs()
        );
    }

    /// Every daemon reports `release` (from `ceph versions`), the OSD map
    /// requires it, `noout` is not set and `noscrub` (set by the operator
    /// before the upgrade) still is.
    fn upgraded_to(&self, release: &str) {
        let v = self.pg.ceph_json("versions");
        for (kind, counts) in v.as_object().unwrap() {
            for version in counts.as_object().unwrap().keys() {
                assert!(
                    version.contains(&format!(" {release} ")),
                    "{kind} still runs {version}: {v}"
                );
            }
        }
        let dump = self.pg.ceph_json("osd dump");
        assert_eq!(
            dump["require_osd_release"], release,
            "{}",
            dump["require_osd_release"]
        );
        let flags = dump["flags"].as_str().unwrap_or("");
        assert!(!flags.contains("noout"), "noout left set: {flags}");
        assert!(
            flags.contains("noscrub"),
            "the operator's noscrub was lost: {flags}"
        );
        held_as_before(self.pg, &format!("upgraded to {release}"));
    }
}

/// What the OSD phase holds is put back: every OSD's primary affinity 1
/// (as deployed) and no read lease ratio in the config database.
fn held_as_before(pg: &Playground, when: &str) {
    let dump = pg.ceph_json("osd dump");
    for o in dump["osds"].as_array().unwrap() {
        assert_eq!(
            o["primary_affinity"].as_f64(),
            Some(1.0),
            "{when}: osd.{} primary affinity not put back",
            o["osd"]
        );
    }
    let config = pg.ceph_json("config dump");
    assert!(
        !config
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "osd_pool_default_read_lease_ratio"),
        "{when}: read lease left set: {config}"
    );
}

fn client_progress(pg: &Playground) -> (u64, u64, u64) {
    let p = pg.on("client1", "cat /root/io/progress 2>/dev/null || echo 0 0 0");
    let n: Vec<u64> = p
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (
        n.first().copied().unwrap_or(0),
        n.get(1).copied().unwrap_or(0),
        n.get(2).copied().unwrap_or(0),
    )
}

#[test]
fn nautilus_to_pacific_to_reef_under_client_io_with_a_kill_and_an_abort() {
    let pid = std::process::id();
    let pg = Playground::up(
        &format!("cephalo-upg-{pid}"),
        3,
        1,
        "nautilus",
        "docker",
        &format!("10.83.{}.0/24", pid % 250),
    );
    let deployed = pg.deploy();
    assert!(deployed.contains("HEALTH_OK"), "{deployed}");
    // The test bed serves status and map on Nautilus first.
    super::status::status_and_map(&pg, &format!("cephalo-upg-{pid}"), "14.");
    Run { pg: &pg }.health_ok(Duration::from_secs(300));
    let run = Run { pg: &pg };
    let timer = Instant::now();

    // The client: conf and key on client1, pools, 256 objects, then the
    // I/O loop in a container of the Nautilus image, left running.
    let out = long_cephalo()
        .args(["admin", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .arg("client1")
        .output()
        .unwrap();
    assert!(out.status.success(), "admin:\n{}", text(&out));
    for pool in ["data", "io"] {
        pg.on("ceph1", &format!("docker exec ceph_mon ceph osd pool create {pool} 16 && docker exec ceph_mon ceph osd pool application enable {pool} rados"));
    }
    pg.on("ceph1", "docker exec ceph_mon ceph osd set noscrub");
    let client = |script: &str| {
        pg.on("client1", &format!(
            "docker run --rm --network=host -v /etc/ceph:/etc/ceph:ro cephalo/ceph:nautilus sh -c {}",
            shlex_quote(script)
        ))
    };
    let written = checksums(&client(WRITE_OBJECTS));
    assert_eq!(written.lines().count(), 256, "{written}");
    pg.on("client1", &format!(
        "mkdir -p /root/io && rm -f /root/io/* && docker run -d --name io --network=host -v /etc/ceph:/etc/ceph:ro -v /root/io:/io cephalo/ceph:nautilus sh -c {}",
        shlex_quote(CLIENT_IO)
    ));

    // Nautilus -> Pacific, killed (SIGKILL) a few seconds after its mgrs.
    run.image("pacific");
    let plan = run.upgrade(&["--to", "pacific", "--plan"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("[osd-host:"),
        "{}",
        text(&plan)
    );
    let mut child = run.upgrade_child("pacific");
    run.wait_journal(
        "the OSD phase did not start",
        Duration::from_secs(900),
        |j| {
            j["done"].as_array().is_some_and(|d| {
                d.iter()
                    .any(|s| s.as_str().is_some_and(|s| s.starts_with("mgr:")))
            })
        },
    );
    std::thread::sleep(Duration::from_secs(4));
    child.kill().unwrap();
    let _ = child.wait();
    let status = run.upgrade(&["--to", "pacific", "--status"]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("in progress"),
        "{}",
        text(&status)
    );
    // While it is unfinished, deploy refuses and names it.
    let refused = long_cephalo()
        .args(["deploy", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(7), "{}", text(&refused));
    assert!(text(&refused).contains("--abort"), "{}", text(&refused));
    let out = run.upgrade(&["--to", "pacific", "--yes"]);
    assert!(
        out.status.success(),
        "resumed upgrade to pacific failed:\n{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("resuming"),
        "{}",
        text(&out)
    );
    run.upgraded_to("pacific");
    run.health_ok(Duration::from_secs(600));
    let again = run.upgrade(&["--to", "pacific", "--yes"]);
    assert!(
        again.status.success() && String::from_utf8_lossy(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again)
    );
    eprintln!(
        "upgrade e2e: nautilus -> pacific done at {} s",
        timer.elapsed().as_secs()
    );

    // Pacific -> Reef, aborted after its mons, then finished.
    run.image("reef");
    let mut child = run.upgrade_child("reef");
    run.wait_journal(
        "the mons were not upgraded",
        Duration::from_secs(900),
        |j| {
            j["to"] == "reef"
                && j["done"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|s| s == "mon:ceph3"))
        },
    );
    child.kill().unwrap();
    let _ = child.wait();
    let aborted = run.upgrade(&["--to", "reef", "--abort"]);
    assert!(aborted.status.success(), "{}", text(&aborted));
    let flags = pg.ceph_json("osd dump")["flags"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        !flags.contains("noout") && flags.contains("noscrub"),
        "after --abort: {flags}"
    );
    held_as_before(&pg, "after --abort");
    // ceph3's OSD stopped before its turn: ceph1's OSDs may not stop (PGs
    // would go inactive), so the upgrade pauses at that gate with Ceph's
    // words, flags restored; once the OSD is back, the next run finishes.
    pg.on(
        "ceph3",
        "docker stop $(docker ps -q --filter name=ceph_osd_) >/dev/null",
    );
    let paused = run.upgrade(&[
        "--to",
        "reef",
        "--yes",
        "-e",
        "ceph_upgrade_ok_to_stop_timeout=20",
    ]);
    assert_eq!(paused.status.code(), Some(7), "{}", text(&paused));
    let said = text(&paused);
    assert!(
        said.contains("osd-host:ceph1") && said.contains("paused") && said.contains("ok-to-stop"),
        "{said}"
    );
    let flags = pg.ceph_json("osd dump")["flags"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        !flags.contains("noout"),
        "noout left set after the pause: {flags}"
    );
    held_as_before(&pg, "after the pause");
    pg.on(
        "ceph3",
        "docker start $(docker ps -aq --filter name=ceph_osd_) >/dev/null",
    );
    // The SSH connections to ceph2 cut (its sshd sessions killed) while
    // the OSD phase is at ceph2: the run fails naming ceph2, or retries;
    // a step is never recorded done with ceph2's OSD not on Reef.
    let cut = Command::new(env!("CARGO_BIN_EXE_cephalo"))
        .args(["upgrade", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .args(["--to", "reef", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    run.wait_journal(
        "the OSD phase did not reach ceph2",
        Duration::from_secs(900),
        |j| {
            j["done"]
                .as_array()
                .is_some_and(|d| d.iter().any(|s| s == "osd-host:ceph1"))
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("docker")
        .args([
            "exec",
            &format!("cephalo-upg-{pid}-ceph2"),
            "pkill",
            "-KILL",
            "-e",
            "-f",
        ])
        .arg("^sshd(-session)?: cephalo")
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "no SSH session to cut: {}",
        text(&killed)
    );
    let cut = cut.wait_with_output().unwrap();
    let said = text(&cut);
    let done_ceph2 = run.journal().is_some_and(|j| {
        j["done"]
            .as_array()
            .is_some_and(|d| d.iter().any(|s| s == "osd-host:ceph2"))
    });
    let osd_on_ceph2 = pg.on(
        "ceph2",
        "docker inspect --format '{{.Config.Image}} {{.State.Status}}' $(docker ps -aq --filter name=ceph_osd_)",
    );
    eprintln!(
        "upgrade e2e: the run with ceph2's SSH cut: {:?}, ceph2's OSD {osd_on_ceph2}",
        cut.status.code()
    );
    if cut.status.success() {
        assert!(
            osd_on_ceph2.contains("reef running"),
            "ceph2 skipped: {osd_on_ceph2}\n{said}"
        );
    } else {
        assert!(
            said.contains("ceph2"),
            "the failure does not name ceph2:\n{said}"
        );
        assert!(
            !done_ceph2 || osd_on_ceph2.contains("reef running"),
            "ceph2 recorded done on {osd_on_ceph2}"
        );
    }
    let out = run.upgrade(&["--to", "reef", "--yes"]);
    assert!(
        out.status.success(),
        "upgrade to reef after --abort, a pause and a cut failed:\n{}",
        text(&out)
    );
    run.upgraded_to("reef");
    run.health_ok(Duration::from_secs(600));
    let again = run.upgrade(&["--to", "reef", "--yes"]);
    assert!(
        again.status.success() && String::from_utf8_lossy(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again)
    );
    eprintln!(
        "upgrade e2e: pacific -> reef done at {} s",
        timer.elapsed().as_secs()
    );

    // The data and the client.
    assert_eq!(checksums(&client(READ_OBJECTS)), written, "objects changed");
    pg.on(
        "client1",
        "touch /root/io/stop; docker wait io >/dev/null; true",
    );
    let (ops, errors, maxgap) = client_progress(&pg);
    let failed = pg.on("client1", "cat /root/io/errors 2>/dev/null; true");
    assert!(ops > 100, "the client did {ops} round trips only");
    assert_eq!(errors, 0, "client I/O errors:\n{failed}");
    let stalls = pg.on("client1", "cat /root/io/stalls 2>/dev/null; true");
    eprintln!(
        "upgrade e2e: client {ops} round trips, 0 errors, longest stall {maxgap} ms; stalls over 3 s (end ms, gap ms):\n{stalls}"
    );
    let figures = write_figures(pg.dir.path(), ops, maxgap, &stalls);
    // bench/upgrade.sh at its smallest size: these figures, read as it
    // reads them (so that the benchmark cannot rot).
    let bench = std::process::Command::new("bash")
        .arg(super::support::repo().join("bench/upgrade.sh"))
        .arg("--from")
        .arg(&figures)
        .output()
        .unwrap();
    let said = text(&bench);
    assert!(bench.status.success(), "bench/upgrade.sh --from:\n{said}");
    assert!(said.contains("stall"), "bench/upgrade.sh --from:\n{said}");
}

/// For bench/upgrade.sh: the client's figures of this run, in
/// CEPHALO_UPGRADE_FIGURES when set (bench/upgrade.sh sets it), else in
/// the playground's folder; where they went.
fn write_figures(dir: &Path, ops: u64, maxgap: u64, stalls: &str) -> String {
    let out = std::env::var("CEPHALO_UPGRADE_FIGURES")
        .unwrap_or_else(|_| dir.join("figures.json").display().to_string());
    {
        let logs = dir.join("logs");
        let _ = std::fs::write(
            &out,
            format!(
                "{{\"ops\": {ops}, \"max_stall_ms\": {maxgap}, \"stalls\": [{}], \"logs\": {:?}}}\n",
                stalls
                    .lines()
                    .map(|l| format!("[{}]", l.split_whitespace().collect::<Vec<_>>().join(", ")))
                    .collect::<Vec<_>>()
                    .join(", "),
                logs.display().to_string()
            ),
        );
        let _ = std::process::Command::new("cp")
            .arg("-r")
            .arg(&logs)
            .arg(format!("{out}.logs"))
            .status();
    }
    out
}

fn shlex_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Reef -> Tentacle in place, the newest jump cephalo plans, after the
/// bad days of issue 21 on the same Reef test bed: 3 hosts (no client
/// host; the objects go through the mon's container), 64 objects written
/// on Reef and read back on Tentacle. Killed once its mons run Tentacle
/// (HEALTH_ERR from the aes keys, CVE-2025-30156) and aborted, the run
/// again is not refused for that health, rotates every key to aes256k as
/// its last phase and ends at HEALTH_OK; the globals keys it names make
/// `deploy --check` clean; gatherkeys, admin and a client with the
/// re-pushed admin keyring work; a second run changes nothing.
#[test]
fn reef_to_tentacle_in_place() {
    let pid = std::process::id();
    let pg = Playground::up(
        &format!("cephalo-upt-{pid}"),
        3,
        0,
        "reef",
        "docker",
        &format!("10.86.{}.0/24", pid % 250),
    );
    let deployed = pg.deploy();
    assert!(deployed.contains("HEALTH_OK"), "{deployed}");
    let run = Run { pg: &pg };
    // The same test bed serves status and map on Reef first, then the bad
    // days of issue 21: a mon stopped, a mon crash-looping on the Pacific
    // image.
    super::status::status_and_map(&pg, &format!("cephalo-upt-{pid}"), "18.");
    run.health_ok(Duration::from_secs(300));
    run.image("pacific");
    super::bad_days::on_reef(&pg, &format!("cephalo-upt-{pid}"));
    run.health_ok(Duration::from_secs(300));
    let timer = Instant::now();
    pg.on("ceph1", "docker exec ceph_mon ceph osd pool create data 16 && docker exec ceph_mon ceph osd pool application enable data rados");
    let objects = |script: &str| {
        pg.on(
            "ceph1",
            &format!(
                "docker exec ceph_mon sh -c {}",
                shlex_quote(&script.replace("seq 1 256", "seq 1 64"))
            ),
        )
    };
    let written = checksums(&objects(WRITE_OBJECTS));
    assert_eq!(written.lines().count(), 64, "{written}");
    run.image("tentacle");
    // Killed once every mon runs Tentacle, then aborted.
    let mut child = run.upgrade_child("tentacle");
    run.wait_journal(
        "the mons were not all upgraded",
        Duration::from_secs(900),
        |j| {
            let done = |id: &str| {
                j["done"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|s| s.as_str() == Some(id)))
            };
            done("mon:ceph1") && done("mon:ceph2") && done("mon:ceph3")
        },
    );
    child.kill().unwrap();
    let _ = child.wait();
    let aborted = run.upgrade(&["--abort"]);
    assert!(aborted.status.success(), "{}", text(&aborted));
    let health = pg.ceph_json("health detail");
    assert_eq!(health["status"], "HEALTH_ERR", "{health:#}");
    assert!(
        health["checks"]["AUTH_INSECURE_SERVICE_KEY_TYPE"].is_object(),
        "{health:#}"
    );
    // Run again: the health its own steps caused does not block it.
    let out = run.upgrade(&["--to", "tentacle", "--yes"]);
    assert!(
        out.status.success(),
        "upgrade to tentacle failed:\n{}",
        text(&out)
    );
    let v = pg.ceph_json("versions");
    for (kind, counts) in v.as_object().unwrap() {
        for version in counts.as_object().unwrap().keys() {
            assert!(
                version.contains(" tentacle "),
                "{kind} still runs {version}: {v}"
            );
        }
    }
    let dump = pg.ceph_json("osd dump");
    assert_eq!(dump["require_osd_release"], "tentacle", "{dump}");
    let flags = dump["flags"].as_str().unwrap_or("");
    assert!(!flags.contains("noout"), "noout left set: {flags}");
    held_as_before(&pg, "upgraded to tentacle");
    // Every key aes256k (type 2: base64 of 02 00 starts `Ag`), mon. too.
    let auth = pg.peek(
        "ceph1",
        "docker exec ceph_mon ceph auth ls -f json 2>/dev/null",
    );
    let auth: Value = serde_json::from_str(auth.trim()).unwrap();
    for e in auth["auth_dump"].as_array().unwrap() {
        assert!(
            e["key"].as_str().unwrap_or("").starts_with("Ag"),
            "{} is not aes256k",
            e["entity"]
        );
    }
    let mon_key = pg.peek(
        "ceph1",
        "docker exec ceph_mon ceph auth get mon. 2>/dev/null",
    );
    assert!(mon_key.contains("key = Ag"), "mon. is not aes256k");
    run.health_ok(Duration::from_secs(300));
    assert_eq!(
        checksums(&objects(READ_OBJECTS)),
        written,
        "objects changed"
    );
    // The keys the upgrade names make deploy --check find nothing to do.
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    for want in ["  ceph_release: tentacle", "  ceph_image_tag: tentacle"] {
        assert!(said.contains(want), "{want:?} not named:\n{said}");
    }
    let globals = pg.dir.path().join("globals.yml");
    let text_now = std::fs::read_to_string(&globals).unwrap();
    let edited: String = text_now
        .lines()
        .map(|l| {
            if l.starts_with("ceph_release:") {
                "ceph_release: tentacle".to_string()
            } else if l.starts_with("ceph_image_tag:") {
                "ceph_image_tag: tentacle".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&globals, edited + "\n").unwrap();
    let check = pg.cephalo(&["deploy", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", output_text(&check));
    // gatherkeys, admin and a client with the re-pushed admin keyring.
    let keys = pg.dir.path().join("keys-after");
    let gathered = pg.cephalo(&["gatherkeys", "--dest", keys.to_str().unwrap()]);
    assert!(gathered.status.success(), "{}", output_text(&gathered));
    let admin = std::fs::read_to_string(keys.join("ceph.client.admin.keyring")).unwrap();
    assert!(
        admin.contains("key = Ag"),
        "gatherkeys wrote no aes256k admin key"
    );
    let pushed = pg.cephalo(&["admin", "ceph2"]);
    assert!(pushed.status.success(), "{}", output_text(&pushed));
    let client = pg.peek(
        "ceph2",
        "docker run --rm --network host -v /etc/ceph:/etc/ceph:ro --entrypoint ceph cephalo/ceph:tentacle -s",
    );
    assert!(client.contains("HEALTH_OK"), "{client}");
    let again = run.upgrade(&["--to", "tentacle", "--yes"]);
    assert!(
        again.status.success() && String::from_utf8_lossy(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again)
    );
    let rotate = pg.cephalo(&["rotate-keys", "--check"]);
    assert_eq!(rotate.status.code(), Some(0), "{}", output_text(&rotate));
    eprintln!(
        "upgrade e2e: reef -> tentacle done in {} s",
        timer.elapsed().as_secs()
    );
}
