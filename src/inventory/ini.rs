//! Ansible INI inventories, as kolla-ansible and ceph-ansible users write them.

use std::path::Path;

use serde_json::Value;

use super::hostrange::expand_host_pattern;
use super::name::{NameKind, check_name};
use super::{Builder, Inventory, Var, Vars};
use crate::error::{Origin, Result};

enum Section {
    Hosts(String),
    Children(String),
    Vars(String),
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Inventory> {
    let mut b = Builder::new(path);
    let mut section = Section::Hosts("ungrouped".to_string());
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx as u64 + 1;
        let origin = Origin::at_line(path, lineno);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            match parse_header(line) {
                Ok(s) => {
                    let name = match &s {
                        Section::Hosts(n) | Section::Children(n) | Section::Vars(n) => n.clone(),
                    };
                    b.group(&name, &origin);
                    section = s;
                }
                Err(msg) => {
                    b.problems.error(origin, msg);
                    // Skip the section's lines: their meaning is unknown.
                    section = Section::Hosts(String::new());
                }
            }
            continue;
        }
        match &section {
            Section::Hosts(group) if group.is_empty() => {}
            Section::Hosts(group) => {
                let group = group.clone();
                parse_host_line(&mut b, &group, line, &origin);
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or_default();
                if line.split_whitespace().count() != 1 {
                    b.problems.error(
                        origin,
                        format!(
                            "expected one group name per line in [{group}:children], found `{line}`"
                        ),
                    );
                    continue;
                }
                if let Err(msg) = check_name(NameKind::Group, child) {
                    b.problems
                        .error(origin, format!("in [{group}:children]: {msg}"));
                    continue;
                }
                let group = group.clone();
                b.group(&group, &origin)
                    .children
                    .push((child.to_string(), origin.clone()));
            }
            Section::Vars(group) => match parse_var_assignment(line) {
                Ok((key, value)) => {
                    let group = group.clone();
                    let var = Var {
                        value: Value::String(value),
                        origin: origin.clone().with_key(&key),
                    };
                    b.group(&group, &origin).vars.insert(key, var);
                }
                Err(msg) => b
                    .problems
                    .error(origin, format!("in [{group}:vars]: {msg}")),
            },
        }
    }
    b.finish()
}

fn parse_header(line: &str) -> Result<Section, String> {
    let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
        return Err(format!(
            "section header `{line}` is not closed; expected `[group]`, `[group:children]` or `[group:vars]`"
        ));
    };
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n.trim(), Some(k.trim())),
        None => (inner.trim(), None),
    };
    check_name(NameKind::Group, name)?;
    match kind {
        None => Ok(Section::Hosts(name.to_string())),
        Some("children") => Ok(Section::Children(name.to_string())),
        Some("vars") => Ok(Section::Vars(name.to_string())),
        Some(other) => Err(format!(
            "unknown section kind `:{other}` in `{line}`; expected `:children` or `:vars`"
        )),
    }
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `key=value` (or `key = value`) in a `:vars` section; quotes around the
/// value are removed. Values stay strings, as Ansible reads them there.
fn parse_var_assignment(line: &str) -> Result<(String, String), String> {
    let Some((key, value)) = line.split_once('=') else {
        return Err(format!("expected `key=value`, found `{line}`"));
    };
    let key = key.trim();
    if !valid_var_name(key) {
        return Err(format!("`{key}` is not a valid variable name"));
    }
    let value = value.trim();
    let unquoted = match shlex::split(value) {
        Some(words) if words.len() == 1 => words.into_iter().next().unwrap_or_default(),
        Some(words) if words.is_empty() => String::new(),
        Some(_) => value.to_string(),
        None => return Err(format!("unclosed quote in the value of `{key}`")),
    };
    Ok((key.to_string(), unquoted))
}

