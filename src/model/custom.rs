//! Custom containers (`ceph_custom_containers`): services an operator runs
//! beside the Ceph daemons, read from the setting as written into checked
//! declarations (unknown keys with a suggestion, names through the one
//! name rule, ports, caps, mounts), and which of them each host runs.
//! Plain data and checks: running them is the operations' job (the
//! `custom` module).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Origin, Problems};
use crate::inventory::name::{NameKind, check_name};
use crate::inventory::{Inventory, did_you_mean};
use crate::yamlfile;

/// The setting's key.
pub const KEY: &str = "ceph_custom_containers";

/// The prefix of a custom container's name on a host.
pub const CONTAINER_PREFIX: &str = "ceph_custom_";

/// One custom container, as a host runs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomContainer {
    /// The operator's name (`rbd-mapper`).
    pub name: String,
    pub image: String,
    /// The inventory group whose hosts run it.
    pub hosts: String,
    /// The command after the image (empty: the image's own).
    pub command: Vec<String>,
    /// Ports it listens on, on the host's network.
    pub ports: Vec<u16>,
    pub env: IndexMap<String, String>,
    /// Bind mounts, `SRC:DST[:OPTIONS]`.
    pub mounts: Vec<String>,
    pub cephx: Option<CustomCephx>,
    /// The restart policy; empty: the host's `container_restart_policy`.
    pub restart: String,
    /// The health command, an argument vector (empty: none).
    pub health: Vec<String>,
    /// Where it answers Prometheus (`prometheus-targets`).
    pub metrics_port: Option<u16>,
    /// Where it was declared.
    #[serde(skip)]
    pub origin: Origin,
}

/// The cephx user a custom container gets, with its caps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomCephx {
    /// `client.mapper`.
    pub user: String,
    /// Caps by daemon type (`mon`, `osd`, `mds`, `mgr`), in the order written.
    pub caps: IndexMap<String, String>,
}

impl CustomContainer {
    /// The container's name on a host: `ceph_custom_<name>`.
    pub fn container(&self) -> String {
        format!("{CONTAINER_PREFIX}{}", self.name)
    }
}

impl CustomCephx {
    /// Where its keyring is written on the hosts that run the container.
    pub fn keyring(&self, cluster: &str) -> String {
        format!("/etc/ceph/{cluster}.{}.keyring", self.user)
    }

    /// `mon CAP osd CAP ...`, as `ceph auth` takes them.
    pub fn cap_args(&self) -> Vec<String> {
        self.caps
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect()
    }
}

const FIELDS: &[&str] = &[
    "name",
    "image",
    "hosts",
    "command",
    "ports",
    "env",
    "mounts",
    "cephx",
    "restart",
    "health",
    "metrics_port",
];
const CAP_TYPES: &[&str] = &["mon", "osd", "mds", "mgr"];
const RESTART: &[&str] = &["no", "always", "unless-stopped", "on-failure"];
const MOUNT_OPTIONS: &[&str] = &[
    "ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate", "nocopy",
];

