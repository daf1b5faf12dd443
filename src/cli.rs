//! The command line: clap definitions, and for each command the step from
//! arguments to one library call. Prints results; owns no logic of its own.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::model::{self, Cluster, Role, Sources};
use crate::passwords::{self, Filled};
use crate::render::{self, Secrets};
use crate::settings::Catalog;

#[derive(Debug, Parser)]
#[command(
    name = "cephalo",
    version,
    about = "Deploy and operate Ceph clusters over SSH from a kolla-style inventory"
)]
pub struct Cli {
    /// Print more detail (notes about ignored keys, every file written).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fill in passwords.yml: the cluster fsid and every missing cephx key.
    /// Values already there are never changed.
    Genpwd(GenpwdArgs),
    /// Render every host's ceph.conf, keyrings and container specs into a
    /// folder for review, without touching any host.
    Render(RenderArgs),
    /// Show the resolved hosts, roles and effective variables.
    Inventory(InventoryArgs),
    /// Run one command on hosts (like `ansible -m shell`), output grouped
    /// per host: `cephalo run -i INV [--limit PATTERN] -- CMD ARGS...`.
    Run(RunArgs),
    /// Check every host before anything changes: connection, OS, container
    /// engine, hostname, time, network, ports, resources and disks.
    Prechecks(PrechecksArgs),
    /// Bring up the cluster: prechecks, config, mons and quorum, mgrs,
    /// OSDs, mds and CephFS, rgw, then wait for HEALTH_OK. Running it again
    /// changes nothing that is already right.
    Deploy(DeployArgs),
    /// Render the config again and restart only the daemons whose spec or
    /// config section changed, one at a time with health waits; never
    /// creates a daemon (that is deploy's job).
    Reconfigure(DeployArgs),
    /// Stop and remove every Ceph daemon container and the cluster's data and
    /// config on the hosts. Needs --yes-i-really-really-mean-it.
    Destroy(DestroyArgs),
    /// Fetch the cluster's keys (mon., client.admin, the bootstrap keys)
    /// from the first mon that answers and is in quorum into
    /// `<cluster>.<name>.keyring` files, 0600 in a 0700 folder; a different
    /// file is kept as a timestamped backup.
    Gatherkeys(GatherkeysArgs),
    /// Make hosts able to run `ceph`: push /etc/ceph/<cluster>.conf (0644)
    /// and the client.admin keyring (0600), then check `ceph -s` there. A
    /// different conf is kept unless --overwrite-conf.
    Admin(AdminArgs),
    /// Tuning: the sysctl profile (/etc/sysctl.d/90-ceph.conf), the OSD
    /// disks' scheduler and queue (kept by a udev rule), and the daemons'
    /// TCMalloc and debug settings (daemons restarted one at a time). With
    /// --check: the drift per host and setting, nothing changed.
    Tune(TuneArgs),
    /// OSD disks: list them, or label the configured devices for OSDs.
    #[command(subcommand)]
    Disks(DisksCommand),
    /// A real multi-host test bed on this machine: host containers with
    /// sshd, a nested engine and loop-device disks (up, status, down).
    #[command(subcommand)]
    Playground(PlaygroundCommand),
    /// Put the cluster's Ceph image on every host: load an image archive
    /// (skipping hosts that have its image id) or pull from the registry.
    Pull(PullArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Do not run the prechecks first.
    #[arg(long)]
    pub skip_prechecks: bool,
    /// Do not wait for HEALTH_OK at the end.
    #[arg(long)]
    pub no_wait: bool,
    /// Show what would change on each host (files, tuning, daemon
    /// containers, new OSDs) and change nothing.
    #[arg(long)]
    pub check: bool,
    /// Show how the config files on the hosts differ from the rendered ones
    /// (keyrings never shown); without --check, before changing them.
    #[arg(long)]
    pub diff: bool,
}

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
    /// Say what would change, and change nothing (here or in the cluster).
    #[arg(long)]
    pub check: bool,
    /// Mons to try, in this order (default: the inventory's mons).
    #[arg(value_name = "MON")]
    pub mons: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Replace a conf on the host that differs from the rendered one.
    #[arg(long)]
    pub overwrite_conf: bool,
    /// Show how a host's conf differs from the rendered one.
    #[arg(long)]
    pub diff: bool,
    /// Say what would change, and change nothing.
    #[arg(long)]
    pub check: bool,
    /// Hosts or groups of the inventory (`client1`, `control`, `web*`); any
    /// host, also one in no Ceph group. Or use --limit.
    #[arg(value_name = "HOST_PATTERN")]
    pub hosts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Compare the live values with the wanted ones and print the drift;
    /// change nothing.
    #[arg(long)]
    pub check: bool,
}

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
    /// Show the plan and change nothing.
    #[arg(long)]
    pub check: bool,
    /// Wipe this device before labelling it (`HOST:/dev/sdb`, or
    /// `/dev/sdb` on every host that lists it). Repeatable.
    #[arg(long, value_name = "[HOST:]DEVICE")]
    pub zap: Vec<String>,
}

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
    /// Folder for the run log (one JSON event per line).
    #[arg(long, value_name = "DIR", default_value = "logs")]
    pub log_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PrechecksArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Repair what is safe and reversible (start the time sync service or
    /// the container engine, raise kernel.pid_max), then check again.
    #[arg(long)]
    pub fix: bool,
}

