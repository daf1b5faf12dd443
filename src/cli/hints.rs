//! Hints added to clap's usage errors for mistakes operators make: the
//! command of `cephalo run` given without `--` before it, or as Ansible's
//! `-m shell -a '...'`. Only words for
//! the error message; the parser itself is clap's.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// `e` with a tip for a mistake it recognises; otherwise `e` unchanged.
pub fn add(mut e: clap::Error, cmd: &clap::Command, args: &[OsString]) -> clap::Error {
    if let Some(tip) = ansible_module(&e, args) {
        // clap's own tip (`-- -m`) would run `-m` as the command.
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    } else if let Some(tip) = run_without_dashes(&e, cmd, args) {
        let mut tips = match e.get(ContextKind::Suggested) {
            Some(ContextValue::StyledStrs(v)) => v.clone(),
            _ => Vec::new(),
        };
        tips.push(tip.into());
        e.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    }
    e
}

/// `cephalo run -i INV uptime`: clap only says "unexpected argument
/// 'uptime'". The tip is the same line with `--` before the command (and
/// `-i INVENTORY` when it is missing).
fn run_without_dashes(e: &clap::Error, cmd: &clap::Command, args: &[OsString]) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(unexpected)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let sub_at = first_operand(cmd, &args, 1)?;
    if args[sub_at] != "run" {
        return None;
    }
    let run = cmd.find_subcommand("run")?;
    let at = first_operand(run, &args, sub_at + 1)?;
    if args[at] != *unexpected {
        return None;
    }
    let mut line = vec!["cephalo".to_string()];
    line.extend(args[1..at].iter().cloned());
    let has_inventory = args[1..at]
        .iter()
        .any(|a| a == "-i" || a.starts_with("--inventory") || (a.starts_with("-i") && a.len() > 2));
    if !has_inventory {
        line.extend(["-i".to_string(), "INVENTORY".to_string()]);
    }
    line.push("--".to_string());
    line.extend(args[at..].iter().map(|a| quote(a)));
    Some(format!(
        "the command to run goes after `--`: `{}`",
        line.join(" ")
    ))
}

/// `cephalo run -i INV -m shell -a 'uptime'`, Ansible's ad-hoc form: the
/// tip is the line without `-m MODULE`, with `-a`'s command after `--`
/// (one shell string, which `run` gives to `sh -c`).
fn ansible_module(e: &clap::Error, args: &[OsString]) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(unexpected)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = unexpected.split('=').next().unwrap_or(unexpected);
    if !["-m", "--module-name", "-a", "--args"].contains(&flag) {
        return None;
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !args.iter().skip(1).any(|a| a == "run") {
        return None;
    }
    let mut line = vec!["cephalo".to_string()];
    let mut command = None;
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let is_module = name == "-m" || name == "--module-name";
        let is_args = name == "-a" || name == "--args";
        if is_module || is_args {
            let value = match inline {
                Some(v) => Some(v),
                None => {
                    i += 1;
                    args.get(i).cloned()
                }
            };
            if is_args {
                command = value;
            }
        } else {
            line.push(quote(a));
        }
        i += 1;
    }
    line.push("--".into());
    line.push(command.map_or_else(|| "COMMAND".to_string(), |c| quote(&c)));
    Some(format!(
        "cephalo runs shell commands, as Ansible's shell module: `{}`",
        line.join(" ")
    ))
}

/// The index of the first argument from `from` on that is not an option
/// of `cmd` (or of its parents' global options) nor an option's value.
fn first_operand(cmd: &clap::Command, args: &[String], from: usize) -> Option<usize> {
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        if a == "--" || !a.starts_with('-') || a == "-" {
            return (a != "--").then_some(i);
        }
        if takes_value(cmd, a) {
            i += 1;
        }
        i += 1;
    }
    None
}

/// Whether `arg` (`--limit`, `-l`, not `--limit=x` or `-lx`) is an option
/// whose value is the next argument.
fn takes_value(cmd: &clap::Command, arg: &str) -> bool {
    let wants_value = |a: &clap::Arg| a.get_action().takes_values();
    if let Some(long) = arg.strip_prefix("--") {
        return !long.contains('=')
            && cmd
                .get_arguments()
                .any(|a| a.get_long() == Some(long) && wants_value(a));
    }
    let mut shorts = arg.chars().skip(1);
    match (shorts.next(), shorts.next()) {
        (Some(c), None) => cmd
            .get_arguments()
            .any(|a| a.get_short() == Some(c) && wants_value(a)),
        _ => false,
    }
}

/// An argument as a shell reads it back.
fn quote(a: &str) -> String {
    shlex::try_quote(a).map_or_else(|_| a.to_string(), |q| q.into_owned())
}

#[cfg(test)]
mod tests {
    fn error_of(args: &[&str]) -> String {
        let e = crate::cli::parse(args.iter().copied()).expect_err("a usage error");
        assert_eq!(e.exit_code(), 2);
        e.render().to_string()
    }

    #[test]
    fn run_without_dashes_shows_the_line_with_them() {
        let text = error_of(&["cephalo", "run", "uptime"]);
        assert!(text.contains("unexpected argument 'uptime'"), "{text}");
        assert!(
            text.contains(
                "tip: the command to run goes after `--`: `cephalo run -i INVENTORY -- uptime`"
            ),
            "{text}"
        );
        let text = error_of(&[
            "cephalo", "-v", "run", "-i", "inv", "--limit", "mons", "--become", "df", "-h",
            "/var lib",
        ]);
        assert!(
            text.contains("`cephalo -v run -i inv --limit mons --become -- df -h '/var lib'`"),
            "{text}"
        );
        // An option's value that looks like the command is not taken for it.
        let text = error_of(&["cephalo", "run", "-i", "uptime", "uptime"]);
        assert!(text.contains("`cephalo run -i uptime -- uptime`"), "{text}");
    }

    #[test]
    fn ansible_modules_get_the_line_that_runs_the_command() {
        let text = error_of(&[
            "cephalo",
            "run",
            "-i",
            "inv",
            "-m",
            "shell",
            "-a",
            "uptime; df -h",
        ]);
        assert!(
            text.contains("`cephalo run -i inv -- 'uptime; df -h'`"),
            "{text}"
        );
        assert!(!text.contains("'-- -m'"), "{text}");
        let text = error_of(&["cephalo", "run", "-i", "inv", "-a", "uptime"]);
        assert!(text.contains("`cephalo run -i inv -- uptime`"), "{text}");
    }

    #[test]
    fn other_errors_get_no_such_tip() {
        for args in [
            &["cephalo", "render", "uptime"][..],
            &["cephalo", "run", "-i", "inv", "--bogus"],
            &["cephalo", "deploy", "--bogus"],
        ] {
            let text = error_of(args);
            assert!(!text.contains("goes after `--`"), "{args:?}: {text}");
        }
    }
}
