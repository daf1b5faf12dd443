//! The argument groups several commands flatten into theirs: the input files
//! with `--limit` and `-e` (`Target`), and how to connect and report
//! (`ConnectArgs`). Only clap types; no loading or connecting here.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::model::Sources;

/// How cephalo connects and reports, for every command that touches hosts.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Hosts worked on at once (default: the `forks` setting, 64).
    #[arg(long, value_name = "N")]
    pub forks: Option<usize>,
    /// The project known_hosts file (default: the `ssh_known_hosts_file`
    /// setting, else `known_hosts` next to the inventory). Host keys are
    /// always verified, against ~/.ssh/known_hosts and this file.
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Record the keys of hosts not known yet in the project known_hosts
    /// file (trust on first use). A changed key is always refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// One JSON event per line on stdout instead of progress and text.
    #[arg(long)]
    pub json: bool,
    /// Folder for the run log, one JSON event per line (default: `logs`
    /// next to the inventory, as its known_hosts and keys/ are).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

impl ConnectArgs {
    /// The defaults, with the run log in `log_dir`.
    pub fn logging_to(log_dir: PathBuf) -> ConnectArgs {
        ConnectArgs {
            forks: None,
            known_hosts: None,
            accept_new_host_keys: false,
            json: false,
            log_dir: Some(log_dir),
        }
    }

    /// The run log's folder: `--log-dir`, else `logs` beside the inventory
    /// file (`./logs` for an inventory in the current folder).
    pub fn log_dir_for(&self, inventory: &std::path::Path) -> PathBuf {
        self.log_dir.clone().unwrap_or_else(|| {
            inventory
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."))
                .join("logs")
        })
    }
}

/// The input files and overrides every cluster command takes.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Inventory: Ansible INI or YAML, `ansible-inventory --list` JSON, or
    /// an executable inventory script; with group_vars/ and host_vars/
    /// beside it. Repeat -i to merge several (later ones win for vars).
    #[arg(
        short = 'i',
        long = "inventory",
        value_name = "INVENTORY",
        required = true
    )]
    pub inventory: Vec<PathBuf>,
    /// globals.yml (default: next to the inventory, else /etc/cephalo/).
    #[arg(long, value_name = "FILE")]
    pub globals: Option<PathBuf>,
    /// passwords.yml (default: next to the inventory, else /etc/cephalo/).
    #[arg(long, value_name = "FILE")]
    pub passwords: Option<PathBuf>,
    /// Only these hosts or groups, Ansible's patterns: `ceph1,mons` (either;
    /// `:` separates as `,` does), `ceph*`, `mons:&osds` (in both),
    /// `all:!ceph3` (all but ceph3).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Set a variable, highest precedence (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "KEY=VALUE")]
    pub extra_vars: Vec<String>,
}

impl Target {
    /// The whole inventory, with the files next to it.
    pub fn of(inventory: PathBuf) -> Target {
        Target {
            inventory: vec![inventory],
            globals: None,
            passwords: None,
            limit: None,
            extra_vars: Vec::new(),
        }
    }

    /// The first `-i`: globals.yml and passwords.yml are looked for
    /// beside it.
    pub fn primary_inventory(&self) -> &Path {
        self.inventory
            .first()
            .map_or(Path::new(""), PathBuf::as_path)
    }

    /// What the model is loaded from.
    pub fn sources(&self) -> Sources {
        Sources {
            inventory: self.primary_inventory().to_path_buf(),
            more_inventories: self.inventory.iter().skip(1).cloned().collect(),
            globals: self.globals.clone(),
            passwords: self.passwords.clone(),
            extra_vars: self.extra_vars.clone(),
            extra_clients: Vec::new(),
        }
    }
}
