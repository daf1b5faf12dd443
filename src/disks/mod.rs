//! OSD disks: what each OSD host has (`disks list`), and labelling the
//! configured devices with KOLLA bootstrap partitions (`disks prepare`).
//! The plan is made for every host first; a device that is not empty is
//! refused unless `--zap` names it, and then nothing changes on any host.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::engine::{Action, Engine, HostOutcome, Node, OnFailure, Plan, Step, StepContext};
use crate::facts::{self, BlockDev, Facts, osd_label};
use crate::model::{Cluster, ObjectStore, Role};
use crate::script::Script;
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError, run};

/// Writes one disk's GPT (`label_script` gives its arguments).
const LABEL_SCRIPT: &str = include_str!("label.sh");

/// Size of a filestore journal partition made by `prepare`.
pub const JOURNAL_MIB: u64 = 1024;

/// What a disk or partition is to an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskRow {
    pub host: String,
    pub device: String,
    pub size: u64,
    pub part_name: Option<String>,
    pub signature: Option<String>,
    /// free, bootstrap, osd, partner, in use (...), partitioned
    pub state: String,
}

/// The state of every device of a host, from its facts.
pub fn rows(host: &str, f: &Facts) -> Vec<DiskRow> {
    f.block
        .iter()
        .map(|b| DiskRow {
            host: host.to_string(),
            device: format!("/dev/{}", b.name),
            size: b.size,
            part_name: b.part_name.clone(),
            signature: b.signature.clone(),
            state: state_of(b, f),
        })
        .collect()
}

fn state_of(b: &BlockDev, f: &Facts) -> String {
    let dev = format!("/dev/{}", b.name);
    if let Some(label) = b.part_name.as_deref().and_then(osd_label) {
        return match (label.existing, label.partner) {
            (true, None) => "osd".into(),
            (false, None) => "bootstrap".into(),
            (_, Some(p)) => format!("partner _{p}"),
        };
    }
    if f.mounts.contains(&dev) {
        return "in use (mounted)".into();
    }
    if f.lvm_pvs.contains(&dev) {
        return "in use (LVM)".into();
    }
    let children = f
        .block
        .iter()
        .filter(|c| c.parent.as_deref() == Some(b.name.as_str()))
        .count();
    match (&b.signature, children) {
        (_, n) if n > 0 => format!("partitioned ({n})"),
        (Some(sig), _) if !sig.starts_with("partition table") => format!("in use ({sig})"),
        (Some(_), _) => "empty partition table".into(),
        (None, _) => "free".into(),
    }
}

/// What `prepare` will do with one configured device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Prep {
    /// Write a GPT with these partitions (name, start MiB, end MiB or None
    /// for the end of the disk), after wiping it when `zap`.
    Label {
        device: String,
        partitions: Vec<(String, u64, Option<u64>)>,
        zap: bool,
    },
    /// Already carries kolla partitions: left alone.
    Labelled { device: String, labels: Vec<String> },
    /// Not touched, and nothing else is either.
    Refuse { device: String, reason: String },
}

/// The label suffix of a host's n-th device: `CEPH1D0`.
pub fn suffix(host: &str, index: usize) -> String {
    let h: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    format!("{h}D{index}")
}

