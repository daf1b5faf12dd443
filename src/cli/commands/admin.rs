//! `cephalo admin`: pushes the conf and the client.admin keyring to the
//! named hosts (any inventory host, also one in no Ceph group) and checks
//! `ceph -s` there.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, inventory, runtime};
use crate::cli::drift::{Outcome, checked, done};
use crate::cli::output::{host_failures, print_warnings};
use crate::engine::Status;
use crate::error::{Error, Result};
use crate::keys::admin;
use crate::model;

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Replace a conf on the host that differs from the rendered one.
    #[arg(long)]
    pub overwrite_conf: bool,
    /// Show how the conf on each host differs from the rendered one
    /// (keyrings never shown); without --check, before changing it.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Change nothing; show what would change on each host (its conf and
    /// admin keyring). Exit code 8 when something would change, 0 when
    /// nothing would (7 when a conf differs and --overwrite-conf is not
    /// given, as without --check).
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Hosts or groups of the inventory (`client1`, `control`, `web*`); any
    /// host, also one in no Ceph group. Or use --limit.
    #[arg(value_name = "HOST_PATTERN")]
    pub hosts: Vec<String>,
}

pub fn exec(a: AdminArgs, verbose: u8) -> Result<Outcome> {
    let pattern = if a.hosts.is_empty() {
        a.target.limit.clone().ok_or_else(|| {
            Error::Usage("name the hosts to make admin hosts (HOST_PATTERN or --limit)".into())
        })?
    } else {
        a.hosts.join(",")
    };
    let names = inventory(&a.target)?
        .select(&pattern)
        .map_err(Error::Usage)?;
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "`{pattern}` matches no host of {}",
            a.target.primary_inventory().display()
        )));
    }
    let mut sources = a.target.sources();
    sources.extra_clients = names.clone();
    let mut cluster = model::load(&sources)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &names, &a.connect, verbose)?;
    let rt = runtime()?;
    crate::cli::context::resolve_addresses(&rt, &mut cluster, &names, &engine, a.connect.json)?;
    let cluster = Arc::new(cluster);
    let notes = admin::Notes::default();
    let opts = admin::Options {
        overwrite_conf: a.overwrite_conf,
        diff: a.diff,
        check: a.check,
    };
    let plan = admin::plan(&cluster, names, opts, &notes);
    let recap = rt.block_on(engine.run(&plan));
    let notes = notes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !a.connect.json {
        for (host, n) in &notes {
            for line in &n.lines {
                println!("{host} | {line}");
            }
            if let Some(diff) = &n.diff {
                print!("{diff}");
            }
        }
        for r in recap.results.iter().filter(|r| r.status.is_failure()) {
            if let Status::Unreachable(message) = &r.status {
                println!("{} | {} | {message}", r.host, r.step);
            }
        }
        print!("{}", crate::engine::recap_text(&recap));
    }
    let refused = notes.values().filter(|n| n.refused).count();
    let others_failed = recap
        .results
        .iter()
        .filter(|r| r.status.is_failure())
        .count()
        > refused;
    if refused > 0 && !others_failed {
        return Err(Error::Refused {
            what: format!(
                "the conf on {refused} host(s) differs from the rendered one and was kept; see it with --diff, replace it with --overwrite-conf"
            ),
        });
    }
    if a.check {
        // In check mode the plan is the files step alone: a host counts
        // once when anything of it would change.
        let changes = recap.hosts.values().map(|c| c.changed).sum();
        checked(host_failures(&recap), changes)
    } else {
        done(host_failures(&recap))
    }
}
