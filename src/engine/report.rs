//! What a run shows while it goes: progress bars on a terminal (one line
//! per running host, an aggregate line beyond that), plain lines otherwise,
//! or one JSON event per line with `--json`; every event also goes to the
//! run log file. Results and recaps are printed by the caller, not here.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::{HostResult, Recap, Status};

/// Host lines shown at once before the rest are counted on the step line.
const MAX_HOST_LINES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Progress on stderr for people (hidden when stderr is not a terminal).
    Human { verbose: bool },
    /// One JSON object per event on stdout, for machines.
    Json,
}

pub struct Reporter {
    mode: Mode,
    multi: MultiProgress,
    visible: bool,
    state: Mutex<State>,
    log: Mutex<Option<File>>,
    log_path: Option<PathBuf>,
}

#[derive(Default)]
struct State {
    step_bar: Option<ProgressBar>,
    host_bars: HashMap<String, ProgressBar>,
}

pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}

impl Reporter {
    /// A reporter writing its log under `log_dir` (created when missing);
    /// None writes no log.
    pub fn new(mode: Mode, log_dir: Option<&Path>) -> std::io::Result<Reporter> {
        let (log, log_path) = match log_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!(
                    "cephalo-{}-{}.jsonl",
                    now_ms() / 1000,
                    std::process::id()
                ));
                (Some(File::create(&path)?), Some(path))
            }
            None => (None, None),
        };
        let visible = matches!(mode, Mode::Human { .. })
            && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Ok(Reporter {
            mode,
            multi,
            visible,
            state: Mutex::new(State::default()),
            log: Mutex::new(log),
            log_path,
        })
    }

    pub fn log_path(&self) -> Option<&Path> {
        self.log_path.as_deref()
    }

    fn event(&self, mut v: Value) {
        if let Value::Object(m) = &mut v {
            m.insert("time_ms".into(), json!(now_ms() as u64));
        }
        if let Ok(mut log) = self.log.lock()
            && let Some(f) = log.as_mut()
        {
            let _ = writeln!(f, "{v}");
        }
        if self.mode == Mode::Json {
            println!("{v}");
        }
    }

    /// A line for people: above the bars on a terminal, plain otherwise.
    fn line(&self, text: &str) {
        if let Mode::Human { .. } = self.mode {
            if self.visible {
                self.multi.suspend(|| eprintln!("{text}"));
            } else {
                eprintln!("{text}");
            }
        }
    }

    /// A line of detail: to the run log always, on screen with -v.
    pub fn detail(&self, text: &str) {
        if let Ok(mut log) = self.log.lock()
            && let Some(f) = log.as_mut()
        {
            let _ = writeln!(
                f,
                "{}",
                json!({"event": "detail", "text": text, "time_ms": now_ms() as u64})
            );
        }
        if let Mode::Human { verbose: true } = self.mode {
            self.line(text);
        }
    }

    pub fn message(&self, text: &str) {
        self.event(json!({"event": "message", "text": text}));
        self.line(text);
    }

    pub fn plan_started(&self, plan: &str, hosts: usize) {
        self.event(json!({"event": "plan_started", "plan": plan, "hosts": hosts}));
        if let Mode::Human { verbose: true } = self.mode {
            self.line(&format!("PLAY [{plan}] on {hosts} host(s)"));
        }
    }

    pub fn step_started(&self, step: &str, hosts: usize) {
        self.event(json!({"event": "step_started", "step": step, "hosts": hosts}));
        if let Mode::Human { verbose } = self.mode {
            if verbose || !self.visible {
                self.line(&format!("STEP [{step}] on {hosts} host(s)"));
            }
            let bar = self.multi.add(ProgressBar::new(hosts as u64));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{pos}/{len}] {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(step.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            if let Ok(mut s) = self.state.lock() {
                s.step_bar = Some(bar);
            }
        }
    }

    pub fn host_started(&self, step: &str, host: &str) {
        self.event(json!({"event": "host_started", "step": step, "host": host}));
        if !self.visible {
            return;
        }
        if let Ok(mut s) = self.state.lock()
            && s.host_bars.len() < MAX_HOST_LINES
        {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(format!("{host}: {step}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            s.host_bars.insert(host.to_string(), bar);
        }
    }

    pub fn host_finished(&self, r: &HostResult) {
        let mut ev = json!({
            "event": "host_finished",
            "step": r.step,
            "host": r.host,
            "status": r.status.word(),
            "duration_ms": r.duration.as_millis() as u64,
        });
        match &r.status {
            Status::Skipped(why) => ev["reason"] = json!(why),
            Status::Failed {
                command,
                exit_status,
                stderr_tail,
                message,
            } => {
                ev["command"] = json!(command);
                ev["exit_status"] = json!(exit_status);
                ev["stderr_tail"] = json!(stderr_tail);
                ev["message"] = json!(message);
            }
            Status::Unreachable(why) => ev["message"] = json!(why),
            Status::Ok | Status::Changed => {}
        }
        if let Some(out) = &r.output {
            ev["rc"] = json!(out.status);
        }
        self.event(ev);
        if let Ok(mut s) = self.state.lock() {
            if let Some(bar) = s.host_bars.remove(&r.host) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
            if let Some(bar) = &s.step_bar {
                bar.inc(1);
            }
        }
        if let Mode::Human { verbose } = self.mode {
            match &r.status {
                Status::Failed {
                    message,
                    stderr_tail,
                    ..
                } => {
                    let tail = if stderr_tail.is_empty() {
                        String::new()
                    } else {
                        format!("\n    {}", stderr_tail.replace('\n', "\n    "))
                    };
                    self.line(&format!("failed: {message}{tail}"));
                }
                Status::Unreachable(why) => self.line(&format!("unreachable: {why}")),
                other if verbose => self.line(&format!(
                    "{}: {} ({} ms)",
                    other.word(),
                    r.host,
                    r.duration.as_millis()
                )),
                _ => {}
            }
        }
    }

    /// One line of a running command's output: to the log, and on screen
    /// with -v.
    pub fn output_line(
        &self,
        step: &str,
        host: &str,
        stream: crate::transport::Stream,
        line: &str,
    ) {
        let which = match stream {
            crate::transport::Stream::Stdout => "stdout",
            crate::transport::Stream::Stderr => "stderr",
        };
        if let Ok(mut log) = self.log.lock()
            && let Some(f) = log.as_mut()
        {
            let _ = writeln!(
                f,
                "{}",
                json!({"event": "output", "step": step, "host": host, "stream": which, "line": line, "time_ms": now_ms() as u64})
            );
        }
        if let Mode::Human { verbose: true } = self.mode {
            self.line(&format!("{host} | {line}"));
        }
    }

    /// A remote command that ended, to the log only: when it started and
    /// how long it took (what the share of a run spent waiting on hosts is
    /// measured from; bench/deploy.sh). Never its output or input.
    pub fn command_done(
        &self,
        host: &str,
        command: &str,
        started_ms: u64,
        ms: u64,
        status: Option<u32>,
    ) {
        if let Ok(mut log) = self.log.lock()
            && let Some(f) = log.as_mut()
        {
            let _ = writeln!(
                f,
                "{}",
                json!({"event": "command", "host": host, "command": command, "start_ms": started_ms, "ms": ms, "status": status, "time_ms": now_ms() as u64})
            );
        }
    }

    /// A pause between two polls of the cluster (quorum, an OSD up, clean
    /// PGs, health), to the log only.
    pub fn waited(&self, step: &str, host: &str, started_ms: u64, ms: u64) {
        if let Ok(mut log) = self.log.lock()
            && let Some(f) = log.as_mut()
        {
            let _ = writeln!(
                f,
                "{}",
                json!({"event": "wait", "step": step, "host": host, "start_ms": started_ms, "ms": ms, "time_ms": now_ms() as u64})
            );
        }
    }

    pub fn step_finished(&self, step: &str) {
        self.event(json!({"event": "step_finished", "step": step}));
        if let Ok(mut s) = self.state.lock()
            && let Some(bar) = s.step_bar.take()
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    pub fn plan_finished(&self, recap: &Recap) {
        let hosts: serde_json::Map<String, Value> = recap
            .hosts
            .iter()
            .map(|(h, c)| {
                (
                    h.clone(),
                    json!({"ok": c.ok, "changed": c.changed, "skipped": c.skipped, "failed": c.failed, "unreachable": c.unreachable}),
                )
            })
            .collect();
        self.event(json!({
            "event": "recap",
            "hosts": hosts,
            "stopped": recap.stopped,
            "duration_ms": recap.duration.as_millis() as u64,
        }));
    }
}

/// The ansible-style recap: one line per host.
pub fn recap_text(recap: &Recap) -> String {
    let width = recap
        .hosts
        .keys()
        .map(|h| h.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::from("RECAP\n");
    for (h, c) in &recap.hosts {
        out.push_str(&format!(
            "{h:<width$} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={}\n",
            c.ok, c.changed, c.unreachable, c.failed, c.skipped
        ));
    }
    out
}
