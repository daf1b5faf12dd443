//! The engine: runs a plan (a tree of named steps, serial or parallel) on
//! hosts through a transport, at most `forks` hosts at a time, rolling steps
//! in batches, and collects each host's result into a recap. Steps say what
//! to do through `Action`; the engine knows nothing about Ceph.

pub mod report;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use tokio::sync::Semaphore;

pub use report::{Mode, Reporter, recap_text};

use crate::transport::{BoxFuture, Endpoint, Output, Transport, TransportError};

/// What happened on one host in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped(String),
    Failed {
        command: String,
        exit_status: Option<u32>,
        stderr_tail: String,
        message: String,
    },
    Unreachable(String),
}

impl Status {
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Skipped(_) => "skipped",
            Status::Failed { .. } => "failed",
            Status::Unreachable(_) => "unreachable",
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Failed { .. } | Status::Unreachable(_))
    }

    /// A transport error as a host result.
    pub fn from_error(command: &str, e: &TransportError) -> Status {
        if e.is_unreachable() {
            Status::Unreachable(e.to_string())
        } else {
            Status::Failed {
                command: command.to_string(),
                exit_status: None,
                stderr_tail: String::new(),
                message: e.to_string(),
            }
        }
    }
}

/// One host's result for one step.
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    pub step: String,
    pub status: Status,
    pub duration: Duration,
    /// The command's output, when the step ran one whose output is shown.
    pub output: Option<Output>,
    /// The error behind an unreachable or failed status, for exit codes.
    pub error: Option<TransportError>,
}

/// What a step does on one host.
pub trait Action: Send + Sync {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        transport: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome>;
}

/// What an action may use of the run: the step's name and the reporter.
pub struct StepContext {
    pub step: String,
    pub reporter: Arc<Reporter>,
}

impl StepContext {
    /// A sink that sends a command's output lines to the run log (and to
    /// the screen with -v), labelled with this step and host.
    pub fn output_to_log(&self, host: &str) -> crate::transport::LineSink {
        let reporter = self.reporter.clone();
        let (step, host) = (self.step.clone(), host.to_string());
        Arc::new(move |stream, line| reporter.output_line(&step, &host, stream, line))
    }
}

/// An action's result: status, output to show, and the error if any.
pub struct HostOutcome {
    pub status: Status,
    pub output: Option<Output>,
    pub error: Option<TransportError>,
}

impl HostOutcome {
    /// Done, with or without a change.
    pub fn done(changed: bool) -> HostOutcome {
        HostOutcome::status(if changed { Status::Changed } else { Status::Ok })
    }

    pub fn status(status: Status) -> HostOutcome {
        HostOutcome {
            status,
            output: None,
            error: None,
        }
    }

    /// The host could not do it (unreachable, or the command failed).
    pub fn error(command: &str, e: TransportError) -> HostOutcome {
        HostOutcome {
            status: Status::from_error(command, &e),
            output: None,
            error: Some(e),
        }
    }

    /// A command ran and exited non-zero.
    pub fn exited(
        host: &Endpoint,
        cmd: &crate::transport::Command,
        out: Output,
        message: String,
    ) -> HostOutcome {
        HostOutcome {
            status: Status::Failed {
                command: cmd.display(),
                exit_status: Some(out.status),
                stderr_tail: out.stderr_tail(5),
                message: if message.is_empty() {
                    format!(
                        "{}: `{}` exited with status {}",
                        host.name,
                        cmd.display(),
                        out.status
                    )
                } else {
                    message
                },
            },
            output: Some(out),
            error: None,
        }
    }

    /// The outcome as a step result again: changed or not, or the error
    /// (an action run inside another step).
    pub fn into_result(self) -> Result<bool, TransportError> {
        match (self.status, self.error) {
            (_, Some(e)) => Err(e),
            (Status::Changed, None) => Ok(true),
            (Status::Ok | Status::Skipped(_), None) => Ok(false),
            (s, None) => Err(TransportError::Other {
                host: "-".into(),
                reason: s.word().to_string(),
            }),
        }
    }

    /// A step's result: changed or not, or the error (naming the command
    /// when a command failed).
    pub fn from_result(r: Result<bool, TransportError>) -> HostOutcome {
        match r {
            Ok(changed) => HostOutcome::done(changed),
            Err(e) => {
                let command = match &e {
                    TransportError::Failed { command, .. } => command.clone(),
                    _ => String::new(),
                };
                HostOutcome::error(&command, e)
            }
        }
    }
}

