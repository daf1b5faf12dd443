//! The one typed, validated cluster model: inventory + globals + passwords +
//! role defaults + `-e`, resolved per host. Every problem is reported at
//! once, with its file and line or key; nothing here touches the network.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::Value;
use uuid::Uuid;

use crate::cephx::{Secret, SecretKind};
use crate::error::{Error, Origin, Problems, Result};
use crate::inventory::{Inventory, Var, Vars, did_you_mean};
use crate::passwords::{IDENTITIES, Passwords};
use crate::release::{self, Release};
use crate::render::CephConf;
use crate::settings::{self, Catalog, ClusterSettings, HostSettings, Layer, Scope};
use crate::yamlfile;

/// What a host does in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mon,
    Mgr,
    Osd,
    Mds,
    Rgw,
    Client,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Mon,
        Role::Mgr,
        Role::Osd,
        Role::Mds,
        Role::Rgw,
        Role::Client,
    ];

    /// Inventory groups that give this role: ceph-ansible's name, kolla's,
    /// and the `storage-*` names of older kolla talks.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            Role::Mon => &["mons", "ceph-mon", "storage-mon"],
            Role::Mgr => &["mgrs", "ceph-mgr", "storage-mgr"],
            Role::Osd => &["osds", "ceph-osd", "storage-osd"],
            Role::Mds => &["mdss", "ceph-mds", "storage-mds"],
            Role::Rgw => &["rgws", "ceph-rgw", "storage-rgw"],
            Role::Client => &["clients", "ceph-client"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Mon => "mon",
            Role::Mgr => "mgr",
            Role::Osd => "osd",
            Role::Mds => "mds",
            Role::Rgw => "rgw",
            Role::Client => "client",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn command(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// The `ps --format` template of a container label: docker has a
    /// `Label` method, podman a `Labels` map.
    pub fn ps_label(self, key: &str) -> String {
        match self {
            Engine::Docker => format!("{{{{.Label \"{key}\"}}}}"),
            Engine::Podman => format!("{{{{index .Labels \"{key}\"}}}}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectStore {
    Bluestore,
    Filestore,
}

/// How cephalo reaches a host (Ansible's connection variables).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    /// Address or name to connect to (`ansible_host`, else the host name).
    pub address: String,
    pub port: u16,
    /// Remote user; None means the local user's name.
    pub user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    /// Run commands through `sudo -n`.
    pub become_root: bool,
    /// `ansible_connection=local`: run on this machine without SSH.
    pub local: bool,
    /// `ansible_password` / `ansible_ssh_pass`: used only when set.
    #[serde(skip)]
    pub password: Option<Password>,
    /// Reach the host through this one (`-o ProxyJump=` / `-J` in
    /// `ansible_ssh_common_args`, or the `ssh_jump_host` setting).
    pub jump: Option<JumpHost>,
}

/// A bastion host: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JumpHost {
    pub user: Option<String>,
    pub address: String,
    pub port: u16,
}

impl JumpHost {
    /// Parses `[user@]host[:port]` (`[v6]:port` too).
    pub fn parse(text: &str) -> Option<JumpHost> {
        let text = text.trim();
        // Only the first hop of a `a,b` chain is supported.
        if text.is_empty() || text.contains(',') || text.contains(char::is_whitespace) {
            return None;
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
            Some(_) => return None,
            None => (None, text),
        };
        let (address, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => 22,
                None => return None,
            };
            (addr.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((a, p)) => (a.to_string(), p.parse().ok()?),
                None => (rest.to_string(), 22),
            }
        };
        if address.is_empty() || port == 0 {
            return None;
        }
        Some(JumpHost {
            user,
            address,
            port,
        })
    }

    /// From `ansible_ssh_common_args`: `-J X`, `-JX`, `-o ProxyJump=X`,
    /// `-o ProxyJump X`.
    pub fn from_ssh_args(args: &str) -> Result<Option<JumpHost>, String> {
        let words = shlex::split(args).ok_or_else(|| format!("unclosed quote in `{args}`"))?;
        let mut found = None;
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let value = if w == "-J" {
                i += 1;
                words.get(i).cloned()
            } else if let Some(v) = w.strip_prefix("-J") {
                Some(v.to_string())
            } else if w == "-o" {
                i += 1;
                words.get(i).and_then(|o| {
                    proxy_jump_option(o, words.get(i + 1))
                        .inspect(|(_, used_next)| {
                            if *used_next {
                                i += 1;
                            }
                        })
                        .map(|(v, _)| v)
                })
            } else if let Some(o) = w.strip_prefix("-o") {
                proxy_jump_option(o, None).map(|(v, _)| v)
            } else {
                None
            };
            if let Some(v) = value {
                found = Some(JumpHost::parse(&v).ok_or_else(|| {
                    format!("cannot read the jump host `{v}`; expected [user@]host[:port]")
                })?);
            }
            i += 1;
        }
        Ok(found)
    }
}

