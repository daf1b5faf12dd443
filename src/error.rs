//! Error types a user sees, and the exit code each kind of failure maps to.
//! Problems found in input files are collected, never thrown one at a time.

use std::fmt;
use std::path::PathBuf;

/// Exit codes, one per kind of failure, and one for a `--check` that found
/// something to change, so scripts and cron jobs can tell them apart.
pub mod exit {
    /// Something unexpected: an I/O error on the machine running cephalo.
    pub const FAILURE: i32 = 1;
    /// Bad input: a malformed or inconsistent inventory, globals, passwords
    /// or override file, or bad command-line arguments.
    pub const BAD_INPUT: i32 = 2;
    /// At least one precheck failed.
    pub const PRECHECKS_FAILED: i32 = 3;
    /// A command failed on at least one host.
    pub const HOST_FAILED: i32 = 4;
    /// At least one host could not be reached or logged into.
    pub const UNREACHABLE: i32 = 5;
    /// At least one host's key was unknown, changed or revoked.
    pub const HOST_KEY: i32 = 6;
    /// A host's state makes the change unsafe (a disk that is not empty):
    /// refused, and nothing was changed on any host.
    pub const REFUSED: i32 = 7;
    /// `--check` (deploy, reconfigure, tune, admin, gatherkeys) found
    /// something a run would change, or `status` flagged a daemon (the
    /// cluster is not as the inventory says); nothing failed and nothing
    /// was changed.
    pub const DRIFT: i32 = 8;
    /// The Ceph release a run would start does not fit: an image of
    /// another release than `ceph_release`, or older than the daemons or
    /// the data it would run on (a downgrade), or daemons that run another
    /// release: refused, and nothing was changed.
    pub const WRONG_RELEASE: i32 = 9;
    /// The output's reader went away (`| head -1`): the program ended
    /// quietly, with what a shell shows for a program SIGPIPE ends.
    pub const CLOSED_PIPE: i32 = 141;

    /// Every code but 0, with what it means in a line, for `--help` and the
    /// man page (the README's table says the same at more length).
    pub const ALL: [(i32, &str); 10] = [
        (
            FAILURE,
            "a failure on this machine (a file that cannot be written)",
        ),
        (
            BAD_INPUT,
            "bad input: malformed or inconsistent files, bad arguments",
        ),
        (PRECHECKS_FAILED, "a precheck failed"),
        (HOST_FAILED, "a command failed on at least one host"),
        (
            UNREACHABLE,
            "at least one host could not be reached or logged into",
        ),
        (HOST_KEY, "a host key was unknown, changed or revoked"),
        (REFUSED, "refused: a host's state makes the change unsafe"),
        (
            DRIFT,
            "--check: something would change; status: something is flagged (nothing failed)",
        ),
        (
            WRONG_RELEASE,
            "refused: the Ceph release would not fit ceph_release or would be older than the data",
        ),
        (
            CLOSED_PIPE,
            "the output's reader went away (a closed pipe): ended quietly",
        ),
    ];
}

/// Where a value or a problem comes from: a file and, when known, a line and
/// the key path inside the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub key: Option<String>,
}

impl Origin {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Origin {
            file: file.into(),
            line: None,
            key: None,
        }
    }

    pub fn at_line(file: impl Into<PathBuf>, line: u64) -> Self {
        Origin {
            file: file.into(),
            line: Some(line),
            key: None,
        }
    }

    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn with_line(mut self, line: Option<u64>) -> Self {
        self.line = line.filter(|l| *l > 0);
        self
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing, not wrong (keys read past). Shown with -v.
    Note,
    Warning,
    Error,
}

/// One thing wrong (or suspicious) in the input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub origin: Origin,
    pub message: String,
}

impl Problem {
    pub fn error(origin: Origin, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            origin,
            message: message.into(),
        }
    }

    pub fn warning(origin: Origin, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            origin,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}: {}", self.origin, self.message)
    }
}

