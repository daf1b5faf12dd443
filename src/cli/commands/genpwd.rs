//! `cephalo genpwd`: fills in passwords.yml (fsid and missing cephx keys),
//! with the secret kind the globals' release and key type ask for.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use crate::cephx::SecretKind;
use crate::error::{Error, Result};
use crate::model;
use crate::passwords::{self, Filled};
use crate::settings::Catalog;

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

pub fn exec(a: GenpwdArgs) -> Result<()> {
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
    let loose = passwords::loose_mode(&path);
    let report = passwords::genpwd(&path, kind)?;
    let mode = match loose {
        Some(m) => format!("mode {m:04o} -> 0600"),
        None => "mode 0600".to_string(),
    };
    let generated: Vec<&str> = report
        .iter()
        .filter_map(|f| match f {
            Filled::Generated(k) => Some(k.as_str()),
            Filled::Kept(_) => None,
        })
        .collect();
    if generated.is_empty() && loose.is_some() {
        println!(
            "{}: {mode}; nothing else to fill in, {} values kept",
            path.display(),
            report.len()
        );
    } else if generated.is_empty() {
        println!(
            "{}: nothing to fill in; {} values kept",
            path.display(),
            report.len()
        );
    } else {
        println!(
            "{}: generated {} ({}); {} kept; {mode}",
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
fn secret_kind_for(globals: Option<&Path>) -> Result<SecretKind> {
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