/// When a host fails in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Finish the step on the other hosts, then stop the play.
    StopPlay,
    /// Go on with the other hosts; the failed host sits out later steps.
    Continue,
}

pub struct Step {
    pub name: String,
    pub hosts: Vec<String>,
    /// Rolling: this many hosts at a time, each batch finished before the
    /// next starts (`serial: 1`). None: all hosts, bounded by forks.
    pub batch: Option<usize>,
    pub on_failure: OnFailure,
    pub action: Arc<dyn Action>,
}

pub enum Node {
    Step(Step),
    Serial(String, Vec<Node>),
    Parallel(String, Vec<Node>),
    /// The body, then the cleanup whatever the body did: the cleanup also
    /// runs after a failure that stopped the play, and on hosts that failed
    /// in the body (it puts back what the body changed, such as an OSD
    /// flag); the play stops after it when the body or the cleanup failed.
    Finally(Box<Node>, Box<Node>),
}

pub struct Plan {
    pub name: String,
    pub root: Node,
}

/// Per host counts, ansible-style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: usize,
    pub changed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub unreachable: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Recap {
    pub hosts: IndexMap<String, Counts>,
    pub results: Vec<HostResult>,
    /// The play stopped early because a step failed.
    pub stopped: bool,
    pub duration: Duration,
}

impl Recap {
    pub fn any_failed(&self) -> bool {
        self.hosts.values().any(|c| c.failed > 0)
    }
    pub fn any_unreachable(&self) -> bool {
        self.hosts.values().any(|c| c.unreachable > 0)
    }
    pub fn any_host_key_refused(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.error.as_ref().is_some_and(|e| e.is_host_key()))
    }
}

/// A transport whose every command's start and duration go to the run log
/// (commands run by steps and by the code around them alike).
pub struct Timed {
    pub inner: Arc<dyn Transport>,
    pub reporter: Arc<Reporter>,
}

impl Transport for Timed {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        cmd: &'a crate::transport::Command,
    ) -> BoxFuture<'a, Result<Output, TransportError>> {
        Box::pin(async move {
            let started = report::now_ms() as u64;
            let t0 = Instant::now();
            let r = self.inner.run(host, cmd).await;
            self.reporter.command_done(
                &host.name,
                &cmd.display(),
                started,
                t0.elapsed().as_millis() as u64,
                r.as_ref().ok().map(|o| o.status),
            );
            r
        })
    }

    fn connect<'a>(&'a self, host: &'a Endpoint) -> BoxFuture<'a, Result<(), TransportError>> {
        self.inner.connect(host)
    }
}

pub struct Engine {
    pub transport: Arc<dyn Transport>,
    pub hosts: IndexMap<String, Endpoint>,
    pub forks: usize,
    pub reporter: Arc<Reporter>,
}

struct RunState {
    recap: Recap,
    /// Hosts that failed or were unreachable: they sit out later steps.
    down: BTreeSet<String>,
    stop: bool,
}

impl Engine {
    pub async fn run(&self, plan: &Plan) -> Recap {
        let started = Instant::now();
        let mut state = RunState {
            recap: Recap::default(),
            down: BTreeSet::new(),
            stop: false,
        };
        for h in self.hosts.keys() {
            state.recap.hosts.insert(h.clone(), Counts::default());
        }
        self.reporter.plan_started(&plan.name, self.hosts.len());
        self.node(&plan.root, &mut state).await;
        state.recap.stopped = state.stop;
        state.recap.duration = started.elapsed();
        self.reporter.plan_finished(&state.recap);
        state.recap
    }

