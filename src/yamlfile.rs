//! Reading YAML files the way Ansible users write them (YAML 1.1 booleans,
//! merge keys, no duplicate keys), with errors that name the file and line.

use std::path::Path;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::error::{Error, Origin, Result};

/// Parses a whole document into a generic value.
pub fn parse_value(path: &Path, text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| syntax_error(path, &e))
}

/// One top-level key of a mapping file, with the line it is on.
#[derive(Debug, Clone)]
pub struct TopKey {
    pub key: String,
    pub line: u64,
    pub value: Value,
}

/// Parses a file that must be a mapping at the top (globals.yml,
/// passwords.yml), keeping the line of every top-level key. An empty file is
/// an empty mapping.
pub fn parse_top_mapping(path: &Path, text: &str) -> Result<Vec<TopKey>> {
    if text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        return Ok(Vec::new());
    }
    match serde_saphyr::from_str::<TopMapping>(text) {
        Ok(m) => Ok(m.0),
        Err(e) => {
            // A valid document of the wrong shape gets a plain message.
            if let Ok(v) = serde_saphyr::from_str::<Value>(text)
                && !v.is_object()
            {
                if v.is_null() {
                    return Ok(Vec::new());
                }
                return Err(Error::invalid(
                    Origin::file(path),
                    format!(
                        "expected a mapping of `key: value` at the top, found {}",
                        kind(&v)
                    ),
                ));
            }
            Err(syntax_error(path, &e))
        }
    }
}

struct TopMapping(Vec<TopKey>);

impl<'de> Deserialize<'de> for TopMapping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopMapping;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of `key: value`")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<TopMapping, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value: Value = map.next_value()?;
                    out.push(TopKey {
                        line: key.referenced.line(),
                        key: key.value,
                        value,
                    });
                }
                Ok(TopMapping(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn syntax_error(path: &Path, e: &serde_saphyr::Error) -> Error {
    let line = e.location().map(|l| l.line()).filter(|l| *l > 0);
    // The crate's message carries a snippet; keep its first line, the
    // location is ours to print.
    let msg = e.to_string();
    let mut first = msg.lines().next().unwrap_or("invalid YAML").trim();
    first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 3 column 1: duplicate mapping key: x, set DuplicateKeyPolicy ..."
    if first.starts_with("line ")
        && let Some((_, rest)) = first.split_once(": ")
    {
        first = rest;
    }
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(first)
        .to_string();
    Error::invalid(
        Origin::file(path).with_line(line),
        format!("invalid YAML: {first}"),
    )
}

/// A word for the kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_and_duplicates() {
        let p = Path::new("g.yml");
        let m = parse_top_mapping(p, "a: yes\nb: off\nc: \"yes\"\n").unwrap();
        assert_eq!(m[0].value, Value::Bool(true));
        assert_eq!(m[1].value, Value::Bool(false));
        assert_eq!(m[2].value, Value::String("yes".into()));
        assert_eq!(m[2].line, 3);
        let e = parse_top_mapping(p, "a: 1\nb: 2\na: 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("g.yml:3"), "{e}");
        assert!(e.to_lowercase().contains("duplicate"), "{e}");
    }

    #[test]
    fn merge_keys() {
        let v = parse_value(
            Path::new("x.yml"),
            "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",
        )
        .unwrap();
        assert_eq!(v["other"]["x"], Value::from(1));
    }
}
