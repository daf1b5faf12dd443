//! The types of the cluster model: roles, hosts and how to reach them, the
//! cluster as cephalo deploys it, and what the operator pointed cephalo at.
//! Plain data with small accessors: no file access, no validation.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use indexmap::IndexMap;
use ipnet::IpNet;
use uuid::Uuid;

use super::conf::CephConf;
use crate::cephx::Secret;
use crate::error::{Origin, Problems, Result};
use crate::inventory::Inventory;
use crate::release::Release;
use crate::settings::{ClusterSettings, HostSettings, Layer};

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
pub struct Password(pub(super) String);

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
    /// This host's address on the public network, when known from the files
    /// (or filled in from facts by `resolve_addresses`).
    pub public_address: Option<IpAddr>,
    /// Where the public address comes from: given, or an interface or
    /// network whose address on the host needs facts (`public_address` is
    /// None until `resolve_addresses` fills it in).
    pub address_from: Option<AddressSource>,
    /// Where an rgw host's frontend address comes from (ceph-ansible's
    /// radosgw_address/_interface/_address_block, kolla's api_interface);
    /// None: no address was configured for it.
    pub rgw_address_from: Option<AddressSource>,
    /// Where the address on cluster_network comes from (kolla's
    /// cluster_interface); None: not configured.
    pub cluster_address_from: Option<AddressSource>,
    /// An OSD host's CRUSH location (ceph-ansible's `osd_crush_location`,
    /// `{root: default, rack: r1, host: osd0}`), in the order written;
    /// empty: Ceph's default (`host=<name> root=default`).
    pub crush_location: IndexMap<String, String>,
    /// The custom containers this host runs (`ceph_custom_containers`).
    pub custom: Vec<super::custom::CustomContainer>,
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
}

/// Where an address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressFrom {
    /// An IP address written in the files (or found in facts).
    Given(IpAddr),
    /// The host's address on this interface (`network_interface`, ...).
    Interface(String),
    /// The host's address inside this network (`monitor_address_block`).
    Network(IpNet),
}

/// An address source with the setting it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSource {
    pub from: AddressFrom,
    /// The file, line and key that set it.
    pub origin: Origin,
}

impl AddressSource {
    /// The address, once known.
    pub fn address(&self) -> Option<IpAddr> {
        match self.from {
            AddressFrom::Given(a) => Some(a),
            _ => None,
        }
    }

    /// What to tell the operator: `10.0.0.1`, `from interface eth1`,
    /// `from network 10.0.0.0/24`, with the setting.
    pub fn describe(&self) -> String {
        let key = self.origin.key.as_deref().unwrap_or("?");
        match &self.from {
            AddressFrom::Given(a) => format!("{a} ({key})"),
            AddressFrom::Interface(i) => format!("from interface {i} ({key})"),
            AddressFrom::Network(n) => format!("from network {n} ({key})"),
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

/// What a run learns from the hosts and keeps for its later steps: shared
/// by the clones of one loaded cluster, empty in a newly loaded one.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    /// (host, image) -> the `uid:gid` of the image's ceph user.
    pub ceph_users: std::sync::Arc<std::sync::Mutex<BTreeMap<(String, String), String>>>,
    /// (host, image id) -> what `ceph --version` in that image printed:
    /// read once per image and host, before any daemon is made from it.
    pub image_versions: std::sync::Arc<std::sync::Mutex<BTreeMap<(String, String), String>>>,
    /// Which mon answered the cluster's last `ceph` call, and who is told
    /// when that changes (`-v`).
    pub reach: std::sync::Arc<std::sync::Mutex<Reach>>,
}

/// The run's memory of how it reached the cluster.
#[derive(Clone, Default)]
pub struct Reach {
    /// The inventory mon whose container answered last: asked first.
    pub answered: Option<String>,
    /// Told which mon answered whenever it changes, and why the ones
    /// before it did not (set by the command line for `-v`).
    pub say: Option<Say>,
}

/// Where a line of detail goes (the run log, and the screen with `-v`).
pub type Say = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reach")
            .field("answered", &self.answered)
            .finish_non_exhaustive()
    }
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
    /// ceph-ansible's `mds_max_mds`: active MDS ranks of the file system,
    /// when set.
    pub mds_max_mds: Option<u64>,
    /// Warnings and notes found while loading (no errors: those fail).
    pub warnings: Problems,
    /// Facts learned during the run (not from the files).
    pub learned: Learned,
}

/// `config/ceph.conf` and `config/<host>/ceph.conf` next to the globals.
#[derive(Debug, Clone, Default)]
pub struct ConfOverrides {
    pub global: Option<CephConf>,
    pub per_host: BTreeMap<String, CephConf>,
}

impl Cluster {
    pub fn hosts_with(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.has(role))
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Hosts whose public address is still to be learned from facts (an
    /// interface or a network), with where it comes from.
    pub fn unresolved_addresses(&self) -> Vec<(&str, &AddressSource)> {
        self.hosts
            .iter()
            .filter(|h| h.public_address.is_none())
            .filter_map(|h| h.address_from.as_ref().map(|a| (h.name.as_str(), a)))
            .filter(|(_, a)| a.address().is_none())
            .collect()
    }
}

/// What the operator pointed cephalo at.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The (first) inventory: globals.yml and passwords.yml are looked for
    /// beside it.
    pub inventory: PathBuf,
    /// Further `-i` sources, merged after it (later ones win for vars).
    pub more_inventories: Vec<PathBuf>,
    pub globals: Option<PathBuf>,
    pub passwords: Option<PathBuf>,
    /// `-e key=value`, highest precedence.
    pub extra_vars: Vec<String>,
    /// Inventory hosts in no Ceph group to take as clients all the same
    /// (the hosts `cephalo admin` is pointed at).
    pub extra_clients: Vec<String>,
}

impl Sources {
    /// Every inventory source, in the order given.
    pub fn inventories(&self) -> Vec<PathBuf> {
        std::iter::once(self.inventory.clone())
            .chain(self.more_inventories.iter().cloned())
            .collect()
    }
}

/// The hosts of an inventory as places to run commands, for commands that
/// need no Ceph roles (`cephalo run`): connection vars resolved per host,
/// with the cluster-wide settings that govern connections.
#[derive(Debug, Clone)]
pub struct Targets {
    pub inventory: Inventory,
    /// Every inventory host, in inventory order.
    pub hosts: Vec<Target>,
    pub settings: ClusterSettings,
    /// The project known_hosts file.
    pub known_hosts: PathBuf,
    pub warnings: Problems,
}

/// One inventory host and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub connection: Connection,
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
