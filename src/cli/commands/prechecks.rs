//! `cephalo prechecks`: every check on the selected hosts (optionally
//! repairing what is safe), as a table or JSON.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::prechecks::{Level, run_prechecks};

#[derive(Debug, Args)]
pub struct PrechecksArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Repair what is safe and reversible (start the time sync service or
    /// the container engine, raise kernel.pid_max), then check again.
    #[arg(long)]
    pub fix: bool,
}

pub fn exec(a: PrechecksArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = Arc::new(cluster);
    let report = runtime()?.block_on(run_prechecks(cluster, &engine, a.fix));
    if a.connect.json {
        println!("{}", report.to_json());
    } else {
        for (host, what) in &report.fixed {
            println!("fixed on {host}: {what}");
        }
        print!("{}", report.table());
        println!("{}", report.summary());
    }
    if report.failed() {
        return Err(Error::PrechecksFailed {
            failed: report.count(Level::Fail),
        });
    }
    Ok(())
}
