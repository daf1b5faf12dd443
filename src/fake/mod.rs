//! A transport that touches no host: every command is answered by a
//! scripted `World` (a `FakeCluster`, or a few `Rules`) and recorded in the
//! order it was sent. It serves the fast test tier (steps, waits and plans
//! exercised without root, network or a container engine) and the
//! calibrated scale simulation (latencies under tokio's paused clock). The
//! CLI never uses it.

pub mod ceph;
mod ceph_cli;
pub mod cluster;
pub mod fresh;
pub mod host;
pub mod rbd;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::transport::{BoxFuture, Command, Endpoint, Output, Transport, TransportError};

pub use ceph::FakeCeph;
pub use cluster::FakeCluster;
pub use host::{Container, FakeHost};
pub use rbd::FakeImage;

/// Whatever answers the fake transport's commands.
pub trait World: Send {
    /// The answer to one command on one host; a non-zero status is an
    /// `Output`, an unreachable host an error, as with SSH.
    fn answer(&mut self, host: &str, cmd: &Command) -> Result<Output, TransportError>;
}

/// One command as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub host: String,
    /// `Command::display()`: quoted words, long scripts cut, no input.
    pub command: String,
    /// Time since the transport was made (virtual under a paused clock).
    pub at: Duration,
}

/// How long a command takes, by host and command (zero by default).
pub type Latency = Arc<dyn Fn(&str, &Command) -> Duration + Send + Sync>;

/// The fake transport over a world `W`.
pub struct FakeTransport<W: World> {
    world: Mutex<W>,
    sent: Mutex<Vec<Sent>>,
    latency: Latency,
    started: tokio::time::Instant,
}

impl<W: World> FakeTransport<W> {
    pub fn new(world: W) -> Self {
        FakeTransport {
            world: Mutex::new(world),
            sent: Mutex::new(Vec::new()),
            latency: Arc::new(|_, _| Duration::ZERO),
            started: tokio::time::Instant::now(),
        }
    }

    /// Each command sleeps (tokio time) for what `latency` says before it
    /// is answered.
    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// Every command sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets the commands sent so far (a test's second run).
    pub fn clear_sent(&self) {
        if let Ok(mut s) = self.sent.lock() {
            s.clear();
        }
    }

    /// Reads or changes the world between runs (stop a host, fail a daemon).
    pub fn world<R>(&self, f: impl FnOnce(&mut W) -> R) -> R {
        let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut w)
    }
}

impl<W: World> Transport for FakeTransport<W> {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        cmd: &'a Command,
    ) -> BoxFuture<'a, Result<Output, TransportError>> {
        Box::pin(async move {
            let wait = (self.latency)(&host.name, cmd);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if let Ok(mut s) = self.sent.lock() {
                s.push(Sent {
                    host: host.name.clone(),
                    command: cmd.display(),
                    at: self.started.elapsed(),
                });
            }
            let mut out = self.world(|w| w.answer(&host.name, cmd))?;
            out.duration = wait;
            Ok(out)
        })
    }

    fn connect<'a>(&'a self, host: &'a Endpoint) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            let probe = Command::new(["true"]);
            self.world(|w| w.answer(&host.name, &probe)).map(|_| ())
        })
    }
}

/// An endpoint for a fake host (its connection is never used).
pub fn endpoint(name: &str) -> Endpoint {
    Endpoint {
        name: name.to_string(),
        connection: crate::model::Connection {
            address: name.to_string(),
            port: 22,
            user: None,
            private_key_file: None,
            become_root: false,
            local: false,
            password: None,
            jump: None,
        },
    }
}

/// An output with this status and stdout (stderr empty).
pub fn out(status: u32, stdout: impl Into<Vec<u8>>) -> Output {
    Output {
        status,
        stdout: stdout.into(),
        stderr: Vec::new(),
        duration: Duration::ZERO,
    }
}

/// A failed output with this status and stderr.
pub fn fail(status: u32, stderr: impl Into<String>) -> Output {
    Output {
        status,
        stdout: Vec::new(),
        stderr: stderr.into().into_bytes(),
        duration: Duration::ZERO,
    }
}

/// A rule: commands whose argument vector `matches` get `reply`.
type Rule = (
    Box<dyn Fn(&str, &[String]) -> bool + Send>,
    Box<dyn FnMut(&str, &[String]) -> Output + Send>,
);

/// The smallest world: rules tried in order; a command no rule matches
/// exits 127 ("not scripted"), so a test sees what it did not expect.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    pub fn new() -> Rules {
        Rules::default()
    }

    /// Commands whose words start with `prefix` get `reply`.
    pub fn on(
        mut self,
        prefix: &[&str],
        reply: impl FnMut(&str, &[String]) -> Output + Send + 'static,
    ) -> Rules {
        let prefix: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
        self.rules.push((
            Box::new(move |_, argv| argv.starts_with(&prefix)),
            Box::new(reply),
        ));
        self
    }
}

impl World for Rules {
    fn answer(&mut self, host: &str, cmd: &Command) -> Result<Output, TransportError> {
        for (matches, reply) in self.rules.iter_mut() {
            if matches(host, &cmd.argv) {
                return Ok(reply(host, &cmd.argv));
            }
        }
        Ok(fail(127, format!("not scripted: {}", cmd.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str) -> Endpoint {
        endpoint(name)
    }

    #[tokio::test(start_paused = true)]
    async fn commands_are_answered_by_rules_recorded_in_order_and_take_their_latency() {
        let mut calls = 0;
        let world = Rules::new().on(&["ceph", "osd", "ok-to-stop"], move |_, _| {
            calls += 1;
            if calls < 3 {
                fail(16, "Error EBUSY: unsafe to stop osd(s)")
            } else {
                out(0, "ok")
            }
        });
        let t = FakeTransport::new(world).with_latency(Arc::new(|_, _| Duration::from_millis(400)));
        let cmd = Command::new(["ceph", "osd", "ok-to-stop", "0"]);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(t.run(&ep("ceph1"), &cmd).await.unwrap().status);
        }
        assert_eq!(statuses, [16, 16, 0]);
        let other = t
            .run(&ep("ceph2"), &Command::new(["uptime"]))
            .await
            .unwrap();
        assert_eq!(other.status, 127);
        let sent = t.sent();
        assert_eq!(sent.len(), 4);
        assert_eq!(sent[3].host, "ceph2");
        assert_eq!(sent[0].command, "ceph osd ok-to-stop 0");
        // Virtual time: four commands of 0.4 s each, sent one after another.
        assert_eq!(sent[3].at, Duration::from_millis(1600));
    }
}