/// Reads the setting as written (`origin`: where it was set) into
/// declarations; every problem goes to `problems`, each with its key path.
pub fn parse(
    raw: &Value,
    origin: &Origin,
    groups: &Inventory,
    problems: &mut Problems,
) -> Vec<CustomContainer> {
    let items = match raw {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        other => {
            problems.error(
                origin.clone(),
                format!(
                    "expected a list of containers, found {}",
                    yamlfile::kind(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<CustomContainer> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |field: &str| {
            let path = if field.is_empty() {
                format!("{KEY}[{i}]")
            } else {
                format!("{KEY}[{i}].{field}")
            };
            origin.clone().with_key(path)
        };
        if let Some(c) = parse_one(item, &at, groups, problems) {
            if out.iter().any(|o| o.name == c.name) {
                problems.error(
                    at("name"),
                    format!("custom container `{}` is declared twice", c.name),
                );
                continue;
            }
            out.push(c);
        }
    }
    out
}

fn parse_one(
    item: &Value,
    at: &dyn Fn(&str) -> Origin,
    inventory: &Inventory,
    problems: &mut Problems,
) -> Option<CustomContainer> {
    let Value::Object(map) = item else {
        problems.error(
            at(""),
            format!(
                "expected a mapping (name, image, hosts, ...), found {}",
                yamlfile::kind(item)
            ),
        );
        return None;
    };
    let before = problems.errors().count();
    for key in map.keys() {
        if !FIELDS.contains(&key.as_str()) {
            let hint = did_you_mean(key, FIELDS.iter().copied())
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_else(|| format!("; known keys: {}", FIELDS.join(", ")));
            problems.error(
                at(key),
                format!("unknown key `{key}` in a custom container{hint}"),
            );
        }
    }
    let text =
        |field: &str, kind: Option<NameKind>, required: bool, problems: &mut Problems| match map
            .get(field)
        {
            None | Some(Value::Null) if required => {
                problems.error(at(field), format!("a custom container needs `{field}`"));
                String::new()
            }
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => {
                if let Some(k) = kind
                    && let Err(e) = check_name(k, s)
                {
                    problems.error(at(field), e);
                }
                s.clone()
            }
            Some(other) => {
                problems.error(
                    at(field),
                    format!("expected text, found {}", yamlfile::kind(other)),
                );
                String::new()
            }
        };
    let name = text("name", Some(NameKind::DaemonId), true, problems);
    let image = text("image", Some(NameKind::Image), true, problems);
    let hosts = text("hosts", None, true, problems);
    let restart = text("restart", None, false, problems);
    if !hosts.is_empty() && !inventory.groups.contains_key(&hosts) {
        let hint = did_you_mean(&hosts, inventory.groups.keys().map(String::as_str))
            .map(|g| format!(" (did you mean `{g}`?)"))
            .unwrap_or_default();
        problems.error(
            at("hosts"),
            format!("`{hosts}` is not a group of the inventory{hint}"),
        );
    }
    let policy = restart.split(':').next().unwrap_or_default();
    if !restart.is_empty()
        && (!RESTART.contains(&policy)
            || restart
                .split_once(':')
                .is_some_and(|(p, n)| p != "on-failure" || n.parse::<u32>().is_err()))
    {
        problems.error(
            at("restart"),
            format!(
                "`{restart}` is not a restart policy (no, always, unless-stopped, on-failure[:N])"
            ),
        );
    }
    let command = words(map.get("command"), &at("command"), problems);
    let health = words(map.get("health"), &at("health"), problems);
    let ports: Vec<u16> = match map.get("ports") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ps)) => ps
            .iter()
            .filter_map(|p| port(p, &at("ports"), problems))
            .collect(),
        Some(other) => {
            problems.error(
                at("ports"),
                format!("expected a list of ports, found {}", yamlfile::kind(other)),
            );
            Vec::new()
        }
    };
    for (i, p) in ports.iter().enumerate() {
        if ports[..i].contains(p) {
            problems.error(at("ports"), format!("port {p} is listed twice"));
        }
    }
    let metrics_port = map
        .get("metrics_port")
        .filter(|v| !v.is_null())
        .and_then(|p| port(p, &at("metrics_port"), problems));
    let env = env(map.get("env"), &at("env"), problems);
    let mounts = words(map.get("mounts"), &at("mounts"), problems);
    for m in &mounts {
        if let Err(why) = check_mount(m) {
            problems.error(at("mounts"), why);
        }
    }
    let cephx = map.get("cephx").filter(|v| !v.is_null()).and_then(|c| {
        cephx(
            c,
            &|f: &str| {
                at(&format!(
                    "cephx{}",
                    if f.is_empty() {
                        String::new()
                    } else {
                        format!(".{f}")
                    }
                ))
            },
            problems,
        )
    });
    if problems.errors().count() > before {
        return None;
    }
    Some(CustomContainer {
        name,
        image,
        hosts,
        command,
        ports,
        env,
        mounts,
        cephx,
        restart,
        health,
        metrics_port,
        origin: at(""),
    })
}

/// An argument vector: a list of text (numbers read as text).
fn words(v: Option<&Value>, origin: &Origin, problems: &mut Problems) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|w| match w {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                other => {
                    problems.error(
                        origin.clone(),
                        format!(
                            "expected a list of text, found {} in it",
                            yamlfile::kind(other)
                        ),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            problems.error(
                origin.clone(),
                format!(
                    "expected a list of words such as [\"/usr/bin/x\", \"--flag\"], found {}",
                    yamlfile::kind(other)
                ),
            );
            Vec::new()
        }
    }
}

fn port(v: &Value, origin: &Origin, problems: &mut Problems) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0) {
        Some(p) => Some(p),
        None => {
            problems.error(
                origin.clone(),
                format!("`{}` is not a port (1 to 65535)", shown(v)),
            );
            None
        }
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => crate::inventory::name::shown(s),
        other => other.to_string(),
    }
}

