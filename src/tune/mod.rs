//! `cephalo tune`: the kernel settings (a sysctl profile in
//! /etc/sysctl.d/90-ceph.conf) and the OSD disks' queue settings (kept by
//! a udev rule file) of every Ceph host, compared with what is live, and
//! applied where they drift. What the kernel does not offer or does not let
//! be written is reported, never forced. TCMalloc and debug settings live
//! in the daemons' containers and ceph.conf: deploy's mechanism restarts
//! the daemons whose spec changed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, Change, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::script::Script;
use crate::settings::HostSettings;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked};

pub const SYSCTL_FILE: &str = "/etc/sysctl.d/90-ceph.conf";
pub const UDEV_FILE: &str = "/etc/udev/rules.d/90-ceph-osd-disks.rules";
const GATHER: &str = include_str!("gather.sh");

/// Makes udev read its rules again, where there is a udevadm.
const UDEV_RELOAD: &str =
    "if command -v udevadm >/dev/null 2>&1; then udevadm control --reload 2>/dev/null; fi; true";

/// Writes the value `$1` to the kernel setting file `$2`; the kernel's
/// complaint, if any, on stdout.
const WRITE_SETTING: &str = "exec 2>&1; printf '%s\\n' \"$1\" > \"$2\"";

/// What `gather.sh` reads: the sysctl keys, and the disks when `disks`.
fn gather_command<'a>(disks: bool, sysctl_keys: impl IntoIterator<Item = &'a String>) -> Command {
    Script::new(GATHER)
        .arg(if disks { "yes" } else { "no" })
        .args(sysctl_keys.into_iter().cloned())
        .command()
}

/// Sets one live kernel setting (a /proc/sys or /sys file).
fn write_command(value: &str, path: &str) -> Command {
    Script::new(WRITE_SETTING).arg(value).arg(path).command()
}

/// A kernel setting as the host has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveValue {
    /// The kernel (or this namespace) has no such setting.
    Absent,
    Value {
        value: String,
        writable: bool,
    },
}

/// An OSD disk: the parent of KOLLA partitions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveDisk {
    pub name: String,
    pub rotational: bool,
    pub ptuuid: Option<String>,
    /// GPT names of its KOLLA partitions.
    pub partitions: Vec<String>,
    /// `scheduler`, `nr_requests`, `read_ahead_kb`: (writable, raw value).
    pub queue: BTreeMap<String, (bool, String)>,
}

/// What the gather script found on one host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Live {
    pub sysctl: BTreeMap<String, LiveValue>,
    pub disks: Vec<LiveDisk>,
    /// Path -> sha256 of the file there (None: absent).
    pub files: BTreeMap<String, Option<String>>,
}

/// Parses the gather script's output.
pub fn parse(stdout: &str) -> Live {
    let mut live = Live::default();
    let mut section = "";
    for line in stdout.lines() {
        if let Some(s) = line
            .strip_prefix("=== ")
            .and_then(|l| l.strip_suffix(" ==="))
        {
            section = match s {
                "sysctl" => "sysctl",
                "disks" => "disks",
                "files" => "files",
                _ => "",
            };
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match (section, words.as_slice()) {
            ("sysctl", ["absent", key]) => {
                live.sysctl.insert(key.to_string(), LiveValue::Absent);
            }
            ("sysctl", [w, key, value @ ..]) => {
                live.sysctl.insert(
                    key.to_string(),
                    LiveValue::Value {
                        value: value.join(" "),
                        writable: *w == "rw",
                    },
                );
            }
            ("disks", ["part", disk, _part, label]) => {
                if let Some(d) = live.disks.iter_mut().find(|d| d.name == *disk) {
                    d.partitions.push(label.to_string());
                } else {
                    live.disks.push(LiveDisk {
                        name: disk.to_string(),
                        partitions: vec![label.to_string()],
                        ..Default::default()
                    });
                }
            }
            ("disks", ["disk", disk, rot, ptuuid]) => {
                if let Some(d) = live.disks.iter_mut().find(|d| d.name == *disk) {
                    d.rotational = *rot != "0";
                    d.ptuuid = (*ptuuid != "-").then(|| ptuuid.to_string());
                }
            }
            ("disks", ["queue", disk, attr, w, value @ ..]) => {
                if let Some(d) = live.disks.iter_mut().find(|d| d.name == *disk) {
                    d.queue
                        .insert(attr.to_string(), (*w == "rw", value.join(" ")));
                }
            }
            ("files", ["file", path, sha]) => {
                live.files.insert(
                    path.to_string(),
                    (*sha != "absent").then(|| sha.to_string()),
                );
            }
            _ => {}
        }
    }
    live
}

/// How one setting stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Same,
    /// Differs, and can be written.
    Drift,
    /// Cannot be applied here; the reason. Reported, not failed.
    Unavailable(String),
}

