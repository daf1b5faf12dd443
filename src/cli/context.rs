//! The wiring every command shares: the model and the hosts `--limit`
//! selects, the addresses learned from the hosts' interfaces, the async
//! runtime, and the engine over the selected hosts (SSH transport,
//! reporter, run log). Prints only the known_hosts warnings and the hosts
//! whose addresses could not be gathered; no command's logic here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{Engine, Mode, Reporter, Timed};
use crate::error::{Error, Problems, Result};
use crate::facts::addresses::Learned;
use crate::inventory::Inventory;
use crate::model::{self, Cluster};
use crate::transport::Transport;

use super::args::{ConnectArgs, Target};

/// Loads the model and the hosts `--limit` selects.
pub fn load(target: &Target) -> Result<(Cluster, Vec<String>)> {
    let cluster = model::load(&target.sources())?;
    let selected = match &target.limit {
        None => all_hosts(&cluster),
        Some(pattern) => limit(&cluster, &inventory(target)?, pattern)?,
    };
    Ok((cluster, selected))
}

/// The model for a view of the inventory (no passwords read, globals
/// optional), with the inventory's groups (for `cephalo inventory`).
pub fn load_with_inventory(target: &Target) -> Result<(Cluster, Inventory, Vec<String>)> {
    let cluster = model::load_view(&target.sources())?;
    let inventory = inventory(target)?;
    let selected = match &target.limit {
        None => all_hosts(&cluster),
        Some(pattern) => limit(&cluster, &inventory, pattern)?,
    };
    Ok((cluster, inventory, selected))
}

/// Gathers the interface addresses of the hosts that need them for the
/// `selected` hosts, one SSH round trip each, all at once, and fills them
/// into the model (`facts::addresses::learn`). None when no host needs
/// facts (nothing is connected to).
pub fn learn_addresses(
    rt: &tokio::runtime::Runtime,
    cluster: &mut Cluster,
    selected: &[String],
    engine: &Engine,
) -> Option<Learned> {
    rt.block_on(crate::facts::addresses::learn(cluster, selected, engine))
}

