//! Commands on the machine that runs cephalo (docker, losetup, parted,
//! debootstrap, apt-get): each one an argument vector run by `Cmd`, whose
//! failure names the command and carries its stderr. Nothing here reaches a
//! playground host over SSH, and nothing goes through a shell.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::PlaygroundError;

/// One command on this machine.
#[derive(Debug, Clone)]
pub struct Cmd {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Input>,
}

#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// `cmd(["docker", "info"])`.
pub fn cmd<I, S>(argv: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Cmd {
        argv: argv.into_iter().map(Into::into).collect(),
        env: Vec::new(),
        stdin: None,
    }
}

impl Cmd {
    pub fn arg(mut self, a: impl Into<String>) -> Cmd {
        self.argv.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(Input::Bytes(data.into()));
        self
    }

    pub fn stdin_file(mut self, path: impl Into<PathBuf>) -> Cmd {
        self.stdin = Some(Input::File(path.into()));
        self
    }

    /// The command as a shell would read it, for messages.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|a| crate::transport::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..]);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn spawn_error(&self, source: std::io::Error) -> PlaygroundError {
        PlaygroundError::Spawn {
            command: self.display(),
            source,
        }
    }

    /// Runs the command; any exit status is an `Output` (a command that
    /// cannot be started is an error).
    pub fn output(&self) -> Result<Output, PlaygroundError> {
        let mut c = self.command();
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.stdin(match &self.stdin {
            None => Stdio::null(),
            Some(Input::Bytes(_)) => Stdio::piped(),
            Some(Input::File(p)) => {
                Stdio::from(File::open(p).map_err(|source| PlaygroundError::Io {
                    path: p.clone(),
                    source,
                })?)
            }
        });
        let mut child = c.spawn().map_err(|e| self.spawn_error(e))?;
        if let (Some(Input::Bytes(data)), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            // A command that exits without reading all its input is judged
            // by its exit status, not by the broken pipe.
            let data = data.clone();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        let out = child.wait_with_output().map_err(|e| self.spawn_error(e))?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs the command and returns its stdout, trimmed; a non-zero exit is
    /// an error naming the command, with the end of its stderr.
    pub fn run(&self) -> Result<String, PlaygroundError> {
        let out = self.output()?;
        if out.success() {
            Ok(out.stdout.trim().to_string())
        } else {
            Err(self.failed(&out))
        }
    }

    /// Runs the command; true when it exited with status 0. For probes
    /// (`docker info`, `docker network inspect`) whose failure is an answer.
    pub fn succeeds(&self) -> bool {
        self.output().map(|o| o.success()).unwrap_or(false)
    }

    pub fn failed(&self, out: &Output) -> PlaygroundError {
        let stderr = if out.stderr.trim().is_empty() {
            out.stdout.trim()
        } else {
            out.stderr.trim()
        };
        PlaygroundError::Command {
            command: self.display(),
            status: match out.code {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".into(),
            },
            stderr: tail(stderr, 15),
        }
    }

    /// Runs `self | next`: self's stdout feeds next's stdin (image exports
    /// of hundreds of megabytes, never held in memory). Returns next's
    /// stdout; either side failing is an error naming it.
    pub fn pipe(&self, next: &Cmd) -> Result<String, PlaygroundError> {
        let mut first = self.command();
        first
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut a = first.spawn().map_err(|e| self.spawn_error(e))?;
        let Some(a_out) = a.stdout.take() else {
            return Err(self.spawn_error(std::io::Error::other("no stdout pipe")));
        };
        let mut second = next.command();
        second
            .stdin(Stdio::from(a_out))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let b = second.spawn().map_err(|e| next.spawn_error(e));
        let b = match b {
            Ok(b) => b,
            Err(e) => {
                let _ = a.kill();
                let _ = a.wait();
                return Err(e);
            }
        };
        let b_out = b.wait_with_output().map_err(|e| next.spawn_error(e))?;
        let a_out = a.wait_with_output().map_err(|e| self.spawn_error(e))?;
        let to_output = |o: &std::process::Output| Output {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        if !a_out.status.success() {
            return Err(self.failed(&to_output(&a_out)));
        }
        if !b_out.status.success() {
            return Err(next.failed(&to_output(&b_out)));
        }
        Ok(String::from_utf8_lossy(&b_out.stdout).trim().to_string())
    }

    /// Starts the command in the background, detached from cephalo (its
    /// own process group, output appended to `log`). Dropping the child
    /// leaves the process running.
    pub fn spawn_daemon(&self, log: &Path) -> Result<std::process::Child, PlaygroundError> {
        use std::os::unix::process::CommandExt;
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|source| PlaygroundError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| PlaygroundError::Io {
                    path: log.to_path_buf(),
                    source,
                })
        };
        let (out, err) = (open()?, open()?);
        let mut c = self.command();
        c.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        c.spawn().map_err(|e| self.spawn_error(e))
    }
}

/// The last `lines` lines of a text.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether a program is on PATH (as `command -v` would say).
pub fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let p = dir.join(program);
        std::fs::metadata(&p)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_names_the_command_and_its_stderr() {
        let c = cmd(["sh", "-c", "echo one >&2; echo two >&2; exit 3"]);
        let e = c.run().unwrap_err().to_string();
        assert!(e.contains("sh -c"), "{e}");
        assert!(e.contains("exit status 3"), "{e}");
        assert!(e.contains("one\n  two"), "{e}");
    }

    #[test]
    fn pipes_and_stdin() {
        let out = cmd(["printf", "a\\nb\\n"])
            .pipe(&cmd(["wc", "-l"]))
            .unwrap();
        assert_eq!(out, "2");
        assert_eq!(cmd(["cat"]).stdin("hi").run().unwrap(), "hi");
        let e = cmd(["false"]).pipe(&cmd(["cat"])).unwrap_err().to_string();
        assert!(e.starts_with("`false` failed"), "{e}");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let e = cmd(["cephalo-no-such-program"]).run().unwrap_err();
        assert!(matches!(e, PlaygroundError::Spawn { .. }));
        assert!(!on_path("cephalo-no-such-program"));
        assert!(on_path("sh"));
    }
}