/// `ProxyJump=X` or `ProxyJump X`; other options are not ours.
fn proxy_jump_option(opt: &str, next: Option<&String>) -> Option<(String, bool)> {
    // ssh takes `Name=value` and `Name value` alike.
    let opt = opt.trim();
    let (name, value) = match opt.find(|c: char| c == '=' || c.is_whitespace()) {
        Some(at) => (
            &opt[..at],
            Some(
                opt[at + 1..]
                    .trim()
                    .trim_start_matches('=')
                    .trim()
                    .to_string(),
            ),
        ),
        None => (opt, None),
    };
    if !name.eq_ignore_ascii_case("proxyjump") {
        return None;
    }
    match value {
        Some(v) => Some((v, false)),
        None => next.map(|n| (n.clone(), true)),
    }
}

/// A login password: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub connection: Connection,
    pub roles: BTreeSet<Role>,
    /// This host's address on the public network, when known from the files.
    pub public_address: Option<IpAddr>,
    pub engine: Engine,
    pub object_store: ObjectStore,
    pub settings: HostSettings,
    /// Every effective variable of the host with where it was set.
    pub vars: Layer,
}

impl Host {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Where commands for this host go.
    pub fn endpoint(&self) -> crate::transport::Endpoint {
        crate::transport::Endpoint {
            name: self.name.clone(),
            connection: self.connection.clone(),
        }
    }
}

/// Where the input files were found.
#[derive(Debug, Clone)]
pub struct Files {
    pub inventory: PathBuf,
    pub globals: PathBuf,
    pub passwords: PathBuf,
    /// kolla-style override folder: `config/` next to the globals.
    pub config_dir: PathBuf,
}

/// The cluster as cephalo will deploy it.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub files: Files,
    pub name: String,
    pub release: Release,
    pub fsid: Uuid,
    pub image: String,
    pub public_network: IpNet,
    pub cluster_network: Option<IpNet>,
    pub settings: ClusterSettings,
    /// Hosts with at least one Ceph role, in inventory order.
    pub hosts: Vec<Host>,
    /// Secrets by entity (`mon.`, `client.admin`, `client.bootstrap-osd` ...).
    pub secrets: BTreeMap<String, Secret>,
    /// kolla-style ceph.conf override files.
    pub conf_overrides: ConfOverrides,
    /// Warnings and notes found while loading (no errors: those fail).
    pub warnings: Problems,
}

