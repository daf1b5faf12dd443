//! `cephalo redeploy DAEMON...`: the named daemons made again from the
//! inventory's spec, with the same data, through the upgrade's own plan,
//! journal, gates and lock (`upgrade::redeploy`): the way out of a daemon
//! left crash-looping, stopped or missing. The release guard runs first,
//! as for deploy; `--plan` shows the steps; a run that stops is resumed
//! by the same command, or `--abort`ed.

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::error::{Error, Result};
use crate::upgrade::run as up;

use super::operation::{Operation, OperationArgs, connected, journal_of, run};

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
    #[command(flatten)]
    pub op: OperationArgs,
}

pub fn exec(a: RedeployArgs, verbose: u8) -> Result<()> {
    let (rt, cluster, engine) = connected(&a.target, &a.connect, verbose)?;
    let journal = journal_of(&rt, &cluster, &engine, "redeploy")?;
    let live = rt.block_on(up::live(&cluster, &engine));
    let daemons =
        crate::upgrade::redeploy::parse_daemons(&live.layout, &a.daemons).map_err(Error::Usage)?;
    // The hosts of the daemons must answer; others may be unknown.
    let hosts: Vec<String> = daemons.iter().map(|d| d.host.clone()).collect();
    up::unreached(&live, &hosts, a.target.primary_inventory())
        .map_err(|what| Error::NotReached { what })?;
    let plan = crate::upgrade::redeploy::plan(cluster.release, &live.layout, &daemons);
    if !a.op.plan && !a.op.abort {
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
        json: a.connect.json,
    };
    run(&rt, cluster, &engine, journal, &a.op, op)
}
