//! `cephalo deploy` and `cephalo reconfigure`: the addresses learned from
//! interfaces, prechecks, the refusal to change a running daemon's release,
//! then (with `--check`/`--diff`) what would change, then the converging
//! plan and `ceph -s`. Reconfigure runs the same plan without creating
//! daemons.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, learn_addresses, load, resolve_addresses, runtime};
use crate::cli::drift::{Outcome, checked};
use crate::cli::output::{host_failures, print_failures, print_findings, print_warnings};
use crate::error::{Error, Result};
use crate::prechecks::{Level, Report, run_prechecks};

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Do not run the prechecks first.
    #[arg(long)]
    pub skip_prechecks: bool,
    /// Do not wait for HEALTH_OK at the end.
    #[arg(long)]
    pub no_wait: bool,
    /// Change nothing; show what would change on each host (files, tuning,
    /// daemon containers, new OSDs). Exit code 8 when something would
    /// change, 0 when nothing would.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show how the config files on the hosts differ from the rendered ones
    /// (keyrings never shown); without --check, before changing them.
    #[arg(short = 'D', long)]
    pub diff: bool,
}

pub fn deploy(a: DeployArgs, verbose: u8) -> Result<Outcome> {
    converge(a, verbose, true)
}

pub fn reconfigure(a: DeployArgs, verbose: u8) -> Result<Outcome> {
    converge(a, verbose, false)
}

/// deploy (`create`) or reconfigure (only what exists).
fn converge(a: DeployArgs, verbose: u8, create: bool) -> Result<Outcome> {
    let (mut cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let rt = runtime()?;
    // Addresses from interfaces: with the prechecks, a host whose address
    // cannot be learned is one of their failures.
    let addresses = if a.skip_prechecks {
        resolve_addresses(&rt, &mut cluster, &selected, &engine, a.connect.json)?;
        Vec::new()
    } else {
        learn_addresses(&rt, &mut cluster, &selected, &engine)
            .map(|l| super::prechecks::address_checks(&cluster, &l, &selected))
            .unwrap_or_default()
    };
    let cluster = Arc::new(cluster);
    if !a.skip_prechecks {
        let mut report = rt.block_on(run_prechecks(cluster.clone(), &engine, false));
        report.results.splice(0..0, addresses);
        if report.failed() {
            if a.connect.json {
                println!("{}", report.to_json());
            } else {
                let failed = Report {
                    results: report
                        .results
                        .iter()
                        .filter(|r| r.level == Level::Fail)
                        .cloned()
                        .collect(),
                    fixed: Vec::new(),
                };
                print!("{}", failed.table());
                println!("{}", report.summary());
            }
            // A host that could not be reached is not a host that failed a
            // check: unknown, and the exit code says so (5).
            let unreached = report
                .results
                .iter()
                .filter(|r| r.id == "connection" && r.level == Level::Fail)
                .count();
            if unreached > 0 {
                return Err(Error::Unreachable { hosts: unreached });
            }
            return Err(Error::PrechecksFailed {
                failed: report.count(Level::Fail),
            });
        }
    }
    // Never a release change of a running daemon: that is `cephalo upgrade`.
    let command = if create { "deploy" } else { "reconfigure" };
    crate::cli::context::no_unfinished_upgrade(&rt, &cluster, &engine)?;
    rt.block_on(crate::deploy::release_guard::guard(
        &cluster, &engine, command,
    ))?;
    if a.check || a.diff {
        let notes = crate::tune::Notes::default();
        let plan = crate::deploy::check_plan(&cluster, &selected, create, a.diff, &notes);
        let recap = rt.block_on(engine.run(&plan));
        if a.check {
            let (drift, hosts) = print_findings(&notes, &recap, a.connect.json);
            if !a.connect.json {
                println!("{drift} change(s) would be made on {hosts} host(s)");
            }
            return checked(host_failures(&recap), drift);
        }
        if !a.connect.json {
            for (host, lines) in notes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                for l in lines.iter().filter(|l| l.text.starts_with("  ")) {
                    println!("{host} | {}", l.text);
                }
            }
        }
        host_failures(&recap)?;
    }
    let plan = crate::deploy::plan(&cluster, &selected, !a.no_wait, create);
    let recap = rt.block_on(engine.run(&plan));
    if !a.connect.json {
        print_failures(&recap);
        print!("{}", crate::engine::recap_text(&recap));
        if !recap.stopped
            && let Ok(status) = rt.block_on(crate::ceph::ceph_status(
                &cluster,
                engine.transport.as_ref(),
            ))
        {
            println!("{status}");
        }
    }
    host_failures(&recap)?;
    Ok(Outcome::Done)
}
