//! The playground end to end, for real. A 3-host Pacific playground with
//! filestore disks (a data and a `_J` journal partition each) in a
//! temporary folder (its own name and subnet, so a user's playground is
//! never touched), `run` over SSH with the playground's known_hosts,
//! `pull` from the image archive (then again: nothing to do), a filestore
//! cluster deployed on it (HEALTH_OK, data kept, an OSD restarted mounts
//! its data again), `status`, and `down` leaving no container, volume,
//! loop device or network behind. Nautilus deployed with its MDS to
//! HEALTH_OK, then `playground image --release pacific` puts Pacific's
//! image on every host beside it (where the upgrade tests start); and
//! Tentacle deployed with its MDS to HEALTH_OK.
//! Installs and starts Docker when it is missing (through `up` itself);
//! never skips. The images are built once into /var/cache/cephalo/images
//! and reused by later runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{long_cephalo as cephalo, output_text as text};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Tears the playground down when the test ends, also when it fails.
struct Playground {
    dir: tempfile::TempDir,
    name: String,
}

impl Playground {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn inventory(&self) -> PathBuf {
        self.path().join("inventory")
    }

    fn logs(&self) -> PathBuf {
        self.path().join("logs")
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = cephalo()
            .args(["playground", "down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

/// Local commands for the leftover checks.
fn sh(argv: &[&str]) -> String {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn playground_up_run_pull_status_down() {
    let dir = tempfile::Builder::new()
        .prefix("cephalo-playground-")
        .tempdir()
        .unwrap();
    let pid = std::process::id();
    let pg = Playground {
        dir,
        name: format!("cephalo-it-{pid}"),
    };
    // 10.79.X.0/24, X from the pid: two test runs at once do not collide.
    let subnet = format!("10.79.{}.0/24", pid % 250);
    let mut timings: Vec<(&str, Duration)> = Vec::new();

    let t = Instant::now();
    let out = cephalo()
        .args([
            "playground",
            "up",
            "--no-pull",
            "--filestore",
            "--hosts",
            "3",
        ])
        .args([
            "--release",
            "pacific",
            "--name",
            &pg.name,
            "--subnet",
            &subnet,
        ])
        .arg("--dir")
        .arg(pg.path())
        .output()
        .unwrap();
    timings.push(("up", t.elapsed()));
    assert!(out.status.success(), "up failed:\n{}", text(&out));
    let up = stdout(&out);
    let archive = up
        .lines()
        .find_map(|l| l.strip_prefix("image archive: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no image archive line in:\n{up}"));
    for f in ["inventory", "globals.yml", "passwords.yml", "known_hosts"] {
        assert!(pg.path().join(f).is_file(), "{f} missing");
    }
    let known_hosts = std::fs::read_to_string(pg.path().join("known_hosts")).unwrap();
    assert_eq!(
        known_hosts
            .lines()
            .filter(|l| l.contains(" ssh-ed25519 "))
            .count(),
        3,
        "{known_hosts}"
    );

    // Every host answers its own name over SSH, host keys verified.
    let t = Instant::now();
    let out = cephalo()
        .args(["run", "-i"])
        .arg(pg.inventory())
        .arg("--log-dir")
        .arg(pg.logs())
        .args(["--", "hostname"])
        .output()
        .unwrap();
    timings.push(("run hostname", t.elapsed()));
    assert!(out.status.success(), "run failed:\n{}", text(&out));
    let run = stdout(&out);
    for k in 1..=3 {
        assert!(
            run.contains(&format!("ceph{k} | CHANGED | rc=0 >>\nceph{k}\n")),
            "ceph{k} did not answer its own name:\n{run}"
        );
    }

    // Before the pull, no host has the image.
    let inspect = |pg: &Playground| {
        cephalo()
            .args(["run", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .args([
                "--",
                "docker",
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                "cephalo/ceph:pacific",
            ])
            .output()
            .unwrap()
    };
    let out = inspect(&pg);
    assert_eq!(
        out.status.code(),
        Some(4),
        "the image is there before the pull:\n{}",
        text(&out)
    );

    let pull = |pg: &Playground| {
        cephalo()
            .args(["pull", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .arg("--image-archive")
            .arg(&archive)
            .output()
            .unwrap()
    };
    let t = Instant::now();
    let out = pull(&pg);
    timings.push(("pull (3 hosts)", t.elapsed()));
    assert!(out.status.success(), "pull failed:\n{}", text(&out));
    let first = stdout(&out);
    assert_eq!(first.matches(" | CHANGED | ").count(), 3, "{first}");

    // Every host has the archive's image id.
    let id = cephalo::pull::read_archive(&archive).unwrap().image_id;
    let out = inspect(&pg);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out).matches(&format!("\n{id}\n")).count(),
        3,
        "{}",
        stdout(&out)
    );

    // A second pull has nothing to do.
    let t = Instant::now();
    let out = pull(&pg);
    timings.push(("pull again", t.elapsed()));
    assert!(out.status.success(), "{}", text(&out));
    let second = stdout(&out);
    assert_eq!(second.matches(" | OK | ").count(), 3, "{second}");
    assert_eq!(second.matches("changed=0 ").count(), 3, "{second}");

    // cephalo's own commands accept the files.
    let rendered = pg.path().join("rendered");
    let out = cephalo()
        .args(["render", "-i"])
        .arg(pg.inventory())
        .arg("--out")
        .arg(&rendered)
        .output()
        .unwrap();
    assert!(out.status.success(), "render failed:\n{}", text(&out));

    let out = cephalo()
        .args(["playground", "status", "--dir"])
        .arg(pg.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let status = stdout(&out);
    for k in 1..=3 {
        let prefix = subnet.trim_end_matches("0/24");
        assert!(
            status.contains(&format!("ceph{k}  {prefix}1{k}  running")),
            "{status}"
        );
    }
    assert_eq!(status.matches("image      cephalo/ceph:pacific").count(), 3);
    assert_eq!(
        status.matches("disk       /dev/loop").count(),
        3,
        "{status}"
    );

    // A filestore cluster: each OSD an XFS data partition and a journal
    // partition, both renamed after their OSD.
    let on = |host: &str, script: &str| -> String {
        let out = cephalo()
            .args(["run", "-b", "--limit", host, "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .args(["--", "sh", "-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}:\n{}", text(&out));
        stdout(&out)
    };
    let deploy = || {
        let out = cephalo()
            .args(["deploy", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .output()
            .unwrap();
        assert!(out.status.success(), "deploy failed:\n{}", text(&out));
        stdout(&out)
    };
    let t = Instant::now();
    let first = deploy();
    timings.push(("deploy, filestore", t.elapsed()));
    assert!(first.contains("HEALTH_OK"), "{first}");
    assert!(first.contains("osd: 3 osds: 3 up"), "{first}");
    let meta = on("ceph1", "docker exec ceph_mon ceph osd metadata -f json");
    assert_eq!(
        meta.matches("\"osd_objectstore\":\"filestore\"").count(),
        3,
        "{meta}"
    );
    let names = on(
        "ceph2",
        "for p in /dev/loop*p*; do [ -b $p ] && blkid -p -o value -s PART_ENTRY_NAME $p; done; true",
    );
    let data: Vec<&str> = names
        .lines()
        .filter(|l| l.starts_with("KOLLA_CEPH_DATA_") && !l.ends_with("_J"))
        .collect();
    assert_eq!(data.len(), 1, "{names}");
    assert!(names.contains(&format!("{}_J", data[0])), "{names}");
    let rados = on(
        "ceph1",
        "docker exec ceph_mon sh -c 'ceph osd pool create fs-test 16 >/dev/null 2>&1; ceph osd pool application enable fs-test rados >/dev/null 2>&1; \
         mkdir -p /tmp/in /tmp/out && for i in $(seq 1 16); do head -c 65536 /dev/urandom > /tmp/in/o$i && rados -p fs-test put o$i /tmp/in/o$i || exit 1; done; \
         for i in $(seq 1 16); do rados -p fs-test get o$i /tmp/out/o$i || exit 1; done; \
         cd /tmp/in && sha256sum o* > /tmp/in.sum && cd /tmp/out && sha256sum -c --quiet /tmp/in.sum && echo intact $(ls /tmp/out | wc -l)'",
    );
    assert!(rados.contains("intact 16"), "{rados}");
    // A restarted OSD finds and mounts its partitions by name again.
    on(
        "ceph2",
        "docker restart $(docker ps -q --filter name=ceph_osd_) >/dev/null",
    );
    let started = Instant::now();
    loop {
        let mounts = on(
            "ceph2",
            "docker exec $(docker ps -q --filter name=ceph_osd_) grep -c ' /var/lib/ceph/osd/ceph-[0-9]* xfs ' /proc/mounts || true",
        );
        if mounts.contains(">>\n1\n") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{mounts}");
        std::thread::sleep(Duration::from_secs(1));
    }
    // The second deploy waits for HEALTH_OK, so the OSD is back up.
    let second = deploy();
    assert_eq!(second.matches("changed=0 ").count(), 3, "{second}");

    // Down leaves nothing of ours.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pg.path().join("state.json")).unwrap())
            .unwrap();
    let loops: Vec<String> = state["loops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(loops.len(), 3);
    let t = Instant::now();
    let out = cephalo()
        .args(["playground", "down", "--dir"])
        .arg(pg.path())
        .output()
        .unwrap();
    timings.push(("down", t.elapsed()));
    assert!(out.status.success(), "down failed:\n{}", text(&out));
    let label = format!("label=org.cephalo.playground.dir={}", pg.path().display());
    assert_eq!(
        sh(&["docker", "ps", "-a", "-q", "--filter", &label]),
        "",
        "containers left"
    );
    assert_eq!(
        sh(&["docker", "volume", "ls", "-q", "--filter", &label]),
        "",
        "volumes left"
    );
    assert_eq!(
        sh(&["docker", "network", "ls", "-q", "--filter", &label]),
        "",
        "networks left"
    );
    let attached = sh(&["losetup", "--list", "--noheadings", "--output", "BACK-FILE"]);
    for file in &loops {
        assert!(!attached.contains(file.as_str()), "{file} still attached");
        assert!(!Path::new(file).exists(), "{file} left");
    }
    // A second down has nothing to do and still succeeds.
    let out = cephalo()
        .args(["playground", "down", "--dir"])
        .arg(pg.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("nothing to remove"), "{}", text(&out));

    for (what, took) in &timings {
        eprintln!("playground e2e: {what}: {:.1} s", took.as_secs_f64());
    }
}

/// `playground up --release R` deploys R for real with the MDS, to
/// HEALTH_OK; with `second`, `playground image --release SECOND` then puts
/// that release's image on every host beside the running one (what an
/// upgrade in place starts from).
fn release_deploys(release: &str, net: u32, second: Option<&str>) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("cephalo-{release}-"))
        .tempdir()
        .unwrap();
    let pid = std::process::id();
    let pg = Playground {
        dir,
        name: format!("cephalo-rel-{release}-{pid}"),
    };
    let subnet = format!("10.{net}.{}.0/24", pid % 250);
    let mut timings: Vec<(String, Duration)> = Vec::new();

    let t = Instant::now();
    let out = cephalo()
        .args(["playground", "up", "--release", release, "--name", &pg.name])
        .args(["--subnet", &subnet, "--dir"])
        .arg(pg.path())
        .output()
        .unwrap();
    timings.push((format!("up --release {release}, deployed"), t.elapsed()));
    assert!(out.status.success(), "up failed:\n{}", text(&out));
    let up = stdout(&out);
    assert!(up.contains("HEALTH_OK"), "{up}");
    assert!(up.contains("osd: 3 osds: 3 up"), "{up}");
    // Nautilus shows the rank (`{0=ceph3=up:active}`), later releases
    // count the daemons.
    assert!(
        up.contains("up:active") || up.contains("mds: 1/1 daemons up"),
        "no active MDS:\n{up}"
    );

    let on_every_host = |argv: &[&str]| {
        cephalo()
            .args(["run", "-b", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .arg("--")
            .args(argv)
            .output()
            .unwrap()
    };
    // Every daemon runs the release asked for.
    let out = on_every_host(&[
        "sh",
        "-c",
        "docker exec $(docker ps -q --filter name=ceph_osd_ | head -1) ceph-osd --version",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out).matches(&format!(") {release} (")).count(),
        3,
        "{}",
        stdout(&out)
    );

    if let Some(second) = second {
        let t = Instant::now();
        let out = cephalo()
            .args(["playground", "image", "--release", second, "--dir"])
            .arg(pg.path())
            .output()
            .unwrap();
        timings.push((format!("image --release {second}"), t.elapsed()));
        assert!(out.status.success(), "image failed:\n{}", text(&out));
        let said = stdout(&out);
        let archive = said
            .lines()
            .find_map(|l| l.strip_prefix("image archive: "))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no image archive line in:\n{said}"));
        let id = cephalo::pull::read_archive(&archive).unwrap().image_id;
        let image = format!("cephalo/ceph:{second}");
        let out = on_every_host(&["docker", "image", "inspect", "--format", "{{.Id}}", &image]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            stdout(&out).matches(&format!("\n{id}\n")).count(),
            3,
            "{}",
            stdout(&out)
        );
        // The running cluster was not touched: same release, still healthy.
        let out = cephalo()
            .args(["deploy", "-i"])
            .arg(pg.inventory())
            .arg("--log-dir")
            .arg(pg.logs())
            .output()
            .unwrap();
        assert!(out.status.success(), "deploy failed:\n{}", text(&out));
        let again = stdout(&out);
        assert!(again.contains("HEALTH_OK"), "{again}");
        assert_eq!(again.matches("changed=0 ").count(), 3, "{again}");
        // Asked again, it is all there: nothing built, nothing loaded.
        let out = cephalo()
            .args(["playground", "image", "--release", second, "--dir"])
            .arg(pg.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            stdout(&out).matches(" | OK | ").count(),
            3,
            "{}",
            text(&out)
        );
    }

    let t = Instant::now();
    let out = cephalo()
        .args(["playground", "down", "--dir"])
        .arg(pg.path())
        .output()
        .unwrap();
    timings.push(("down".into(), t.elapsed()));
    assert!(out.status.success(), "down failed:\n{}", text(&out));
    for (what, took) in &timings {
        eprintln!("playground {release}: {what}: {:.1} s", took.as_secs_f64());
    }
}

/// Nautilus (Debian bullseye, 14.2.21), where the upgrade tests start,
/// then Pacific's image beside it.
#[test]
fn nautilus_deploys_and_takes_the_pacific_image() {
    release_deploys("nautilus", 84, Some("pacific"));
}

/// Tentacle (Debian sid, 20.2.x): aes256k (type 2) keys, the only kind a
/// new Tentacle monmap allows.
#[test]
fn tentacle_deploys() {
    release_deploys("tentacle", 85, None);
}
