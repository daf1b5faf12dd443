//! `cephalo redeploy DAEMON...`: the named daemons made again from the
//! inventory's spec, with the same data, through the upgrade's own plan,
//! journal, gates and lock (`upgrade::redeploy`): the way out of a daemon
//! left crash-looping, stopped or missing. The release guard runs first,
//! as for deploy; `--plan` shows the steps; a run that stops is resumed
//! by the same command, or `--abort`ed.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, inventory_dir, load, resolve_addresses, runtime};
use crate::cli::output::{host_failures, print_warnings};
use crate::error::{Error, Result};
use crate::upgrade::journal::Journal;
use crate::upgrade::run as up;

use super::upgrade::{confirm, print_plan};

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
    let t = engine.transport.clone();
    let dir = inventory_dir(&cluster).to_path_buf();
    let inventory = a.target.primary_inventory().display().to_string();
    let journal = rt
        .block_on(up::unfinished(&cluster, Some(t.as_ref()), &dir))
        .map_err(Error::Usage)?;
    if let Some(j) = &journal
        && j.operation != "redeploy"
    {
        return Err(Error::Refused {
            what: up::refusal(j, a.target.primary_inventory()),
        });
    }
    let live = rt.block_on(up::live(&cluster, &engine));
    let daemons =
        crate::upgrade::redeploy::parse_daemons(&live.layout, &a.daemons).map_err(Error::Usage)?;
    // The hosts of the daemons must answer; others may be unknown.
    let hosts: Vec<String> = daemons.iter().map(|d| d.host.clone()).collect();
    up::unreached(&live, &hosts, a.target.primary_inventory())
        .map_err(|what| Error::NotReached { what })?;
    let plan = crate::upgrade::redeploy::plan(cluster.release, &live.layout, &daemons);
    if a.plan {
        print_plan(&plan, a.connect.json);
        return Ok(());
    }
    if a.abort {
        let Some(j) = journal else {
            return Err(Error::Usage(format!(
                "no redeploy of `{}` is in progress: nothing to abort",
                cluster.name
            )));
        };
        let run = up::upgrade(cluster.clone(), plan, j, &dir, engine.reporter.clone());
        let recap = rt.block_on(up::abort(run.clone(), &engine));
        host_failures(&recap)?;
        println!("{}", run.journal(|j| j.summary(None)));
        return Ok(());
    }
    // Never a release older than the data, nor another than configured,
    // on the hosts of the daemons made again.
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
    if !a.yes {
        confirm(&plan, a.connect.json)?;
    }
    if let Some(broken) = rt
        .block_on(up::take_lock(
            &cluster,
            t.as_ref(),
            "redeploy",
            a.break_lock,
        ))
        .map_err(|what| Error::Refused { what })?
    {
        eprintln!("lock broken: it was {}", broken.describe());
    }
    let names = daemons
        .iter()
        .map(|d| format!("{}.{}", d.kind, d.id))
        .collect::<Vec<_>>()
        .join(" ");
    let j = journal.unwrap_or_else(|| {
        let mut j = Journal::new(
            &cluster.name,
            &cluster.fsid.to_string(),
            cluster.release,
            cluster.release,
        );
        j.operation = "redeploy".into();
        j.resume = Some(format!("cephalo redeploy -i {inventory} {names} --yes"));
        j.image = Some(cluster.image.clone());
        j
    });
    let run = up::upgrade(cluster.clone(), plan, j, &dir, engine.reporter.clone());
    let outcome = rt.block_on(up::execute(run, &engine));
    let u = &outcome.upgrade;
    for line in u.said.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("{line}");
    }
    for r in u.upgraded.lock().map(|r| r.clone()).unwrap_or_default() {
        println!("{} on {}: made again ({} s)", r.daemon, r.host, r.seconds);
    }
    if outcome.restored.is_some() {
        let last = u.journal(|j| j.errors.last().cloned()).unwrap_or_default();
        return Err(Error::Refused {
            what: format!(
                "the redeploy stopped: {last}\nnoout was put back; run the same command again to resume (`cephalo redeploy -i {inventory} {names} --yes`), or --abort"
            ),
        });
    }
    host_failures(&outcome.recap)?;
    println!("{}", u.journal(|j| j.summary(None)));
    Ok(())
}