fn env(v: Option<&Value>, origin: &Origin, problems: &mut Problems) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let name_ok = k
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !name_ok {
                    problems.error(
                        origin.clone().with_key(format!("{}.{}", origin.key.as_deref().unwrap_or_default(), crate::inventory::name::shown(k))),
                        "an environment variable's name is letters, digits and `_`, not starting with a digit",
                    );
                    continue;
                }
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        problems.error(
                            origin.clone(),
                            format!(
                                "`{k}`: expected text, a number or a boolean, found {}",
                                yamlfile::kind(other)
                            ),
                        );
                        continue;
                    }
                };
                out.insert(k.clone(), value);
            }
        }
        Some(other) => problems.error(
            origin.clone(),
            format!(
                "expected a mapping of names to values, found {}",
                yamlfile::kind(other)
            ),
        ),
    }
    out
}

/// `SRC:DST[:OPTIONS]` with absolute paths and known options.
pub fn check_mount(m: &str) -> Result<(), String> {
    let parts: Vec<&str> = m.split(':').collect();
    let path_ok = |p: &str| {
        p.starts_with('/')
            && !p.split('/').any(|s| s == "..")
            && p.chars().all(|c| !c.is_control() && c != ',')
    };
    let ok = match parts.as_slice() {
        [src, dst] => path_ok(src) && path_ok(dst),
        [src, dst, opts] => {
            path_ok(src) && path_ok(dst) && opts.split(',').all(|o| MOUNT_OPTIONS.contains(&o))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a bind mount: expected /host/path:/container/path[:ro]",
            crate::inventory::name::shown(m)
        ))
    }
}

fn cephx(v: &Value, at: &dyn Fn(&str) -> Origin, problems: &mut Problems) -> Option<CustomCephx> {
    let Value::Object(m) = v else {
        problems.error(
            at(""),
            format!(
                "expected {{user: client.NAME, caps: {{mon: ...}}}}, found {}",
                yamlfile::kind(v)
            ),
        );
        return None;
    };
    for k in m.keys().filter(|k| !["user", "caps"].contains(&k.as_str())) {
        let hint = did_you_mean(k, ["user", "caps"].into_iter())
            .map(|x| format!(" (did you mean `{x}`?)"))
            .unwrap_or_default();
        problems.error(
            at(k),
            format!("unknown key `{k}` in cephx (user, caps){hint}"),
        );
    }
    let user = match m.get("user") {
        Some(Value::String(u)) => u.clone(),
        _ => {
            problems.error(at("user"), "cephx needs `user: client.NAME`");
            return None;
        }
    };
    let id = user.strip_prefix("client.").unwrap_or_default();
    if let Err(e) = check_name(NameKind::DaemonId, id) {
        problems.error(
            at("user"),
            format!(
                "`{}` is not a cephx user `client.NAME`: {e}",
                crate::inventory::name::shown(&user)
            ),
        );
    } else if id == "admin" || id.starts_with("bootstrap-") || id.starts_with("rgw.") {
        problems.error(
            at("user"),
            format!("`{user}` is cephalo's own; give the container a user of its own"),
        );
    }
    let mut caps = IndexMap::new();
    match m.get("caps") {
        Some(Value::Object(c)) if !c.is_empty() => {
            for (k, v) in c {
                if !CAP_TYPES.contains(&k.as_str()) {
                    let hint = did_you_mean(k, CAP_TYPES.iter().copied())
                        .map(|x| format!(" (did you mean `{x}`?)"))
                        .unwrap_or_default();
                    problems.error(
                        at(&format!("caps.{k}")),
                        format!("`{k}` is not a daemon type for caps (mon, osd, mds, mgr){hint}"),
                    );
                    continue;
                }
                match v {
                    Value::String(s)
                        if (s.trim_start().starts_with("allow")
                            || s.trim_start().starts_with("profile"))
                            && !s.chars().any(char::is_control) =>
                    {
                        caps.insert(k.clone(), s.clone());
                    }
                    other => problems.error(
                        at(&format!("caps.{k}")),
                        format!(
                            "`{}` is not a cap (`allow r`, `profile rbd`, ...)",
                            shown(other)
                        ),
                    ),
                }
            }
        }
        _ => problems.error(
            at("caps"),
            "cephx needs `caps`, e.g. {mon: \"allow r\", osd: \"allow r\"}",
        ),
    }
    Some(CustomCephx { user, caps })
}

