//! `cephalo destroy`: removes the cluster's daemons, data and config from
//! the selected hosts, only with --yes-i-really-really-mean-it.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::output::{host_failures, print_warnings};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Also wipe the OSD partitions (their labels go back to bootstrap ones).
    #[arg(long)]
    pub zap: bool,
    /// Say that you mean it: the cluster's data is gone after this.
    #[arg(long)]
    pub yes_i_really_really_mean_it: bool,
}

pub fn exec(a: DestroyArgs, verbose: u8) -> Result<()> {
    if !a.yes_i_really_really_mean_it {
        return Err(Error::Usage(
            "destroy removes every Ceph daemon and the cluster's data on the hosts; add --yes-i-really-really-mean-it".into(),
        ));
    }
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = Arc::new(cluster);
    let plan = crate::deploy::destroy::plan(&cluster, &selected, a.zap);
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        print!("{}", crate::engine::recap_text(&recap));
    }
    host_failures(&recap)
}
