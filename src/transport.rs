//! The one interface through which cephalo touches a host: run a command
//! (an argument vector, quoted here and nowhere else), and the file
//! operations built on it. SSH and local execution implement `Transport`;
//! this module knows nothing about either.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::model::{Connection, Host, Target};

/// A host as the transport sees it: its inventory name and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub connection: Connection,
}

impl Endpoint {
    /// Where commands for a host of the cluster go.
    pub fn of(host: &Host) -> Endpoint {
        Endpoint {
            name: host.name.clone(),
            connection: host.connection.clone(),
        }
    }

    /// Where commands for an inventory host (`cephalo run`) go.
    pub fn of_target(target: &Target) -> Endpoint {
        Endpoint {
            name: target.name.clone(),
            connection: target.connection.clone(),
        }
    }
}

/// A command to run on a host.
#[derive(Clone)]
pub struct Command {
    pub argv: Vec<String>,
    pub stdin: Option<Input>,
    /// Run through `sudo -n` (never prompts: a sudo that wants a password
    /// fails with `TransportError::SudoNeedsPassword`).
    pub become_root: bool,
    pub timeout: Duration,
    /// Its input or output holds a secret: never logged.
    pub secret: bool,
    /// Receives each line of output as it arrives (long commands), unless
    /// the command is secret.
    pub on_line: Option<LineSink>,
}

/// What a command reads on stdin.
#[derive(Clone)]
pub enum Input {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
}

impl Input {
    /// Opens the input for reading.
    pub async fn reader(&self) -> std::io::Result<Box<dyn tokio::io::AsyncRead + Send + Unpin>> {
        Ok(match self {
            Input::Bytes(b) => Box::new(std::io::Cursor::new(b.clone())),
            Input::File(p) => Box::new(tokio::fs::File::open(p).await?),
        })
    }
}

/// Which output a streamed line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where streamed output lines go.
pub type LineSink = std::sync::Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// Splits arriving chunks into lines for a `LineSink`.
#[derive(Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, chunk: &[u8], stream: Stream, sink: &LineSink) {
        self.pending.extend_from_slice(chunk);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            sink(
                stream,
                String::from_utf8_lossy(&line[..line.len() - 1]).trim_end_matches('\r'),
            );
        }
    }

    pub fn finish(&mut self, stream: Stream, sink: &LineSink) {
        if !self.pending.is_empty() {
            sink(stream, &String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
    }
}

/// Default time a command may take before it is abandoned.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

impl Command {
    pub fn new<I, S>(argv: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            argv: argv.into_iter().map(Into::into).collect(),
            stdin: None,
            become_root: false,
            timeout: DEFAULT_TIMEOUT,
            secret: false,
            on_line: None,
        }
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Command {
        self.stdin = Some(Input::Bytes(data.into()));
        self
    }

    /// Streams a local file into the command's stdin (image archives of a
    /// gigabyte: never read into memory whole).
    pub fn stdin_file(mut self, path: impl Into<std::path::PathBuf>) -> Command {
        self.stdin = Some(Input::File(path.into()));
        self
    }

    pub fn become_root(mut self, yes: bool) -> Command {
        self.become_root = yes;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Command {
        self.timeout = t;
        self
    }

    pub fn secret(mut self) -> Command {
        self.secret = true;
        self
    }

    pub fn on_line(mut self, sink: LineSink) -> Command {
        self.on_line = Some(sink);
        self
    }

    /// The line the remote shell runs: every argument quoted.
    pub fn line(&self) -> String {
        let args = self
            .argv
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        if self.become_root {
            format!("sudo -n -- {args}")
        } else {
            args
        }
    }

    /// The command for messages and logs: the argument vector, with a
    /// long inline script cut to its start, and no input.
    pub fn display(&self) -> String {
        match self.argv.as_slice() {
            [sh, c, script, rest @ ..] if sh == "sh" && c == "-c" && script.len() > 80 => {
                let first: String = script
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                let mut words = vec![
                    "sh".to_string(),
                    "-c".into(),
                    quote(&format!("{first} ...")),
                ];
                words.extend(rest.iter().map(|a| quote(a)));
                let line = words.join(" ");
                if self.become_root {
                    format!("sudo -n -- {line}")
                } else {
                    line
                }
            }
            _ => self.line(),
        }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Command({})", self.display())
    }
}

/// Quotes one word for a POSIX shell; the only quoting in cephalo.
pub fn quote(word: &str) -> String {
    match shlex::try_quote(word) {
        Ok(q) => q.into_owned(),
        // A NUL byte cannot be passed through a shell at all.
        Err(_) => shlex::try_quote(&word.replace('\0', ""))
            .map(|q| q.into_owned())
            .unwrap_or_default(),
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// The last lines of stderr, for failure messages.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let text = self.stderr_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Why a host could not do what was asked, with the host and command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("{host}: cannot connect to {target}: {reason}")]
    Unreachable {
        host: String,
        /// `address:port` connected to.
        target: String,
        reason: String,
    },

    #[error(
        "{host}: host key of {target} is not known ({fingerprint}); verify it, then add this line to {file}:\n  {line}\nor run again with --accept-new-host-keys to record it"
    )]
    UnknownHostKey {
        host: String,
        /// `address:port` connected to.
        target: String,
        fingerprint: String,
        line: String,
        file: String,
    },

    #[error(
        "{host}: HOST KEY CHANGED for {target}: it offered {fingerprint}, but {known_at} holds {known_fingerprint}; refusing to connect (a changed key may mean an attack; if the host was reinstalled, remove that line)"
    )]
    ChangedHostKey {
        host: String,
        /// `address:port` connected to.
        target: String,
        fingerprint: String,
        /// `file:line` of the known key.
        known_at: String,
        known_fingerprint: String,
    },

    #[error(
        "{host}: host key {fingerprint} of {target} is marked @revoked in {at}; refusing to connect"
    )]
    RevokedHostKey {
        host: String,
        /// `address:port` connected to.
        target: String,
        fingerprint: String,
        at: String,
    },

    #[error("{host}: authentication as `{user}` failed (tried: {tried})")]
    AuthFailed {
        host: String,
        user: String,
        tried: String,
    },

    #[error(
        "{host}: sudo asks for a password for `{command}`; give the user passwordless sudo (NOPASSWD) or connect as root"
    )]
    SudoNeedsPassword { host: String, command: String },

    #[error("{host}: `{command}` did not finish within {seconds} s")]
    Timeout {
        host: String,
        command: String,
        seconds: u64,
    },

    #[error("{host}: `{command}` exited with status {status}: {stderr_tail}")]
    Failed {
        host: String,
        command: String,
        status: u32,
        stderr_tail: String,
    },

    #[error("{host}: the connection was lost while running `{command}`")]
    ConnectionLost { host: String, command: String },

    #[error("{host}: {reason}")]
    Other { host: String, reason: String },
}

