//! Jinja values in globals, group and host vars (`storage_interface: "{{
//! network_interface }}"`), evaluated the way Ansible evaluates them for
//! what cephalo uses: references to the other vars of the same view
//! (themselves evaluated, lazily), `| default(...)`, `| bool`, `| int`,
//! `~` and `+`. A value that cannot be evaluated is an error naming its
//! file, line and key; a literal `{{ ... }}` never becomes a value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Object, Value as JValue};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::error::Problems;
use crate::inventory::Vars;
use crate::settings::Layer;

/// Whether a value (or a string inside it) is a Jinja template.
pub fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

/// Whether an Ansible fact (`ansible_distribution`, `ansible_facts[...]`,
/// `hostvars`): a name Ansible gathers from the host, never set in an
/// inventory.
fn is_fact(name: &str) -> bool {
    name.starts_with("ansible_") || name == "hostvars"
}

/// What a value needing an Ansible fact that is not known becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutFacts {
    /// An error naming the fact (commands that act on the value).
    Error,
    /// A warning naming the fact; views show the value as written (as
    /// Ansible's `ansible-inventory --list`, which evaluates no template),
    /// the setting takes its role default.
    Warning,
    /// The same as a note (shown with `-v`): `run`, which never uses it.
    Note,
}

/// Replaces every templated value of `layer` with its value evaluated
/// against `view` (every var that applies, not only cephalo's settings)
/// and `magic` (Ansible's `inventory_hostname`, `groups`, ...). A value
/// that cannot be evaluated is reported and replaced by its `fallback` (the
/// role default), so that the error is not reported again as a missing
/// setting; without one it is left out of the layer. A value that needs an
/// Ansible fact is reported as `without_facts` says; unless it is an
/// error, the values as written of those keys are returned, for views to
/// show.
pub fn evaluate(
    layer: &mut Layer,
    view: &Vars,
    magic: Map<String, Value>,
    fallback: &Layer,
    without_facts: WithoutFacts,
    problems: &mut Problems,
) -> Layer {
    let mut as_written = Layer::new();
    if !layer.values().any(|v| has_template(&v.value)) {
        return as_written;
    }
    let ctx = Arc::new(View {
        env: environment(),
        vars: view
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        magic,
        state: Mutex::default(),
    });
    let keys: Vec<String> = layer
        .iter()
        .filter(|(_, v)| has_template(&v.value))
        .map(|(k, _)| k.clone())
        .collect();
    for key in keys {
        let Some(var) = layer.get_mut(&key) else {
            continue;
        };
        match ctx.var(&key, &var.value) {
            Ok(v) => var.value = v,
            Err(why) => {
                let fact = ctx.lock().fact.take();
                match (fact, without_facts) {
                    (Some(fact), WithoutFacts::Warning | WithoutFacts::Note) => {
                        let why = format!(
                            "`{key}` needs Ansible's fact `{fact}`, which only the host knows: shown as written"
                        );
                        if without_facts == WithoutFacts::Warning {
                            problems.warning(var.origin.clone(), why);
                        } else {
                            problems.note(var.origin.clone(), why);
                        }
                        as_written.insert(key.clone(), var.clone());
                    }
                    (Some(fact), WithoutFacts::Error) => problems.error(
                        var.origin.clone(),
                        format!(
                            "cannot evaluate the Jinja value of `{key}`: it needs Ansible's fact `{fact}`, gathered by Ansible from the host, which cephalo does not offer to templates yet; give `{key}` its value for each host (host_vars/HOST or the host's inventory line)"
                        ),
                    ),
                    (None, _) => problems.error(
                        var.origin.clone(),
                        format!("cannot evaluate the Jinja value of `{key}`: {why}"),
                    ),
                }
                match fallback.get(&key) {
                    Some(default) => *var = default.clone(),
                    None => {
                        layer.shift_remove(&key);
                    }
                }
            }
        }
    }
    as_written
}

/// The Jinja environment: strict about undefined names, with Ansible's
/// `bool` and `ternary` filters.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("bool", |v: JValue| -> bool {
        if let Some(b) = v.as_str() {
            return matches!(
                b.trim().to_ascii_lowercase().as_str(),
                "yes" | "on" | "1" | "true"
            );
        }
        match v.kind() {
            minijinja::value::ValueKind::Bool => v.is_true(),
            minijinja::value::ValueKind::Number => v.as_i64() == Some(1),
            _ => false,
        }
    });
    env.add_filter("ternary", |v: JValue, yes: JValue, no: JValue| -> JValue {
        if v.is_true() { yes } else { no }
    });
    env
}

#[derive(Debug, Default)]
struct State {
    /// Vars being evaluated, for recursion.
    stack: Vec<String>,
    done: HashMap<String, Result<Value, String>>,
    /// Why a var looked up while evaluating failed, for the message.
    failure: Option<String>,
    /// The last name looked up and not found.
    missing: Option<String>,
    /// The first Ansible fact looked up and not found.
    fact: Option<String>,
}