/// One setting of one host: what is live, what is wanted, where it is
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// `sysctl net.core.rmem_max`, `sdb scheduler`.
    pub name: String,
    pub live: String,
    pub want: String,
    pub state: State,
    /// The /proc/sys or /sys file to write the wanted value to.
    pub path: String,
    /// A sysctl (whose write failing fails the host) or a block setting
    /// (whose write the kernel may refuse: reported).
    pub sysctl: bool,
}

/// A file tune keeps on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    pub path: &'static str,
    pub content: String,
    /// The file there differs (or is absent).
    pub drift: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPlan {
    pub settings: Vec<Setting>,
    pub files: Vec<WantedFile>,
}

impl HostPlan {
    pub fn drifted(&self) -> usize {
        self.settings
            .iter()
            .filter(|s| s.state == State::Drift)
            .count()
            + self.files.iter().filter(|f| f.drift).count()
    }
}

fn normalize(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sha(text: &str) -> String {
    crate::files::sha256_hex(text.as_bytes())
}

/// The scheduler a disk should get: the first of `wanted` the kernel
/// offers (`raw` is the scheduler file: `[none] mq-deadline kyber`).
pub fn pick_scheduler<'a>(raw: &str, wanted: &'a [String]) -> Option<&'a str> {
    let offered: Vec<&str> = raw
        .split_whitespace()
        .map(|w| w.trim_matches(['[', ']']))
        .collect();
    wanted
        .iter()
        .map(String::as_str)
        .find(|w| offered.contains(w))
}

fn current_scheduler(raw: &str) -> String {
    raw.split_whitespace()
        .find(|w| w.starts_with('['))
        .map(|w| w.trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| raw.trim().to_string())
}

