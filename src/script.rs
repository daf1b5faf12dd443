//! Remote shell scripts whose values enter only as positional parameters:
//! the script text is fixed at compile time (a `&'static str`, usually an
//! `include_str!` of a `.sh` file beside its module), and every value a
//! user or a host can influence is passed as `$1`, `$2`, ... . No value is
//! ever formatted into shell text; `transport::quote` stays the one place
//! that quotes words.

use crate::transport::Command;

/// A `sh -c` script and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    text: String,
    args: Vec<String>,
}

/// `$0` of every script: shows up in `sh`'s own error messages.
const NAME: &str = "cephalo";

impl Script {
    /// A script of fixed text.
    pub fn new(text: &'static str) -> Script {
        Script {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// A script made of fixed pieces run one after the other (for example
    /// a shared function library, then the script that uses it).
    pub fn of(parts: &[&'static str]) -> Script {
        Script {
            text: parts.join("\n"),
            args: Vec::new(),
        }
    }

    /// Appends one positional parameter (`$1`, then `$2`, ...).
    pub fn arg(mut self, value: impl Into<String>) -> Script {
        self.args.push(value.into());
        self
    }

    /// Appends positional parameters in order (the script reads them with
    /// `shift` or `"$@"`).
    pub fn args<I, S>(mut self, values: I) -> Script
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(values.into_iter().map(Into::into));
        self
    }

    /// The script's text, as the remote shell reads it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `sh -c TEXT cephalo ARG...`: the command to run.
    pub fn command(self) -> Command {
        let mut argv = vec!["sh".to_string(), "-c".to_string(), self.text, NAME.into()];
        argv.extend(self.args);
        Command::new(argv)
    }
}

impl From<Script> for Command {
    fn from(s: Script) -> Command {
        s.command()
    }
}

/// Test help for modules that build scripts: the words a remote `sh`
/// hands to a script as `"$@"`, found by running the command's quoted line
/// (what the transport sends) under the local `sh`, with the script text
/// replaced by one that only prints its arguments. A value that arrives
/// here whole arrives at the real script whole.
#[cfg(test)]
pub fn words_seen_by_sh(cmd: &Command) -> Vec<String> {
    // From `sh -c` on: a script run in a one-off container is tested
    // without the container.
    let at = cmd
        .argv
        .windows(2)
        .position(|w| w[0] == "sh" && w[1] == "-c")
        .expect("a sh -c command");
    let mut words = cmd.argv[at..].to_vec();
    words[2] = "printf '%s\\0' \"$@\"".into();
    let harmless = Command::new(words);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(harmless.line())
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.split_terminator('\0').map(str::to_string).collect()
}

/// Values no script may see split, run or expanded: a space, `;`, `$(id)`,
/// backticks, quotes, a newline, a leading `-`.
#[cfg(test)]
pub const HOSTILE: &[&str] = &[
    "ceph1 x",
    "ceph2;id",
    "$(id)",
    "`id`",
    "it's",
    "say \"hi\"",
    "two\nlines",
    "-rf",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_positional_parameters_never_script_text() {
        let hostile = "x; rm -rf / $(id) `id` 'q' \"d\"\nnext";
        let cmd = Script::new("mkdir -p -- \"$1\" && echo \"$2\"")
            .arg(hostile)
            .arg("-n")
            .command();
        assert_eq!(
            cmd.argv[..4],
            ["sh", "-c", "mkdir -p -- \"$1\" && echo \"$2\"", NAME]
        );
        assert_eq!(cmd.argv[4], hostile);
        assert_eq!(cmd.argv[5], "-n");
    }

    #[test]
    fn a_hostile_value_stays_one_word_in_a_real_shell() {
        let hostile = "a b; echo INJECTED $(echo X) `echo Y` 'q' \"d\"\n-rf";
        let cmd = Script::new("printf '%s' \"$1\"").arg(hostile).command();
        // What the remote side would run: the transport's quoted line.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.line())
            .output()
            .expect("run sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
    }

    #[test]
    fn pieces_are_joined_in_order() {
        let s = Script::of(&["f() { echo \"$1\"; }", "f \"$1\""]).arg("v");
        assert_eq!(s.text(), "f() { echo \"$1\"; }\nf \"$1\"");
        assert_eq!(s.command().argv.last().map(String::as_str), Some("v"));
    }

    #[test]
    fn the_test_help_sees_each_value_as_one_word() {
        let cmd = Script::new("rm -rf -- \"$1\"")
            .args(HOSTILE.iter().copied())
            .command();
        assert_eq!(words_seen_by_sh(&cmd), HOSTILE);
    }
}