/// One host's (or the cluster's) vars as a Jinja context, each evaluated
/// when first looked up.
#[derive(Debug)]
struct View {
    env: Environment<'static>,
    vars: HashMap<String, Value>,
    magic: Map<String, Value>,
    state: Mutex<State>,
}

impl Object for View {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        if let Some(v) = self.magic.get(name) {
            return Some(JValue::from(minijinja::value::Serde(v.clone())));
        }
        let Some(raw) = self.vars.get(name) else {
            let mut st = self.lock();
            st.missing = Some(name.to_string());
            if is_fact(name) && st.fact.is_none() {
                st.fact = Some(name.to_string());
            }
            return None;
        };
        match self.var(name, raw) {
            Ok(v) => Some(JValue::from(minijinja::value::Serde(v))),
            Err(why) => {
                let mut st = self.lock();
                if st.failure.is_none() {
                    st.failure = Some(why);
                }
                None
            }
        }
    }
}

impl View {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of var `name` (raw value `raw`), evaluated once.
    fn var(self: &Arc<Self>, name: &str, raw: &Value) -> Result<Value, String> {
        if !has_template(raw) {
            return Ok(raw.clone());
        }
        {
            let mut st = self.lock();
            if let Some(done) = st.done.get(name) {
                return done.clone();
            }
            if let Some(at) = st.stack.iter().position(|s| s == name) {
                let mut chain: Vec<String> = st.stack[at..].to_vec();
                chain.push(name.to_string());
                return Err(format!(
                    "`{name}` refers to itself ({})",
                    chain.join(" -> ")
                ));
            }
            st.stack.push(name.to_string());
        }
        let result = self.value(raw);
        let mut st = self.lock();
        st.stack.pop();
        st.done.insert(name.to_string(), result.clone());
        result
    }

