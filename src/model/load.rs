//! Reading the input files into parsed sources: the inventory, globals.yml,
//! passwords.yml, `-e` and the kolla-style ceph.conf override files. Every
//! file is read even when an earlier one is malformed, so one run reports
//! them all. Turning the sources into a cluster is `resolve`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::conf::CephConf;
use super::jinja::WithoutFacts;
use super::layers::Layers;
use super::resolve::{Inputs, connection_of, resolve};
use super::types::{Cluster, ConfOverrides, Files, Sources, Target, Targets};
use crate::error::{Error, Origin, Problems, Result};
use crate::inventory::{Inventory, Var, Vars};
use crate::passwords::Passwords;
use crate::settings;
use crate::yamlfile;

/// Where a settings file is, kolla style: the flag, else next to the
/// inventory, else /etc/cephalo/.
pub fn find_file(flag: Option<&Path>, inventory: &Path, name: &str) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    let beside = inventory
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name);
    if beside.exists() {
        return beside;
    }
    let etc = Path::new("/etc/cephalo").join(name);
    if etc.exists() { etc } else { beside }
}

/// Parses `-e key=value` (the value read as a YAML scalar, like Ansible).
pub fn parse_extra_vars(items: &[String], problems: &mut Problems) -> Vars {
    let mut out = Vars::new();
    for item in items {
        let origin = Origin::file("-e").with_key(item.split('=').next().unwrap_or_default());
        let Some((key, raw)) = item.split_once('=') else {
            problems.error(origin, format!("expected `-e key=value`, found `{item}`"));
            continue;
        };
        let value = if raw.is_empty() {
            Value::String(String::new())
        } else {
            match serde_saphyr::from_str::<Value>(raw) {
                Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => v,
                Ok(Value::Null) => Value::String(raw.to_string()),
                Ok(v) => v,
                Err(_) => Value::String(raw.to_string()),
            }
        };
        out.insert(key.trim().to_string(), Var { value, origin });
    }
    out
}

/// Loads every input file and builds the validated model, or returns every
/// problem found.
pub fn load(sources: &Sources) -> Result<Cluster> {
    load_with(sources, false)
}

/// The model for views of the inventory (`cephalo inventory`), which show
/// no secrets: passwords.yml is not read, and without a globals.yml the
/// role defaults apply (a note says so).
pub fn load_view(sources: &Sources) -> Result<Cluster> {
    load_with(sources, true)
}

fn load_with(sources: &Sources, view_only: bool) -> Result<Cluster> {
    let globals_path = find_file(
        sources.globals.as_deref(),
        &sources.inventory,
        "globals.yml",
    );
    let passwords_path = find_file(
        sources.passwords.as_deref(),
        &sources.inventory,
        "passwords.yml",
    );
    let mut problems = Problems::default();
    // Each file is read even when an earlier one is malformed, so that one
    // run reports the problems of all of them.
    let inventory = collect(Inventory::load_all(&sources.inventories()), &mut problems)?;
    let globals = if view_only && sources.globals.is_none() && !globals_path.exists() {
        problems.warning(
            Origin::file(&globals_path),
            "no globals.yml: the role defaults apply (roles/*/defaults.yml)",
        );
        Vars::new()
    } else {
        collect(read_globals(&globals_path), &mut problems)?.unwrap_or_default()
    };
    let passwords = if view_only {
        Passwords::default()
    } else if passwords_path.exists() {
        collect(
            Passwords::load(&passwords_path, &mut problems),
            &mut problems,
        )?
        .unwrap_or_default()
    } else {
        problems.error(
            Origin::file(&passwords_path),
            format!(
                "passwords file not found; run `{}` to make one",
                crate::passwords::genpwd_command(&passwords_path)
            ),
        );
        Passwords::default()
    };
    let extra = parse_extra_vars(&sources.extra_vars, &mut problems);
    // The model is only built from files that all parsed: otherwise its
    // checks would report the consequences of the malformed file as well.
    let Some(inventory) = inventory.filter(|_| !problems.has_errors()) else {
        return Err(Error::Invalid { problems });
    };
    let files = Files {
        inventory: sources.inventory.clone(),
        config_dir: settings::config_dir(&globals_path),
        globals: globals_path,
        passwords: passwords_path,
    };
    let overrides = ConfOverrides::load(
        &files.config_dir,
        inventory.hosts.keys().cloned(),
        &mut problems,
    )?;
    let inputs = Inputs {
        inventory: &inventory,
        globals: &globals,
        passwords: &passwords,
        extra: &extra,
        extra_clients: &sources.extra_clients,
        view_only,
    };
    resolve(files, &inputs, overrides, problems)
}

