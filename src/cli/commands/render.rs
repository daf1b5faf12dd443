//! `cephalo render`: every selected host's files into a folder for review,
//! keys redacted unless asked for.

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;
use crate::render::{self, Secrets};

use crate::cli::args::Target;
use crate::cli::context::load;
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
}

pub fn exec(a: RenderArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
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
