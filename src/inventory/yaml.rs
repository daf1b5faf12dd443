//! Ansible YAML inventories: `all: {hosts, vars, children}`, nested groups.

use std::path::Path;

use serde_json::{Map, Value};

use super::hostrange::expand_host_pattern;
use super::name::{NameKind, check_name, shown};
use super::{Builder, Inventory, Var, Vars};
use crate::error::{Error, Origin, Result};
use crate::yamlfile;

pub(super) fn parse(path: &Path, text: &str) -> Result<Inventory> {
    let doc = yamlfile::parse_value(path, text)?;
    let mut b = Builder::new(path);
    match doc {
        Value::Object(top) => {
            if top.is_empty() {
                b.problems
                    .error(Origin::file(path), "the inventory declares no group");
            }
            for (name, body) in &top {
                walk_group(&mut b, name, body, &shown(name));
            }
        }
        Value::Null => {
            return Err(Error::invalid(Origin::file(path), "the inventory is empty"));
        }
        other => {
            return Err(Error::invalid(
                Origin::file(path),
                format!(
                    "expected a mapping of group names at the top (like `all:`), found {}",
                    yamlfile::kind(&other)
                ),
            ));
        }
    }
    b.finish()
}

fn walk_group(b: &mut Builder, name: &str, body: &Value, keypath: &str) {
    let origin = Origin::file(&b.path).with_key(keypath);
    if let Err(msg) = check_name(NameKind::Group, name) {
        b.problems.error(origin, msg);
        return;
    }
    b.group(name, &origin);
    let map = match body {
        Value::Null => return,
        Value::Object(m) => m,
        other => {
            b.problems.error(
                origin,
                format!(
                    "group `{name}` must be a mapping with `hosts`, `vars` or `children`, found {}",
                    yamlfile::kind(other)
                ),
            );
            return;
        }
    };
    for (key, value) in map {
        let path = format!("{keypath}.{key}");
        let origin = Origin::file(&b.path).with_key(&path);
        match key.as_str() {
            "hosts" => match value {
                Value::Null => {}
                Value::Object(hosts) => {
                    for (pattern, vars) in hosts {
                        let host_path = format!("{path}.{}", shown(pattern));
                        let vars = match vars_of(b, vars, &host_path) {
                            Some(v) => v,
                            None => continue,
                        };
                        match expand_host_pattern(pattern) {
                            Ok(names) => {
                                let o = Origin::file(&b.path).with_key(&host_path);
                                if let Some(msg) = names
                                    .iter()
                                    .find_map(|n| check_name(NameKind::Host, n).err())
                                {
                                    b.problems.error(o, msg);
                                    continue;
                                }
                                for n in names {
                                    b.add_host(name, &n, vars.clone(), &o);
                                }
                            }
                            Err(msg) => b
                                .problems
                                .error(Origin::file(&b.path).with_key(&host_path), msg),
                        }
                    }
                }
                other => b.problems.error(
                    origin,
                    format!(
                        "`hosts` must be a mapping of host names (each with its vars or empty), found {}",
                        yamlfile::kind(other)
                    ),
                ),
            },
            "vars" => {
                if let Some(vars) = vars_of(b, value, &path) {
                    b.group(name, &origin).vars.extend(vars);
                }
            }
            "children" => match value {
                Value::Null => {}
                Value::Object(children) => {
                    for (child, child_body) in children {
                        let child_path = format!("{path}.{}", shown(child));
                        let o = Origin::file(&b.path).with_key(&child_path);
                        if let Err(msg) = check_name(NameKind::Group, child) {
                            b.problems.error(o, msg);
                            continue;
                        }
                        b.group(name, &origin).children.push((child.clone(), o));
                        walk_group(b, child, child_body, &child_path);
                    }
                }
                other => b.problems.error(
                    origin,
                    format!(
                        "`children` must be a mapping of group names, found {}",
                        yamlfile::kind(other)
                    ),
                ),
            },
            other => b.problems.error(
                origin,
                format!("unexpected key `{other}` in group `{name}`; expected `hosts`, `vars` or `children`"),
            ),
        }
    }
}

fn vars_of(b: &mut Builder, value: &Value, keypath: &str) -> Option<Vars> {
    match value {
        Value::Null => Some(Vars::new()),
        Value::Object(m) => Some(to_vars(&b.path, m, keypath)),
        other => {
            b.problems.error(
                Origin::file(&b.path).with_key(keypath),
                format!(
                    "expected a mapping of variables, found {}",
                    yamlfile::kind(other)
                ),
            );
            None
        }
    }
}

/// A mapping's entries as variables, each with its key path as origin
/// (the JSON inventory reads them the same way).
pub(super) fn to_vars(path: &Path, m: &Map<String, Value>, keypath: &str) -> Vars {
    m.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Var {
                    value: v.clone(),
                    origin: Origin::file(path).with_key(format!("{keypath}.{k}")),
                },
            )
        })
        .collect()
}