/// `config/ceph.conf` and `config/<host>/ceph.conf` next to the globals.
#[derive(Debug, Clone, Default)]
pub struct ConfOverrides {
    pub global: Option<CephConf>,
    pub per_host: BTreeMap<String, CephConf>,
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

impl Cluster {
    pub fn hosts_with(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.has(role))
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// What the operator pointed cephalo at.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub inventory: PathBuf,
    pub globals: Option<PathBuf>,
    pub passwords: Option<PathBuf>,
    /// `-e key=value`, highest precedence.
    pub extra_vars: Vec<String>,
    /// Inventory hosts in no Ceph group to take as clients all the same
    /// (the hosts `cephalo admin` is pointed at).
    pub extra_clients: Vec<String>,
}

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
    let inventory = collect(Inventory::load(&sources.inventory), &mut problems)?;
    let globals = collect(read_globals(&globals_path), &mut problems)?.unwrap_or_default();
    let passwords = if passwords_path.exists() {
        collect(
            Passwords::load(&passwords_path, &mut problems),
            &mut problems,
        )?
        .unwrap_or_default()
    } else {
        problems.error(
            Origin::file(&passwords_path),
            "passwords file not found; run `cephalo genpwd --passwords FILE` to make one",
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

/// The parsed input files of `resolve`.
pub struct Inputs<'a> {
    pub inventory: &'a Inventory,
    pub globals: &'a Vars,
    pub passwords: &'a Passwords,
    pub extra: &'a Vars,
    pub extra_clients: &'a [String],
}

/// Builds the model from parsed files (pure: no file or network access).
pub fn resolve(
    files: Files,
    inputs: &Inputs<'_>,
    conf_overrides: ConfOverrides,
    mut problems: Problems,
) -> Result<Cluster> {
    let Inputs {
        inventory,
        globals,
        passwords,
        extra,
        extra_clients,
    } = *inputs;
    let catalog = Catalog::builtin();
    let mut ignored = Vec::new();
    let globals_layer = settings::classify_layer(
        &catalog,
        globals,
        true,
        "globals",
        &mut problems,
        &mut ignored,
    );
    let extra_layer =
        settings::classify_layer(&catalog, extra, true, "-e", &mut problems, &mut ignored);

    // Cluster-wide settings: defaults < globals < -e.
    let cluster_layer = settings::merge(&[&catalog.defaults, &globals_layer, &extra_layer]);
    let cluster_settings: Option<ClusterSettings> =
        settings::extract(&catalog, &cluster_layer, Scope::Cluster, &mut problems);

    // Group vars in Ansible's order, then host vars.
    let mut group_layers: BTreeMap<String, Layer> = BTreeMap::new();
    for (name, group) in &inventory.groups {
        let layer = settings::classify_layer(
            &catalog,
            &group.vars,
            false,
            &format!("the vars of group `{name}`"),
            &mut problems,
            &mut ignored,
        );
        group_layers.insert(name.clone(), layer);
    }

    // Roles from groups.
    let mut role_hosts: BTreeMap<Role, Vec<String>> = BTreeMap::new();
    for role in Role::ALL {
        let mut hosts = Vec::new();
        for g in role.groups() {
            if inventory.groups.contains_key(*g) {
                for h in inventory.hosts_of(g) {
                    if !hosts.contains(&h) {
                        hosts.push(h);
                    }
                }
            }
        }
        role_hosts.insert(role, hosts);
    }
    let mgr_group_defined = Role::Mgr
        .groups()
        .iter()
        .any(|g| inventory.groups.contains_key(*g));
    let inv_origin = Origin::file(&inventory.path);
    if !mgr_group_defined {
        let mons = role_hosts[&Role::Mon].clone();
        role_hosts.insert(Role::Mgr, mons);
    } else if role_hosts[&Role::Mgr].is_empty() {
        problems.error(
            inv_origin.clone(),
            "the mgr group has no hosts; add hosts to it, or remove it to run mgrs on the mon hosts",
        );
    }
    let cs = cluster_settings.as_ref();
    for (role, flag, enabled) in [
        (Role::Mds, "enable_ceph_mds", cs.map(|c| c.enable_ceph_mds)),
        (Role::Rgw, "enable_ceph_rgw", cs.map(|c| c.enable_ceph_rgw)),
    ] {
        let has_hosts = !role_hosts[&role].is_empty();
        match enabled {
            Some(true) if !has_hosts => problems.error(
                cluster_layer[flag].origin.clone(),
                format!(
                    "{flag} is on but no host is in a {} group ({})",
                    role.name(),
                    role.groups().join(", ")
                ),
            ),
            Some(false) if has_hosts => {
                problems.warning(
                    inv_origin.clone(),
                    format!(
                        "hosts are listed in the {} group but {flag} is off: no {} is deployed",
                        role.name(),
                        role.name()
                    ),
                );
                role_hosts.insert(role, Vec::new());
            }
            _ => {}
        }
    }
    if role_hosts[&Role::Mon].is_empty() {
        problems.error(
            inv_origin.clone(),
            format!(
                "no monitor: put at least one host in one of the groups {}",
                Role::Mon.groups().join(", ")
            ),
        );
    } else if role_hosts[&Role::Mon].len().is_multiple_of(2) {
        problems.warning(
            inv_origin.clone(),
            format!(
                "{} monitors: an even number tolerates no more failures than one fewer; use an odd number",
                role_hosts[&Role::Mon].len()
            ),
        );
    }

    // Cluster-wide values. A problem with a value that is still the role
    // default is reported against the globals file, where it is fixed.
    let origin_of = |key: &str| match cluster_layer.get(key) {
        Some(v) if !v.origin.file.starts_with("roles") => v.origin.clone(),
        _ => Origin::file(&files.globals).with_key(key),
    };
    let release = cs.and_then(|c| {
        let r = Release::parse(&c.ceph_release);
        if r.is_none() {
            let names: Vec<&str> = Release::ALL.iter().map(|r| r.name()).collect();
            let hint = did_you_mean(&c.ceph_release.to_ascii_lowercase(), names.into_iter())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.error(
                origin_of("ceph_release"),
                format!(
                    "unknown Ceph release `{}`{hint}; known: {}",
                    c.ceph_release,
                    release::known_names()
                ),
            );
        }
        r
    });
    let public_network = cs.and_then(|c| {
        if c.public_network.trim().is_empty() {
            problems.error(
                origin_of("public_network"),
                "public_network is required: the CIDR the mons and clients use, like 192.168.10.0/24",
            );
            return None;
        }
        parse_network(&c.public_network, "public_network", &origin_of("public_network"), &mut problems)
    });
    let cluster_network = cs.and_then(|c| {
        if c.cluster_network.trim().is_empty() {
            None
        } else {
            parse_network(
                &c.cluster_network,
                "cluster_network",
                &origin_of("cluster_network"),
                &mut problems,
            )
        }
    });
    if let Some(c) = cs {
        if c.osd_pool_default_min_size > c.osd_pool_default_size {
            problems.error(
                origin_of("osd_pool_default_min_size"),
                format!(
                    "osd_pool_default_min_size ({}) is larger than osd_pool_default_size ({})",
                    c.osd_pool_default_min_size, c.osd_pool_default_size
                ),
            );
        }
        if c.osd_pool_default_size == 0 {
            problems.error(
                origin_of("osd_pool_default_size"),
                "osd_pool_default_size must be at least 1",
            );
        }
        if !valid_cluster_name(&c.cluster_name) {
            problems.error(
                origin_of("cluster_name"),
                format!(
                    "cluster_name `{}` must be letters, digits, `-` or `_`",
                    c.cluster_name
                ),
            );
        }
        for (section, options) in &c.ceph_conf_overrides {
            if section.trim().is_empty() || options.keys().any(|k| k.trim().is_empty()) {
                problems.error(
                    origin_of("ceph_conf_overrides"),
                    "ceph_conf_overrides has an empty section or option name",
                );
            }
        }
    }
    // cephx_key_type must fit the release (genpwd uses it; here only checked).
    if let (Some(c), Some(r)) = (cs, release) {
        secret_kind(
            &c.cephx_key_type,
            r,
            &origin_of("cephx_key_type"),
            &mut problems,
        );
    }

    // Hosts.
    let mut hosts = Vec::new();
    let mut addresses: BTreeMap<(String, u16), String> = BTreeMap::new();
    for (name, decl) in &inventory.hosts {
        let mut roles: BTreeSet<Role> = Role::ALL
            .into_iter()
            .filter(|r| role_hosts[r].contains(name))
            .collect();
        if roles.is_empty() {
            if !extra_clients.contains(name) {
                continue;
            }
            roles.insert(Role::Client);
        }
        let host_layer = settings::classify_layer(
            &catalog,
            &decl.vars,
            false,
            &format!("the vars of host `{name}`"),
            &mut problems,
            &mut ignored,
        );
        let mut layers: Vec<&Layer> = vec![&catalog.defaults, &globals_layer];
        let groups = inventory.groups_of(name);
        for g in &groups {
            if let Some(l) = group_layers.get(g) {
                layers.push(l);
            }
        }
        layers.push(&host_layer);
        layers.push(&extra_layer);
        let merged = settings::merge(&layers);
        let Some(hs) =
            settings::extract::<HostSettings>(&catalog, &merged, Scope::Host, &mut problems)
        else {
            continue;
        };
        let connection = connection_of(name, &merged, &mut problems);
        if !connection.local {
            let key = (connection.address.clone(), connection.port);
            if let Some(other) = addresses.get(&key) {
                problems.error(
                    merged
                        .get("ansible_host")
                        .map(|v| v.origin.clone())
                        .unwrap_or_else(|| decl.origin.clone()),
                    format!(
                        "hosts `{other}` and `{name}` have the same address {}:{}",
                        key.0, key.1
                    ),
                );
            } else {
                addresses.insert(key, name.clone());
            }
        }
        let o = |k: &str| merged.get(k).map(|v| v.origin.clone()).unwrap_or_default();
        let engine = match hs.container_engine.as_str() {
            "docker" => Engine::Docker,
            "podman" => Engine::Podman,
            other => {
                problems.error(
                    o("container_engine"),
                    format!("container_engine must be docker or podman, found `{other}`"),
                );
                Engine::Docker
            }
        };
        let object_store = match hs.ceph_osd_store_type.as_str() {
            "bluestore" => ObjectStore::Bluestore,
            "filestore" => {
                if let Some(r) = release
                    && !r.supports_filestore()
                    && roles.contains(&Role::Osd)
                {
                    problems.error(
                        o("ceph_osd_store_type"),
                        format!("filestore OSDs are not supported by {r} (removed in reef); use bluestore"),
                    );
                }
                ObjectStore::Filestore
            }
            other => {
                problems.error(
                    o("ceph_osd_store_type"),
                    format!("ceph_osd_store_type must be bluestore or filestore, found `{other}`"),
                );
                ObjectStore::Bluestore
            }
        };
        if roles.contains(&Role::Osd) {
            if hs.ceph_osd_devices.is_empty() && !hs.ceph_osd_bootstrap_labels {
                problems.error(
                    o("ceph_osd_bootstrap_labels"),
                    format!(
                        "OSD host `{name}` has no way to find disks: ceph_osd_devices is empty and ceph_osd_bootstrap_labels is off"
                    ),
                );
            }
            for d in &hs.ceph_osd_devices {
                if !d.starts_with("/dev/") {
                    problems.error(
                        o("ceph_osd_devices"),
                        format!("OSD device `{d}` of host `{name}` is not a /dev/ path"),
                    );
                }
            }
        }
        tuning_problems(&hs, &o, &mut problems);
        let public_address = public_address_of(
            (name, &decl.origin),
            &hs,
            &connection,
            &roles,
            public_network,
            &merged,
            &mut problems,
        );
        hosts.push(Host {
            name: name.clone(),
            connection,
            roles,
            public_address,
            engine,
            object_store,
            settings: hs,
            vars: merged,
        });
    }

    // Secrets and fsid.
    let fsid = match &passwords.fsid {
        Some((u, _)) => Some(*u),
        None => {
            if passwords.path.exists() {
                problems.error(
                    Origin::file(&passwords.path).with_key(crate::passwords::FSID_KEY),
                    "the cluster fsid is missing; run `cephalo genpwd` to fill it in",
                );
            }
            None
        }
    };
    let mut secrets = BTreeMap::new();
    for (key, entity) in IDENTITIES {
        match passwords.keys.get(*entity) {
            Some((secret, origin)) => {
                if let (Some(r), SecretKind::Aes256) = (release, secret.kind())
                    && !r.info().accepts_aes256
                {
                    problems.error(
                        origin.clone(),
                        format!("the {entity} key is an aes256 (type 2) secret, which {r} does not accept"),
                    );
                }
                secrets.insert(entity.to_string(), secret.clone());
            }
            None if passwords.path.exists() => problems.error(
                Origin::file(&passwords.path).with_key(*key),
                format!("the {entity} key is missing; run `cephalo genpwd` to fill it in"),
            ),
            None => {}
        }
    }

    if !ignored.is_empty() {
        let mut names: Vec<&str> = ignored.iter().map(|(k, _)| k.as_str()).collect();
        names.dedup();
        let shown: Vec<&str> = names.iter().take(5).copied().collect();
        problems.note(
            ignored[0].1.clone(),
            format!(
                "{} kolla-ansible or Ansible key(s) not used by cephalo were ignored ({}{})",
                names.len(),
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        );
    }

    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    let (Some(c), Some(release), Some(public_network), Some(fsid)) =
        (cluster_settings, release, public_network, fsid)
    else {
        return Err(Error::Invalid { problems });
    };
    let image = image_name(&c, release);
    Ok(Cluster {
        files,
        name: c.cluster_name.clone(),
        release,
        fsid,
        image,
        public_network,
        cluster_network,
        settings: c,
        hosts,
        secrets,
        conf_overrides,
        warnings: problems,
    })
}

/// Tuning settings that would make no sense (or an unsafe path) on a host.
fn tuning_problems(hs: &HostSettings, o: &dyn Fn(&str) -> Origin, problems: &mut Problems) {
    for d in &hs.ceph_tcmalloc_daemons {
        if !["osd", "mon", "mgr", "mds", "rgw"].contains(&d.as_str()) {
            problems.error(
                o("ceph_tcmalloc_daemons"),
                format!("ceph_tcmalloc_daemons: `{d}` is no daemon type (osd, mon, mgr, mds, rgw)"),
            );
        }
    }
    for (key, value) in &hs.ceph_sysctl {
        let ok = !key.is_empty()
            && key.split(['.', '/']).all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !ok {
            problems.error(
                o("ceph_sysctl"),
                format!("ceph_sysctl: `{key}` is not a kernel setting name like net.core.rmem_max"),
            );
        }
        if value.contains(['\n', '\r']) || value.trim().is_empty() {
            problems.error(
                o("ceph_sysctl"),
                format!("ceph_sysctl: `{key}` needs a one-line value"),
            );
        }
    }
    for (name, list) in [
        (
            "ceph_block_scheduler_rotational",
            &hs.ceph_block_scheduler_rotational,
        ),
        ("ceph_block_scheduler_ssd", &hs.ceph_block_scheduler_ssd),
    ] {
        for s in list {
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.error(
                    o(name),
                    format!("{name}: `{s}` is not an I/O scheduler name"),
                );
            }
        }
    }
}

/// `<registry>/<namespace>/<name>:<tag>`, the tag defaulting to the release.
pub fn image_name(c: &ClusterSettings, release: Release) -> String {
    let tag = if c.ceph_image_tag.is_empty() {
        release.name()
    } else {
        &c.ceph_image_tag
    };
    let mut parts: Vec<&str> = Vec::new();
    if !c.ceph_image_registry.is_empty() {
        parts.push(&c.ceph_image_registry);
    }
    if !c.ceph_image_namespace.is_empty() {
        parts.push(&c.ceph_image_namespace);
    }
    parts.push(&c.ceph_image_name);
    format!("{}:{tag}", parts.join("/"))
}

/// The kind of secret genpwd makes for this release and setting.
pub fn secret_kind(
    setting: &str,
    release: Release,
    origin: &Origin,
    problems: &mut Problems,
) -> Option<SecretKind> {
    match setting {
        "auto" => Some(release.info().generated_secret),
        "aes" => Some(SecretKind::Aes),
        "aes256" if release.info().accepts_aes256 => Some(SecretKind::Aes256),
        "aes256" => {
            problems.error(
                origin.clone(),
                format!(
                    "cephx_key_type aes256 (type 2) is not accepted by {release}; use aes or auto"
                ),
            );
            None
        }
        other => {
            problems.error(
                origin.clone(),
                format!("cephx_key_type must be auto, aes or aes256, found `{other}`"),
            );
            None
        }
    }
}

fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_network(text: &str, key: &str, origin: &Origin, problems: &mut Problems) -> Option<IpNet> {
    match text.trim().parse::<IpNet>() {
        Ok(n) => Some(n),
        Err(_) => {
            problems.error(
                origin.clone(),
                format!("{key} `{text}` is not a network in CIDR form like 192.168.10.0/24"),
            );
            None
        }
    }
}

fn var_str(layer: &Layer, keys: &[&str]) -> Option<(String, Origin)> {
    keys.iter().find_map(|k| {
        layer.get(*k).map(|v| {
            let s = match &v.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (s, v.origin.clone())
        })
    })
}

fn connection_of(name: &str, layer: &Layer, problems: &mut Problems) -> Connection {
    let address = var_str(layer, &["ansible_host", "ansible_ssh_host"])
        .map(|(s, _)| s)
        .unwrap_or_else(|| name.to_string());
    let port = match var_str(layer, &["ansible_port", "ansible_ssh_port"]) {
        None => 22,
        Some((s, origin)) => match s.trim().parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                problems.error(
                    origin,
                    format!("ansible_port `{s}` is not a port number from 1 to 65535"),
                );
                22
            }
        },
    };
    let user = var_str(layer, &["ansible_user", "ansible_ssh_user"]).map(|(s, _)| s);
    let private_key_file = var_str(
        layer,
        &["ansible_ssh_private_key_file", "ansible_private_key_file"],
    )
    .map(|(s, _)| PathBuf::from(s));
    let become_root = match var_str(layer, &["ansible_become"]) {
        None => false,
        Some((s, origin)) => settings::de::parse_bool(&s).unwrap_or_else(|| {
            problems.error(
                origin,
                format!("ansible_become must be yes/no or true/false, found `{s}`"),
            );
            false
        }),
    };
    let local = match var_str(layer, &["ansible_connection"]) {
        None => false,
        Some((s, _)) if s == "local" => true,
        Some((s, _)) if s == "ssh" || s == "smart" || s == "paramiko" => false,
        Some((s, origin)) => {
            problems.error(
                origin,
                format!("ansible_connection `{s}` is not supported; use ssh or local"),
            );
            false
        }
    };
    let password =
        var_str(layer, &["ansible_password", "ansible_ssh_pass"]).map(|(s, _)| Password(s));
    let mut jump = None;
    if let Some((args, origin)) = var_str(
        layer,
        &["ansible_ssh_common_args", "ansible_ssh_extra_args"],
    ) {
        match JumpHost::from_ssh_args(&args) {
            Ok(j) => jump = j,
            Err(why) => problems.error(origin, why),
        }
    }
    if let Some((text, origin)) = var_str(layer, &["ssh_jump_host"]).filter(|(s, _)| !s.is_empty())
    {
        match JumpHost::parse(&text) {
            Some(j) => jump = Some(j),
            None => problems.error(
                origin,
                format!("ssh_jump_host `{text}` must look like [user@]host[:port]"),
            ),
        }
    }
    Connection {
        address,
        port,
        user,
        private_key_file,
        become_root,
        local,
        password,
        jump,
    }
}

