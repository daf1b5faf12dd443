//! `cephalo gatherkeys`: the cluster's keys from the first mon in quorum
//! into keyring files next to the inventory (or --dest).

use std::path::PathBuf;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, inventory_dir, load, runtime};
use crate::cli::drift::{Outcome, checked};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::model::{Host, Role};

#[derive(Debug, Args)]
pub struct GatherkeysArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Folder for the keyring files (default: `keys` next to the
    /// inventory). Made 0700, or tightened to 0700.
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    /// Change nothing; show what would change (the local keyring files;
    /// nothing changes in the cluster either). Exit code 8 when something
    /// would change, 0 when nothing would.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Mons to try, in this order (default: the inventory's mons).
    #[arg(value_name = "MON")]
    pub mons: Vec<String>,
}

pub fn exec(a: GatherkeysArgs, verbose: u8) -> Result<Outcome> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let inventory_mons: Vec<&Host> = cluster
        .hosts_with(Role::Mon)
        .filter(|h| selected.contains(&h.name))
        .collect();
    let mons: Vec<&Host> = if a.mons.is_empty() {
        inventory_mons.clone()
    } else {
        let mut v = Vec::new();
        for name in &a.mons {
            match inventory_mons.iter().find(|h| &h.name == name) {
                Some(h) => v.push(*h),
                None => {
                    return Err(Error::Usage(format!(
                        "`{name}` is not a mon of {} (mons: {})",
                        a.target.primary_inventory().display(),
                        inventory_mons
                            .iter()
                            .map(|h| h.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        v
    };
    if mons.is_empty() {
        return Err(Error::Usage(format!(
            "{} selects no mon to ask",
            a.target.primary_inventory().display()
        )));
    }
    let dest = a
        .dest
        .clone()
        .unwrap_or_else(|| inventory_dir(&cluster).join("keys"));
    let names: Vec<String> = mons.iter().map(|h| h.name.clone()).collect();
    let engine = cluster_engine(&cluster, &names, &a.connect, verbose)?;
    let report = runtime()?.block_on(crate::keys::gather::gather(
        &cluster,
        engine.transport.as_ref(),
        &mons,
        &dest,
        a.check,
    ))?;
    print!("{}", report.text());
    for w in report.warnings() {
        eprintln!("{w}");
    }
    if a.check {
        // The keys that would be written or created, and the folder.
        checked(Ok(()), report.changed() + usize::from(report.dir_changed))
    } else {
        Ok(Outcome::Done)
    }
}
