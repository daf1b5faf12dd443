//! What several commands print the same way: the model's warnings, the
//! failed steps and recap of a run, drift findings (and their count), and
//! the error (and so the exit code) a run's failures give. No loading or
//! connecting here.

use crate::engine::{Counts, Recap, Status};
use crate::error::{Error, Result};
use crate::model::Cluster;

pub fn print_warnings(cluster: &Cluster, verbose: u8) {
    for w in cluster.warnings.warnings() {
        eprintln!("{w}");
    }
    if verbose > 0 {
        for n in cluster.warnings.notes() {
            eprintln!("{n}");
        }
    }
}

/// Variable names whose values are never printed.
pub fn is_secret_var(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("passwd")
        || k.ends_with("_pass")
        || k.contains("secret")
        || k.ends_with("_key")
}

/// Failures on hosts as the command's error (and exit code).
pub fn host_failures(recap: &Recap) -> Result<()> {
    let count = |pred: fn(&Counts) -> bool| recap.hosts.values().filter(|c| pred(c)).count();
    if recap.any_host_key_refused() {
        return Err(Error::HostKey {
            hosts: count(|c| c.unreachable > 0),
        });
    }
    if recap.any_unreachable() {
        return Err(Error::Unreachable {
            hosts: count(|c| c.unreachable > 0),
        });
    }
    if recap.any_failed() {
        return Err(Error::HostsFailed {
            hosts: count(|c| c.failed > 0),
        });
    }
    Ok(())
}

/// `HOST | STEP | why` for each step that failed or found its host
/// unreachable.
pub fn print_failures(recap: &Recap) {
    for r in recap.results.iter().filter(|r| r.status.is_failure()) {
        if let Status::Failed { message, .. } | Status::Unreachable(message) = &r.status {
            println!("{} | {} | {message}", r.host, r.step);
        }
    }
}

/// Prints each host's findings, the failures and the recap (not with
/// `--json`, whose events are the output); returns how many findings were
/// drift and on how many hosts.
pub fn print_findings(notes: &crate::tune::Notes, recap: &Recap, json: bool) -> (usize, usize) {
    let notes = notes.lock().unwrap_or_else(|p| p.into_inner());
    if !json {
        for (host, lines) in notes.iter() {
            for l in lines {
                println!("{host} | {}", l.text);
            }
        }
        print_failures(recap);
        print!("{}", crate::engine::recap_text(recap));
    }
    let drift = notes
        .values()
        .map(|l| l.iter().filter(|l| l.drift).count())
        .sum();
    let hosts = notes.values().filter(|l| l.iter().any(|l| l.drift)).count();
    (drift, hosts)
}