impl ConnectArgs {
    /// The defaults, with the run log in `log_dir`.
    fn logging_to(log_dir: PathBuf) -> ConnectArgs {
        ConnectArgs {
            forks: None,
            known_hosts: None,
            accept_new_host_keys: false,
            json: false,
            log_dir,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Run the command as root through `sudo -n`.
    #[arg(short = 'b', long = "become")]
    pub become_root: bool,
    /// Seconds the command may take on a host (default: the
    /// `ssh_command_timeout` setting).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Run the command this many times in a row, as steps of one play over
    /// the same connections (for measuring a multi-step run).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: usize,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The input files and overrides every cluster command takes.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Inventory file (Ansible INI or YAML).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: PathBuf,
    /// globals.yml (default: next to the inventory, else /etc/cephalo/).
    #[arg(long, value_name = "FILE")]
    pub globals: Option<PathBuf>,
    /// passwords.yml (default: next to the inventory, else /etc/cephalo/).
    #[arg(long, value_name = "FILE")]
    pub passwords: Option<PathBuf>,
    /// Only these hosts or groups (`ceph1,mons`, `ceph*`, `!ceph3`).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Set a variable, highest precedence (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "KEY=VALUE")]
    pub extra_vars: Vec<String>,
}

impl Target {
    /// The whole inventory, with the files next to it.
    fn of(inventory: PathBuf) -> Target {
        Target {
            inventory,
            globals: None,
            passwords: None,
            limit: None,
            extra_vars: Vec::new(),
        }
    }

    fn sources(&self) -> Sources {
        Sources {
            inventory: self.inventory.clone(),
            globals: self.globals.clone(),
            passwords: self.passwords.clone(),
            extra_vars: self.extra_vars.clone(),
            extra_clients: Vec::new(),
        }
    }
}

#[derive(Debug, Args)]
pub struct GenpwdArgs {
    /// The passwords file to fill in (created when missing).
    #[arg(long, value_name = "FILE")]
    pub passwords: Option<PathBuf>,
    /// Inventory, to find passwords.yml and globals.yml next to it.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Option<PathBuf>,
    /// globals.yml, for ceph_release and cephx_key_type.
    #[arg(long, value_name = "FILE")]
    pub globals: Option<PathBuf>,
}

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

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub target: Target,
    /// JSON of groups, hosts, roles and variables (the default).
    #[arg(long, conflicts_with = "graph")]
    pub list: bool,
    /// The group tree.
    #[arg(long)]
    pub graph: bool,
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let verbose = cli.verbose;
    let result = match cli.command {
        Command::Genpwd(a) => genpwd(a),
        Command::Render(a) => render_cmd(a, verbose),
        Command::Inventory(a) => inventory_cmd(a),
        Command::Run(a) => run_cmd(a, verbose),
        Command::Prechecks(a) => prechecks_cmd(a, verbose),
        Command::Deploy(a) => deploy_cmd(a, verbose),
        Command::Reconfigure(a) => converge(a, verbose, false),
        Command::Destroy(a) => destroy_cmd(a, verbose),
        Command::Gatherkeys(a) => gatherkeys_cmd(a, verbose),
        Command::Tune(a) => tune_cmd(a, verbose),
        Command::Admin(a) => admin_cmd(a, verbose),
        Command::Disks(DisksCommand::List(a)) => disks_list_cmd(a, verbose),
        Command::Disks(DisksCommand::Prepare(a)) => disks_prepare_cmd(a, verbose),
        Command::Playground(PlaygroundCommand::Up(a)) => playground_up_cmd(a, verbose),
        Command::Playground(PlaygroundCommand::Status(a)) => playground_status_cmd(a),
        Command::Playground(PlaygroundCommand::Down(a)) => playground_down_cmd(a),
        Command::Pull(a) => pull_cmd(a, verbose),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

fn print_warnings(cluster: &Cluster, verbose: u8) {
    for w in cluster.warnings.warnings() {
        eprintln!("{w}");
    }
    if verbose > 0 {
        for n in cluster.warnings.notes() {
            eprintln!("{n}");
        }
    }
}

/// Loads the model and the hosts `--limit` selects.
fn load(target: &Target) -> Result<(Cluster, Vec<String>)> {
    let cluster = model::load(&target.sources())?;
    let selected: Vec<String> = match &target.limit {
        None => cluster.hosts.iter().map(|h| h.name.clone()).collect(),
        Some(pattern) => {
            let inv = Inventory::load(&target.inventory)?;
            let names = inv.select(pattern).map_err(Error::Usage)?;
            cluster
                .hosts
                .iter()
                .filter(|h| names.contains(&h.name))
                .map(|h| h.name.clone())
                .collect()
        }
    };
    Ok((cluster, selected))
}

fn genpwd(a: GenpwdArgs) -> Result<()> {
    let path = match (&a.passwords, &a.inventory) {
        (Some(p), _) => p.clone(),
        (None, Some(inv)) => model::find_file(None, inv, "passwords.yml"),
        (None, None) => {
            return Err(Error::Usage(
                "say which file to fill in: --passwords FILE, or -i INVENTORY to use passwords.yml next to it".into(),
            ));
        }
    };
    let globals = match (&a.globals, &a.inventory) {
        (Some(g), _) => Some(g.clone()),
        (None, Some(inv)) => {
            Some(model::find_file(None, inv, "globals.yml")).filter(|p| p.exists())
        }
        (None, None) => Some(path.with_file_name("globals.yml")).filter(|p| p.exists()),
    };
    let kind = secret_kind_for(globals.as_deref())?;
    let report = passwords::genpwd(&path, kind)?;
    let generated: Vec<&str> = report
        .iter()
        .filter_map(|f| match f {
            Filled::Generated(k) => Some(k.as_str()),
            Filled::Kept(_) => None,
        })
        .collect();
    if generated.is_empty() {
        println!(
            "{}: nothing to fill in; {} values kept",
            path.display(),
            report.len()
        );
    } else {
        println!(
            "{}: generated {} ({}); {} kept; mode 0600",
            path.display(),
            generated.join(", "),
            kind.name(),
            report.len() - generated.len()
        );
    }
    Ok(())
}

/// The secret kind genpwd makes: from ceph_release and cephx_key_type in the
/// globals when there are globals, else the defaults.
fn secret_kind_for(globals: Option<&Path>) -> Result<crate::cephx::SecretKind> {
    let catalog = Catalog::builtin();
    let mut vars = match globals {
        Some(g) => model::read_globals(g)?,
        None => Default::default(),
    };
    vars.retain(|k, _| k == "ceph_release" || k == "cephx_key_type");
    let layer = crate::settings::merge(&[&catalog.defaults, &vars]);
    let text = |k: &str| match &layer[k].value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut problems = crate::error::Problems::default();
    let release_text = text("ceph_release");
    let Some(release) = crate::release::Release::parse(&release_text) else {
        return Err(Error::invalid(
            layer["ceph_release"].origin.clone(),
            format!(
                "unknown Ceph release `{release_text}`; known: {}",
                crate::release::known_names()
            ),
        ));
    };
    match model::secret_kind(
        &text("cephx_key_type"),
        release,
        &layer["cephx_key_type"].origin,
        &mut problems,
    ) {
        Some(k) => Ok(k),
        None => Err(Error::Invalid { problems }),
    }
}

fn render_cmd(a: RenderArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
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
    let written = render::write_tree(&a.out, &renders)?;
    if verbose > 0 {
        for p in &written {
            println!("{}", p.display());
        }
    }
    println!(
        "rendered {} host(s), {} file(s) into {}{}",
        renders.len(),
        written.len(),
        a.out.display(),
        if a.with_secrets {
            ""
        } else {
            " (keys redacted; --with-secrets to include them)"
        }
    );
    Ok(())
}

/// Variable names whose values are never printed.
pub fn is_secret_var(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("passwd")
        || k.ends_with("_pass")
        || k.contains("secret")
        || k.ends_with("_key")
}

fn inventory_cmd(a: InventoryArgs) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, 0);
    let inv = Inventory::load(&a.target.inventory)?;
    if a.graph {
        print!("{}", graph(&inv, "all", 0, &selected));
        return Ok(());
    }
    let mut hostvars = Map::new();
    for h in cluster.hosts.iter().filter(|h| selected.contains(&h.name)) {
        let mut vars = Map::new();
        for (k, v) in &h.vars {
            let value = if is_secret_var(k) {
                Value::String(render::REDACTED.into())
            } else {
                v.value.clone()
            };
            vars.insert(k.clone(), value);
        }
        vars.insert(
            "cephalo_roles".into(),
            json!(h.roles.iter().map(|r| r.name()).collect::<Vec<_>>()),
        );
        vars.insert(
            "cephalo_connection".into(),
            serde_json::to_value(&h.connection).unwrap_or(Value::Null),
        );
        hostvars.insert(h.name.clone(), Value::Object(vars));
    }
    let mut out = Map::new();
    out.insert("_meta".into(), json!({ "hostvars": hostvars }));
    for (name, g) in &inv.groups {
        let hosts: Vec<&String> = g.hosts.iter().filter(|h| selected.contains(h)).collect();
        let children: Vec<&String> = g.children.iter().map(|(c, _)| c).collect();
        let mut entry = Map::new();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), json!(hosts));
        }
        if !children.is_empty() {
            entry.insert("children".into(), json!(children));
        }
        if !entry.is_empty() || name == "all" {
            out.insert(name.clone(), Value::Object(entry));
        }
    }
    let mut roles = Map::new();
    for role in Role::ALL {
        let hosts: Vec<&str> = cluster
            .hosts_with(role)
            .filter(|h| selected.contains(&h.name))
            .map(|h| h.name.as_str())
            .collect();
        roles.insert(role.name().into(), json!(hosts));
    }
    out.insert(
        "cephalo".into(),
        json!({
            "cluster": cluster.name,
            "release": cluster.release.name(),
            "image": cluster.image,
            "public_network": cluster.public_network.to_string(),
            "roles": roles,
        }),
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(out))
            .map_err(|e| Error::Usage(e.to_string()))?
    );
    Ok(())
}