/// What tune wants on a host, against what it has (pure).
pub fn plan_host(s: &HostSettings, sysctl: bool, disks: bool, live: &Live) -> HostPlan {
    let mut plan = HostPlan::default();
    if sysctl && s.ceph_sysctl_enabled && !s.ceph_sysctl.is_empty() {
        let mut file = String::from(
            "# Written by `cephalo tune` from ceph_sysctl; changes here are overwritten.\n",
        );
        for (key, want) in &s.ceph_sysctl {
            let want = normalize(want);
            let at_least = s.ceph_sysctl_at_least.contains(key);
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            let mut in_file = want.clone();
            let (live_text, state) = match live.sysctl.get(key) {
                None | Some(LiveValue::Absent) => (
                    "-".to_string(),
                    State::Unavailable("the kernel has no such setting here".into()),
                ),
                Some(LiveValue::Value { value, writable }) => {
                    let value = normalize(value);
                    let higher = at_least
                        && matches!(
                            (value.parse::<u64>(), want.parse::<u64>()),
                            (Ok(l), Ok(w)) if l >= w
                        );
                    if higher {
                        in_file = value.clone();
                    }
                    let state = if value == want || higher {
                        State::Same
                    } else if !writable {
                        State::Unavailable("read-only here".into())
                    } else {
                        State::Drift
                    };
                    (value, state)
                }
            };
            file.push_str(&format!("{key} = {in_file}\n"));
            plan.settings.push(Setting {
                name: format!("sysctl {key}"),
                live: live_text,
                want,
                state,
                path,
                sysctl: true,
            });
        }
        let drift = live.files.get(SYSCTL_FILE).cloned().flatten() != Some(sha(&file));
        plan.files.push(WantedFile {
            path: SYSCTL_FILE,
            content: file,
            drift,
        });
    }
    if disks && s.ceph_block_tuning_enabled && !live.disks.is_empty() {
        let mut rules = String::from(
            "# Written by `cephalo tune` for the OSD disks (ceph_block_*); changes here are overwritten.\n",
        );
        for d in &live.disks {
            let wanted = if d.rotational {
                &s.ceph_block_scheduler_rotational
            } else {
                &s.ceph_block_scheduler_ssd
            };
            let mut attrs: Vec<(String, String)> = Vec::new();
            let queue = |attr: &str| d.queue.get(attr).cloned().unwrap_or((false, String::new()));
            let (w, raw) = queue("scheduler");
            match pick_scheduler(&raw, wanted) {
                None if !wanted.is_empty() => plan.settings.push(Setting {
                    name: format!("{} scheduler", d.name),
                    live: current_scheduler(&raw),
                    want: wanted.join(" or "),
                    state: State::Unavailable(format!(
                        "the kernel offers none of them (it has: {})",
                        raw.trim()
                    )),
                    path: format!("/sys/block/{}/queue/scheduler", d.name),
                    sysctl: false,
                }),
                None => {}
                Some(pick) => {
                    attrs.push(("scheduler".into(), pick.to_string()));
                    let cur = current_scheduler(&raw);
                    plan.settings.push(Setting {
                        name: format!("{} scheduler", d.name),
                        state: block_state(&cur, pick, w),
                        live: cur,
                        want: pick.to_string(),
                        path: format!("/sys/block/{}/queue/scheduler", d.name),
                        sysctl: false,
                    });
                }
            }
            for (attr, want) in [
                ("nr_requests", s.ceph_block_nr_requests),
                ("read_ahead_kb", s.ceph_block_read_ahead_kb),
            ] {
                if want == 0 {
                    continue;
                }
                let (w, raw) = queue(attr);
                let want = want.to_string();
                attrs.push((attr.to_string(), want.clone()));
                plan.settings.push(Setting {
                    name: format!("{} {attr}", d.name),
                    state: block_state(raw.trim(), &want, w),
                    live: raw.trim().to_string(),
                    want,
                    path: format!("/sys/block/{}/queue/{attr}", d.name),
                    sysctl: false,
                });
            }
            let matcher = match &d.ptuuid {
                Some(p) => format!("ENV{{ID_PART_TABLE_UUID}}==\"{p}\""),
                None => format!("KERNEL==\"{}\"", d.name),
            };
            let sets: Vec<String> = attrs
                .iter()
                .map(|(a, v)| format!("ATTR{{queue/{a}}}=\"{v}\""))
                .collect();
            rules.push_str(&format!(
                // No partition names here: they change when an OSD is made
                // from a bootstrap partition, and the file must not.
                "# {}: {} OSD disk\nACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{{DEVTYPE}}==\"disk\", {matcher}, {}\n",
                d.name,
                if d.rotational { "rotational" } else { "ssd" },
                sets.join(", ")
            ));
        }
        let drift = live.files.get(UDEV_FILE).cloned().flatten() != Some(sha(&rules));
        plan.files.push(WantedFile {
            path: UDEV_FILE,
            content: rules,
            drift,
        });
    }
    plan
}

fn block_state(live: &str, want: &str, writable: bool) -> State {
    if live == want {
        State::Same
    } else if !writable {
        State::Unavailable("not writable here (/sys is read-only)".into())
    } else {
        State::Drift
    }
}

/// One line of tune's report for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// A drift (found with --check, or fixed).
    pub drift: bool,
}

pub type Notes = Arc<Mutex<BTreeMap<String, Vec<Line>>>>;

/// Adds a line to a host's report.
pub fn note(notes: &Notes, host: &str, text: String, drift: bool) {
    notes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(host.to_string())
        .or_default()
        .push(Line { text, drift });
}

/// Hosts that run a Ceph daemon get the sysctl profile; OSD hosts also the
/// disk settings.
pub fn tuned(h: &Host) -> (bool, bool) {
    let daemons = h.roles.iter().any(|r| *r != Role::Client);
    (daemons, h.has(Role::Osd))
}

/// Reads, compares and (unless `check`) applies a host's tuning.
pub struct TuneHost {
    pub cluster: Arc<Cluster>,
    pub check: bool,
    pub notes: Notes,
}

impl Action for TuneHost {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { HostOutcome::from_result(self.tune(ep, t).await) })
    }
}

