//! What `redeploy` and `rotate-keys` share with each other once their plan
//! is made: `--plan`, `--abort`, the question (or `--yes`), the cluster's
//! operation lock, the journal (resumed when one of the same operation is
//! unfinished, refused when another is), the run through the upgrade's
//! executor, and what it printed. The upgrade's own command keeps its
//! release-specific report.

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Cluster;
use crate::upgrade::UpgradePlan;
use crate::upgrade::journal::Journal;
use crate::upgrade::run as up;

use super::upgrade::{confirm, print_plan};

/// The options every such operation takes.
#[derive(Debug, clap::Args)]
pub struct OperationArgs {
    /// Print the plan and exit (with --json as JSON).
    #[arg(long)]
    pub plan: bool,
    /// Run without asking (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Stop an unfinished run: put noout back, leave the daemons (and
    /// keys) as they are; running the command again finishes it.
    #[arg(long)]
    pub abort: bool,
    /// Take the cluster's operation lock from another machine's run.
    #[arg(long)]
    pub break_lock: bool,
}

/// The model with every host's address, and the engine over every host:
/// what an operation starts from.
pub fn connected(
    target: &crate::cli::args::Target,
    connect: &crate::cli::args::ConnectArgs,
    verbose: u8,
) -> Result<(tokio::runtime::Runtime, Arc<Cluster>, Engine)> {
    let (mut cluster, _) = crate::cli::context::load(target)?;
    crate::cli::output::print_warnings(&cluster, verbose);
    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let engine = crate::cli::context::cluster_engine(&cluster, &all, connect, verbose)?;
    let rt = crate::cli::context::runtime()?;
    crate::cli::context::resolve_addresses(&rt, &mut cluster, &all, &engine, connect.json)?;
    Ok((rt, Arc::new(cluster), engine))
}

/// An operation to run through the upgrade's executor.
pub struct Operation {
    /// `redeploy`, `rotate-keys`: the journal's and the lock's word.
    pub name: &'static str,
    /// The command that resumes it, as printed for the operator.
    pub resume: String,
    pub plan: UpgradePlan,
    pub json: bool,
}

/// The unfinished journal of this operation, if any; another operation's
/// unfinished journal refuses it (exit 7), naming how to finish that one.
pub fn journal_of(
    rt: &tokio::runtime::Runtime,
    cluster: &Cluster,
    engine: &Engine,
    name: &str,
) -> Result<Option<Journal>> {
    let dir = crate::cli::context::inventory_dir(cluster);
    let j = rt
        .block_on(up::unfinished(
            cluster,
            Some(engine.transport.as_ref()),
            dir,
        ))
        .map_err(Error::Usage)?;
    match j {
        Some(j) if j.operation != name => Err(Error::Refused {
            what: up::refusal(&j, &cluster.files.inventory),
        }),
        other => Ok(other),
    }
}

/// Shows, aborts or runs the operation.
pub fn run(
    rt: &tokio::runtime::Runtime,
    cluster: Arc<Cluster>,
    engine: &Engine,
    journal: Option<Journal>,
    args: &OperationArgs,
    op: Operation,
) -> Result<()> {
    if args.plan {
        print_plan(&op.plan, op.json);
        return Ok(());
    }
    let dir = crate::cli::context::inventory_dir(&cluster).to_path_buf();
    let t = engine.transport.clone();
    if args.abort {
        let Some(j) = journal else {
            return Err(Error::Usage(format!(
                "no {} of `{}` is in progress: nothing to abort",
                op.name, cluster.name
            )));
        };
        let run = up::upgrade(cluster.clone(), op.plan, j, &dir, engine.reporter.clone());
        let recap = rt.block_on(up::abort(run.clone(), engine));
        crate::cli::output::host_failures(&recap)?;
        println!("{}", run.journal(|j| j.summary(None)));
        return Ok(());
    }
    if !args.yes {
        confirm(&op.plan, op.json)?;
    }
    if let Some(broken) = rt
        .block_on(up::take_lock(
            &cluster,
            t.as_ref(),
            op.name,
            args.break_lock,
        ))
        .map_err(|what| Error::Refused { what })?
    {
        eprintln!("lock broken: it was {}", broken.describe());
    }
    let j = journal.unwrap_or_else(|| {
        let mut j = Journal::new(
            &cluster.name,
            &cluster.fsid.to_string(),
            cluster.release,
            cluster.release,
        );
        j.operation = op.name.into();
        j.resume = Some(op.resume.clone());
        j.image = Some(cluster.image.clone());
        j
    });
    let run = up::upgrade(cluster.clone(), op.plan, j, &dir, engine.reporter.clone());
    let outcome = rt.block_on(up::execute(run, engine));
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
                "the {} stopped: {last}\nthe flags were put back; run the same command again to resume (`{}`), or --abort",
                op.name, op.resume
            ),
        });
    }
    crate::cli::output::host_failures(&outcome.recap)?;
    println!("{}", u.journal(|j| j.summary(None)));
    Ok(())
}