/// The containers a host runs: the declarations whose group it is in.
pub fn for_host(
    decls: &[CustomContainer],
    inventory: &Inventory,
    host: &str,
) -> Vec<CustomContainer> {
    let groups = inventory.groups_of(host);
    decls
        .iter()
        .filter(|c| groups.contains(&c.hosts))
        .cloned()
        .collect()
}

/// Checks across hosts: one cephx user has the same caps wherever it is
/// declared (a cluster has one set of caps per user).
pub fn check_users<'a>(all: impl Iterator<Item = &'a CustomContainer>, problems: &mut Problems) {
    let mut seen: BTreeMap<&str, &CustomContainer> = BTreeMap::new();
    for c in all {
        let Some(x) = &c.cephx else { continue };
        match seen.get(x.user.as_str()) {
            Some(first) if first.cephx.as_ref().map(|f| &f.caps) != Some(&x.caps) => problems
                .error(
                    c.origin.clone(),
                    format!(
                        "cephx user `{}` has other caps at {}; a user has one set of caps",
                        x.user, first.origin
                    ),
                ),
            Some(_) => {}
            None => {
                seen.insert(&x.user, c);
            }
        }
    }
}

/// Checks a host's ports against the Ceph daemons it runs: mons bind 3300
/// and 6789, OSDs, mgrs and mdss 6800-7300, rgw its port.
pub fn check_ports(
    host: &str,
    containers: &[CustomContainer],
    ceph_ports: &[(std::ops::RangeInclusive<u16>, &str)],
    problems: &mut Problems,
) {
    let mut taken: BTreeMap<u16, &str> = BTreeMap::new();
    for c in containers {
        for p in &c.ports {
            if let Some((_, what)) = ceph_ports.iter().find(|(r, _)| r.contains(p)) {
                problems.error(
                    c.origin
                        .clone()
                        .with_key(format!("{}.ports", c.origin.key.as_deref().unwrap_or(KEY))),
                    format!(
                        "port {p} of custom container `{}` is the {what}'s on {host}",
                        c.name
                    ),
                );
            }
            if let Some(other) = taken.insert(*p, &c.name) {
                problems.error(
                    c.origin.clone(),
                    format!("port {p} is both `{other}`'s and `{}`'s on {host}", c.name),
                );
            }
        }
    }
}

/// The declarations read so far, by where they were set: a list in the
/// globals is read (and its problems reported) once, not once per host.
#[derive(Debug, Default)]
pub struct Declared {
    by_origin: BTreeMap<String, Vec<CustomContainer>>,
}

impl Declared {
    /// The containers a host runs, from its settings (`origin_of`: where a
    /// key was set for it), with its ports checked against its daemons'.
    pub fn of_host(
        &mut self,
        hs: &crate::settings::HostSettings,
        origin_of: &dyn Fn(&str) -> Origin,
        inventory: &Inventory,
        host: &str,
        roles: &std::collections::BTreeSet<super::Role>,
        problems: &mut Problems,
    ) -> Vec<CustomContainer> {
        use super::Role;
        let origin = origin_of(KEY);
        let decls = self
            .by_origin
            .entry(origin.to_string())
            .or_insert_with(|| parse(&hs.ceph_custom_containers, &origin, inventory, problems));
        let mine = for_host(decls, inventory, host);
        let mut ceph: Vec<(std::ops::RangeInclusive<u16>, &str)> = Vec::new();
        if roles.contains(&Role::Mon) {
            ceph.push((3300..=3300, "mon"));
            ceph.push((6789..=6789, "mon"));
        }
        if [Role::Osd, Role::Mgr, Role::Mds]
            .iter()
            .any(|r| roles.contains(r))
        {
            ceph.push((6800..=7300, "Ceph daemons' (6800-7300)"));
        }
        let rgw = u16::try_from(hs.ceph_rgw_port).unwrap_or(0);
        if roles.contains(&Role::Rgw) {
            ceph.push((rgw..=rgw, "rgw"));
        }
        check_ports(host, &mine, &ceph, problems);
        mine
    }
}