/// Plans one device (pure). `zap` says whether the operator named it.
pub fn plan_device(
    host: &str,
    index: usize,
    device: &str,
    store: ObjectStore,
    f: &Facts,
    zap: bool,
) -> Prep {
    let name = device.trim_start_matches("/dev/");
    let refuse = |reason: String| Prep::Refuse {
        device: device.to_string(),
        reason,
    };
    let Some(dev) = f.block.iter().find(|b| b.name == name) else {
        return refuse(format!("{device} does not exist on {host}"));
    };
    if dev.parent.is_some() {
        return refuse(format!("{device} is a partition; name the whole disk"));
    }
    let parts: Vec<&BlockDev> = f
        .block
        .iter()
        .filter(|b| b.parent.as_deref() == Some(name))
        .collect();
    let labels: Vec<String> = parts
        .iter()
        .filter_map(|p| p.part_name.clone())
        .filter(|n| osd_label(n).is_some())
        .collect();
    if !labels.is_empty() && !zap {
        return Prep::Labelled {
            device: device.to_string(),
            labels,
        };
    }
    let in_use = |path: &String| f.mounts.contains(path) || f.lvm_pvs.contains(path);
    let paths: Vec<String> = std::iter::once(device.to_string())
        .chain(parts.iter().map(|p| format!("/dev/{}", p.name)))
        .collect();
    if let Some(p) = paths.iter().find(|p| in_use(p)) {
        // Never, not even with --zap: a mounted or LVM device is in use.
        return refuse(format!(
            "{p} is {}",
            if f.mounts.contains(p) {
                "mounted"
            } else {
                "an LVM physical volume"
            }
        ));
    }
    if !zap {
        let holds = match (&dev.signature, parts.len()) {
            (_, n) if n > 0 => Some(format!("{n} partition(s)")),
            (Some(sig), _) if !sig.starts_with("partition table") => Some(sig.clone()),
            _ => None,
        };
        if let Some(what) = holds {
            return refuse(format!(
                "{device} holds {what}; name it with --zap {host}:{device} to wipe it"
            ));
        }
    }
    let x = suffix(host, index);
    let partitions = match store {
        ObjectStore::Bluestore => vec![(format!("KOLLA_CEPH_OSD_BOOTSTRAP_BS_{x}"), 1, None)],
        ObjectStore::Filestore => {
            let journal = JOURNAL_MIB.min(dev.size / (1 << 20) / 4).max(16);
            vec![
                (
                    format!("KOLLA_CEPH_OSD_BOOTSTRAP_{x}_J"),
                    1,
                    Some(1 + journal),
                ),
                (format!("KOLLA_CEPH_OSD_BOOTSTRAP_{x}"), 1 + journal, None),
            ]
        }
    };
    Prep::Label {
        device: device.to_string(),
        partitions,
        zap,
    }
}

/// The script that carries out a `Label` plan: wipe (when zapping), GPT,
/// partitions. The device and the partition names are its arguments.
pub fn label_script(prep: &Prep) -> Option<Script> {
    let Prep::Label {
        device,
        partitions,
        zap,
    } = prep
    else {
        return None;
    };
    let mut words = vec!["mklabel".to_string(), "gpt".into()];
    for (name, start, end) in partitions {
        let end = end
            .map(|e| format!("{e}MiB"))
            .unwrap_or_else(|| "100%".into());
        words.extend(["mkpart".into(), name.clone(), format!("{start}MiB"), end]);
    }
    Some(
        Script::new(LABEL_SCRIPT)
            .arg(if *zap { "zap" } else { "keep" })
            .arg(device.as_str())
            .args(words),
    )
}

type Found = Arc<Mutex<BTreeMap<String, Result<Facts, TransportError>>>>;

/// Reads a host's block devices (all, or the listed ones).
struct ReadDisks {
    devices: BTreeMap<String, Vec<String>>,
    out: Found,
}

impl Action for ReadDisks {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let devices = self.devices.get(&ep.name).cloned().unwrap_or_default();
            let cmd = facts::block::script(devices)
                .command()
                .become_root(ep.connection.become_root)
                .timeout(Duration::from_secs(60));
            let (outcome, result) = match run(t, ep, &cmd).await {
                Ok(out) => (
                    HostOutcome::done(false),
                    Ok(facts::parse(&out.stdout_text())),
                ),
                Err(e) => (HostOutcome::error("read disks", e.clone()), Err(e)),
            };
            if let Ok(mut m) = self.out.lock() {
                m.insert(ep.name.clone(), result);
            }
            outcome
        })
    }
}

async fn read(
    engine: &Engine,
    devices: BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Result<Facts, TransportError>> {
    let out: Found = Arc::default();
    let hosts: Vec<String> = engine.hosts.keys().cloned().collect();
    let plan = Plan {
        name: "read disks".into(),
        root: Node::Step(Step {
            name: "read disks".into(),
            hosts,
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(ReadDisks {
                devices,
                out: out.clone(),
            }),
        }),
    };
    engine.run(&plan).await;
    std::mem::take(&mut *out.lock().unwrap_or_else(|p| p.into_inner()))
}

/// `disks list`: every disk and partition of the OSD hosts.
pub async fn list(engine: &Engine) -> BTreeMap<String, Result<Vec<DiskRow>, TransportError>> {
    read(engine, BTreeMap::new())
        .await
        .into_iter()
        .map(|(h, r)| {
            let rows = r.map(|f| rows(&h, &f));
            (h, rows)
        })
        .collect()
}

/// The plan of `disks prepare` for every selected OSD host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreparePlan {
    pub hosts: BTreeMap<String, Vec<Prep>>,
    /// Hosts whose disks could not be read.
    pub unreachable: BTreeMap<String, String>,
}

