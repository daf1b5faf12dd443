//! The scale simulation: the real deploy and restart plans of cephalo run
//! on the fake cluster (src/fake) under tokio's paused clock, with each
//! remote command taking the time the playground's run log shows for its
//! kind, OSDs up 5 s after their container starts and placement groups
//! clean 4 s after the last OSD is back. Prints Markdown rows for
//! docs/benchmarks.md: projected wall time, remote commands and `ceph`
//! queries, for the plan of today and the plan before parallel OSD
//! creation. Usage: cargo run --release --example scale-sim -- [HOSTS...]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cephalo::engine::{Engine, Mode, Reporter, recap_text};
use std::sync::atomic::{AtomicU64, Ordering};

use cephalo::fake::{FakeCluster, FakeTransport, Latency, World, fresh};
use cephalo::model::{self, Cluster, Sources};
use cephalo::release::Release;
use cephalo::transport::{Command, Endpoint};

const DISKS: usize = 10;

/// Milliseconds a remote command takes, by kind: medians of the 3-host
/// Pacific playground's run log (docs/benchmarks.md, "Scale simulation").
fn calibrated(total_osds: usize) -> Latency {
    Arc::new(move |_, cmd: &Command| {
        let a = &cmd.argv;
        let has = |w: &str| a.iter().any(|x| x == w);
        let text = a.get(2).map(String::as_str).unwrap_or_default();
        let ms = match a.first().map(String::as_str) {
            Some("docker") if has("exec") && has("ceph_mon") => {
                // A Python start in the mon container; `osd dump` grows
                // with the OSDs it lists (an assumption: 0.05 ms each).
                let dump = has("dump") && has("osd");
                400 + if dump { total_osds as u64 / 20 } else { 0 }
            }
            Some("docker") if has("run") && has("-d") => 220,
            Some("docker") if has("run") && has("--mkfs") && has("ceph-osd") => 3000,
            Some("docker") if has("run") && has("new") && has("osd") => 700,
            Some("docker") if has("run") && has("monmaptool") => 1600,
            Some("docker") if has("run") => 400,
            Some("docker") if has("inspect") => 50,
            Some("docker") if has("rm") || has("stop") || has("start") => 300,
            Some("test") => 20,
            Some("sh") if text.contains("=== $1 ===") => 40,
            Some("sh") if text.contains("parted") => 60,
            _ => 25,
        };
        Duration::from_millis(ms)
    })
}

/// The fake cluster, with the time spent answering (the fake's own CPU,
/// taken out of cephalo's).
struct Clocked {
    inner: FakeCluster,
    spent_ns: Arc<AtomicU64>,
}