impl TransportError {
    pub fn host(&self) -> &str {
        match self {
            TransportError::Unreachable { host, .. }
            | TransportError::UnknownHostKey { host, .. }
            | TransportError::ChangedHostKey { host, .. }
            | TransportError::RevokedHostKey { host, .. }
            | TransportError::AuthFailed { host, .. }
            | TransportError::SudoNeedsPassword { host, .. }
            | TransportError::Timeout { host, .. }
            | TransportError::ConnectionLost { host, .. }
            | TransportError::Failed { host, .. }
            | TransportError::Other { host, .. } => host,
        }
    }

    /// The host could not be reached or logged into (as opposed to a
    /// command that ran and failed).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. }
                | TransportError::UnknownHostKey { .. }
                | TransportError::ChangedHostKey { .. }
                | TransportError::RevokedHostKey { .. }
                | TransportError::AuthFailed { .. }
        )
    }

    pub fn is_host_key(&self) -> bool {
        matches!(
            self,
            TransportError::UnknownHostKey { .. }
                | TransportError::ChangedHostKey { .. }
                | TransportError::RevokedHostKey { .. }
        )
    }
}

/// A host error that stops a command before anything changed: unreachable
/// (exit 5), host key (exit 6), else a failed command (exit 4).
impl crate::error::ExitCode for TransportError {
    fn exit_code(&self) -> i32 {
        use crate::error::exit;
        if self.is_host_key() {
            exit::HOST_KEY
        } else if self.is_unreachable() {
            exit::UNREACHABLE
        } else {
            exit::HOST_FAILED
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs commands on hosts.
pub trait Transport: Send + Sync {
    /// Runs one command; a non-zero exit status is an `Output`, not an error.
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        cmd: &'a Command,
    ) -> BoxFuture<'a, Result<Output, TransportError>>;

    /// Opens (or checks) the connection without running anything.
    fn connect<'a>(&'a self, host: &'a Endpoint) -> BoxFuture<'a, Result<(), TransportError>>;
}

/// Runs a command and turns "sudo wants a password" into its own error.
pub async fn run(
    t: &dyn Transport,
    host: &Endpoint,
    cmd: &Command,
) -> Result<Output, TransportError> {
    let out = t.run(host, cmd).await?;
    if cmd.become_root && out.status == 1 && out.stderr_text().contains("a password is required") {
        return Err(TransportError::SudoNeedsPassword {
            host: host.name.clone(),
            command: cmd.display(),
        });
    }
    Ok(out)
}

/// Runs a command and turns a non-zero exit into an error naming it.
pub async fn checked(
    t: &dyn Transport,
    host: &Endpoint,
    cmd: &Command,
) -> Result<Output, TransportError> {
    let out = run(t, host, cmd).await?;
    if out.success() {
        Ok(out)
    } else {
        Err(TransportError::Failed {
            host: host.name.clone(),
            command: cmd.display(),
            status: out.status,
            stderr_tail: out.stderr_tail(4),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_in_one_place() {
        let c = Command::new(["echo", "a b", "it's", "$HOME", ""]);
        assert_eq!(c.line(), r#"echo 'a b' "it's" '$HOME' ''"#);
        assert_eq!(
            c.clone().become_root(true).line(),
            r#"sudo -n -- echo 'a b' "it's" '$HOME' ''"#
        );
    }
}