/// Problems collected while loading and validating the input files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Adds a problem; the same problem found again (once per host) is kept once.
    pub fn push(&mut self, p: Problem) {
        if !self.0.contains(&p) {
            self.0.push(p);
        }
    }
    pub fn error(&mut self, origin: Origin, message: impl Into<String>) {
        self.push(Problem::error(origin, message));
    }
    pub fn warning(&mut self, origin: Origin, message: impl Into<String>) {
        self.push(Problem::warning(origin, message));
    }
    pub fn extend(&mut self, other: Problems) {
        for p in other.0 {
            self.push(p);
        }
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Warning)
    }
    pub fn note(&mut self, origin: Origin, message: impl Into<String>) {
        self.push(Problem {
            severity: Severity::Note,
            origin,
            message: message.into(),
        });
    }
    pub fn notes(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Note)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Every failure of the library, with the context a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{problems}\n{count} error(s) in the input; nothing was changed", count = problems.errors().count())]
    Invalid { problems: Problems },

    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Usage(String),

    #[error("{what}")]
    Refused { what: String },

    #[error("{what}")]
    WrongRelease { what: String },

    /// Hosts whose state could not be read, named with why: unknown, never
    /// taken as empty.
    #[error("{what}")]
    NotReached { what: String },

    #[error("{failed} precheck(s) failed; nothing was changed")]
    PrechecksFailed { failed: usize },

    #[error("a command failed on {hosts} host(s)")]
    HostsFailed { hosts: usize },

    #[error("{hosts} host(s) could not be reached")]
    Unreachable { hosts: usize },

    #[error("host key verification refused {hosts} host(s); nothing was run on them")]
    HostKey { hosts: usize },

    /// A failure of one operation's own kind (gatherkeys, the playground,
    /// ...): the operation's module owns the type and its exit code.
    #[error("{0}")]
    Operation(Box<dyn ExitCode>),
}

/// An error type of a module above this one that knows its own exit code;
/// such a module converts its errors with `Error::operation`, so this
/// bottom layer never names the modules above it.
pub trait ExitCode: std::error::Error + Send + Sync + 'static {
    fn exit_code(&self) -> i32;
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } | Error::Usage(_) | Error::Read { .. } => exit::BAD_INPUT,
            Error::Write { .. } => exit::FAILURE,
            Error::PrechecksFailed { .. } => exit::PRECHECKS_FAILED,
            Error::Refused { .. } => exit::REFUSED,
            Error::WrongRelease { .. } => exit::WRONG_RELEASE,
            Error::HostsFailed { .. } => exit::HOST_FAILED,
            Error::Unreachable { .. } | Error::NotReached { .. } => exit::UNREACHABLE,
            Error::HostKey { .. } => exit::HOST_KEY,
            Error::Operation(e) => e.exit_code(),
        }
    }

    /// The error as the command line prints it, in one format for every
    /// error: each line of what went wrong after `error: ` (the input's
    /// problems already carry it), and for bad input (exit code 2) the
    /// count line that the model's errors end with.
    pub fn report(&self) -> String {
        if let Error::Invalid { .. } = self {
            return self.to_string();
        }
        let text = self.to_string();
        let mut out = if text.starts_with("error: ") {
            text
        } else {
            format!("error: {text}")
        };
        if self.exit_code() == exit::BAD_INPUT {
            out.push_str("\n1 error(s) in the input; nothing was changed");
        }
        out
    }

    /// An operation's own error, keeping its exit code.
    pub fn operation(e: impl ExitCode) -> Self {
        Error::Operation(Box::new(e))
    }

    /// One problem in one file, as an error.
    pub fn invalid(origin: Origin, message: impl Into<String>) -> Self {
        Error::Invalid {
            problems: Problems(vec![Problem::error(origin, message)]),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O error without the temporary file's path that `tempfile` adds to
/// it ("... at path \"/dir/.cephalo-Eny23n\""): the error then names the
/// real file the caller was writing, and only that.
pub fn without_temp_path(e: std::io::Error) -> std::io::Error {
    // tempfile keeps the inner error private: its text is all there is.
    let text = e.to_string();
    match text.rfind(" at path \"") {
        Some(i) => std::io::Error::new(e.kind(), &text[..i]),
        None => e,
    }
}
