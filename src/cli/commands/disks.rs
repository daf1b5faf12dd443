//! `cephalo disks list` and `cephalo disks prepare`: the OSD hosts' disks
//! as a table (or JSON), and labelling the configured devices for OSDs.

use clap::{Args, Subcommand};

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::output::{host_failures, print_warnings};
use crate::disks::DiskRow;
use crate::error::{Error, Result};
use crate::model::{Cluster, Role};

#[derive(Debug, Subcommand)]
pub enum DisksCommand {
    /// Every disk and partition of the OSD hosts, with its GPT name, size,
    /// signature and whether it is free, a bootstrap partition or an OSD.
    List(DisksListArgs),
    /// Write KOLLA bootstrap partitions on each host's `ceph_osd_devices`.
    /// Shows the plan first; a device that is not empty is refused (and
    /// nothing changes anywhere) unless --zap names it.
    Prepare(DisksPrepareArgs),
}

#[derive(Debug, Args)]
pub struct DisksListArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct DisksPrepareArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Change nothing; show what would change on each host (the partitions
    /// each device would get).
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Wipe this device before labelling it (`HOST:/dev/sdb`, or
    /// `/dev/sdb` on every host that lists it). Repeatable.
    #[arg(long, value_name = "[HOST:]DEVICE")]
    pub zap: Vec<String>,
}

/// The OSD hosts among the selected ones.
fn osd_hosts(cluster: &Cluster, selected: &[String]) -> Vec<String> {
    cluster
        .hosts_with(Role::Osd)
        .filter(|h| selected.contains(&h.name))
        .map(|h| h.name.clone())
        .collect()
}

pub fn list(a: DisksListArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(
        &cluster,
        &osd_hosts(&cluster, &selected),
        &a.connect,
        verbose,
    )?;
    let found = runtime()?.block_on(crate::disks::list(&engine));
    let mut unreachable = 0;
    if a.connect.json {
        let rows: Vec<&DiskRow> = found
            .values()
            .filter_map(|r| r.as_ref().ok())
            .flatten()
            .collect();
        println!(
            "{}",
            serde_json::to_string(&rows).map_err(|e| Error::Usage(e.to_string()))?
        );
    } else {
        println!(
            "{:<12} {:<16} {:>10}  {:<34} {:<22} STATE",
            "HOST", "DEVICE", "SIZE", "GPT NAME", "SIGNATURE"
        );
        for (host, r) in &found {
            match r {
                Ok(rows) => {
                    for d in rows {
                        println!(
                            "{:<12} {:<16} {:>10}  {:<34} {:<22} {}",
                            host,
                            d.device,
                            format!("{:.1} GiB", d.size as f64 / (1u64 << 30) as f64),
                            d.part_name.as_deref().unwrap_or("-"),
                            d.signature.as_deref().unwrap_or("-"),
                            d.state
                        );
                    }
                }
                Err(e) => {
                    unreachable += 1;
                    println!("{host}: {e}");
                }
            }
        }
    }
    if unreachable > 0 {
        return Err(Error::Unreachable { hosts: unreachable });
    }
    Ok(())
}

pub fn prepare(a: DisksPrepareArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(
        &cluster,
        &osd_hosts(&cluster, &selected),
        &a.connect,
        verbose,
    )?;
    let rt = runtime()?;
    let plan = rt.block_on(crate::disks::plan_prepare(&cluster, &engine, &a.zap));
    print!("{}", plan.text());
    if !plan.unreachable.is_empty() {
        return Err(Error::Unreachable {
            hosts: plan.unreachable.len(),
        });
    }
    if plan.refusals() > 0 {
        return Err(Error::Refused {
            what: format!(
                "{} device(s) refused; no disk was changed on any host",
                plan.refusals()
            ),
        });
    }
    if a.check || plan.labels() == 0 {
        println!(
            "{} device(s) to label{}",
            plan.labels(),
            if a.check {
                " (--check: nothing changed)"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let recap = rt.block_on(crate::disks::apply(plan, &engine));
    print!("{}", crate::engine::recap_text(&recap));
    host_failures(&recap)
}
