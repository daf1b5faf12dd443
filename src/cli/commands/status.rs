//! `cephalo status`: the cluster's health and every selected host's Ceph
//! containers, as a table or one JSON document; the exit code says whether
//! a host could not be reached (5), its containers not listed (4), or
//! something was flagged (8).

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, inventory_dir, load, runtime};
use crate::cli::drift::{Outcome, checked};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::status::Status;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The exit code's error for hosts not reached or not listed.
fn failures(s: &Status) -> Result<()> {
    let key = s
        .hosts
        .iter()
        .filter(|h| !h.reachable && h.error.as_deref().is_some_and(|e| e.contains("host key")))
        .count();
    if key > 0 {
        return Err(Error::HostKey { hosts: key });
    }
    match (s.unreachable(), s.failed()) {
        (0, 0) => Ok(()),
        (0, n) => Err(Error::HostsFailed { hosts: n }),
        (n, _) => Err(Error::Unreachable { hosts: n }),
    }
}

pub fn exec(a: StatusArgs, verbose: u8) -> Result<Outcome> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let hosts: Vec<_> = engine.hosts.values().cloned().collect();
    let report = runtime()?.block_on(crate::status::status(
        &cluster,
        engine.transport.as_ref(),
        &hosts,
        inventory_dir(&cluster),
    ));
    if a.connect.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", crate::status::report::text(&report));
    }
    checked(failures(&report), report.flagged.len())
}