fn graph(inv: &Inventory, group: &str, depth: usize, selected: &[String]) -> String {
    let indent = "  |".repeat(depth);
    let mut out = if depth == 0 {
        format!("@{group}:\n")
    } else {
        format!("{indent}--@{group}:\n")
    };
    let Some(g) = inv.groups.get(group) else {
        return out;
    };
    let mut children: Vec<&str> = g.children.iter().map(|(c, _)| c.as_str()).collect();
    if group == "all" {
        // Top-level groups are the children of all, as ansible-inventory shows.
        let nested: Vec<&str> = inv
            .groups
            .values()
            .flat_map(|g| g.children.iter().map(|(c, _)| c.as_str()))
            .collect();
        children = inv
            .groups
            .keys()
            .map(String::as_str)
            .filter(|n| *n != "all" && !nested.contains(n))
            .filter(|n| !inv.hosts_of(n).is_empty() || inv.groups[*n].children.is_empty())
            .collect();
        children.retain(|n| !inv.hosts_of(n).is_empty());
    }
    for c in children {
        if inv.hosts_of(c).iter().any(|h| selected.contains(h)) {
            out.push_str(&graph(inv, c, depth + 1, selected));
        }
    }
    if group != "all" {
        for h in g.hosts.iter().filter(|h| selected.contains(h)) {
            out.push_str(&format!("{}  |--{h}\n", indent));
        }
    }
    out
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// The SSH transport and reporter every host command uses.
fn connect_parts(
    c: &ConnectArgs,
    known_hosts: PathBuf,
    verbose: u8,
) -> Result<(
    std::sync::Arc<dyn crate::transport::Transport>,
    std::sync::Arc<crate::engine::Reporter>,
)> {
    let mut opts = crate::ssh::SshOptions::new(c.known_hosts.clone().unwrap_or(known_hosts));
    opts.accept_new_host_keys = c.accept_new_host_keys;
    let transport = crate::ssh::SshTransport::new(opts).map_err(|source| Error::Read {
        path: PathBuf::from("known_hosts"),
        source,
    })?;
    for (file, line, why) in transport.known_hosts_warnings() {
        eprintln!("warning: {}:{line}: {why}; line skipped", file.display());
    }
    let mode = if c.json {
        crate::engine::Mode::Json
    } else {
        crate::engine::Mode::Human {
            verbose: verbose > 0,
        }
    };
    let reporter =
        crate::engine::Reporter::new(mode, Some(&c.log_dir)).map_err(|source| Error::Write {
            path: c.log_dir.clone(),
            source,
        })?;
    let reporter = std::sync::Arc::new(reporter);
    // Every remote command goes to the run log with its duration.
    let timed = crate::engine::Timed {
        inner: std::sync::Arc::new(transport),
        reporter: reporter.clone(),
    };
    Ok((std::sync::Arc::new(timed), reporter))
}

fn run_cmd(a: RunArgs, verbose: u8) -> Result<()> {
    use crate::engine::{Engine, Node, OnFailure, Plan, RunCommand, Step};
    let targets = model::load_targets(&a.target.sources())?;
    for w in targets.warnings.warnings() {
        eprintln!("{w}");
    }
    let names: Vec<String> = match &a.target.limit {
        Some(p) => targets.inventory.select(p).map_err(Error::Usage)?,
        None => targets.endpoints.iter().map(|e| e.name.clone()).collect(),
    };
    let (transport, reporter) = connect_parts(&a.connect, targets.known_hosts.clone(), verbose)?;
    let timeout = a.timeout.unwrap_or(targets.settings.ssh_command_timeout);
    let command = crate::transport::Command::new(a.command.clone())
        .become_root(a.become_root)
        .timeout(std::time::Duration::from_secs(timeout));
    let hosts: indexmap::IndexMap<String, crate::transport::Endpoint> = targets
        .endpoints
        .iter()
        .filter(|e| names.contains(&e.name))
        .map(|e| (e.name.clone(), e.clone()))
        .collect();
    let action: std::sync::Arc<dyn crate::engine::Action> = std::sync::Arc::new(RunCommand {
        command: command.clone(),
    });
    let steps = (1..=a.repeat.max(1))
        .map(|i| {
            Node::Step(Step {
                name: if a.repeat > 1 {
                    format!("{} ({i}/{})", command.display(), a.repeat)
                } else {
                    command.display()
                },
                hosts: hosts.keys().cloned().collect(),
                batch: None,
                on_failure: OnFailure::Continue,
                action: action.clone(),
            })
        })
        .collect();
    let plan = Plan {
        name: format!("run {}", command.display()),
        root: Node::Serial("run".into(), steps),
    };
    let engine = Engine {
        transport,
        hosts,
        forks: a.connect.forks.unwrap_or(targets.settings.forks as usize),
        reporter: reporter.clone(),
    };
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        for r in &recap.results {
            print_host_output(r);
        }
        print!("{}", crate::engine::recap_text(&recap));
        if let Some(p) = reporter.log_path() {
            eprintln!("log: {}", p.display());
        }
    }
    host_failures(&recap)
}

