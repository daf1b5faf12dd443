//! What each host gets: ceph.conf (template + overrides), keyrings and one
//! container spec per daemon, computed from the model. Pure: no file or
//! network access, except `write_tree`, which writes a review copy.

mod containers;
mod tree;

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Origin, Result};
pub use crate::model::conf::{CephConf, normalize_key};
use crate::model::{Cluster, Host, Role};
pub use containers::{ContainerSpec, container_spec};
pub use tree::{Written, write_tree};

const CEPH_CONF_TEMPLATE: &str = include_str!("../../templates/ceph.conf.j2");
const KEYRING_TEMPLATE: &str = include_str!("../../templates/keyring.j2");

/// Placeholder written instead of a secret when secrets are not wanted.
pub const REDACTED: &str = "<redacted>";

/// A file for a host: where it goes, its mode, its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: String,
    pub mode: u32,
    /// `user:group` when not root's.
    pub owner: Option<String>,
    pub content: String,
    /// Holds a secret: never shown in logs or diffs.
    pub secret: bool,
}

/// The owner of the files the daemons read, as rendered: the `ceph` user
/// of the host's Ceph image, whose ids a deploy learns from the image
/// (`deploy::owner`: 64045 in Debian's packages, 167 upstream).
pub const CEPH_USER: &str = "ceph";

/// Everything one host gets.
#[derive(Debug, Clone)]
pub struct HostRender {
    pub host: String,
    pub files: Vec<RenderedFile>,
    pub containers: Vec<ContainerSpec>,
}

/// Whether keyrings carry the real secrets or a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Include,
    Redact,
}

fn template_error(what: &str, e: tera::Error) -> Error {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::invalid(Origin::file(what), format!("template error: {msg}"))
}

fn render_template(name: &str, template: &str, ctx: &impl Serialize) -> Result<String> {
    let ctx = tera::Context::from_serialize(ctx).map_err(|e| template_error(name, e))?;
    tera::Tera::one_off(template, &ctx, false).map_err(|e| template_error(name, e))
}

#[derive(Serialize)]
struct ConfContext<'a> {
    host: &'a str,
    fsid: String,
    mon_initial_members: Vec<&'a str>,
    mon_host: Vec<String>,
    public_network: String,
    cluster_network: Option<String>,
    pool: Pool,
    debug_off: Vec<&'a str>,
    /// Clients reclaiming global ids insecurely are refused (CVE-2021-20288;
    /// the option exists from Nautilus 14.2.20 on). A new cluster has no
    /// old clients.
    secure_global_id: bool,
    osd: Osd,
    rgws: Vec<Rgw>,
    /// The public network is IPv6: the daemons bind to IPv6 only
    /// (`ms_bind_ipv6`), as Ceph needs for a v6 network (a mixed v4/v6
    /// pair of networks is refused by the model).
    ipv6: bool,
}

#[derive(Serialize)]
struct Pool {
    size: u64,
    min_size: u64,
    pg_num: u64,
}

#[derive(Serialize)]
struct Osd {
    objectstore: &'static str,
    memory_target: Option<u64>,
    /// ceph-ansible's `osd_crush_location` as `crush_location` wants it:
    /// the OSD places itself there at every start.
    crush_location: Option<String>,
}

#[derive(Serialize)]
struct Rgw {
    id: String,
    port: u64,
}

/// The address list of the mons, as `mon_host` wants it for the release.
pub fn mon_addresses(cluster: &Cluster) -> Vec<String> {
    cluster
        .hosts_with(Role::Mon)
        .filter_map(|h| h.public_address)
        .map(|ip| mon_address(ip, cluster.release))
        .collect()
}

/// One mon's address as Ceph writes it (`mon_host`, monmaptool): v2 and v1
/// from Nautilus on, an IPv6 address in brackets (`[v2:[fd00::1]:3300,...]`).
pub fn mon_address(ip: std::net::IpAddr, release: crate::release::Release) -> String {
    let ip = match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    if release.has_msgr2() {
        format!("[v2:{ip}:3300,v1:{ip}:6789]")
    } else {
        format!("{ip}:6789")
    }
}

