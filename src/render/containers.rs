//! Container specs of the daemons, from the role data in `roles/*/container.yml`
//! and the host's settings. One generic spec type serves every role.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Origin, Result};
use crate::model::{Cluster, Host, Role};
use crate::settings::Privileges;

const ROLE_CONTAINERS: &[(Role, &str, &str)] = &[
    (
        Role::Mon,
        "roles/mon/container.yml",
        include_str!("../../roles/mon/container.yml"),
    ),
    (
        Role::Mgr,
        "roles/mgr/container.yml",
        include_str!("../../roles/mgr/container.yml"),
    ),
    (
        Role::Osd,
        "roles/osd/container.yml",
        include_str!("../../roles/osd/container.yml"),
    ),
    (
        Role::Mds,
        "roles/mds/container.yml",
        include_str!("../../roles/mds/container.yml"),
    ),
    (
        Role::Rgw,
        "roles/rgw/container.yml",
        include_str!("../../roles/rgw/container.yml"),
    ),
];

/// A role's container as written in its role data, before values are filled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleContainer {
    name: String,
    command: Vec<String>,
    /// The OSD command when the host's OSDs are filestore.
    #[serde(default)]
    filestore_command: Vec<String>,
    environment: IndexMap<String, String>,
    volumes: Vec<String>,
}

/// One daemon container as it must run on a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub environment: IndexMap<String, String>,
    pub volumes: Vec<String>,
    /// Always `host`: Ceph daemons bind the host's addresses.
    pub network: String,
    pub restart_policy: String,
    pub privileges: Privileges,
}

fn fill(template: &str, ctx: &tera::Context, file: &str) -> Result<String> {
    if !template.contains("{{") && !template.contains("{%") {
        return Ok(template.to_string());
    }
    tera::Tera::one_off(template, ctx, false).map_err(|e| {
        use std::error::Error as _;
        let why = e
            .source()
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        Error::invalid(
            Origin::file(file),
            format!("cannot fill `{template}`: {why}"),
        )
    })
}

/// The spec of `role`'s container with daemon id `id` on `host`.
pub fn container_spec(
    cluster: &Cluster,
    host: &Host,
    role: Role,
    id: &str,
) -> Result<ContainerSpec> {
    let (_, file, text) = ROLE_CONTAINERS
        .iter()
        .find(|(r, _, _)| *r == role)
        .ok_or_else(|| Error::Usage(format!("role {} has no container", role.name())))?;
    let data: RoleContainer = serde_saphyr::from_str(text)
        .map_err(|e| Error::invalid(Origin::file(*file), format!("invalid role data: {e}")))?;
    let mut ctx = tera::Context::new();
    // Every setting of the host by its key, then the daemon's own names.
    for (k, v) in &host.vars {
        if !k.starts_with("ansible_") {
            ctx.insert(k.as_str(), &v.value);
        }
    }
    ctx.insert("cluster", &cluster.name);
    ctx.insert("id", id);
    ctx.insert("host", &host.name);
    let mut environment = IndexMap::new();
    for (k, v) in &data.environment {
        environment.insert(k.clone(), fill(v, &ctx, file)?);
    }
    let s = &host.settings;
    if s.ceph_tcmalloc_max_total_thread_cache_bytes > 0
        && s.ceph_tcmalloc_daemons.iter().any(|d| d == role.name())
    {
        environment.insert(
            "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES".to_string(),
            s.ceph_tcmalloc_max_total_thread_cache_bytes.to_string(),
        );
    }
    let privileges = match role {
        Role::Mon => &s.ceph_mon_container_privileges,
        Role::Mgr => &s.ceph_mgr_container_privileges,
        Role::Osd => &s.ceph_osd_container_privileges,
        Role::Mds => &s.ceph_mds_container_privileges,
        Role::Rgw => &s.ceph_rgw_container_privileges,
        Role::Client => return Err(Error::Usage("clients run no container".into())),
    };
    Ok(ContainerSpec {
        name: fill(&data.name, &ctx, file)?,
        image: cluster.image.clone(),
        command: if role == Role::Osd
            && host.object_store == crate::model::ObjectStore::Filestore
            && !data.filestore_command.is_empty()
        {
            &data.filestore_command
        } else {
            &data.command
        }
        .iter()
        .map(|a| fill(a, &ctx, file))
        .collect::<Result<_>>()?,
        environment,
        volumes: data.volumes.clone(),
        network: "host".to_string(),
        restart_policy: s.container_restart_policy.clone(),
        privileges: privileges.clone(),
    })
}
