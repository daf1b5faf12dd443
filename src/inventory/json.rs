//! The JSON that `ansible-inventory --list` and inventory scripts print:
//! `{"_meta": {"hostvars": {...}}, "all": {"children": [...]}, "mons":
//! {"hosts": [...], "vars": {...}, "children": [...]}}`, a group also as a
//! bare list of hosts. Reads the document only; running scripts is
//! `executable`'s job.

use std::path::Path;

use serde_json::{Map, Value};

use super::name::{NameKind, check_name, shown};
use super::yaml::to_vars;
use super::{Builder, Inventory, Vars};
use crate::error::{Origin, Result};
use crate::yamlfile;

/// The document, when `text` is a JSON object in the `--list` shape (a
/// `_meta` key, or a group given as a list or with a list of hosts or
/// children); YAML inventories written as JSON are not.
pub(super) fn list_output(text: &str) -> Option<Map<String, Value>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let list_shaped = doc.contains_key("_meta")
        || doc.values().any(|g| {
            g.is_array()
                || g.get("hosts").is_some_and(Value::is_array)
                || g.get("children").is_some_and(Value::is_array)
        });
    list_shaped.then_some(doc)
}

/// The vars of one host when `_meta.hostvars` is missing (a script's
/// `--host H`); None when there is no other place to ask.
pub(super) type HostVarsOf<'a> = dyn FnMut(&str) -> Result<Option<Map<String, Value>>> + 'a;

/// Builds the inventory from a `--list` document read from `path`.
pub(super) fn parse(
    path: &Path,
    doc: &Map<String, Value>,
    host_vars_of: &mut HostVarsOf<'_>,
) -> Result<Inventory> {
    let mut b = Builder::new(path);
    let meta = doc.get("_meta").and_then(|m| m.get("hostvars"));
    let at = |key: &str| Origin::file(path).with_key(key);
    for (name, body) in doc.iter().filter(|(n, _)| *n != "_meta") {
        let gpath = shown(name);
        if let Err(msg) = check_name(NameKind::Group, name) {
            b.problems.error(at(&gpath), msg);
            continue;
        }
        b.group(name, &at(&gpath));
        let (hosts, vars, children) = match body {
            Value::Array(_) => (Some(body), None, None),
            Value::Object(g) => {
                for key in g.keys() {
                    if !["hosts", "vars", "children"].contains(&key.as_str()) {
                        b.problems.error(
                            at(&format!("{gpath}.{key}")),
                            format!("unexpected key `{key}` in group `{name}`; expected `hosts`, `vars` or `children`"),
                        );
                    }
                }
                (g.get("hosts"), g.get("vars"), g.get("children"))
            }
            Value::Null => (None, None, None),
            other => {
                b.problems.error(
                    at(&gpath),
                    format!(
                        "group `{name}` must be a list of hosts or a mapping with `hosts`, `vars` or `children`, found {}",
                        yamlfile::kind(other)
                    ),
                );
                continue;
            }
        };
        for host in names(&mut b, hosts, &format!("{gpath}.hosts")) {
            let o = at(&format!("{gpath}.hosts"));
            b.add_host(name, &host, Vars::new(), &o);
        }
        match vars {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                let vars = to_vars(path, m, &format!("{gpath}.vars"));
                b.group(name, &at(&gpath)).vars.extend(vars);
            }
            Some(other) => b.problems.error(
                at(&format!("{gpath}.vars")),
                format!(
                    "expected a mapping of variables, found {}",
                    yamlfile::kind(other)
                ),
            ),
        }
        for child in names(&mut b, children, &format!("{gpath}.children")) {
            let o = at(&format!("{gpath}.children"));
            // Ansible creates a group a script names only as a child.
            b.group(&child, &o);
            b.group(name, &o).children.push((child, o.clone()));
        }
    }
    // Host vars: `_meta.hostvars`, else asked per host.
    let hosts: Vec<String> = b.hosts.keys().cloned().collect();
    for host in hosts {
        let (vars, key) = match meta {
            Some(m) => match m.get(&host) {
                None | Some(Value::Null) => continue,
                Some(Value::Object(v)) => (v.clone(), format!("_meta.hostvars.{}", shown(&host))),
                Some(other) => {
                    b.problems.error(
                        at(&format!("_meta.hostvars.{}", shown(&host))),
                        format!(
                            "expected a mapping of variables, found {}",
                            yamlfile::kind(other)
                        ),
                    );
                    continue;
                }
            },
            None => match host_vars_of(&host)? {
                Some(v) => (v, format!("--host {}", shown(&host))),
                None => continue,
            },
        };
        let vars = to_vars(path, &vars, &key);
        if let Some(h) = b.hosts.get_mut(&host) {
            h.vars.extend(vars);
        }
    }
    b.finish()
}

/// A list of host or group names, each checked.
fn names(b: &mut Builder, list: Option<&Value>, keypath: &str) -> Vec<String> {
    let origin = Origin::file(&b.path).with_key(keypath);
    let kind = if keypath.ends_with(".children") {
        NameKind::Group
    } else {
        NameKind::Host
    };
    match list {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => match check_name(kind, s) {
                    Ok(()) => Some(s.clone()),
                    Err(msg) => {
                        b.problems.error(origin.clone(), msg);
                        None
                    }
                },
                other => {
                    b.problems.error(
                        origin.clone(),
                        format!(
                            "expected a list of names, found {} in it",
                            yamlfile::kind(other)
                        ),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            b.problems.error(
                origin,
                format!("expected a list of names, found {}", yamlfile::kind(other)),
            );
            Vec::new()
        }
    }
}
