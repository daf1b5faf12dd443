//! The command line: the clap parser, the subcommands, and `run`, which
//! dispatches to one command and maps its outcome or error to the exit
//! code. Commands live in `commands`, the argument groups they share in
//! `args`, their common wiring in `context`, printing in `output`, the
//! `--check` outcome in `drift` and the hints added to usage errors in
//! `hints`. Nothing outside `cli` (but `main`) uses it.

mod args;
mod commands;
mod context;
mod drift;
mod hints;
mod output;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::error::exit;

pub use args::{ConnectArgs, Target};
pub use commands::admin::AdminArgs;
pub use commands::completions::CompletionsArgs;
pub use commands::deploy::DeployArgs;
pub use commands::destroy::DestroyArgs;
pub use commands::disks::{DisksCommand, DisksListArgs, DisksPrepareArgs};
pub use commands::gatherkeys::GatherkeysArgs;
pub use commands::genpwd::GenpwdArgs;
pub use commands::inventory::InventoryArgs;
pub use commands::man::ManArgs;
pub use commands::map::{MapCommand, MapOsdArgs, MapRbdArgs};
pub use commands::playground::{
    PlaygroundCommand, PlaygroundDirArgs, PlaygroundDownArgs, PlaygroundUpArgs,
};
pub use commands::prechecks::PrechecksArgs;
pub use commands::prometheus_targets::PrometheusTargetsArgs;
pub use commands::pull::PullArgs;
pub use commands::redeploy::RedeployArgs;
pub use commands::render::RenderArgs;
pub use commands::rotate_keys::RotateKeysArgs;
pub use commands::run::RunArgs;
pub use commands::settings::SettingsArgs;
pub use commands::status::StatusArgs;
pub use commands::tune::TuneArgs;
pub use commands::upgrade::UpgradeArgs;
pub use drift::Outcome;
pub use output::is_secret_var;

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
    /// Every setting cephalo knows, with its default and what it does
    /// (`cephalo settings KEY` for one).
    Settings(SettingsArgs),
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
    /// Make daemons again from the inventory's spec, with the same data
    /// (mon.HOST, osd.ID ...), one at a time behind Ceph's own gates: the
    /// way out of a daemon left crash-looping, stopped or missing
    Redeploy(RedeployArgs),
    /// Rotate every key cephalo manages to aes256k (CVE-2025-30156, Squid
    /// 19.2.6 and Tentacle 20.2.4 on), one daemon at a time behind Ceph's
    /// own gates, then the service cipher, the clients' keys and
    /// passwords.yml; journaled and resumable like the upgrade
    RotateKeys(RotateKeysArgs),
    /// Rolling upgrade to another Ceph release, one daemon at a time with
    /// Ceph's own gates (mons, mgrs, OSDs host by host, MDS, RGW, then
    /// finalise); journaled, resumable by running it again, flags always
    /// restored. --plan shows the whole plan first.
    Upgrade(UpgradeArgs),
    /// The cluster's health, then every host's Ceph containers (daemon,
    /// image, version, state, uptime, restarts), flagging an image other
    /// than the configured one, a daemon missing or stopped, and a
    /// container no role explains. Exit 8 when something is flagged.
    Status(StatusArgs),
    /// Prometheus scrape targets: the mgrs' prometheus module and custom
    /// containers with a metrics port, labelled with cluster, host and
    /// daemon, as file_sd JSON or a `scrape_configs:` snippet.
    PrometheusTargets(PrometheusTargetsArgs),
    /// Where an RBD image's objects are (`map rbd POOL/IMAGE`), or which
    /// images an OSD holds (`map osd ID`), from the cluster's own maps.
    #[command(subcommand)]
    Map(MapCommand),
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
    /// Print the completion script for a shell (bash, zsh, fish):
    /// `cephalo completions bash > /etc/bash_completion.d/cephalo`.
    Completions(CompletionsArgs),
    /// Write the man pages, cephalo(1) and one per subcommand:
    /// `cephalo man --out /usr/local/share/man/man1`.
    Man(ManArgs),
}

