//! `cephalo pull`: the cluster's Ceph image onto the selected hosts, from
//! an image archive or the registry, then the custom containers' images
//! from their registries; a status line per host and image.

use std::path::PathBuf;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::output::{host_failures, print_warnings};
use crate::engine::Status;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Load this archive (`docker save` output) instead of pulling from the
    /// registry; hosts that already have its image id are skipped.
    #[arg(long, value_name = "FILE")]
    pub image_archive: Option<PathBuf>,
}

pub fn exec(a: PullArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let archive = match &a.image_archive {
        Some(path) => {
            let archive = crate::pull::read_archive(path)?;
            crate::pull::check_archive(&archive, &cluster.image)?;
            Some(archive)
        }
        None => None,
    };
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let engines: std::collections::HashMap<String, String> = cluster
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.engine.command().to_string()))
        .collect();
    let timeout = std::time::Duration::from_secs(cluster.settings.ssh_command_timeout);
    let more = crate::pull::custom_images(&cluster, &selected)
        .into_iter()
        .map(|(image, hosts)| {
            let action = crate::pull::PullImage {
                image,
                engines: engines.clone(),
                archive: None,
                timeout,
            };
            (action, hosts)
        })
        .collect();
    let action = crate::pull::PullImage {
        image: cluster.image.clone(),
        engines,
        archive,
        timeout,
    };
    let plan = crate::pull::plan_all(action, engine.hosts.keys().cloned().collect(), more);
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        for r in &recap.results {
            let status = r.status.word().to_uppercase();
            match (&r.status, &r.output) {
                (Status::Ok | Status::Changed, Some(out)) => {
                    println!("{} | {status} | {}", r.host, out.stdout_text().trim())
                }
                (Status::Failed { message, .. }, _) => {
                    println!("{} | {status} | {message}", r.host)
                }
                (Status::Unreachable(why), _) => {
                    println!("{} | {status} | {why}", r.host)
                }
                _ => println!("{} | {status}", r.host),
            }
        }
        print!("{}", crate::engine::recap_text(&recap));
    }
    host_failures(&recap)
}
