//! Executable inventories, run as Ansible runs inventory scripts:
//! `SCRIPT --list`, then `SCRIPT --host H` per host when the output has no
//! `_meta.hostvars`. A script that fails, prints something other than
//! JSON or does not finish in time is an error naming it (exit code 2).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::Inventory;
use crate::error::{Error, Origin, Result};

/// How long one run of an inventory script may take; the environment
/// variable `CEPHALO_INVENTORY_SCRIPT_TIMEOUT` (seconds) changes it.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

fn timeout() -> Duration {
    std::env::var("CEPHALO_INVENTORY_SCRIPT_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(SCRIPT_TIMEOUT)
}

/// A file with an execute bit that is a program (`#!` or an ELF binary),
/// not an INI or YAML file that happens to be executable.
pub(super) fn is_script(path: &Path, bytes: &[u8]) -> bool {
    let executable = std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    executable && (bytes.starts_with(b"#!") || bytes.starts_with(b"\x7fELF"))
}

/// Runs the script and builds the inventory from what it prints.
pub(super) fn load(path: &Path) -> Result<Inventory> {
    let doc = match run(path, &["--list"])? {
        Value::Object(m) => m,
        other => {
            return Err(Error::invalid(
                Origin::file(path),
                format!(
                    "inventory script `{} --list` printed {}, expected a JSON object of groups",
                    path.display(),
                    crate::yamlfile::kind(&other)
                ),
            ));
        }
    };
    let has_meta = doc
        .get("_meta")
        .is_some_and(|m| m.get("hostvars").is_some());
    super::json::parse(path, &doc, &mut |host: &str| {
        if has_meta {
            return Ok(None);
        }
        match run(path, &["--host", host])? {
            Value::Object(m) => Ok(Some(m)),
            Value::Null => Ok(Some(Map::new())),
            other => Err(Error::invalid(
                Origin::file(path),
                format!(
                    "inventory script `{} --host {host}` printed {}, expected a JSON object of variables",
                    path.display(),
                    crate::yamlfile::kind(&other)
                ),
            )),
        }
    })
}

/// Runs `path args`, in its own process group so that a timeout stops its
/// children too, and parses its standard output as JSON.
fn run(path: &Path, args: &[&str]) -> Result<Value> {
    let shown = format!("{} {}", path.display(), args.join(" "));
    let bad = |msg: String| Error::invalid(Origin::file(path), msg);
    let mut child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| bad(format!("cannot run inventory script `{shown}`: {e}")))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let limit = timeout();
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => {
                // The whole group: a shell script's children hold the pipes.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(bad(format!(
                    "inventory script `{shown}` did not finish within {} s and was stopped",
                    limit.as_secs()
                )));
            }
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default())
        .trim()
        .to_string();
    if !status.success() {
        let code = status.code().map_or_else(
            || "was killed by a signal".to_string(),
            |c| format!("exited with status {c}"),
        );
        let said = if err.is_empty() {
            String::from(" and printed nothing on stderr")
        } else {
            format!(": {err}")
        };
        return Err(bad(format!("inventory script `{shown}` {code}{said}")));
    }
    serde_json::from_slice(&out).map_err(|e| {
        bad(format!(
            "inventory script `{shown}` printed invalid JSON (line {}, column {}: {})",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })
}

/// serde_json's message without its own " at line L column C".
fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}
