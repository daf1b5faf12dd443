//! Resolving parsed sources into the cluster model: roles from groups,
//! cluster-wide values, each host's settings and connection, secrets. Pure:
//! no file or network access. The cross-checks it calls live in `validate`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::Value;
use uuid::Uuid;

use super::jinja::WithoutFacts;
use super::layers::Layers;
use super::types::{
    Cluster, ConfOverrides, Connection, Engine, Files, Host, JumpHost, ObjectStore, Password, Role,
};
use super::validate;
use super::{addresses, ceph_ansible};
use crate::cephx::{Secret, SecretKind};
use crate::error::{Error, Origin, Problems, Result};
use crate::inventory::{Inventory, Vars, did_you_mean};
use crate::passwords::{IDENTITIES, Passwords};
use crate::release::{self, Release};
use crate::settings::{self, ClusterSettings, HostSettings, Layer, Scope};

/// The parsed input files of `resolve`.
pub struct Inputs<'a> {
    pub inventory: &'a Inventory,
    pub globals: &'a Vars,
    pub passwords: &'a Passwords,
    pub extra: &'a Vars,
    pub extra_clients: &'a [String],
    /// For views of the inventory (`cephalo inventory`): no passwords are
    /// read (the fsid is nil, no secrets) and a missing public_network is
    /// a warning.
    pub view_only: bool,
}

/// Builds the model from parsed files (pure: no file or network access).
pub fn resolve(
    files: Files,
    inputs: &Inputs<'_>,
    conf_overrides: ConfOverrides,
    mut problems: Problems,
) -> Result<Cluster> {
    let (mut layers, cluster_settings) = Layers::new(
        inputs.inventory,
        inputs.globals,
        inputs.extra,
        if inputs.view_only {
            WithoutFacts::Warning
        } else {
            WithoutFacts::Error
        },
        &mut problems,
    );
    let cs = cluster_settings.as_ref();
    let role_hosts = role_hosts(inputs.inventory, cs, &layers.cluster, &mut problems);
    let values = cluster_values(
        cs,
        &layers.cluster,
        &files.globals,
        inputs.view_only,
        &mut problems,
    );
    let hosts = hosts(inputs, &mut layers, &role_hosts, &values, &mut problems);
    let (fsid, secrets) = if inputs.view_only {
        (Some(Uuid::nil()), BTreeMap::new())
    } else {
        secrets(inputs.passwords, values.release, &mut problems)
    };
    let mds_max_mds = ceph_ansible::mds_max_mds(&layers.cluster, &mut problems);
    layers.note_ignored(&mut problems);

    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    let (Some(c), Some(release), Some(public_network), Some(fsid)) = (
        cluster_settings,
        values.release,
        values.public_network,
        fsid,
    ) else {
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
        cluster_network: values.cluster_network,
        settings: c,
        hosts,
        secrets,
        conf_overrides,
        mds_max_mds,
        warnings: problems,
        learned: Default::default(),
    })
}

/// The hosts of each role, from the inventory groups; mgrs default to the
/// mon hosts, and a disabled mds or rgw has none.
fn role_hosts(
    inventory: &Inventory,
    cs: Option<&ClusterSettings>,
    cluster_layer: &Layer,
    problems: &mut Problems,
) -> BTreeMap<Role, Vec<String>> {
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
    validate::mon_count(&role_hosts[&Role::Mon], &inv_origin, problems);
    role_hosts
}

/// Cluster-wide values parsed from the settings.
struct ClusterValues {
    release: Option<Release>,
    public_network: Option<IpNet>,
    cluster_network: Option<IpNet>,
}

/// The release and networks, and the cross-checks of the cluster-wide
/// settings. A problem with a value that is still the role default is
/// reported against the globals file, where it is fixed.
fn cluster_values(
    cs: Option<&ClusterSettings>,
    cluster_layer: &Layer,
    globals: &Path,
    view_only: bool,
    problems: &mut Problems,
) -> ClusterValues {
    let origin_of = |key: &str| match cluster_layer.get(key) {
        Some(v) if !v.origin.file.starts_with("roles") => v.origin.clone(),
        _ => Origin::file(globals).with_key(key),
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
            let why = "public_network is required: the CIDR the mons and clients use, like 192.168.10.0/24";
            if view_only {
                // A view shows the hosts all the same, as on any network.
                problems.warning(origin_of("public_network"), why);
                return Some(IpNet::default());
            }
            problems.error(origin_of("public_network"), why);
            return None;
        }
        parse_network(&c.public_network, "public_network", &origin_of("public_network"), problems)
    });
    let cluster_network = cs.and_then(|c| {
        if c.cluster_network.trim().is_empty() {
            None
        } else {
            parse_network(
                &c.cluster_network,
                "cluster_network",
                &origin_of("cluster_network"),
                problems,
            )
        }
    });
    if let Some(c) = cs {
        validate::cluster_settings(c, &origin_of, problems);
    }
    super::networks::check_families(
        public_network.as_ref(),
        cluster_network.as_ref(),
        &origin_of,
        problems,
    );
    // cephx_key_type must fit the release (genpwd uses it; here only checked).
    if let (Some(c), Some(r)) = (cs, release) {
        secret_kind(&c.cephx_key_type, r, &origin_of("cephx_key_type"), problems);
        super::image::check_tag(c, r, &origin_of, problems);
    }
    ClusterValues {
        release,
        public_network,
        cluster_network,
    }
}

