//! `cephalo man [--out DIR]`: the man pages, generated from the same clap
//! definitions as the parser (clap_mangen): cephalo(1), which ends with the
//! exit codes, and one page per subcommand (cephalo-deploy(1),
//! cephalo-disks-list(1), ...). No hand-written page.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use clap_mangen::Man;

use crate::error::{Error, Result, exit};

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cephalo.1 and one page per subcommand (cephalo-deploy.1, ...)
    /// into this folder, made when missing; for example
    /// /usr/local/share/man/man1. Without it, cephalo.1 goes to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn exec(a: ManArgs) -> Result<()> {
    let pages = pages();
    let Some(dir) = a.out else {
        // The first page is cephalo.1.
        let top = pages.first().map(|(_, text)| text.as_slice());
        return std::io::stdout()
            .write_all(top.unwrap_or_default())
            .map_err(|source| Error::Write {
                path: PathBuf::from("standard output"),
                source,
            });
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    for (name, text) in &pages {
        write(&dir.join(name), text)?;
    }
    println!("wrote {} man page(s) to {}", pages.len(), dir.display());
    Ok(())
}

fn write(path: &Path, text: &[u8]) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Every page as (file name, roff text): cephalo.1 first, then each
/// subcommand's, depth first.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    // No page for clap's `help` subcommand (`--help` stays).
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = vec![(Man::new(cmd.clone()).get_filename(), top_page(&cmd))];
    subcommand_pages(&cmd, &mut out);
    out
}

fn subcommand_pages(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone());
        let mut text = Vec::new();
        // Rendering into memory cannot fail.
        let _ = man.render(&mut text);
        out.push((man.get_filename(), text));
        subcommand_pages(sub, out);
    }
}

/// cephalo(1): clap_mangen's sections, then EXIT STATUS from
/// `error::exit`, so the page and the program cannot disagree.
fn top_page(cmd: &clap::Command) -> Vec<u8> {
    // The exit codes get their own section instead of clap's after-help.
    let man = Man::new(cmd.clone().after_long_help(None::<&str>));
    let mut text = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render_title(&mut text);
    let _ = man.render_name_section(&mut text);
    let _ = man.render_synopsis_section(&mut text);
    let _ = man.render_description_section(&mut text);
    let _ = man.render_options_section(&mut text);
    let _ = man.render_subcommands_section(&mut text);
    let mut roff = roff::Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    roff.control("TP", []).text([roff::bold("0")]);
    roff.text([roff::roman("success; with --check, nothing would change")]);
    for (code, meaning) in exit::ALL {
        roff.control("TP", []).text([roff::bold(code.to_string())]);
        roff.text([roff::roman(meaning)]);
    }
    let _ = roff.to_writer(&mut text);
    let _ = man.render_version_section(&mut text);
    text
}