impl World for Clocked {
    fn answer(
        &mut self,
        host: &str,
        cmd: &Command,
    ) -> Result<cephalo::transport::Output, cephalo::transport::TransportError> {
        let t0 = std::time::Instant::now();
        let r = self.inner.answer(host, cmd);
        self.spent_ns
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
}

type Fake = FakeTransport<Clocked>;

fn load(dir: &Path) -> Arc<Cluster> {
    Arc::new(
        model::load(&Sources {
            inventory: dir.join("inventory"),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// Seconds of CPU this process used so far (user + system).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime), counted after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// One run of a plan: virtual seconds, remote commands, `ceph` queries
/// through the mon, CPU seconds of this process.
struct Run {
    secs: f64,
    commands: usize,
    ceph: usize,
    cpu: f64,
}

async fn run(t: &Arc<Fake>, cluster: &Arc<Cluster>, create: bool) -> Run {
    t.clear_sent();
    let selected: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let plan = cephalo::deploy::plan(cluster, &selected, true, create);
    let engine = Engine {
        transport: t.clone(),
        hosts: cluster
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: cluster.settings.forks as usize,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    };
    let fake0 = t.world(|w| w.spent_ns.load(Ordering::Relaxed));
    let (cpu0, t0) = (cpu_s(), tokio::time::Instant::now());
    let recap = engine.run(&plan).await;
    let secs = t0.elapsed().as_secs_f64();
    let fake = (t.world(|w| w.spent_ns.load(Ordering::Relaxed)) - fake0) as f64 / 1e9;
    // cephalo's own: the process's CPU less the fake's answers.
    let cpu = (cpu_s() - cpu0 - fake).max(0.0);
    assert!(!recap.any_failed(), "{}", recap_text(&recap));
    let sent = t.sent();
    let ceph = sent
        .iter()
        .filter(|s| s.command.contains("exec ceph_mon ceph"))
        .count();
    Run {
        secs,
        commands: sent.len(),
        ceph,
        cpu,
    }
}

/// A first deploy of `hosts` x `disks`, then a restart of every OSD (an
/// `[osd]` override); `extra` globals choose the plan shape.
async fn deploy_and_restart(
    hosts: usize,
    disks: usize,
    extra: &str,
    restart: bool,
) -> (Run, Option<Run>) {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (1..=hosts).map(|i| format!("ceph{i}")).collect();
    fresh::write_lab(dir.path(), &names, disks, extra).unwrap();
    // The hosts hold the image the model names (the release's default).
    let image = load(dir.path()).image.clone();
    let mut inner = FakeCluster::fresh(Release::Pacific, &image, &names, disks);
    inner.sync_one_host = true;
    inner.osd_up_delay = Duration::from_secs(5);
    inner.ceph.clean_after = Duration::from_secs(4);
    let world = Clocked {
        inner,
        spent_ns: Arc::default(),
    };
    let t = Arc::new(FakeTransport::new(world).with_latency(calibrated(hosts * disks)));
    let first = run(&t, &load(dir.path()), true).await;
    eprintln!(
        "{hosts} x {disks} {extra:?}: deploy {:.0} s virtual, {:.1} s CPU",
        first.secs, first.cpu
    );
    if !restart {
        return (first, None);
    }
    let g = dir.path().join("globals.yml");
    let text = std::fs::read_to_string(&g).unwrap();
    std::fs::write(
        &g,
        format!("{text}ceph_conf_overrides:\n  osd:\n    osd_max_backfills: 2\n"),
    )
    .unwrap();
    let again = run(&t, &load(dir.path()), false).await;
    eprintln!(
        "{hosts} x {disks}: restart {:.0} s virtual, {:.1} s CPU",
        again.secs, again.cpu
    );
    (first, Some(again))
}

fn hms(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The plan before parallel creation: one host after another, one OSD
/// after another, each waited for.
const OLD_CREATE: &str = "ceph_osd_create_hosts_at_once: 1\nceph_osd_creations_per_host: 1\n";

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 100, 1000]
    } else {
        sizes
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        // The old restart shape restarted one OSD at a time, each with its
        // up and clean waits: the new shape on hosts of one OSD each. Its
        // cost per OSD and fixed part, from 10 and 20 such hosts.
        let (_, r10) = deploy_and_restart(10, 1, "", true).await;
        let (_, r20) = deploy_and_restart(20, 1, "", true).await;
        let (r10, r20) = (r10.unwrap(), r20.unwrap());
        let per_osd = (r20.secs - r10.secs) / 10.0;
        let fixed = r10.secs - 10.0 * per_osd;
        let per_osd_cmds = (r20.commands - r10.commands) as f64 / 10.0;
        let per_osd_ceph = (r20.ceph - r10.ceph) as f64 / 10.0;
        // The old first deploy, simulated up to 100 hosts and linear in
        // hosts beyond (it is one host after another by construction).
        let mut old_points: Vec<(usize, Run)> = Vec::new();
        println!("| hosts x OSDs | first deploy: today | before | remote commands today / before | `ceph` queries today / before | full OSD restart: today | before (one OSD at a time) | remote commands today | `ceph` queries today | cephalo's CPU, deploy / restart |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for n in sizes {
            let (new, restart) = deploy_and_restart(n, DISKS, "", true).await;
            let restart = restart.unwrap();
            let old = if n <= 100 {
                let (old, _) = deploy_and_restart(n, DISKS, OLD_CREATE, false).await;
                let r = (old.secs, old.commands as f64, old.ceph as f64, false);
                old_points.push((n, old));
                r
            } else {
                for m in [10, 100] {
                    if !old_points.iter().any(|(k, _)| *k == m) {
                        let (old, _) = deploy_and_restart(m, DISKS, OLD_CREATE, false).await;
                        old_points.push((m, old));
                    }
                }
                old_points.sort_by_key(|(k, _)| *k);
                let (a, b) = (&old_points[0], &old_points[old_points.len() - 1]);
                let slope = |f: fn(&Run) -> f64| (f(&b.1) - f(&a.1)) / (b.0 - a.0) as f64;
                let at = |f: fn(&Run) -> f64| f(&b.1) + slope(f) * (n - b.0) as f64;
                (
                    at(|r| r.secs),
                    at(|r| r.commands as f64),
                    at(|r| r.ceph as f64),
                    true,
                )
            };
            let osds = (n * DISKS) as f64;
            let old_restart = fixed + osds * per_osd;
            let star = if old.3 { " (extrapolated)" } else { "" };
            println!(
                "| {n} x {DISKS} | {} | {}{star} | {} / {:.0} | {} / {:.0} | {} | {} | {} (before: {:.0}) | {} (before: {:.0}) | {:.1} s / {:.1} s |",
                hms(new.secs),
                hms(old.0),
                new.commands,
                old.1,
                new.ceph,
                old.2,
                hms(restart.secs),
                hms(old_restart),
                restart.commands,
                r10.commands as f64 - 10.0 * per_osd_cmds + osds * per_osd_cmds,
                restart.ceph,
                r10.ceph as f64 - 10.0 * per_osd_ceph + osds * per_osd_ceph,
                new.cpu,
                restart.cpu,
            );
        }
        println!();
        println!(
            "Old restart shape computed from the simulated restart of 10 and 20 hosts with one OSD each: {per_osd:.1} s per OSD plus {fixed:.1} s."
        );
    });
}