/// The hosts with at least one role (or taken as clients), in inventory
/// order, each with its layered settings and connection.
fn hosts(
    inputs: &Inputs<'_>,
    layers: &mut Layers,
    role_hosts: &BTreeMap<Role, Vec<String>>,
    values: &ClusterValues,
    problems: &mut Problems,
) -> Vec<Host> {
    let inventory = inputs.inventory;
    let mut hosts = Vec::new();
    let mut addresses: BTreeMap<(String, u16), String> = BTreeMap::new();
    let mut customs = super::custom::Declared::default();
    for (name, decl) in &inventory.hosts {
        let mut roles: BTreeSet<Role> = Role::ALL
            .into_iter()
            .filter(|r| role_hosts[r].contains(name))
            .collect();
        if roles.is_empty() {
            if !inputs.extra_clients.contains(name) {
                continue;
            }
            roles.insert(Role::Client);
        }
        let (merged, as_written) = layers.host(inventory, name, decl, problems);
        let Some(hs) =
            settings::extract::<HostSettings>(&layers.catalog, &merged, Scope::Host, problems)
        else {
            continue;
        };
        let connection = connection_of(name, &merged, problems);
        validate::unique_address(
            &mut addresses,
            name,
            &connection,
            &merged,
            &decl.origin,
            problems,
        );
        let o = |k: &str| merged.get(k).map(|v| v.origin.clone()).unwrap_or_default();
        let engine = engine_of(&hs, &o, problems);
        let object_store = object_store_of(&hs, &roles, values.release, &o, problems);
        validate::host_settings((name, &decl.origin), &hs, &roles, &o, problems);
        let addresses = addresses::sources_of(
            (name, &decl.origin),
            &connection,
            &roles,
            values.public_network,
            &merged,
            inputs.view_only,
            problems,
        );
        let crush_location = ceph_ansible::crush_location(&merged, problems);
        let custom = customs.of_host(&hs, &o, inventory, name, &roles, problems);
        // Views show a value that needs an Ansible fact as written.
        let mut vars = merged;
        vars.extend(as_written);
        hosts.push(Host {
            name: name.clone(),
            connection,
            roles,
            public_address: addresses.public.as_ref().and_then(|a| a.address()),
            address_from: addresses.public,
            rgw_address_from: addresses.rgw,
            cluster_address_from: addresses.cluster,
            crush_location,
            custom,
            engine,
            object_store,
            settings: hs,
            vars,
        });
    }
    super::custom::check_users(hosts.iter().flat_map(|h| &h.custom), problems);
    hosts
}

fn engine_of(hs: &HostSettings, o: &dyn Fn(&str) -> Origin, problems: &mut Problems) -> Engine {
    match hs.container_engine.as_str() {
        "docker" => Engine::Docker,
        "podman" => Engine::Podman,
        other => {
            problems.error(
                o("container_engine"),
                format!("container_engine must be docker or podman, found `{other}`"),
            );
            Engine::Docker
        }
    }
}

fn object_store_of(
    hs: &HostSettings,
    roles: &BTreeSet<Role>,
    release: Option<Release>,
    o: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) -> ObjectStore {
    match hs.ceph_osd_store_type.as_str() {
        "bluestore" => ObjectStore::Bluestore,
        "filestore" => {
            if let Some(r) = release
                && !r.supports_filestore()
                && roles.contains(&Role::Osd)
            {
                problems.error(
                    o("ceph_osd_store_type"),
                    format!(
                        "filestore OSDs are not supported by {r} (removed in reef); use bluestore"
                    ),
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
    }
}

/// The cluster fsid and the secret of every Ceph identity, checked against
/// the release.
fn secrets(
    passwords: &Passwords,
    release: Option<Release>,
    problems: &mut Problems,
) -> (Option<Uuid>, BTreeMap<String, Secret>) {
    let fsid = match &passwords.fsid {
        Some((u, _)) => Some(*u),
        None => {
            if passwords.path.exists() {
                problems.error(
                    Origin::file(&passwords.path).with_key(crate::passwords::FSID_KEY),
                    format!(
                        "the cluster fsid is missing; run `{}` to fill it in",
                        crate::passwords::genpwd_command(&passwords.path)
                    ),
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
                        format!("the {entity} key is an aes256 (type 2) secret, which {r} does not accept: after `cephalo rotate-keys` (or an upgrade to Squid or Tentacle) set ceph_release to the release the cluster runs"),
                    );
                }
                secrets.insert(entity.to_string(), secret.clone());
            }
            None if passwords.path.exists() => problems.error(
                Origin::file(&passwords.path).with_key(*key),
                format!(
                    "the {entity} key is missing; run `{}` to fill it in",
                    crate::passwords::genpwd_command(&passwords.path)
                ),
            ),
            None => {}
        }
    }
    (fsid, secrets)
}

/// `<registry>/<namespace>/<name>:<tag>`, the tag defaulting to the
/// release's upstream one (`v18`; `image::check_tag` refuses releases
/// without one).
pub fn image_name(c: &ClusterSettings, release: Release) -> String {
    let upstream = release.upstream_tag();
    let tag = match (c.ceph_image_tag.is_empty(), &upstream) {
        (true, Some(t)) => t.as_str(),
        (true, None) => release.name(),
        (false, _) => &c.ceph_image_tag,
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

pub(super) fn connection_of(name: &str, layer: &Layer, problems: &mut Problems) -> Connection {
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
