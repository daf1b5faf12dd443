//! `cephalo run`: one command on the selected hosts of any inventory (no
//! Ceph roles needed), as steps of one plan; output grouped per host.

use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{connect_parts, runtime};
use crate::cli::output::host_failures;
use crate::engine::{Action, Engine, HostResult, Node, OnFailure, Plan, RunCommand, Status, Step};
use crate::error::{Error, Result};
use crate::model;
use crate::transport::Endpoint;

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
    /// The command, after `--`. One argument with spaces or shell syntax
    /// (`-- 'uptime; df -h'`) runs through `sh -c`, like Ansible's shell
    /// module; several arguments are one command and its arguments, each
    /// passed as written (`-- echo 'a; b'` prints `a; b`).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn exec(a: RunArgs, verbose: u8) -> Result<()> {
    let targets = model::load_targets(&a.target.sources())?;
    for w in targets.warnings.warnings() {
        eprintln!("{w}");
    }
    let names: Vec<String> = match &a.target.limit {
        Some(p) => targets.inventory.select(p).map_err(Error::Usage)?,
        None => targets.hosts.iter().map(|t| t.name.clone()).collect(),
    };
    let (transport, reporter) = connect_parts(
        &a.connect,
        a.target.primary_inventory(),
        targets.known_hosts.clone(),
        &targets.settings.ssh_hosts_file,
        verbose,
    )?;
    let timeout = a.timeout.unwrap_or(targets.settings.ssh_command_timeout);
    let command = crate::transport::Command::new(argv(&a.command))
        .become_root(a.become_root)
        .timeout(std::time::Duration::from_secs(timeout));
    let hosts: indexmap::IndexMap<String, Endpoint> = targets
        .hosts
        .iter()
        .filter(|t| names.contains(&t.name))
        .map(|t| (t.name.clone(), Endpoint::of_target(t)))
        .collect();
    let action: Arc<dyn Action> = Arc::new(RunCommand {
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

/// The words run on each host: a lone word the shell would not read back
/// as itself (spaces, `;`, `$`, quotes...) is a shell string, run through
/// `sh -c`; anything else as written.
fn argv(command: &[String]) -> Vec<String> {
    match command {
        [one] if crate::transport::quote(one) != *one => {
            vec!["sh".into(), "-c".into(), one.clone()]
        }
        _ => command.to_vec(),
    }
}

/// `cephalo run` output, ansible style: a header line per host, then what
/// the command printed.
fn print_host_output(r: &HostResult) {
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

#[cfg(test)]
mod tests {
    use super::argv;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_lone_shell_string_runs_through_sh_and_words_stay_words() {
        assert_eq!(
            argv(&words(&["uptime; df -h"])),
            words(&["sh", "-c", "uptime; df -h"])
        );
        assert_eq!(argv(&words(&["uptime"])), words(&["uptime"]));
        assert_eq!(argv(&words(&["echo", "a; b"])), words(&["echo", "a; b"]));
        assert_eq!(
            argv(&words(&["ls /var/lib/ceph"])),
            words(&["sh", "-c", "ls /var/lib/ceph"])
        );
    }
}
