//! `cephalo prometheus-targets`: the cluster's Prometheus scrape targets
//! (mgrs, custom containers with a metrics port) as file_sd JSON or a
//! `scrape_configs:` snippet on stdout, notes on stderr. From the files
//! alone (no passwords, no SSH) unless `--live`.

use clap::{Args, ValueEnum};

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, load_with_inventory, runtime};
use crate::cli::output::print_warnings;
use crate::error::{Error, Origin, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Prometheus file_sd JSON (`file_sd_configs`).
    FileSd,
    /// A YAML `scrape_configs:` snippet with static targets.
    ScrapeConfig,
}

#[derive(Debug, Args)]
pub struct PrometheusTargetsArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_enum, default_value = "file-sd")]
    pub format: Format,
    /// Ask the cluster which mgr is active (`ceph mgr dump` over SSH) and
    /// label each mgr target `ceph_mgr_active="true"|"false"`. The labels
    /// then change on a failover; without it every mgr is scraped alike
    /// (standbys answer without data).
    #[arg(long)]
    pub live: bool,
}

pub fn exec(a: PrometheusTargetsArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = if a.live {
        load(&a.target)?
    } else {
        let (c, _, s) = load_with_inventory(&a.target)?;
        (c, s)
    };
    print_warnings(&cluster, verbose);
    let active = if a.live {
        let engine = cluster_engine(
            &cluster,
            &selected,
            &ConnectArgs::logging_to("logs".into()),
            verbose,
        )?;
        let active = runtime()?
            .block_on(crate::prometheus::active_mgr(
                &cluster,
                engine.transport.as_ref(),
            ))
            .map_err(|e| {
                Error::invalid(
                    Origin::file(&cluster.files.inventory),
                    format!("which mgr is active: {e}"),
                )
            })?;
        if active.is_none() {
            eprintln!("note: the cluster has no active mgr now");
        }
        active
    } else {
        None
    };
    let t = crate::prometheus::targets(&cluster, active.as_deref())
        .map_err(|e| Error::invalid(Origin::file(&cluster.files.globals), e))?;
    for n in &t.notes {
        eprintln!("note: {n}");
    }
    print!(
        "{}",
        match a.format {
            Format::FileSd => crate::prometheus::file_sd(&t.targets),
            Format::ScrapeConfig => crate::prometheus::scrape_config(&t.targets),
        }
    );
    Ok(())
}