/// `host[01:03][:port] key=value key="quoted value" # comment`
fn parse_host_line(b: &mut Builder, group: &str, line: &str, origin: &Origin) {
    let Some(words) = split_words(line) else {
        b.problems
            .error(origin.clone(), format!("unclosed quote in `{line}`"));
        return;
    };
    let mut words = words.into_iter();
    let Some(pattern) = words.next() else { return };
    let (pattern, port) = split_port(&pattern);
    let names = match expand_host_pattern(pattern) {
        Ok(names) => names,
        Err(msg) => {
            b.problems.error(origin.clone(), msg);
            return;
        }
    };
    if let Some(msg) = names
        .iter()
        .find_map(|n| check_name(NameKind::Host, n).err())
    {
        b.problems.error(origin.clone(), msg);
        return;
    }
    let mut vars = Vars::new();
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {
                vars.insert(
                    "ansible_port".to_string(),
                    Var {
                        value: Value::from(p),
                        origin: origin.clone().with_key("ansible_port"),
                    },
                );
            }
            _ => {
                b.problems.error(
                    origin.clone(),
                    format!("port `{port}` after host `{pattern}` is not a number from 1 to 65535"),
                );
                return;
            }
        }
    }
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            b.problems.error(
                origin.clone(),
                format!("expected `key=value` after the host name, found `{word}`"),
            );
            return;
        };
        if !valid_var_name(key) {
            b.problems.error(
                origin.clone(),
                format!("`{key}` is not a valid variable name"),
            );
            return;
        }
        vars.insert(
            key.to_string(),
            Var {
                value: inline_value(value),
                origin: origin.clone().with_key(key),
            },
        );
    }
    for name in names {
        b.add_host(group, &name, vars.clone(), origin);
    }
}

/// Splits a host line into words with shell quoting, up to a `#` comment.
/// Returns None on an unclosed quote.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut lexer = shlex::Shlex::new(line);
    let mut out = Vec::new();
    for w in lexer.by_ref() {
        if w.starts_with('#') {
            return if line_has_unclosed_quote(line) {
                None
            } else {
                Some(out)
            };
        }
        out.push(w);
    }
    if lexer.had_error { None } else { Some(out) }
}

fn line_has_unclosed_quote(line: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line);
    shlex::split(code).is_none()
}

/// Host lines carry Python literals in Ansible: numbers, True/False, and
/// dicts and lists (ceph-ansible's `osd_crush_location="{ 'root': 'HDD' }"`)
/// are typed, everything else is a string.
fn inline_value(raw: &str) -> Value {
    if let Ok(n) = raw.parse::<i64>() {
        return Value::from(n);
    }
    let t = raw.trim();
    if (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')) {
        // A Python dict or list literal is a YAML flow collection.
        if let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_saphyr::from_str::<Value>(t) {
            return v;
        }
    }
    match raw {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        _ => Value::String(raw.to_string()),
    }
}

/// `host:2222` -> (`host`, Some("2222")); a colon inside brackets is a range.
fn split_port(pattern: &str) -> (&str, Option<&str>) {
    let Some(at) = pattern.rfind(':') else {
        return (pattern, None);
    };
    let before = &pattern[..at];
    let inside_brackets = before.matches('[').count() > before.matches(']').count();
    if inside_brackets || pattern[at + 1..].contains(']') {
        (pattern, None)
    } else {
        (before, Some(&pattern[at + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        assert_eq!(split_port("h:22"), ("h", Some("22")));
        assert_eq!(split_port("h[1:3]"), ("h[1:3]", None));
        assert_eq!(split_port("h[1:3]:2222"), ("h[1:3]", Some("2222")));
        assert_eq!(split_port("plain"), ("plain", None));
    }

    #[test]
    fn words_with_comments_and_quotes() {
        assert_eq!(
            split_words(r#"h a=1 b="x y" # note"#).unwrap(),
            ["h", "a=1", "b=x y"]
        );
        assert!(split_words(r#"h a="x"#).is_none());
    }
}