    /// Evaluates the strings inside a value.
    fn value(self: &Arc<Self>, raw: &Value) -> Result<Value, String> {
        match raw {
            Value::String(s) if s.contains("{{") || s.contains("{%") => self.string(s),
            Value::Array(items) => items
                .iter()
                .map(|v| self.value(v))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.value(v)?)))
                .collect::<Result<_, String>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    /// `"{{ expr }}"` alone keeps the expression's type (a number, a
    /// boolean, a list), as Ansible does; other templates give text.
    fn string(self: &Arc<Self>, s: &str) -> Result<Value, String> {
        let ctx = JValue::from_dyn_object(self.clone());
        let t = s.trim();
        let single = t
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
            .filter(|inner| {
                !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")
            });
        let out = match single {
            Some(expr) => self
                .env
                .compile_expression(expr.trim())
                .and_then(|e| e.eval(ctx))
                .and_then(|v| {
                    if v.is_undefined() {
                        Err(minijinja::Error::new(
                            ErrorKind::UndefinedError,
                            "undefined value",
                        ))
                    } else {
                        Ok(serde_json::to_value(&v).unwrap_or(Value::Null))
                    }
                }),
            None => self.env.render_str(s, ctx).map(Value::String),
        };
        out.map_err(|e| self.explain(s, &e))
    }

    fn explain(&self, s: &str, e: &minijinja::Error) -> String {
        let mut st = self.lock();
        if let Some(why) = st.failure.take() {
            return why;
        }
        let what = match (e.kind(), st.missing.take()) {
            (ErrorKind::UndefinedError, Some(name)) => {
                format!(
                    "`{name}` is not defined (give it a value, or a fallback with `| default(...)`)"
                )
            }
            (ErrorKind::UnknownFilter, _) => {
                let detail = e.detail().unwrap_or_default();
                let name = detail
                    .strip_prefix("filter ")
                    .and_then(|d| d.strip_suffix(" is unknown"))
                    .unwrap_or(detail);
                format!(
                    "unknown filter `{name}` (cephalo evaluates variable references, default, bool, int, ternary, ~ and +)"
                )
            }
            _ => e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.kind().to_string()),
        };
        format!("{what}, in `{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Origin;
    use crate::inventory::Var;

    fn vars(pairs: &[(&str, Value)]) -> Vars {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                (
                    k.to_string(),
                    Var {
                        value: v.clone(),
                        origin: Origin::at_line("globals.yml", i as u64 + 1).with_key(*k),
                    },
                )
            })
            .collect()
    }

    fn eval(pairs: &[(&str, Value)]) -> (Layer, Problems) {
        let view = vars(pairs);
        let mut layer = view.clone();
        let mut problems = Problems::default();
        let _ = evaluate(
            &mut layer,
            &view,
            Map::new(),
            &Layer::new(),
            WithoutFacts::Error,
            &mut problems,
        );
        (layer, problems)
    }

    #[test]
    fn kolla_and_ceph_ansible_expressions() {
        let (l, p) = eval(&[
            ("network_interface", "eth0".into()),
            ("storage_interface", "{{ network_interface }}".into()),
            (
                "api_interface",
                "{{ api_if | default(network_interface) }}".into(),
            ),
            ("flag", "{{ 'yes' | bool }}".into()),
            ("off", "{{ 'off' | bool }}".into()),
            ("port", "{{ '6789' | int + 1 }}".into()),
            ("name", "{{ network_interface ~ '-' ~ 1 }}".into()),
            ("plus", "{{ network_interface + '.10' }}".into()),
            ("mixed", "ip-{{ storage_interface }}".into()),
            ("list", serde_json::json!(["{{ network_interface }}", "lo"])),
        ]);
        assert!(p.0.is_empty(), "{p:?}");
        assert_eq!(l["storage_interface"].value, "eth0");
        assert_eq!(l["api_interface"].value, "eth0");
        assert_eq!(l["flag"].value, true);
        assert_eq!(l["off"].value, false);
        assert_eq!(l["port"].value, 6790);
        assert_eq!(l["name"].value, "eth0-1");
        assert_eq!(l["plus"].value, "eth0.10");
        assert_eq!(l["mixed"].value, "ip-eth0");
        assert_eq!(l["list"].value, serde_json::json!(["eth0", "lo"]));
    }

    #[test]
    fn what_cannot_be_evaluated_is_an_error_at_its_line() {
        let (l, p) = eval(&[
            ("a", "{{ nope }}".into()),
            ("b", "{{ a }}".into()),
            ("c", "{{ d }}".into()),
            ("d", "{{ c }}".into()),
            ("e", "{{ 'x' | ipaddr }}".into()),
        ]);
        let msgs: Vec<String> = p.0.iter().map(ToString::to_string).collect();
        assert!(msgs[0].starts_with("error: globals.yml:1 (key `a`): cannot evaluate the Jinja value of `a`: `nope` is not defined"), "{msgs:?}");
        assert!(
            msgs[1].contains("globals.yml:2 (key `b`)")
                && msgs[1].contains("`nope` is not defined"),
            "{msgs:?}"
        );
        assert!(
            msgs[2].contains("refers to itself (c -> d -> c)"),
            "{msgs:?}"
        );
        assert!(
            msgs[4].contains("globals.yml:5") && msgs[4].contains("ipaddr"),
            "{msgs:?}"
        );
        // No literal template is left as a value.
        assert!(l.values().all(|v| !has_template(&v.value)));
    }

    #[test]
    fn a_value_needing_an_ansible_fact_is_a_note_in_views_and_an_error_naming_it_otherwise() {
        let view = vars(&[
            ("public_network", "10.0.0.0/24".into()),
            (
                "monitor_interface",
                "{{ 'eth1' if ansible_distribution == 'CentOS' else 'ens6' }}".into(),
            ),
            ("other", "{{ nope }}".into()),
        ]);
        let fallback: Layer = vars(&[("monitor_interface", "eth0".into())]);
        for mode in [
            WithoutFacts::Warning,
            WithoutFacts::Note,
            WithoutFacts::Error,
        ] {
            let mut layer = view.clone();
            let mut problems = Problems::default();
            let written = evaluate(
                &mut layer,
                &view,
                Map::new(),
                &fallback,
                mode,
                &mut problems,
            );
            let keys: Vec<&String> = written.keys().collect();
            match mode {
                WithoutFacts::Error => assert!(keys.is_empty()),
                _ => assert_eq!(keys, ["monitor_interface"]),
            }
            if mode != WithoutFacts::Error {
                assert_eq!(
                    written["monitor_interface"].value,
                    view["monitor_interface"].value
                );
            }
            let msgs: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
            let fact = msgs
                .iter()
                .find(|m| m.contains("(key `monitor_interface`)"))
                .unwrap_or_else(|| panic!("{msgs:?}"));
            assert!(fact.contains("`ansible_distribution`"), "{fact}");
            match mode {
                WithoutFacts::Warning | WithoutFacts::Note => {
                    let level = if mode == WithoutFacts::Note {
                        "note: "
                    } else {
                        "warning: "
                    };
                    assert!(fact.starts_with(level), "{fact}");
                    assert!(fact.contains("shown as written"), "{fact}");
                }
                WithoutFacts::Error => {
                    assert!(fact.starts_with("error: "), "{fact}");
                    assert!(fact.contains("host_vars/HOST"), "{fact}");
                }
            }
            // The setting takes its role default, never the template.
            assert_eq!(layer["monitor_interface"].value, "eth0");
            // A name that is no fact is an error either way.
            assert!(
                msgs.iter()
                    .any(|m| m.starts_with("error: ") && m.contains("`nope` is not defined")),
                "{msgs:?}"
            );
        }
    }
}
