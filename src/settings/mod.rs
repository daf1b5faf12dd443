//! Settings (the globals keys): their defaults as role data, the layering
//! from role defaults to `-e`, unknown-key detection, and the typed raw
//! structs they deserialize into. Owns no validation across settings; the
//! model does that.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Origin, Problems};
use crate::inventory::Var;
use crate::yamlfile;

/// Role data compiled into the binary, so cephalo works from any directory.
/// The paths are the files in the repository's `roles/` folder.
pub const ROLE_DEFAULTS: &[(&str, &str)] = &[
    (
        "roles/cluster/defaults.yml",
        include_str!("../../roles/cluster/defaults.yml"),
    ),
    (
        "roles/common/defaults.yml",
        include_str!("../../roles/common/defaults.yml"),
    ),
    (
        "roles/mon/defaults.yml",
        include_str!("../../roles/mon/defaults.yml"),
    ),
    (
        "roles/mgr/defaults.yml",
        include_str!("../../roles/mgr/defaults.yml"),
    ),
    (
        "roles/osd/defaults.yml",
        include_str!("../../roles/osd/defaults.yml"),
    ),
    (
        "roles/mds/defaults.yml",
        include_str!("../../roles/mds/defaults.yml"),
    ),
    (
        "roles/rgw/defaults.yml",
        include_str!("../../roles/rgw/defaults.yml"),
    ),
    (
        "roles/tuning/defaults.yml",
        include_str!("../../roles/tuning/defaults.yml"),
    ),
    (
        "roles/custom/defaults.yml",
        include_str!("../../roles/custom/defaults.yml"),
    ),
];
const IGNORED_KEYS: &str = include_str!("../../roles/ignored-keys.yml");
const CLUSTER_DEFAULTS: &str = "roles/cluster/defaults.yml";

/// Values by key, each with where it was set. Later layers replace whole
/// values (Ansible's `hash_behaviour=replace`).
pub type Layer = IndexMap<String, Var>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value for the cluster: globals.yml and -e only.
    Cluster,
    /// May differ per host: also group and host vars.
    Host,
}

/// What a key is to cephalo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    Setting(Scope),
    /// An Ansible connection variable (`ansible_host`, ...).
    Connection,
    /// A kolla-ansible or ceph-ansible name the model reads into its own
    /// (`monitor_interface`, `devices`, ...): see `UNDERSTOOD_VARS`.
    Understood,
    /// A kolla-ansible key cephalo reads past.
    Ignored,
    /// Not known; with the closest known key when it looks like a typo.
    Unknown(Option<String>),
}

/// The defaults of every setting and the list of keys to read past.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub defaults: Layer,
    scopes: IndexMap<String, Scope>,
    ignored_prefixes: Vec<String>,
    ignored_keys: Vec<String>,
}

impl Catalog {
    /// Loads the built-in role data. Its correctness is proven by tests, so a
    /// failure here is a bug in the shipped files.
    pub fn builtin() -> Catalog {
        let mut defaults = Layer::new();
        let mut scopes = IndexMap::new();
        for (path, text) in ROLE_DEFAULTS {
            let keys = yamlfile::parse_top_mapping(Path::new(path), text)
                .unwrap_or_else(|e| panic!("built-in {path} is invalid: {e}"));
            let scope = if *path == CLUSTER_DEFAULTS {
                Scope::Cluster
            } else {
                Scope::Host
            };
            for k in keys {
                assert!(
                    !scopes.contains_key(&k.key),
                    "{} is defined twice in roles/",
                    k.key
                );
                scopes.insert(k.key.clone(), scope);
                defaults.insert(
                    k.key.clone(),
                    Var {
                        value: k.value,
                        origin: Origin::at_line(*path, k.line).with_key(&k.key),
                    },
                );
            }
        }
        #[derive(Deserialize)]
        struct Ignored {
            prefixes: Vec<String>,
            keys: Vec<String>,
        }
        let ignored: Ignored = serde_saphyr::from_str(IGNORED_KEYS)
            .unwrap_or_else(|e| panic!("built-in roles/ignored-keys.yml is invalid: {e}"));
        Catalog {
            defaults,
            scopes,
            ignored_prefixes: ignored.prefixes,
            ignored_keys: ignored.keys,
        }
    }

    pub fn classify(&self, key: &str) -> KeyClass {
        if let Some(scope) = self.scopes.get(key) {
            return KeyClass::Setting(*scope);
        }
        if CONNECTION_VARS.contains(&key) {
            return KeyClass::Connection;
        }
        if UNDERSTOOD_VARS.contains(&key) {
            return KeyClass::Understood;
        }
        if self.ignored_keys.iter().any(|k| k == key) {
            return KeyClass::Ignored;
        }
        // A near miss of a real setting is a typo even under an ignored prefix
        // (`enable_ceph_mdss`).
        let close = self
            .scopes
            .keys()
            .map(|k| (strsim::normalized_damerau_levenshtein(key, k), k))
            .filter(|(s, _)| *s >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.clone());
        if close.is_some() {
            return KeyClass::Unknown(close);
        }
        if self
            .ignored_prefixes
            .iter()
            .any(|p| key.starts_with(p.as_str()))
        {
            return KeyClass::Ignored;
        }
        KeyClass::Unknown(None)
    }