impl TuneHost {
    async fn tune(&self, ep: &Endpoint, t: &dyn Transport) -> Result<bool, TransportError> {
        let h = self
            .cluster
            .host(&ep.name)
            .ok_or_else(|| TransportError::Other {
                host: ep.name.clone(),
                reason: "not a Ceph host of the inventory".into(),
            })?;
        let (sysctl, disks) = tuned(h);
        let root = h.connection.become_root;
        let gather = gather_command(disks, h.settings.ceph_sysctl.keys())
            .become_root(root)
            .timeout(Duration::from_secs(120));
        let out = checked(t, ep, &gather).await?;
        let live = parse(&out.stdout_text());
        let plan = plan_host(&h.settings, sysctl, disks, &live);
        let say = |text: String, drift: bool| note(&self.notes, &h.name, text, drift);
        let mut changed = false;
        for f in &plan.files {
            if !f.drift {
                continue;
            }
            if self.check {
                say(format!("{}: would be written", f.path), true);
            } else {
                let rf = RemoteFile {
                    path: f.path,
                    content: f.content.as_bytes(),
                    mode: 0o644,
                    owner: Some("0:0"),
                };
                if files::put(t, ep, &rf, root).await? == Change::Changed {
                    say(format!("{}: written", f.path), true);
                    changed = true;
                    if f.path == UDEV_FILE {
                        let reload = Script::new(UDEV_RELOAD).command().become_root(root);
                        checked(t, ep, &reload).await?;
                    }
                }
            }
        }
        for s in &plan.settings {
            match &s.state {
                State::Same => {}
                State::Unavailable(why) => say(
                    format!(
                        "{}: {} (wanted {}): {why}; left alone",
                        s.name, s.live, s.want
                    ),
                    false,
                ),
                State::Drift if self.check => say(
                    format!("{}: {} -> {} (drift)", s.name, s.live, s.want),
                    true,
                ),
                State::Drift => {
                    let write = write_command(&s.want, &s.path).become_root(root);
                    let out = crate::transport::run(t, ep, &write).await?;
                    if out.success() {
                        say(format!("{}: {} -> {} (set)", s.name, s.live, s.want), true);
                        changed = true;
                    } else {
                        let why = out
                            .stdout_text()
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let msg = format!(
                            "{}: {} -> {}: the kernel refused ({})",
                            s.name,
                            s.live,
                            s.want,
                            why.trim()
                        );
                        if s.sysctl {
                            return Err(TransportError::Other {
                                host: h.name.clone(),
                                reason: msg,
                            });
                        }
                        say(format!("{msg}; left alone"), false);
                    }
                }
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATHERED: &str = "=== sysctl ===\nrw net.ipv4.tcp_rmem 4096 131072 33554432\nro net.core.rmem_max 4194304\nabsent net.core.netdev_max_backlog\nrw kernel.pid_max 4194304\nrw vm.swappiness 60\n=== disks ===\npart loop3 loop3p1 KOLLA_CEPH_DATA_BS_0\ndisk loop3 1 5d3c2b1a-0000-4000-8000-000000000001\nqueue loop3 scheduler ro [none] mq-deadline kyber bfq\nqueue loop3 nr_requests ro 128\nqueue loop3 read_ahead_kb ro 2048\n=== files ===\nfile /etc/sysctl.d/90-ceph.conf absent\nfile /etc/udev/rules.d/90-ceph-osd-disks.rules absent\n";

    fn settings() -> HostSettings {
        let c = crate::settings::Catalog::builtin();
        let mut p = crate::error::Problems::default();
        crate::settings::extract(&c, &c.defaults, crate::settings::Scope::Host, &mut p).unwrap()
    }

    #[test]
    fn gathered_facts() {
        let live = parse(GATHERED);
        assert_eq!(
            live.sysctl["net.ipv4.tcp_rmem"],
            LiveValue::Value {
                value: "4096 131072 33554432".into(),
                writable: true
            }
        );
        assert_eq!(
            live.sysctl["net.core.netdev_max_backlog"],
            LiveValue::Absent
        );
        let d = &live.disks[0];
        assert_eq!((d.name.as_str(), d.rotational), ("loop3", true));
        assert_eq!(d.partitions, ["KOLLA_CEPH_DATA_BS_0"]);
        assert_eq!(d.queue["nr_requests"], (false, "128".to_string()));
        assert_eq!(live.files[SYSCTL_FILE], None);
    }

    #[test]
    fn drift_unavailable_and_limits_kept() {
        let plan = plan_host(&settings(), true, true, &parse(GATHERED));
        let state = |name: &str| {
            plan.settings
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name}: {plan:#?}"))
                .state
                .clone()
        };
        assert_eq!(state("sysctl net.ipv4.tcp_rmem"), State::Drift);
        assert_eq!(state("sysctl vm.swappiness"), State::Drift);
        // A limit already above the wanted value is kept, and the file
        // holds the host's own value so that a reboot does not lower it.
        assert_eq!(state("sysctl kernel.pid_max"), State::Same);
        assert!(plan.files[0].content.contains("kernel.pid_max = 4194304\n"));
        assert!(
            matches!(state("sysctl net.core.rmem_max"), State::Unavailable(w) if w.contains("read-only"))
        );
        assert!(matches!(
            state("sysctl net.core.netdev_max_backlog"),
            State::Unavailable(_)
        ));
        // A rotational disk gets mq-deadline; /sys read-only is reported.
        assert!(matches!(state("loop3 scheduler"), State::Unavailable(_)));
        assert_eq!(state("loop3 read_ahead_kb"), State::Same);
        let rules = &plan.files[1].content;
        assert!(
            rules.contains("ENV{ID_PART_TABLE_UUID}==\"5d3c2b1a-0000-4000-8000-000000000001\", ATTR{queue/scheduler}=\"mq-deadline\", ATTR{queue/nr_requests}=\"1024\", ATTR{queue/read_ahead_kb}=\"2048\""),
            "{rules}"
        );
        assert_eq!(plan.files.iter().filter(|f| f.drift).count(), 2);
    }

    #[test]
    fn scheduler_choice() {
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pick_scheduler(
                "[none] mq-deadline kyber",
                &want(&["mq-deadline", "deadline"])
            ),
            Some("mq-deadline")
        );
        assert_eq!(
            pick_scheduler("noop [deadline] cfq", &want(&["mq-deadline", "deadline"])),
            Some("deadline")
        );
        assert_eq!(
            pick_scheduler("noop deadline [cfq]", &want(&["none", "noop"])),
            Some("noop")
        );
        assert_eq!(pick_scheduler("none", &want(&["mq-deadline"])), None);
    }

    #[test]
    fn parts_switched_off() {
        let mut s = settings();
        s.ceph_sysctl_enabled = false;
        s.ceph_block_tuning_enabled = false;
        assert_eq!(
            plan_host(&s, true, true, &parse(GATHERED)),
            HostPlan::default()
        );
        let s = settings();
        // A host without daemons gets no sysctl profile; one without OSDs
        // no disk settings.
        assert_eq!(
            plan_host(&s, false, false, &parse(GATHERED)),
            HostPlan::default()
        );
    }

    #[test]
    fn nothing_to_do_when_all_is_in_place() {
        let s = settings();
        let mut live = parse(GATHERED);
        for (k, v) in &s.ceph_sysctl {
            live.sysctl.insert(
                k.clone(),
                LiveValue::Value {
                    value: v.clone(),
                    writable: true,
                },
            );
        }
        live.disks[0]
            .queue
            .insert("scheduler".into(), (true, "[mq-deadline] none".into()));
        live.disks[0]
            .queue
            .insert("nr_requests".into(), (true, "1024".into()));
        let first = plan_host(&s, true, true, &live);
        for f in &first.files {
            live.files.insert(f.path.to_string(), Some(sha(&f.content)));
        }
        let again = plan_host(&s, true, true, &live);
        assert_eq!(again.drifted(), 0, "{again:#?}");
    }

    #[test]
    fn hostile_keys_and_values_are_one_word() {
        use crate::script::{HOSTILE, words_seen_by_sh};
        let keys: Vec<String> = HOSTILE.iter().map(|v| v.to_string()).collect();
        let cmd = gather_command(true, &keys);
        assert_eq!(cmd.argv[2], GATHER);
        let mut want = vec!["yes"];
        want.extend(HOSTILE);
        assert_eq!(words_seen_by_sh(&cmd), want);
        let dir = std::env::temp_dir().join(format!("cephalo-tune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, v) in HOSTILE.iter().enumerate() {
            let path = dir.join(format!("{i} {v}"));
            let cmd = write_command(v, path.to_str().unwrap());
            assert_eq!(cmd.argv[2], WRITE_SETTING);
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd.line())
                .output()
                .unwrap();
            assert!(out.status.success(), "{v:?}: {out:?}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{v}\n"));
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), HOSTILE.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