/// The clap definition of the command line, with the exit codes after
/// `--help`: what the parser, the completions and the man pages are made
/// from.
pub fn command() -> clap::Command {
    let mut codes = String::from("Exit codes:\n  0  success; with --check, nothing would change\n");
    for (code, meaning) in exit::ALL {
        codes.push_str(&format!("  {code}  {meaning}\n"));
    }
    Cli::command().after_long_help(codes)
}

/// Parses `args` (the program name first); a usage error is clap's, with
/// cephalo's hints added.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(args.clone())
        .and_then(|m| Cli::from_arg_matches(&m).map_err(|e| e.format(&mut cmd)));
    parsed.map_err(|e| hints::add(e, &cmd, &args))
}

/// The program: parses the process's arguments (help, version and usage
/// errors exit here, a usage error with 2) and runs the command; returns
/// the exit code.
pub fn main() -> i32 {
    quiet_on_a_closed_pipe();
    match parse(std::env::args_os()) {
        Ok(cli) => run(cli),
        Err(e) => e.exit(),
    }
}

/// Output written to a closed pipe (`cephalo inventory --list | head -1`)
/// ends the program quietly with the status a shell shows for a program
/// that SIGPIPE ended (128 + 13), as other Unix tools end; Rust's print
/// macros would panic there. SIGPIPE itself stays ignored, so that a write
/// to a child's or a socket's closed end stays an error cephalo reports.
fn quiet_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(crate::error::exit::CLOSED_PIPE);
        }
        default(info);
    }));
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    use commands::*;
    let verbose = cli.verbose;
    let result = match cli.command {
        // The commands with --check say whether it found drift.
        Command::Deploy(a) => deploy::deploy(a, verbose),
        Command::Reconfigure(a) => deploy::reconfigure(a, verbose),
        Command::Gatherkeys(a) => gatherkeys::exec(a, verbose),
        Command::Tune(a) => tune::exec(a, verbose),
        Command::Admin(a) => admin::exec(a, verbose),
        // Something flagged is exit 8, as drift is.
        Command::Status(a) => status::exec(a, verbose),
        Command::Map(MapCommand::Rbd(a)) => drift::done(map::rbd(a, verbose)),
        Command::Map(MapCommand::Osd(a)) => drift::done(map::osd(a, verbose)),
        Command::PrometheusTargets(a) => drift::done(prometheus_targets::exec(a, verbose)),
        Command::Genpwd(a) => drift::done(genpwd::exec(a)),
        Command::Render(a) => drift::done(render::exec(a, verbose)),
        Command::Inventory(a) => drift::done(inventory::exec(a)),
        Command::Settings(a) => drift::done(settings::exec(a)),
        Command::Run(a) => drift::done(run::exec(a, verbose)),
        Command::Prechecks(a) => drift::done(prechecks::exec(a, verbose)),
        Command::Destroy(a) => drift::done(destroy::exec(a, verbose)),
        Command::Upgrade(a) => drift::done(upgrade::exec(a, verbose)),
        Command::Redeploy(a) => drift::done(redeploy::exec(a, verbose)),
        Command::RotateKeys(a) => rotate_keys::exec(a, verbose),
        Command::Disks(DisksCommand::List(a)) => drift::done(disks::list(a, verbose)),
        Command::Disks(DisksCommand::Prepare(a)) => drift::done(disks::prepare(a, verbose)),
        Command::Playground(PlaygroundCommand::Up(a)) => drift::done(playground::up(a, verbose)),
        Command::Playground(PlaygroundCommand::Status(a)) => drift::done(playground::status(a)),
        Command::Playground(PlaygroundCommand::Image(a)) => {
            drift::done(playground::image(a, verbose))
        }
        Command::Playground(PlaygroundCommand::Down(a)) => drift::done(playground::down(a)),
        Command::Pull(a) => drift::done(pull::exec(a, verbose)),
        Command::Completions(a) => drift::done(completions::exec(a)),
        Command::Man(a) => drift::done(man::exec(a)),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprintln!("{}", e.report());
            e.exit_code()
        }
    }
}