/// This host's address on the public network; mons must have one inside it.
fn public_address_of(
    (name, declared): (&str, &Origin),
    hs: &HostSettings,
    conn: &Connection,
    roles: &BTreeSet<Role>,
    public_network: Option<IpNet>,
    layer: &Layer,
    problems: &mut Problems,
) -> Option<IpAddr> {
    let origin = |k: &str| {
        layer
            .get(k)
            .map(|v| v.origin.clone())
            .unwrap_or_else(|| declared.clone())
    };
    let (addr, from) = if !hs.public_address.is_empty() {
        match hs.public_address.parse::<IpAddr>() {
            Ok(a) => (Some(a), "public_address"),
            Err(_) => {
                problems.error(
                    origin("public_address"),
                    format!(
                        "public_address `{}` of host `{name}` is not an IP address",
                        hs.public_address
                    ),
                );
                return None;
            }
        }
    } else {
        (conn.address.parse::<IpAddr>().ok(), "ansible_host")
    };
    if roles.contains(&Role::Mon) {
        match (addr, public_network) {
            (None, _) => problems.error(
                origin("ansible_host"),
                format!(
                    "mon `{name}` needs its address on public_network: set public_address, or ansible_host to an IP address"
                ),
            ),
            (Some(a), Some(net)) if !net.contains(&a) => problems.error(
                origin(from),
                format!("mon `{name}` has address {a} ({from}), which is outside public_network {net}; set public_address"),
            ),
            _ => {}
        }
    }
    addr
}

