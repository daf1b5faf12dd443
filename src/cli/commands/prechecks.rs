//! `cephalo prechecks`: every check on the selected hosts (optionally
//! repairing what is safe), as a table or JSON. Addresses that come from
//! an interface are learned first; a host whose address cannot be learned
//! fails `network.address`.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, learn_addresses, load, runtime};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::facts::addresses::{Learned, Verdict};
use crate::prechecks::{CheckResult, Level, run_prechecks};

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
    let (mut cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let rt = runtime()?;
    let addresses = learn_addresses(&rt, &mut cluster, &selected, &engine)
        .map(|l| address_checks(&cluster, &l, &selected))
        .unwrap_or_default();
    let cluster = Arc::new(cluster);
    let mut report = rt.block_on(run_prechecks(cluster, &engine, a.fix));
    report.results.splice(0..0, addresses);
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

/// The `network.address` check of each host whose address had to be
/// learned from its interfaces: a pass with the addresses, or a failure
/// naming the setting and what the host has. A selected host that could
/// not be reached is left to the `connection` check; a mon outside
/// `--limit` (its address goes into every ceph.conf) fails here.
pub fn address_checks(
    cluster: &crate::model::Cluster,
    learned: &Learned,
    selected: &[String],
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for (host, verdict) in learned.verdicts(cluster) {
        let row = |level, value: String, hint: String| CheckResult {
            id: "network.address",
            host: Some(host.clone()),
            level,
            value,
            hint,
        };
        match verdict {
            Verdict::Known(addresses) => {
                out.push(row(Level::Pass, addresses.join(", "), String::new()))
            }
            Verdict::Unreached(_) if selected.contains(&host) => {}
            Verdict::Unreached(e) => out.push(row(
                Level::Fail,
                e,
                "its address comes from an interface: reach the host, or set its public_address"
                    .into(),
            )),
            Verdict::Unresolved(problems) => {
                for p in problems {
                    out.push(row(
                        Level::Fail,
                        p.message,
                        format!("fix {}, or set public_address", p.origin),
                    ));
                }
            }
        }
    }
    out
}