    pub fn scope(&self, key: &str) -> Option<Scope> {
        self.scopes.get(key).copied()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.scopes.keys()
    }
}

/// Connection variables read from inventories (and globals, as defaults).
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_become",
    "ansible_become_user",
    "ansible_connection",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_become_password",
    "ansible_become_pass",
];

/// kolla-ansible's and ceph-ansible's names for what cephalo does, read by
/// the model (`model::ceph_ansible`, the host address sources); they may be
/// set at any level, the cluster-wide ones take effect from globals, group
/// `all` or `-e`.
pub const UNDERSTOOD_VARS: &[&str] = &[
    // kolla-ansible: the interfaces of the API and Ceph cluster networks.
    "api_interface",
    "cluster_interface",
    // ceph-ansible: where a daemon's address comes from.
    "monitor_address",
    "monitor_address_block",
    "monitor_interface",
    "radosgw_address",
    "radosgw_address_block",
    "radosgw_interface",
    // ceph-ansible: the OSDs' CRUSH location and disks.
    "osd_crush_location",
    "devices",
    // ceph-ansible: cluster-wide.
    "containerized_deployment",
    "ceph_docker_registry",
    "ceph_docker_image",
    "ceph_docker_image_tag",
    "mds_max_mds",
];

/// Sorts the keys of one source into the layer it contributes, reporting
/// unknown keys (with a suggestion) and keys set where their scope forbids.
/// `where_` names the source in messages ("globals", "host vars of ceph1").
pub fn classify_layer(
    catalog: &Catalog,
    vars: &IndexMap<String, Var>,
    allow_cluster_scope: bool,
    where_: &str,
    problems: &mut Problems,
    ignored: &mut Vec<(String, Origin)>,
) -> Layer {
    let mut out = Layer::new();
    for (key, var) in vars {
        match catalog.classify(key) {
            KeyClass::Setting(Scope::Cluster) if !allow_cluster_scope => problems.error(
                var.origin.clone(),
                format!(
                    "`{key}` is a cluster-wide setting and cannot be set in {where_}; set it in globals.yml or with -e"
                ),
            ),
            KeyClass::Setting(_) | KeyClass::Connection | KeyClass::Understood => {
                out.insert(key.clone(), var.clone());
            }
            KeyClass::Ignored => ignored.push((key.clone(), var.origin.clone())),
            KeyClass::Unknown(Some(close)) => problems.error(
                var.origin.clone(),
                format!("unknown key `{key}` in {where_} (did you mean `{close}`?)"),
            ),
            KeyClass::Unknown(None) => problems.error(
                var.origin.clone(),
                format!(
                    "unknown key `{key}` in {where_}; `cephalo settings` lists the settings cephalo knows"
                ),
            ),
        }
    }
    out
}

