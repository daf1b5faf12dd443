//! `cephalo tune`: the sysctl profile, disk queues and daemon tuning on the
//! selected hosts, or with --check only the drift; refused like deploy
//! when a running daemon runs another release than the configured one.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::drift::{Outcome, checked, done};
use crate::cli::output::{host_failures, print_findings, print_warnings};
use crate::error::Result;

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Change nothing; show what would change on each host (each setting's
    /// live and wanted value). Exit code 8 when something would change, 0
    /// when nothing would.
    #[arg(short = 'C', long)]
    pub check: bool,
}

pub fn exec(a: TuneArgs, verbose: u8) -> Result<Outcome> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = Arc::new(cluster);
    let rt = runtime()?;
    // Tune recreates daemons whose spec changed: never into another release.
    crate::cli::context::no_unfinished_upgrade(&rt, &cluster, &engine)?;
    rt.block_on(crate::deploy::release_guard::guard(
        &cluster, &engine, "tune",
    ))?;
    let notes = crate::tune::Notes::default();
    let plan = if a.check {
        crate::deploy::check_plan(&cluster, &selected, false, false, &notes)
    } else {
        // The host settings, then the daemons whose container or config
        // section changed, one at a time with health waits (reconfigure).
        crate::deploy::plan_with(&cluster, &selected, true, false, &notes)
    };
    let recap = rt.block_on(engine.run(&plan));
    let (drift, hosts) = print_findings(&notes, &recap, a.connect.json);
    if !a.connect.json {
        if a.check {
            println!("{drift} drifted setting(s) on {hosts} host(s)");
        } else {
            println!("{drift} setting(s) applied on {hosts} host(s)");
        }
    }
    if a.check {
        checked(host_failures(&recap), drift)
    } else {
        done(host_failures(&recap))
    }
}