/// `cephalo run` output, ansible style: a header line per host, then what
/// the command printed.
fn print_host_output(r: &crate::engine::HostResult) {
    use crate::engine::Status;
    let header = match (&r.status, &r.output) {
        (Status::Unreachable(why), _) => format!("{} | UNREACHABLE | {why}", r.host),
        (
            Status::Failed {
                exit_status: Some(rc),
                ..
            },
            _,
        ) => format!("{} | FAILED | rc={rc} >>", r.host),
        (Status::Failed { message, .. }, _) => format!("{} | FAILED | {message}", r.host),
        (_, Some(out)) => format!("{} | CHANGED | rc={} >>", r.host, out.status),
        (s, None) => format!("{} | {}", r.host, s.word().to_uppercase()),
    };
    println!("{header}");
    if let Some(out) = &r.output {
        let stdout = out.stdout_text();
        if !stdout.is_empty() {
            print!("{stdout}");
            if !stdout.ends_with('\n') {
                println!();
            }
        }
        let stderr = out.stderr_text();
        if !stderr.is_empty() {
            for line in stderr.lines() {
                println!("stderr: {line}");
            }
        }
    }
}

/// Failures on hosts as the command's error (and exit code).
fn host_failures(recap: &crate::engine::Recap) -> Result<()> {
    let count =
        |pred: fn(&crate::engine::Counts) -> bool| recap.hosts.values().filter(|c| pred(c)).count();
    if recap.any_host_key_refused() {
        return Err(Error::HostKey {
            hosts: count(|c| c.unreachable > 0),
        });
    }
    if recap.any_unreachable() {
        return Err(Error::Unreachable {
            hosts: count(|c| c.unreachable > 0),
        });
    }
    if recap.any_failed() {
        return Err(Error::HostsFailed {
            hosts: count(|c| c.failed > 0),
        });
    }
    Ok(())
}