/// Keeps going after an input problem: it is added to the others.
fn collect<T>(r: Result<T>, problems: &mut Problems) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Invalid { problems: p }) => {
            problems.extend(p);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Reads globals.yml into vars with their lines.
pub fn read_globals(path: &Path) -> Result<Vars> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = crate::inventory::decode_text(path, &bytes)?;
    Ok(yamlfile::parse_top_mapping(path, &text)?
        .into_iter()
        .map(|k| {
            let origin = Origin::at_line(path, k.line).with_key(&k.key);
            (
                k.key,
                Var {
                    value: k.value,
                    origin,
                },
            )
        })
        .collect())
}

impl ConfOverrides {
    /// Reads the override files that exist; parse problems go to `problems`.
    pub fn load(
        config_dir: &Path,
        hosts: impl Iterator<Item = String>,
        problems: &mut Problems,
    ) -> Result<Self> {
        let read = |path: PathBuf, problems: &mut Problems| -> Result<Option<CephConf>> {
            if !path.is_file() {
                return Ok(None);
            }
            let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let text = crate::inventory::decode_text(&path, &bytes)?;
            Ok(Some(CephConf::parse(&path, &text, problems)))
        };
        let mut out = ConfOverrides {
            global: read(config_dir.join("ceph.conf"), problems)?,
            per_host: BTreeMap::new(),
        };
        for h in hosts {
            if let Some(c) = read(config_dir.join(&h).join("ceph.conf"), problems)? {
                out.per_host.insert(h, c);
            }
        }
        Ok(out)
    }
}

/// Loads the inventory (and the globals when there are any) for `run`.
pub fn load_targets(sources: &Sources) -> Result<Targets> {
    let globals_path = find_file(
        sources.globals.as_deref(),
        &sources.inventory,
        "globals.yml",
    );
    let mut problems = Problems::default();
    let inventory = collect(Inventory::load_all(&sources.inventories()), &mut problems)?;
    let globals = if globals_path.exists() || sources.globals.is_some() {
        collect(read_globals(&globals_path), &mut problems)?.unwrap_or_default()
    } else {
        Vars::new()
    };
    let extra = parse_extra_vars(&sources.extra_vars, &mut problems);
    let Some(inventory) = inventory.filter(|_| !problems.has_errors()) else {
        return Err(Error::Invalid { problems });
    };
    // `run` never uses a value that needs an Ansible fact.
    let (mut layers, cluster) = Layers::new(
        &inventory,
        &globals,
        &extra,
        WithoutFacts::Note,
        &mut problems,
    );
    let mut hosts = Vec::new();
    for (name, decl) in &inventory.hosts {
        let (merged, _) = layers.host(&inventory, name, decl, &mut problems);
        hosts.push(Target {
            name: name.clone(),
            connection: connection_of(name, &merged, &mut problems),
        });
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    let Some(settings) = cluster else {
        return Err(Error::Invalid { problems });
    };
    let known_hosts = if settings.ssh_known_hosts_file.is_empty() {
        sources
            .inventory
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("known_hosts")
    } else {
        PathBuf::from(&settings.ssh_known_hosts_file)
    };
    Ok(Targets {
        inventory,
        hosts,
        settings,
        known_hosts,
        warnings: problems,
    })
}
