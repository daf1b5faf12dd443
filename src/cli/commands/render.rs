//! `cephalo render`: every selected host's files into a folder for review,
//! keys redacted unless asked for. Addresses that come from an interface
//! are learned from the hosts with `--gather-facts`; without it, such a
//! mon is named with the two ways out.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Problems, Result};
use crate::model::{Cluster, Role};
use crate::render::{self, Secrets};

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, resolve_addresses, runtime};
use crate::cli::output::print_warnings;

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub target: Target,
    /// Folder to write `<host>/...` into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write the real cephx keys into the keyrings (default: `<redacted>`).
    #[arg(long)]
    pub with_secrets: bool,
    /// Learn the addresses that come from an interface (network_interface,
    /// monitor_interface, ...) from the hosts, over SSH (one `ip addr` each).
    /// Without it, render connects to no host.
    #[arg(long)]
    pub gather_facts: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn exec(a: RenderArgs, verbose: u8) -> Result<()> {
    let (mut cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    if a.gather_facts {
        let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
        resolve_addresses(
            &runtime()?,
            &mut cluster,
            &selected,
            &engine,
            a.connect.json,
        )?;
    } else {
        needs_no_facts(&cluster)?;
    }
    // The one pool-size rule of prechecks, as a warning before any host.
    let pool = crate::prechecks::checks::cluster::pool_size(&cluster);
    if pool.level != crate::prechecks::checks::Level::Pass {
        let origin =
            crate::error::Origin::file(&cluster.files.globals).with_key("osd_pool_default_size");
        let msg = format!("{}: {}", pool.value, pool.hint);
        eprintln!("{}", crate::error::Problem::warning(origin, msg));
    }
    let secrets = if a.with_secrets {
        Secrets::Include
    } else {
        Secrets::Redact
    };
    let renders = cluster
        .hosts
        .iter()
        .filter(|h| selected.contains(&h.name))
        .map(|h| render::render_host(&cluster, h, secrets))
        .collect::<Result<Vec<_>>>()?;
    let hosts: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let written = render::write_tree(&a.out, &renders, &hosts)?;
    if verbose > 0 {
        for p in &written.files {
            println!("{}", p.display());
        }
    }
    for h in &written.removed_hosts {
        println!(
            "removed {}: {h} is no longer in the inventory",
            a.out.join(h).display()
        );
    }
    println!(
        "rendered {} host(s), {} file(s) into {}{}",
        renders.len(),
        written.files.len(),
        a.out.display(),
        if a.with_secrets {
            ""
        } else {
            " (keys redacted; --with-secrets to include them)"
        }
    );
    Ok(())
}

/// Every mon's address is known from the files: `mon_host` lists them all.
/// Otherwise each mon whose address needs facts is named, with the setting
/// it comes from.
fn needs_no_facts(cluster: &Cluster) -> Result<()> {
    let mut problems = Problems::default();
    for (name, src) in cluster.unresolved_addresses() {
        if cluster.host(name).is_some_and(|h| h.has(Role::Mon)) {
            problems.error(
                src.origin.clone(),
                format!(
                    "the address of mon `{name}` comes {}, which needs the host's facts: add --gather-facts (render then connects to the host), or set public_address for `{name}`",
                    src.describe()
                ),
            );
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    Ok(())
}