impl PreparePlan {
    pub fn refusals(&self) -> usize {
        self.hosts
            .values()
            .flatten()
            .filter(|p| matches!(p, Prep::Refuse { .. }))
            .count()
    }
    pub fn labels(&self) -> usize {
        self.hosts
            .values()
            .flatten()
            .filter(|p| matches!(p, Prep::Label { .. }))
            .count()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (host, preps) in &self.hosts {
            if preps.is_empty() {
                out.push_str(&format!("{host}: no ceph_osd_devices configured\n"));
            }
            for p in preps {
                let line = match p {
                    Prep::Label {
                        device,
                        partitions,
                        zap,
                    } => format!(
                        "{host}  {device}  {}  {}",
                        if *zap { "ZAP+LABEL" } else { "label" },
                        partitions
                            .iter()
                            .map(|(n, _, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Prep::Labelled { device, labels } => format!(
                        "{host}  {device}  unchanged  already labelled: {}",
                        labels.join(", ")
                    ),
                    Prep::Refuse { device, reason } => {
                        format!("{host}  {device}  REFUSED  {reason}")
                    }
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
        for (host, why) in &self.unreachable {
            out.push_str(&format!("{host}: cannot read disks: {why}\n"));
        }
        out
    }
}

/// Plans `disks prepare`. `zap` holds `HOST:DEV` or `DEV` entries.
pub async fn plan_prepare(cluster: &Cluster, engine: &Engine, zap: &[String]) -> PreparePlan {
    let devices: BTreeMap<String, Vec<String>> = engine
        .hosts
        .keys()
        .filter_map(|h| cluster.host(h))
        .filter(|h| h.has(Role::Osd))
        .map(|h| (h.name.clone(), h.settings.ceph_osd_devices.clone()))
        .collect();
    let mut plan = PreparePlan::default();
    let found = read(engine, devices.clone()).await;
    for (host, devs) in &devices {
        let Some(h) = cluster.host(host) else {
            continue;
        };
        match found.get(host) {
            Some(Ok(f)) => {
                let preps = devs
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let named = zap.iter().any(|z| z == d || *z == format!("{host}:{d}"));
                        plan_device(host, i, d, h.object_store, f, named)
                    })
                    .collect();
                plan.hosts.insert(host.clone(), preps);
            }
            Some(Err(e)) => {
                plan.unreachable.insert(host.clone(), e.to_string());
            }
            None => {
                plan.unreachable.insert(host.clone(), "not read".into());
            }
        }
    }
    plan
}

/// Labels the devices of a plan, one host at a time per device list.
struct Label {
    plan: Arc<PreparePlan>,
}

impl Action for Label {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let mut changed = false;
            for p in self.plan.hosts.get(&ep.name).into_iter().flatten() {
                let Some(script) = label_script(p) else {
                    continue;
                };
                let cmd = script
                    .command()
                    .become_root(ep.connection.become_root)
                    .timeout(Duration::from_secs(120))
                    .on_line(ctx.output_to_log(&ep.name));
                match run(t, ep, &cmd).await {
                    Ok(out) if out.success() => changed = true,
                    Ok(out) => {
                        let why = format!("{}: labelling failed", ep.name);
                        return HostOutcome::exited(ep, &cmd, out, why);
                    }
                    Err(e) => return HostOutcome::error(&cmd.display(), e),
                }
            }
            HostOutcome::done(changed)
        })
    }
}

/// Carries out a plan that has no refusal.
pub async fn apply(plan: PreparePlan, engine: &Engine) -> crate::engine::Recap {
    let hosts: Vec<String> = plan.hosts.keys().cloned().collect();
    let run_plan = Plan {
        name: "disks prepare".into(),
        root: Node::Step(Step {
            name: "label OSD disks".into(),
            hosts,
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(Label {
                plan: Arc::new(plan),
            }),
        }),
    };
    engine.run(&run_plan).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, parent, GPT name, signature) per device.
    type Dev<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn facts(block: &[Dev]) -> Facts {
        Facts {
            block: block
                .iter()
                .map(|(n, parent, label, sig)| BlockDev {
                    name: n.to_string(),
                    size: 64 << 20,
                    parent: parent.map(str::to_string),
                    part_name: label.map(str::to_string),
                    signature: sig.map(str::to_string),
                    part_uuid: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn plans() {
        let f = facts(&[
            ("loop1", None, None, None),
            ("loop2", None, None, Some("ext4")),
            ("loop3", None, None, Some("partition table gpt")),
            (
                "loop3p1",
                Some("loop3"),
                Some("KOLLA_CEPH_OSD_BOOTSTRAP_BS"),
                None,
            ),
            ("loop4", None, None, Some("partition table gpt")),
            ("loop4p1", Some("loop4"), Some("data"), Some("xfs")),
        ]);
        let p = |d: &str, zap| plan_device("ceph-1", 0, d, ObjectStore::Bluestore, &f, zap);
        assert_eq!(
            p("/dev/loop1", false),
            Prep::Label {
                device: "/dev/loop1".into(),
                partitions: vec![("KOLLA_CEPH_OSD_BOOTSTRAP_BS_CEPH1D0".into(), 1, None)],
                zap: false
            }
        );
        assert!(
            matches!(p("/dev/loop2", false), Prep::Refuse { reason, .. } if reason.contains("holds ext4; name it with --zap ceph-1:/dev/loop2"))
        );
        assert!(matches!(
            p("/dev/loop2", true),
            Prep::Label { zap: true, .. }
        ));
        assert!(matches!(p("/dev/loop3", false), Prep::Labelled { .. }));
        assert!(
            matches!(p("/dev/loop4", false), Prep::Refuse { reason, .. } if reason.contains("1 partition(s)"))
        );
        assert!(
            matches!(p("/dev/loop4p1", false), Prep::Refuse { reason, .. } if reason.contains("is a partition"))
        );
        assert!(
            matches!(p("/dev/nope", true), Prep::Refuse { reason, .. } if reason.contains("does not exist"))
        );
        let mut mounted = f.clone();
        mounted.mounts.push("/dev/loop4p1".into());
        assert!(
            matches!(plan_device("h", 0, "/dev/loop4", ObjectStore::Bluestore, &mounted, true), Prep::Refuse { reason, .. } if reason.contains("mounted"))
        );
        let fs = plan_device("h", 2, "/dev/loop1", ObjectStore::Filestore, &f, false);
        let Prep::Label { partitions, .. } = &fs else {
            panic!("{fs:?}")
        };
        assert_eq!(partitions[0].0, "KOLLA_CEPH_OSD_BOOTSTRAP_HD2_J");
        assert_eq!(
            partitions[1],
            ("KOLLA_CEPH_OSD_BOOTSTRAP_HD2".into(), 17, None)
        );
        let argv = label_script(&fs).unwrap().command().argv;
        assert_eq!(
            argv[4..],
            [
                "keep",
                "/dev/loop1",
                "mklabel",
                "gpt",
                "mkpart",
                "KOLLA_CEPH_OSD_BOOTSTRAP_HD2_J",
                "1MiB",
                "17MiB",
                "mkpart",
                "KOLLA_CEPH_OSD_BOOTSTRAP_HD2",
                "17MiB",
                "100%"
            ]
        );
    }

    /// Runs a label script in a real shell with `wipefs` and `parted`
    /// replaced by stubs that print each argument they get on its own line.
    fn run_with_stubs(script: Script) -> (String, std::path::PathBuf, tempfile::TempDir) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        for tool in ["wipefs", "parted", "seq"] {
            let path = dir.path().join(tool);
            // seq prints nothing: no waiting for partition nodes.
            let body = if tool == "seq" {
                String::new()
            } else {
                format!("for a in \"$@\"; do printf '{tool}[%s]\\n' \"$a\"; done")
            };
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write stub");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("chmod stub");
        }
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.command().line())
            .env("PATH", path)
            .current_dir(dir.path())
            .output()
            .expect("run sh");
        let marker = dir.path().join("INJECTED");
        (String::from_utf8_lossy(&out.stdout).into(), marker, dir)
    }

    #[test]
    fn hostile_device_and_label_reach_the_tools_as_one_word_each() {
        let device = "-x /dev/a b;touch INJECTED $(touch INJECTED) `touch INJECTED` 'q\"\nz";
        let name = "KOLLA;touch INJECTED $(id)";
        let prep = Prep::Label {
            device: device.into(),
            partitions: vec![(name.into(), 1, None)],
            zap: true,
        };
        let (out, marker, _dir) = run_with_stubs(label_script(&prep).unwrap());
        assert!(!marker.exists(), "a value ran as shell: {out}");
        assert!(
            out.contains(&format!("wipefs[--]\nwipefs[{device}]\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "parted[{device}]\nparted[--]\nparted[mklabel]\nparted[gpt]\nparted[mkpart]\nparted[{name}]\nparted[1MiB]\nparted[100%]\n"
            )),
            "{out}"
        );
    }
}