/// The engine over the hosts `--limit` selects, with the transport and
/// reporter of `ConnectArgs`.
fn cluster_engine(
    cluster: &Cluster,
    selected: &[String],
    connect: &ConnectArgs,
    verbose: u8,
) -> Result<crate::engine::Engine> {
    let inv_dir = cluster
        .files
        .inventory
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let known_hosts = if cluster.settings.ssh_known_hosts_file.is_empty() {
        inv_dir.join("known_hosts")
    } else {
        PathBuf::from(&cluster.settings.ssh_known_hosts_file)
    };
    let (transport, reporter) = connect_parts(connect, known_hosts, verbose)?;
    let hosts = cluster
        .hosts
        .iter()
        .filter(|h| selected.contains(&h.name))
        .map(|h| (h.name.clone(), h.endpoint()))
        .collect();
    Ok(crate::engine::Engine {
        transport,
        hosts,
        forks: connect.forks.unwrap_or(cluster.settings.forks as usize),
        reporter,
    })
}

fn prechecks_cmd(a: PrechecksArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = std::sync::Arc::new(cluster);
    let report = runtime()?.block_on(crate::prechecks::run_prechecks(cluster, &engine, a.fix));
    if a.connect.json {
        println!("{}", report.to_json());
    } else {
        for (host, what) in &report.fixed {
            println!("fixed on {host}: {what}");
        }
        print!("{}", report.table());
        println!("{}", report.summary());
    }
    if report.failed() {
        return Err(Error::PrechecksFailed {
            failed: report.count(crate::prechecks::Level::Fail),
        });
    }
    Ok(())
}

/// The OSD hosts among the selected ones.
fn osd_hosts(cluster: &Cluster, selected: &[String]) -> Vec<String> {
    cluster
        .hosts_with(Role::Osd)
        .filter(|h| selected.contains(&h.name))
        .map(|h| h.name.clone())
        .collect()
}