/// The ceph.conf of one host: the template, then ceph_conf_overrides, then
/// config/ceph.conf, then config/<host>/ceph.conf.
pub fn ceph_conf(cluster: &Cluster, host: &Host) -> Result<String> {
    // mon_host must list every mon: one whose address comes from an
    // interface needs facts first (model::resolve_addresses).
    let mut unresolved = crate::error::Problems::default();
    for (name, src) in cluster.unresolved_addresses() {
        if cluster.host(name).is_some_and(|h| h.has(Role::Mon)) {
            unresolved.error(
                src.origin.clone(),
                format!(
                    "the address of mon `{name}` is not known yet: it comes {}, which needs the host's facts; set public_address to render without them",
                    src.describe()
                ),
            );
        }
    }
    if unresolved.has_errors() {
        return Err(crate::error::Error::Invalid {
            problems: unresolved,
        });
    }
    let s = &cluster.settings;
    let ctx = ConfContext {
        host: &host.name,
        fsid: cluster.fsid.to_string(),
        mon_initial_members: cluster
            .hosts_with(Role::Mon)
            .map(|h| h.name.as_str())
            .collect(),
        mon_host: mon_addresses(cluster),
        public_network: cluster.public_network.to_string(),
        ipv6: matches!(cluster.public_network, ipnet::IpNet::V6(_)),
        cluster_network: cluster.cluster_network.map(|n| n.to_string()),
        pool: Pool {
            size: s.osd_pool_default_size,
            min_size: s.osd_pool_default_min_size,
            pg_num: s.osd_pool_default_pg_num,
        },
        debug_off: if s.ceph_debug_off {
            s.ceph_debug_subsystems.iter().map(String::as_str).collect()
        } else {
            Vec::new()
        },
        secure_global_id: cluster.release.has_msgr2(),
        osd: Osd {
            objectstore: match host.object_store {
                crate::model::ObjectStore::Bluestore => "bluestore",
                crate::model::ObjectStore::Filestore => "filestore",
            },
            memory_target: cluster
                .release
                .has_osd_memory_target()
                .then_some(host.settings.osd_memory_target),
            crush_location: (host.has(Role::Osd) && !host.crush_location.is_empty()).then(|| {
                host.crush_location
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        },
        rgws: cluster
            .hosts_with(Role::Rgw)
            .map(|h| Rgw {
                id: h.name.clone(),
                port: h.settings.ceph_rgw_port,
            })
            .collect(),
    };
    let text = render_template("templates/ceph.conf.j2", CEPH_CONF_TEMPLATE, &ctx)?;
    // The template's own comment block is kept as the header.
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut problems = crate::error::Problems::default();
    let mut conf = CephConf::parse(Path::new("templates/ceph.conf.j2"), &text, &mut problems);
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    let mut from_globals = CephConf::default();
    for (section, options) in &s.ceph_conf_overrides {
        for (k, v) in options {
            from_globals.set(section, k, &v.0);
        }
    }
    conf.merge(&from_globals);
    if let Some(global) = &cluster.conf_overrides.global {
        conf.merge(global);
    }
    if let Some(per_host) = cluster.conf_overrides.per_host.get(&host.name) {
        conf.merge(per_host);
    }
    Ok(conf.to_text(&header))
}

#[derive(Serialize)]
struct KeyringEntity {
    name: String,
    key: String,
    caps: Vec<(&'static str, String)>,
}

/// The caps each bootstrap identity gets, as ceph-deploy gave them.
pub fn caps_of(cluster: &Cluster, entity: &str) -> Vec<(&'static str, String)> {
    match entity {
        "mon." => vec![("mon", "allow *".into())],
        "client.admin" => {
            let mut caps = vec![("mds", "allow *".to_string())];
            if cluster.release.has_mgr() {
                caps.push(("mgr", "allow *".into()));
            }
            caps.push(("mon", "allow *".into()));
            caps.push(("osd", "allow *".into()));
            caps
        }
        other => {
            let kind = other.trim_start_matches("client.bootstrap-");
            vec![("mon", format!("allow profile bootstrap-{kind}"))]
        }
    }
}

fn keyring(cluster: &Cluster, entities: &[&str], secrets: Secrets) -> Result<String> {
    let list: Vec<KeyringEntity> = entities
        .iter()
        .map(|e| KeyringEntity {
            name: e.to_string(),
            key: match (secrets, cluster.secrets.get(*e)) {
                (Secrets::Include, Some(s)) => s.expose().to_string(),
                _ => REDACTED.to_string(),
            },
            caps: caps_of(cluster, e),
        })
        .collect();
    #[derive(Serialize)]
    struct Ctx {
        entities: Vec<KeyringEntity>,
    }
    render_template(
        "templates/keyring.j2",
        KEYRING_TEMPLATE,
        &Ctx { entities: list },
    )
}

/// The keyring of one identity with its caps, as deploy writes it.
pub fn keyring_of(cluster: &Cluster, entity: &str, secrets: Secrets) -> Result<String> {
    keyring(cluster, &[entity], secrets)
}

/// The bootstrap identities of the release (no bootstrap-mgr before
/// Luminous).
pub fn bootstrap_entities(cluster: &Cluster) -> Vec<&'static str> {
    let mut v = vec![
        "client.bootstrap-osd",
        "client.bootstrap-mds",
        "client.bootstrap-rgw",
    ];
    if cluster.release.has_mgr() {
        v.push("client.bootstrap-mgr");
    }
    v
}

/// Keyrings a host needs, by its roles.
pub fn keyrings(cluster: &Cluster, host: &Host, secrets: Secrets) -> Result<Vec<RenderedFile>> {
    let c = &cluster.name;
    let mut out = Vec::new();
    let mut add = |path: String, entities: &[&str], owner: Option<&str>| -> Result<()> {
        out.push(RenderedFile {
            path,
            mode: 0o600,
            owner: owner.map(str::to_string),
            content: keyring(cluster, entities, secrets)?,
            secret: true,
        });
        Ok(())
    };
    if host.has(Role::Mon) {
        add(
            format!("/etc/ceph/{c}.client.admin.keyring"),
            &["client.admin"],
            None,
        )?;
        // Every identity, so that `ceph-mon --mkfs` creates them all; read
        // by ceph-mon as the ceph user.
        let mut all: Vec<&str> = vec!["mon.", "client.admin"];
        all.extend(bootstrap_entities(cluster));
        add(
            format!("/var/lib/ceph/tmp/{c}.mon.keyring"),
            &all,
            Some(CEPH_USER),
        )?;
    }
    let bootstrap = [
        (Role::Osd, "osd"),
        (Role::Mds, "mds"),
        (Role::Rgw, "rgw"),
        (Role::Mgr, "mgr"),
    ];
    for (role, kind) in bootstrap {
        if host.has(role) && (role != Role::Mgr || cluster.release.has_mgr()) {
            add(
                format!("/var/lib/ceph/bootstrap-{kind}/{c}.keyring"),
                &[&format!("client.bootstrap-{kind}")],
                None,
            )?;
        }
    }
    Ok(out)
}

/// Everything one host gets. OSD containers are made per OSD id at deploy;
/// here the spec is shown for the id `ID`.
pub fn render_host(cluster: &Cluster, host: &Host, secrets: Secrets) -> Result<HostRender> {
    let mut files = vec![RenderedFile {
        path: format!("/etc/ceph/{}.conf", cluster.name),
        mode: 0o644,
        owner: None,
        content: ceph_conf(cluster, host)?,
        secret: false,
    }];
    files.extend(keyrings(cluster, host, secrets)?);
    let mut containers = Vec::new();
    for role in [Role::Mon, Role::Mgr, Role::Osd, Role::Mds, Role::Rgw] {
        if host.has(role) && (role != Role::Mgr || cluster.release.has_mgr()) {
            let id = if role == Role::Osd {
                "ID"
            } else {
                host.name.as_str()
            };
            containers.push(container_spec(cluster, host, role, id)?);
        }
    }
    Ok(HostRender {
        host: host.name.clone(),
        files,
        containers,
    })
}