    fn node<'s>(&'s self, node: &'s Node, state: &'s mut RunState) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            match node {
                Node::Step(step) => self.step(step, state).await,
                Node::Serial(_, children) => {
                    for c in children {
                        if state.stop {
                            break;
                        }
                        self.node(c, state).await;
                    }
                }
                Node::Finally(body, cleanup) => {
                    self.node(body, state).await;
                    let stopped = std::mem::replace(&mut state.stop, false);
                    let down = std::mem::take(&mut state.down);
                    self.node(cleanup, state).await;
                    state.down.extend(down);
                    state.stop |= stopped;
                }
                Node::Parallel(_, children) => {
                    // Children run at once; their results merge when all end.
                    let down = state.down.clone();
                    let futures = children.iter().map(|c| {
                        let mut sub = RunState {
                            recap: Recap::default(),
                            down: down.clone(),
                            stop: false,
                        };
                        async move {
                            self.node(c, &mut sub).await;
                            sub
                        }
                    });
                    for sub in futures::future::join_all(futures).await {
                        merge(state, sub);
                    }
                }
            }
        })
    }

    async fn step(&self, step: &Step, state: &mut RunState) {
        let hosts: Vec<Endpoint> = step
            .hosts
            .iter()
            .filter(|h| !state.down.contains(*h))
            .filter_map(|h| self.hosts.get(h).cloned())
            .collect();
        self.reporter.step_started(&step.name, hosts.len());
        let batch = step.batch.unwrap_or(hosts.len()).max(1);
        let forks = Arc::new(Semaphore::new(self.forks.max(1)));
        let mut results: Vec<HostResult> = Vec::new();
        for chunk in hosts.chunks(batch) {
            // Each host is its own task, so hosts spread over every core.
            let mut set = tokio::task::JoinSet::new();
            for (index, host) in chunk.iter().cloned().enumerate() {
                // Hosts start in inventory order as fork slots free up.
                let permit = forks.clone().acquire_owned().await.ok();
                let action = step.action.clone();
                let reporter = self.reporter.clone();
                let transport = self.transport.clone();
                let step_name = step.name.clone();
                set.spawn(async move {
                    let _permit = permit;
                    reporter.host_started(&step_name, &host.name);
                    let t0 = Instant::now();
                    let ctx = StepContext {
                        step: step_name.clone(),
                        reporter: reporter.clone(),
                    };
                    let outcome = action.run(&host, transport.as_ref(), &ctx).await;
                    let r = HostResult {
                        host: host.name.clone(),
                        step: step_name,
                        status: outcome.status,
                        duration: t0.elapsed(),
                        output: outcome.output,
                        error: outcome.error,
                    };
                    reporter.host_finished(&r);
                    (index, r)
                });
            }
            let mut done: Vec<(usize, HostResult)> = Vec::with_capacity(chunk.len());
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(pair) => done.push(pair),
                    Err(e) => {
                        // A panicking action is a bug; report it on no host.
                        self.reporter
                            .message(&format!("internal error in step `{}`: {e}", step.name));
                    }
                }
            }
            done.sort_by_key(|(i, _)| *i);
            let batch_failed = done.iter().any(|(_, r)| r.status.is_failure());
            results.extend(done.into_iter().map(|(_, r)| r));
            if step.batch.is_some() && batch_failed {
                // A rolling step stops at the first failed batch.
                break;
            }
        }
        let failed = results.iter().any(|r| r.status.is_failure());
        for r in results {
            record(state, r);
        }
        self.reporter.step_finished(&step.name);
        if failed && step.on_failure == OnFailure::StopPlay {
            state.stop = true;
        }
    }
}

fn record(state: &mut RunState, r: HostResult) {
    let c = state.recap.hosts.entry(r.host.clone()).or_default();
    match &r.status {
        Status::Ok => c.ok += 1,
        Status::Changed => {
            c.ok += 1;
            c.changed += 1
        }
        Status::Skipped(_) => c.skipped += 1,
        Status::Failed { .. } => {
            c.failed += 1;
            state.down.insert(r.host.clone());
        }
        Status::Unreachable(_) => {
            c.unreachable += 1;
            state.down.insert(r.host.clone());
        }
    }
    state.recap.results.push(r);
}

fn merge(state: &mut RunState, sub: RunState) {
    for r in sub.recap.results {
        record(state, r);
    }
    state.stop |= sub.stop;
}

/// Runs one command on a host: the action behind `cephalo run`.
pub struct RunCommand {
    pub command: crate::transport::Command,
}

impl Action for RunCommand {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        transport: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let mut cmd = self.command.clone().on_line(ctx.output_to_log(&host.name));
            cmd.become_root = cmd.become_root || host.connection.become_root;
            match crate::transport::run(transport, host, &cmd).await {
                Ok(out) if out.success() => HostOutcome {
                    status: Status::Changed,
                    output: Some(out),
                    error: None,
                },
                Ok(out) => HostOutcome::exited(host, &cmd, out, String::new()),
                Err(e) => HostOutcome::error(&cmd.display(), e),
            }
        })
    }
}