fn disks_list_cmd(a: DisksListArgs, verbose: u8) -> Result<()> {
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
        let rows: Vec<&crate::disks::DiskRow> = found
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

fn disks_prepare_cmd(a: DisksPrepareArgs, verbose: u8) -> Result<()> {
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

#[derive(Debug, Subcommand)]
pub enum PlaygroundCommand {
    /// Build the images (once, cached), start the host containers, write
    /// inventory, globals.yml, passwords.yml and known_hosts into --dir,
    /// then put the Ceph image on every host (`cephalo pull`).
    Up(PlaygroundUpArgs),
    /// The playground's hosts, addresses, disks, images and daemons.
    Status(PlaygroundDirArgs),
    /// Remove the host containers, their volumes, loop devices, disk files
    /// and the network (also of a half-built playground); images are kept
    /// unless --purge.
    Down(PlaygroundDownArgs),
}

#[derive(Debug, Args)]
pub struct PlaygroundDirArgs {
    /// The playground's folder (its inventory, keys and state).
    #[arg(long, value_name = "DIR", default_value = "playground")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlaygroundUpArgs {
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
    /// Number of hosts (ceph1..cephN): mons on the first 3, mgrs on the
    /// first 2, OSDs on all, the MDS on the last.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub hosts: usize,
    /// Client hosts (client1..clientN) in the `clients` group: no daemons,
    /// a place to try `cephalo admin`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub clients: usize,
    /// Ceph release, from the Debian suite that ships it.
    #[arg(long, value_name = "RELEASE", default_value = "pacific")]
    pub release: String,
    /// Loop-device disks per host, each with one OSD bootstrap partition.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub osds_per_host: usize,
    /// The container engine inside the hosts, for the Ceph daemons: docker
    /// or podman.
    #[arg(long, value_name = "ENGINE", default_value = "docker")]
    pub engine: String,
    /// Filestore OSDs (nautilus, pacific): each disk gets a data partition
    /// and a 1 GiB `_J` journal partition.
    #[arg(long)]
    pub filestore: bool,
    /// Size of each disk (a sparse file).
    #[arg(long, value_name = "SIZE", default_value = "8G")]
    pub disk_size: String,
    /// Prefix of the Docker containers, volumes and network.
    #[arg(long, value_name = "NAME", default_value = "cephalo")]
    pub name: String,
    /// The playground network (hosts from its .11 address on).
    #[arg(long, value_name = "CIDR", default_value = "10.77.0.0/24")]
    pub subnet: String,
    /// Leave the hosts without the Ceph image (`cephalo pull` puts it there).
    /// Implies --no-deploy.
    #[arg(long)]
    pub no_pull: bool,
    /// Stop after the image is on the hosts, without `cephalo deploy`.
    #[arg(long)]
    pub no_deploy: bool,
}

#[derive(Debug, Args)]
pub struct PlaygroundDownArgs {
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
    /// Also remove the playground's images and generated files (the image
    /// archives in the cache folder stay).
    #[arg(long)]
    pub purge: bool,
}

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

fn playground_say(text: &str) {
    eprintln!("playground: {text}");
}

fn playground_up_cmd(a: PlaygroundUpArgs, verbose: u8) -> Result<()> {
    let request = crate::playground::Request {
        name: a.name,
        hosts: a.hosts,
        clients: a.clients,
        release: a.release,
        osds_per_host: a.osds_per_host,
        disk_size: a.disk_size,
        filestore: a.filestore,
        engine: a.engine,
        subnet: a.subnet,
    };
    let report = crate::playground::up(request, &a.dir.dir, &playground_say)?;
    let l = &report.layout;
    let archive = report.state.ceph_archive.clone();
    println!(
        "playground `{}` {}: {} host(s) on {} ({}), Ceph {}",
        l.request.name,
        if report.reused { "already up" } else { "up" },
        l.hosts.len(),
        l.network,
        l.subnet,
        l.release
    );
    for h in &l.hosts {
        println!("  {}  {}  container {}", h.name, h.address, h.container);
    }
    if let Some(archive) = &archive {
        println!("image archive: {}", archive.display());
    }
    for (what, took) in &report.timings {
        println!("time: {what} {:.1} s", took.as_secs_f64());
    }
    let inventory = l.inventory();
    if !a.no_pull
        && let Some(archive) = archive
    {
        playground_say("putting the Ceph image on every host (cephalo pull)");
        pull_cmd(
            PullArgs {
                target: Target::of(inventory.clone()),
                connect: ConnectArgs::logging_to(l.dir.join("logs")),
                image_archive: Some(archive),
            },
            verbose,
        )?;
    }
    if !a.no_pull && !a.no_deploy {
        // The same deploy a production user runs; it prints `ceph -s`.
        playground_say("deploying the cluster (cephalo deploy)");
        deploy_cmd(
            DeployArgs {
                target: Target::of(inventory.clone()),
                connect: ConnectArgs::logging_to(l.dir.join("logs")),
                skip_prechecks: false,
                no_wait: false,
                check: false,
                diff: false,
            },
            verbose,
        )?;
    }
    let inv = inventory.display();
    let first = &l.hosts[0];
    println!(
        "\nfiles: {inv}, globals.yml, passwords.yml, known_hosts, id_ed25519 in {}",
        l.dir.display()
    );
    println!("next:  cephalo deploy -i {inv}   (again: changes nothing)");
    println!("       cephalo prechecks -i {inv}");
    println!("       cephalo run -i {inv} -- hostname");
    println!(
        "reach: ssh -i {} -o UserKnownHostsFile={} cephalo@{}",
        l.key().display(),
        l.known_hosts().display(),
        first.address
    );
    println!("       docker exec -it {} bash", first.container);
    println!("down:  cephalo playground down --dir {}", l.dir.display());
    Ok(())
}

fn playground_status_cmd(a: PlaygroundDirArgs) -> Result<()> {
    let report = crate::playground::status(&a.dir)?;
    print!("{report}");
    Ok(())
}

fn playground_down_cmd(a: PlaygroundDownArgs) -> Result<()> {
    let r = crate::playground::down(&a.dir.dir, a.purge, &playground_say)?;
    for n in &r.notes {
        eprintln!("warning: {n}");
    }
    if r.is_empty() {
        println!("nothing to remove in {}", a.dir.dir.display());
        return Ok(());
    }
    let list = |what: &str, items: &[String]| {
        if !items.is_empty() {
            println!("removed {what}: {}", items.join(", "));
        }
    };
    list("containers", &r.containers);
    list("volumes", &r.volumes);
    list("loop devices", &r.loops);
    list("networks", &r.networks);
    list("images", &r.images);
    let files: Vec<String> = r.files.iter().map(|p| p.display().to_string()).collect();
    list("files", &files);
    if !r.images_kept.is_empty() {
        println!("kept images in use: {}", r.images_kept.join(", "));
    }
    if !a.purge {
        println!(
            "images kept (--purge removes them); image archives stay in {}",
            crate::playground::images::cache_dir().display()
        );
    }
    Ok(())
}

fn pull_cmd(a: PullArgs, verbose: u8) -> Result<()> {
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
    let engines = cluster
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.engine.command().to_string()))
        .collect();
    let action = crate::pull::PullImage {
        image: cluster.image.clone(),
        engines,
        archive,
        timeout: std::time::Duration::from_secs(cluster.settings.ssh_command_timeout),
    };
    let plan = crate::pull::plan(action, engine.hosts.keys().cloned().collect());
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        for r in &recap.results {
            let status = r.status.word().to_uppercase();
            match (&r.status, &r.output) {
                (crate::engine::Status::Ok | crate::engine::Status::Changed, Some(out)) => {
                    println!("{} | {status} | {}", r.host, out.stdout_text().trim())
                }
                (crate::engine::Status::Failed { message, .. }, _) => {
                    println!("{} | {status} | {message}", r.host)
                }
                (crate::engine::Status::Unreachable(why), _) => {
                    println!("{} | {status} | {why}", r.host)
                }
                _ => println!("{} | {status}", r.host),
            }
        }
        print!("{}", crate::engine::recap_text(&recap));
    }
    host_failures(&recap)
}

