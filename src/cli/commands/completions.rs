//! `cephalo completions SHELL`: the shell's completion script for every
//! command, flag and value cephalo knows, generated from the same clap
//! definitions as the parser (clap_complete), on stdout.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh or fish (elvish and powershell too). For example
    /// `cephalo completions bash > /etc/bash_completion.d/cephalo`.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

pub fn exec(a: CompletionsArgs) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut crate::cli::command(), "cephalo", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|source| Error::Write {
            path: PathBuf::from("standard output"),
            source,
        })
}
