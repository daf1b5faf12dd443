//! `cephalo redeploy DAEMON...`: the named daemons made again from the
//! inventory's spec, with the same data, through the upgrade's own plan,
//! journal, gates and lock (`upgrade::redeploy`): the way out of a daemon
//! left crash-looping, stopped or missing. The release guard runs first,
//! as for deploy; `--plan` shows the steps; a run that stops is resumed
//! by the same command, or `--abort`ed.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, resolve_addresses, runtime};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::upgrade::run as up;

use super::operation::{Operation, journal_of, run};

#[derive(Debug, Args)]
pub struct RedeployArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The daemons, as Ceph names them: mon.HOST, mgr.HOST, osd.ID,
    /// mds.HOST, rgw.HOST.
    #[arg(value_name = "DAEMON")]
    pub daemons: Vec<String>,
    /// Print the plan and exit (with --json as JSON).
    #[arg(long)]
    pub plan: bool,
    /// Run without asking (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Stop an unfinished redeploy: put noout back, leave the daemons as
    /// they are.
    #[arg(long)]
    pub abort: bool,
    /// Take the cluster's operation lock from another machine's run.
    #[arg(long)]
    pub break_lock: bool,
}

pub fn exec(a: RedeployArgs, verbose: u8) -> Result<()> {
    let (mut cluster, _) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let engine = cluster_engine(&cluster, &all, &a.connect, verbose)?;
    let rt = runtime()?;
    resolve_addresses(&rt, &mut cluster, &all, &engine, a.connect.json)?;
    let cluster = Arc::new(cluster);
    let journal = journal_of(&rt, &cluster, &engine, "redeploy")?;
    let live = rt.block_on(up::live(&cluster, &engine));
    let daemons =
        crate::upgrade::redeploy::parse_daemons(&live.layout, &a.daemons).map_err(Error::Usage)?;
    // The hosts of the daemons must answer; others may be unknown.
    let hosts: Vec<String> = daemons.iter().map(|d| d.host.clone()).collect();
    up::unreached(&live, &hosts, a.target.primary_inventory())
        .map_err(|what| Error::NotReached { what })?;
    let plan = crate::upgrade::redeploy::plan(cluster.release, &live.layout, &daemons);
    if !a.plan && !a.abort {
        // Never a release older than the data, nor another than
        // configured, on the hosts of the daemons made again.
        let guard_engine = crate::engine::Engine {
            transport: engine.transport.clone(),
            hosts: engine
                .hosts
                .iter()
                .filter(|(h, _)| hosts.contains(h))
                .map(|(h, e)| (h.clone(), e.clone()))
                .collect(),
            forks: engine.forks,
            reporter: engine.reporter.clone(),
        };
        rt.block_on(crate::deploy::release_guard::guard(
            &cluster,
            &guard_engine,
            "redeploy",
        ))?;
    }
    let names = daemons
        .iter()
        .map(|d| format!("{}.{}", d.kind, d.id))
        .collect::<Vec<_>>()
        .join(" ");
    let op = Operation {
        name: "redeploy",
        resume: format!(
            "cephalo redeploy -i {} {names} --yes",
            a.target.primary_inventory().display()
        ),
        plan,
        show_plan: a.plan,
        yes: a.yes,
        abort: a.abort,
        break_lock: a.break_lock,
        json: a.connect.json,
    };
    run(&rt, cluster, &engine, journal, op)
}