fn deploy_cmd(a: DeployArgs, verbose: u8) -> Result<()> {
    converge(a, verbose, true)
}

/// deploy (`create`) or reconfigure (only what exists).
fn converge(a: DeployArgs, verbose: u8, create: bool) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = std::sync::Arc::new(cluster);
    let rt = runtime()?;
    if !a.skip_prechecks {
        let report = rt.block_on(crate::prechecks::run_prechecks(
            cluster.clone(),
            &engine,
            false,
        ));
        if report.failed() {
            if a.connect.json {
                println!("{}", report.to_json());
            } else {
                let failed = crate::prechecks::Report {
                    results: report
                        .results
                        .iter()
                        .filter(|r| r.level == crate::prechecks::Level::Fail)
                        .cloned()
                        .collect(),
                    fixed: Vec::new(),
                };
                print!("{}", failed.table());
                println!("{}", report.summary());
            }
            return Err(Error::PrechecksFailed {
                failed: report.count(crate::prechecks::Level::Fail),
            });
        }
    }
    if a.check || a.diff {
        let notes = crate::tune::Notes::default();
        let plan = crate::deploy::check_plan(&cluster, &selected, create, a.diff, &notes);
        let recap = rt.block_on(engine.run(&plan));
        if a.check {
            if !a.connect.json {
                let (drift, hosts) = print_findings(&notes, &recap);
                println!("{drift} change(s) would be made on {hosts} host(s)");
            }
            return host_failures(&recap);
        }
        if !a.connect.json {
            for (host, lines) in notes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                for l in lines.iter().filter(|l| l.text.starts_with("  ")) {
                    println!("{host} | {}", l.text);
                }
            }
        }
        host_failures(&recap)?;
    }
    let plan = crate::deploy::plan(&cluster, &selected, !a.no_wait, create);
    let recap = rt.block_on(engine.run(&plan));
    if !a.connect.json {
        for r in recap.results.iter().filter(|r| r.status.is_failure()) {
            if let crate::engine::Status::Failed { message, .. }
            | crate::engine::Status::Unreachable(message) = &r.status
            {
                println!("{} | {} | {message}", r.host, r.step);
            }
        }
        print!("{}", crate::engine::recap_text(&recap));
        if !recap.stopped
            && let Ok(status) = rt.block_on(crate::ceph::ceph_status(
                &cluster,
                engine.transport.as_ref(),
            ))
        {
            println!("{status}");
        }
    }
    host_failures(&recap)
}

fn destroy_cmd(a: DestroyArgs, verbose: u8) -> Result<()> {
    if !a.yes_i_really_really_mean_it {
        return Err(Error::Usage(
            "destroy removes every Ceph daemon and the cluster's data on the hosts; add --yes-i-really-really-mean-it".into(),
        ));
    }
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = std::sync::Arc::new(cluster);
    let plan = crate::deploy::destroy::plan(&cluster, &selected, a.zap);
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        print!("{}", crate::engine::recap_text(&recap));
    }
    host_failures(&recap)
}