/// Merges layers, lowest first; a later layer replaces a key's value.
pub fn merge(layers: &[&Layer]) -> Layer {
    let mut out = Layer::new();
    for layer in layers {
        for (k, v) in layer.iter() {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Deserializes the keys of one scope from a merged layer into `T`. A value
/// of the wrong type is reported at the place that set it.
pub fn extract<T: for<'de> Deserialize<'de>>(
    catalog: &Catalog,
    merged: &Layer,
    scope: Scope,
    problems: &mut Problems,
) -> Option<T> {
    let map: Map<String, Value> = merged
        .iter()
        .filter(|(k, _)| catalog.scope(k) == Some(scope))
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    match serde_path_to_error::deserialize::<_, T>(Value::Object(map)) {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let top = path
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string();
            let origin = merged
                .get(&top)
                .map(|v| v.origin.clone())
                .unwrap_or_else(|| Origin::file("<settings>").with_key(&path));
            let origin = if path != top {
                origin.with_key(path)
            } else {
                origin
            };
            problems.error(origin, format!("invalid value: {}", e.into_inner()));
            None
        }
    }
}

/// Settings with one value for the whole cluster, as written (not yet
/// cross-checked).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    #[serde(deserialize_with = "de::string")]
    pub cluster_name: String,
    #[serde(deserialize_with = "de::string")]
    pub ceph_release: String,
    #[serde(deserialize_with = "de::string")]
    pub ceph_image_registry: String,
    #[serde(deserialize_with = "de::string")]
    pub ceph_image_namespace: String,
    #[serde(deserialize_with = "de::string")]
    pub ceph_image_name: String,
    #[serde(deserialize_with = "de::string")]
    pub ceph_image_tag: String,
    #[serde(deserialize_with = "de::string")]
    pub public_network: String,
    #[serde(deserialize_with = "de::string")]
    pub cluster_network: String,
    #[serde(deserialize_with = "de::u64")]
    pub osd_pool_default_size: u64,
    #[serde(deserialize_with = "de::u64")]
    pub osd_pool_default_min_size: u64,
    #[serde(deserialize_with = "de::u64")]
    pub osd_pool_default_pg_num: u64,
    #[serde(deserialize_with = "de::bool")]
    pub enable_ceph_mds: bool,
    #[serde(deserialize_with = "de::bool")]
    pub enable_ceph_rgw: bool,
    #[serde(deserialize_with = "de::bool")]
    pub enable_ceph_mgr_prometheus: bool,
    #[serde(deserialize_with = "de::string")]
    pub cephfs_name: String,
    #[serde(deserialize_with = "de::string")]
    pub cephx_key_type: String,
    #[serde(deserialize_with = "de::bool")]
    pub ceph_debug_off: bool,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_debug_subsystems: Vec<String>,
    pub ceph_conf_overrides: IndexMap<String, IndexMap<String, ConfValue>>,
    #[serde(deserialize_with = "de::u64")]
    pub forks: u64,
    #[serde(deserialize_with = "de::string")]
    pub ssh_known_hosts_file: String,
    #[serde(deserialize_with = "de::string")]
    pub ssh_hosts_file: String,
    #[serde(deserialize_with = "de::u64")]
    pub ssh_connect_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ssh_command_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_health_timeout: u64,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_health_accepted_warnings: Vec<String>,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_upgrade_ok_to_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_upgrade_daemon_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_upgrade_pgs_clean_timeout: u64,
    #[serde(deserialize_with = "de::string")]
    pub ceph_upgrade_read_lease_ratio: String,
    #[serde(deserialize_with = "de::bool")]
    pub ceph_upgrade_primary_affinity: bool,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_osd_create_hosts_at_once: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_osd_ok_to_stop_timeout: u64,
}

/// Settings that may differ per host.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostSettings {
    #[serde(deserialize_with = "de::string")]
    pub network_interface: String,
    #[serde(deserialize_with = "de::string")]
    pub storage_interface: String,
    #[serde(deserialize_with = "de::string")]
    pub public_address: String,
    #[serde(deserialize_with = "de::string")]
    pub container_engine: String,
    #[serde(deserialize_with = "de::string")]
    pub container_restart_policy: String,
    #[serde(deserialize_with = "de::string")]
    pub ssh_jump_host: String,
    pub ceph_mon_container_privileges: Privileges,
    pub ceph_mgr_container_privileges: Privileges,
    pub ceph_mds_container_privileges: Privileges,
    pub ceph_rgw_container_privileges: Privileges,
    pub ceph_osd_container_privileges: Privileges,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_rgw_port: u64,
    #[serde(deserialize_with = "de::string")]
    pub ceph_osd_store_type: String,
    #[serde(deserialize_with = "de::u64")]
    pub osd_memory_target: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_tcmalloc_max_total_thread_cache_bytes: u64,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_tcmalloc_daemons: Vec<String>,
    #[serde(deserialize_with = "de::bool")]
    pub ceph_sysctl_enabled: bool,
    #[serde(deserialize_with = "de::string_map")]
    pub ceph_sysctl: IndexMap<String, String>,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_sysctl_at_least: Vec<String>,
    #[serde(deserialize_with = "de::bool")]
    pub ceph_block_tuning_enabled: bool,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_block_scheduler_rotational: Vec<String>,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_block_scheduler_ssd: Vec<String>,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_block_nr_requests: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_block_read_ahead_kb: u64,
    #[serde(deserialize_with = "de::string_list")]
    pub ceph_osd_devices: Vec<String>,
    #[serde(deserialize_with = "de::bool")]
    pub ceph_osd_bootstrap_labels: bool,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_mon_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_mgr_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_osd_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_mds_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_rgw_stop_timeout: u64,
    #[serde(deserialize_with = "de::u64")]
    pub ceph_osd_creations_per_host: u64,
    /// The custom containers as written; `model::custom` reads them.
    pub ceph_custom_containers: Value,
}

/// How much a daemon container may do on its host. `privileged` is what real
/// clusters give OSDs; the lists are for hosts where it is not allowed.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Privileges {
    #[serde(default, deserialize_with = "de::bool")]
    pub privileged: bool,
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub cap_drop: Vec<String>,
    #[serde(default)]
    pub security_opt: Vec<String>,
    #[serde(default)]
    pub device_cgroup_rules: Vec<String>,
    /// Run an init process as PID 1 (`--init`): daemons that ignore SIGTERM
    /// as PID 1 then stop promptly.
    #[serde(default, deserialize_with = "de::bool")]
    pub init: bool,
}

/// A ceph.conf value as written in YAML: text, number or boolean.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfValue(pub String);

impl<'de> Deserialize<'de> for ConfValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(ConfValue(s)),
            Value::Number(n) => Ok(ConfValue(n.to_string())),
            Value::Bool(b) => Ok(ConfValue(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "a ceph.conf option must be text, a number or a boolean, found {}",
                yamlfile::kind(&other)
            ))),
        }
    }
}

pub mod de;

/// Where kolla-style override files live: `config/` next to the globals.
pub fn config_dir(globals: &Path) -> PathBuf {
    globals
        .parent()
        .map(|p| p.join("config"))
        .unwrap_or_else(|| PathBuf::from("config"))
}