/// `learn_addresses` for commands that need every address: a host not
/// reached is the usual unreachable (or host key, or failed) error naming
/// it, and an address that cannot be resolved is bad input naming the
/// host, the file, the line and the setting.
pub fn resolve_addresses(
    rt: &tokio::runtime::Runtime,
    cluster: &mut Cluster,
    selected: &[String],
    engine: &Engine,
    json: bool,
) -> Result<()> {
    let Some(learned) = learn_addresses(rt, cluster, selected, engine) else {
        return Ok(());
    };
    if !json {
        crate::cli::output::print_failures(&learned.recap);
    }
    crate::cli::output::host_failures(&learned.recap)?;
    let mut problems = Problems::default();
    for p in learned.unresolved.into_values() {
        problems.extend(p);
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    Ok(())
}

/// The inventory's groups, which `--limit` patterns name. The model keeps
/// only each host's roles, so the file is parsed again here (once).
pub fn inventory(target: &Target) -> Result<Inventory> {
    Inventory::load_all(&target.sources().inventories())
}

fn all_hosts(cluster: &Cluster) -> Vec<String> {
    cluster.hosts.iter().map(|h| h.name.clone()).collect()
}

/// The model's hosts a `--limit` pattern selects, in inventory order.
fn limit(cluster: &Cluster, inventory: &Inventory, pattern: &str) -> Result<Vec<String>> {
    let names = inventory.select(pattern).map_err(Error::Usage)?;
    Ok(cluster
        .hosts
        .iter()
        .filter(|h| names.contains(&h.name))
        .map(|h| h.name.clone())
        .collect())
}

/// The folder of the inventory file (`.` for a bare file name).
pub fn inventory_dir(cluster: &Cluster) -> &Path {
    cluster
        .files
        .inventory
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// The SSH transport and reporter every host command uses; `hosts_file`
/// is the `ssh_hosts_file` setting (empty: none).
pub fn connect_parts(
    c: &ConnectArgs,
    inventory: &Path,
    known_hosts: PathBuf,
    hosts_file: &str,
    verbose: u8,
) -> Result<(Arc<dyn Transport>, Arc<Reporter>)> {
    let mut opts = crate::ssh::SshOptions::new(c.known_hosts.clone().unwrap_or(known_hosts));
    opts.accept_new_host_keys = c.accept_new_host_keys;
    if !hosts_file.is_empty() {
        opts.hosts = read_hosts_file(Path::new(hosts_file))?;
    }
    let transport = crate::ssh::SshTransport::new(opts).map_err(|source| Error::Read {
        path: PathBuf::from("known_hosts"),
        source,
    })?;
    for (file, line, why) in transport.known_hosts_warnings() {
        eprintln!("warning: {}:{line}: {why}; line skipped", file.display());
    }
    let mode = if c.json {
        Mode::Json
    } else {
        Mode::Human {
            verbose: verbose > 0,
        }
    };
    let log_dir = c.log_dir_for(inventory);
    let reporter = Reporter::new(mode, Some(&log_dir)).map_err(|source| Error::Write {
        path: log_dir.clone(),
        source,
    })?;
    let reporter = Arc::new(reporter);
    // Every remote command goes to the run log with its duration.
    let timed = Timed {
        inner: Arc::new(transport),
        reporter: reporter.clone(),
    };
    Ok((Arc::new(timed), reporter))
}

/// The `ssh_hosts_file`: a file that cannot be read, or each line that is
/// not `IP NAME...`, is bad input naming the file (and line).
fn read_hosts_file(path: &Path) -> Result<crate::ssh::HostsFile> {
    use crate::ssh::hosts_file::HostsFileError;
    crate::ssh::HostsFile::load(path).map_err(|e| match e {
        HostsFileError::Read(source) => Error::Read {
            path: path.to_path_buf(),
            source,
        },
        HostsFileError::Lines(lines) => {
            let mut problems = Problems::default();
            for (line, why) in lines {
                problems.error(
                    crate::error::Origin::at_line(path, line),
                    format!("{why} (ssh_hosts_file lines are `IP NAME...`)"),
                );
            }
            Error::Invalid { problems }
        }
    })
}

/// The engine over the `selected` hosts, with the transport and reporter
/// of `ConnectArgs`.
pub fn cluster_engine(
    cluster: &Cluster,
    selected: &[String],
    connect: &ConnectArgs,
    verbose: u8,
) -> Result<Engine> {
    let known_hosts = if cluster.settings.ssh_known_hosts_file.is_empty() {
        inventory_dir(cluster).join("known_hosts")
    } else {
        PathBuf::from(&cluster.settings.ssh_known_hosts_file)
    };
    let (transport, reporter) = connect_parts(
        connect,
        &cluster.files.inventory,
        known_hosts,
        &cluster.settings.ssh_hosts_file,
        verbose,
    )?;
    let hosts = cluster
        .hosts
        .iter()
        .filter(|h| selected.contains(&h.name))
        .map(|h| (h.name.clone(), crate::transport::Endpoint::of(h)))
        .collect();
    // Which mon the cluster answered through: in the run log, and with -v.
    if let Ok(mut reach) = cluster.learned.reach.lock() {
        let r = reporter.clone();
        reach.say = Some(Arc::new(move |text: &str| r.detail(text)));
    }
    Ok(Engine {
        transport,
        hosts,
        forks: connect.forks.unwrap_or(cluster.settings.forks as usize),
        reporter,
    })
}

/// Refuses (exit 7) while an upgrade of the cluster is unfinished, on this
/// machine or (through the mons' config-key store) on another.
pub fn no_unfinished_upgrade(
    rt: &tokio::runtime::Runtime,
    cluster: &Cluster,
    engine: &crate::engine::Engine,
) -> Result<()> {
    let dir = inventory_dir(cluster);
    let j = rt
        .block_on(crate::upgrade::run::unfinished(
            cluster,
            Some(engine.transport.as_ref()),
            dir,
        ))
        .map_err(Error::Usage)?;
    match j {
        Some(j) => Err(Error::Refused {
            what: crate::upgrade::run::refusal(&j, &cluster.files.inventory),
        }),
        None => Ok(()),
    }
}