fn gatherkeys_cmd(a: GatherkeysArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let inventory_mons: Vec<&crate::model::Host> = cluster
        .hosts_with(Role::Mon)
        .filter(|h| selected.contains(&h.name))
        .collect();
    let mons: Vec<&crate::model::Host> = if a.mons.is_empty() {
        inventory_mons.clone()
    } else {
        let mut v = Vec::new();
        for name in &a.mons {
            match inventory_mons.iter().find(|h| &h.name == name) {
                Some(h) => v.push(*h),
                None => {
                    return Err(Error::Usage(format!(
                        "`{name}` is not a mon of {} (mons: {})",
                        a.target.inventory.display(),
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
            a.target.inventory.display()
        )));
    }
    let dest = a.dest.clone().unwrap_or_else(|| {
        cluster
            .files
            .inventory
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("keys")
    });
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
    Ok(())
}

fn admin_cmd(a: AdminArgs, verbose: u8) -> Result<()> {
    let pattern = if a.hosts.is_empty() {
        a.target.limit.clone().ok_or_else(|| {
            Error::Usage("name the hosts to make admin hosts (HOST_PATTERN or --limit)".into())
        })?
    } else {
        a.hosts.join(",")
    };
    let inventory = Inventory::load(&a.target.inventory)?;
    let names = inventory.select(&pattern).map_err(Error::Usage)?;
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "`{pattern}` matches no host of {}",
            a.target.inventory.display()
        )));
    }
    let mut sources = a.target.sources();
    sources.extra_clients = names.clone();
    let cluster = model::load(&sources)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &names, &a.connect, verbose)?;
    let cluster = std::sync::Arc::new(cluster);
    let notes = crate::keys::admin::Notes::default();
    let opts = crate::keys::admin::Options {
        overwrite_conf: a.overwrite_conf,
        diff: a.diff,
        check: a.check,
    };
    let plan = crate::keys::admin::plan(&cluster, names, opts, &notes);
    let recap = runtime()?.block_on(engine.run(&plan));
    let notes = notes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !a.connect.json {
        for (host, n) in &notes {
            for line in &n.lines {
                println!("{host} | {line}");
            }
            if let Some(diff) = &n.diff {
                print!("{diff}");
            }
        }
        for r in recap.results.iter().filter(|r| r.status.is_failure()) {
            if let crate::engine::Status::Unreachable(message) = &r.status {
                println!("{} | {} | {message}", r.host, r.step);
            }
        }
        print!("{}", crate::engine::recap_text(&recap));
    }
    let refused = notes.values().filter(|n| n.refused).count();
    let others_failed = recap
        .results
        .iter()
        .filter(|r| r.status.is_failure())
        .count()
        > refused;
    if refused > 0 && !others_failed {
        return Err(Error::Refused {
            what: format!(
                "the conf on {refused} host(s) differs from the rendered one and was kept; see it with --diff, replace it with --overwrite-conf"
            ),
        });
    }
    host_failures(&recap)
}

fn tune_cmd(a: TuneArgs, verbose: u8) -> Result<()> {
    let (cluster, selected) = load(&a.target)?;
    print_warnings(&cluster, verbose);
    let engine = cluster_engine(&cluster, &selected, &a.connect, verbose)?;
    let cluster = std::sync::Arc::new(cluster);
    let notes = crate::tune::Notes::default();
    let plan = if a.check {
        crate::deploy::check_plan(&cluster, &selected, false, false, &notes)
    } else {
        // The host settings, then the daemons whose container or config
        // section changed, one at a time with health waits (reconfigure).
        crate::deploy::plan_with(&cluster, &selected, true, false, &notes)
    };
    let recap = runtime()?.block_on(engine.run(&plan));
    if !a.connect.json {
        let (drift, hosts) = print_findings(&notes, &recap);
        if a.check {
            println!("{drift} drifted setting(s) on {hosts} host(s)");
        } else {
            println!("{drift} setting(s) applied on {hosts} host(s)");
        }
    }
    host_failures(&recap)
}

/// Prints each host's findings, the failures and the recap; returns how
/// many findings were drift and on how many hosts.
fn print_findings(notes: &crate::tune::Notes, recap: &crate::engine::Recap) -> (usize, usize) {
    let notes = notes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (host, lines) in &notes {
        for l in lines {
            println!("{host} | {}", l.text);
        }
    }
    for r in recap.results.iter().filter(|r| r.status.is_failure()) {
        if let crate::engine::Status::Failed { message, .. }
        | crate::engine::Status::Unreachable(message) = &r.status
        {
            println!("{} | {} | {message}", r.host, r.step);
        }
    }
    print!("{}", crate::engine::recap_text(recap));
    let drift = notes
        .values()
        .map(|l| l.iter().filter(|l| l.drift).count())
        .sum();
    let hosts = notes.values().filter(|l| l.iter().any(|l| l.drift)).count();
    (drift, hosts)
}