/// The hosts of an inventory as places to run commands, for commands that
/// need no Ceph roles (`cephalo run`): connection vars resolved per host,
/// with the cluster-wide settings that govern connections.
#[derive(Debug, Clone)]
pub struct Targets {
    pub inventory: Inventory,
    pub endpoints: Vec<crate::transport::Endpoint>,
    pub settings: ClusterSettings,
    /// The project known_hosts file.
    pub known_hosts: PathBuf,
    pub warnings: Problems,
}

/// Loads the inventory (and the globals when there are any) for `run`.
pub fn load_targets(sources: &Sources) -> Result<Targets> {
    let globals_path = find_file(
        sources.globals.as_deref(),
        &sources.inventory,
        "globals.yml",
    );
    let mut problems = Problems::default();
    let inventory = collect(Inventory::load(&sources.inventory), &mut problems)?;
    let globals = if globals_path.exists() || sources.globals.is_some() {
        collect(read_globals(&globals_path), &mut problems)?.unwrap_or_default()
    } else {
        Vars::new()
    };
    let extra = parse_extra_vars(&sources.extra_vars, &mut problems);
    let Some(inventory) = inventory.filter(|_| !problems.has_errors()) else {
        return Err(Error::Invalid { problems });
    };
    let catalog = Catalog::builtin();
    let mut ignored = Vec::new();
    let globals_layer = settings::classify_layer(
        &catalog,
        &globals,
        true,
        "globals",
        &mut problems,
        &mut ignored,
    );
    let extra_layer =
        settings::classify_layer(&catalog, &extra, true, "-e", &mut problems, &mut ignored);
    let cluster_layer = settings::merge(&[&catalog.defaults, &globals_layer, &extra_layer]);
    let cluster: Option<ClusterSettings> =
        settings::extract(&catalog, &cluster_layer, Scope::Cluster, &mut problems);
    let mut endpoints = Vec::new();
    for (name, decl) in &inventory.hosts {
        let mut layers: Vec<Layer> = vec![globals_layer.clone()];
        for g in inventory.groups_of(name) {
            let vars = &inventory.groups[&g].vars;
            layers.push(settings::classify_layer(
                &catalog,
                vars,
                false,
                &format!("the vars of group `{g}`"),
                &mut problems,
                &mut ignored,
            ));
        }
        layers.push(settings::classify_layer(
            &catalog,
            &decl.vars,
            false,
            &format!("the vars of host `{name}`"),
            &mut problems,
            &mut ignored,
        ));
        layers.push(extra_layer.clone());
        let refs: Vec<&Layer> = layers.iter().collect();
        let merged = settings::merge(&refs);
        let connection = connection_of(name, &merged, &mut problems);
        endpoints.push(crate::transport::Endpoint {
            name: name.clone(),
            connection,
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
        endpoints,
        settings,
        known_hosts,
        warnings: problems,
    })
}

#[cfg(test)]
mod tests {
    use super::JumpHost;

    #[test]
    fn jump_hosts_as_ansible_users_write_them() {
        let j = |s: &str| JumpHost::from_ssh_args(s).unwrap();
        let want = Some(JumpHost {
            user: Some("ops".into()),
            address: "bastion".into(),
            port: 2222,
        });
        assert_eq!(j("-o ProxyJump=ops@bastion:2222"), want);
        assert_eq!(
            j("-o StrictHostKeyChecking=yes -o 'ProxyJump ops@bastion:2222'"),
            want
        );
        assert_eq!(j("-J ops@bastion:2222"), want);
        assert_eq!(j("-Jops@bastion:2222"), want);
        assert_eq!(j("-oProxyJump=ops@bastion:2222"), want);
        assert_eq!(j("-o ProxyJump ops@bastion:2222"), want);
        assert_eq!(j("-o ForwardAgent=yes"), None);
        assert_eq!(JumpHost::parse("bastion").unwrap().port, 22);
        assert_eq!(JumpHost::parse("[::1]:2200").unwrap().address, "::1");
        assert!(JumpHost::from_ssh_args("-J a,b").is_err());
        assert!(JumpHost::from_ssh_args("-J 'x").is_err());
    }
}
