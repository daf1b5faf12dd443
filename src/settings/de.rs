//! Lenient readers: Ansible files spell booleans yes/no/on/off/true/false,
//! quoted or not, and INI files give every value as text.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "on" | "1" => Some(true),
        "no" | "n" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) => parse_bool(&s).ok_or_else(|| {
            D::Error::custom(format!(
                "expected yes/no, true/false or on/off, found `{s}`"
            ))
        }),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        other => Err(D::Error::custom(format!(
            "expected yes/no, true/false or on/off, found {}",
            crate::yamlfile::kind(&other)
        ))),
    }
}

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            D::Error::custom(format!("expected a whole number of 0 or more, found {n}"))
        }),
        Value::String(s) => s.trim().parse::<u64>().map_err(|_| {
            D::Error::custom(format!("expected a whole number of 0 or more, found `{s}`"))
        }),
        other => Err(D::Error::custom(format!(
            "expected a whole number, found {}",
            crate::yamlfile::kind(&other)
        ))),
    }
}

/// A list, or text as INI files give it: `[a, b]` or `a,b`.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let item = |v: Value| match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(D::Error::custom(format!(
            "expected a list of text, found {} in it",
            crate::yamlfile::kind(&other)
        ))),
    };
    match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().map(item).collect(),
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.trim().starts_with('[') => {
            match serde_saphyr::from_str::<Value>(&s) {
                Ok(Value::Array(items)) => items.into_iter().map(item).collect(),
                _ => Err(D::Error::custom(format!(
                    "expected a list like [a, b], found `{s}`"
                ))),
            }
        }
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()),
        other => Err(D::Error::custom(format!(
            "expected a list, found {}",
            crate::yamlfile::kind(&other)
        ))),
    }
}

/// A mapping of names to scalar values (numbers become text); null is
/// an empty mapping.
pub fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<indexmap::IndexMap<String, String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                other => Err(D::Error::custom(format!(
                    "`{k}`: expected a number or text, found {}",
                    crate::yamlfile::kind(&other)
                ))),
            })
            .collect(),
        Value::Null => Ok(indexmap::IndexMap::new()),
        other => Err(D::Error::custom(format!(
            "expected a mapping of names to values, found {}",
            crate::yamlfile::kind(&other)
        ))),
    }
}

pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(D::Error::custom(format!(
            "expected text, found {}",
            crate::yamlfile::kind(&other)
        ))),
    }
}
