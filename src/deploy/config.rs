//! What each host and daemon should have: folders, ceph.conf and keyrings
//! pushed to every host (`PushConfig`), the container spec and the part of
//! ceph.conf a daemon reads, the hash its container is labelled with, and
//! the one place a daemon's container is made to match it.

use std::sync::Arc;
use std::time::Duration;

use crate::containers::{self, Ensured, spec_hash};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, Change, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::render::{self, CEPH_USER, Secrets};
use crate::script::Script;
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError, checked};

use super::{StepResult, host, on_host, outcome};

/// The rendered ceph.conf of a host: daemons depend on it.
pub(super) fn conf_of(cluster: &Cluster, h: &Host) -> Result<String, TransportError> {
    render::ceph_conf(cluster, h).map_err(|e| TransportError::Other {
        host: h.name.clone(),
        reason: e.to_string(),
    })
}

pub(super) fn spec_of(
    cluster: &Cluster,
    h: &Host,
    role: Role,
    id: &str,
) -> Result<render::ContainerSpec, TransportError> {
    render::container_spec(cluster, h, role, id).map_err(|e| TransportError::Other {
        host: h.name.clone(),
        reason: e.to_string(),
    })
}

/// Settings a running daemon follows from the cluster itself (the monmap):
/// a change of them in ceph.conf, such as a mon added, restarts nothing.
const FOLLOWED_LIVE: &[&str] = &["mon_host", "mon_initial_members"];

/// The part of a host's ceph.conf one daemon reads: `[global]`, its type's
/// section and its own (`[osd]`, `[osd.3]`; `[client]` and
/// `[client.rgw.ID]` for rgw), without what it follows live. A change
/// elsewhere does not restart it.
pub fn daemon_conf(conf: &str, role: Role, id: &str) -> String {
    let (kind, name) = match role {
        Role::Rgw => ("client".to_string(), format!("client.rgw.{id}")),
        other => (other.name().to_string(), format!("{}.{id}", other.name())),
    };
    let mut problems = crate::error::Problems::default();
    let parsed = render::CephConf::parse(std::path::Path::new("ceph.conf"), conf, &mut problems);
    let kept = render::CephConf {
        sections: parsed
            .sections
            .into_iter()
            .filter(|s| s.name == "global" || s.name == kind || s.name == name)
            .map(|mut s| {
                s.options
                    .retain(|(k, _)| !FOLLOWED_LIVE.contains(&render::normalize_key(k).as_str()));
                s
            })
            .collect(),
    };
    kept.to_text("")
}

/// `reconfigure` found a daemon that was never deployed.
pub(super) fn not_deployed(h: &Host, what: &str) -> TransportError {
    TransportError::Other {
        host: h.name.clone(),
        reason: format!(
            "the {what} of {} was never deployed; run `cephalo deploy` (reconfigure only changes what exists)",
            h.name
        ),
    }
}

/// The `cephalo.spec` label a daemon's container must carry: the hash of
/// its spec and of the part of ceph.conf it reads.
pub fn wanted_hash(
    cluster: &Cluster,
    h: &Host,
    role: Role,
    id: &str,
) -> Result<String, TransportError> {
    let spec = spec_of(cluster, h, role, id)?;
    let conf = daemon_conf(&conf_of(cluster, h)?, role, id);
    Ok(spec_hash(&spec, &[&conf]))
}

/// How long a daemon's container gets to stop gracefully when it is
/// replaced (`ceph_<type>_stop_timeout`).
pub fn stop_timeout(h: &Host, role: Role) -> Duration {
    let s = &h.settings;
    Duration::from_secs(match role {
        Role::Mon => s.ceph_mon_stop_timeout,
        Role::Mgr => s.ceph_mgr_stop_timeout,
        Role::Osd => s.ceph_osd_stop_timeout,
        Role::Mds => s.ceph_mds_stop_timeout,
        Role::Rgw => s.ceph_rgw_stop_timeout,
        Role::Client => 10,
    })
}

/// Starts (or keeps) a daemon's container; a change of its spec, of the
/// config it reads or of its image's content recreates it (a graceful
/// stop first, and only once its image is on the host).
pub async fn ensure_daemon(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    role: Role,
    id: &str,
) -> StepResult {
    let spec = spec_of(cluster, h, role, id)?;
    let hash = wanted_hash(cluster, h, role, id)?;
    let done = containers::ensure(
        t,
        &crate::transport::Endpoint::of(h),
        h.engine,
        &spec,
        &hash,
        stop_timeout(h, role),
    )
    .await?;
    Ok(done != Ensured::Unchanged)
}

/// Makes a daemon's container again from its spec, with the same data,
/// even when it is as wanted: once the image it will run from is on the
/// host, the container is stopped gracefully (when it runs or restarts),
/// removed and made. What `redeploy` does to each daemon.
pub async fn recreate_daemon(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    role: Role,
    id: &str,
) -> StepResult {
    let spec = spec_of(cluster, h, role, id)?;
    let ep = crate::transport::Endpoint::of(h);
    if containers::image_id(t, &ep, h.engine, &spec.image)
        .await?
        .is_none()
    {
        return Err(containers::image_missing(&h.name, &spec.image));
    }
    if let containers::Present::Present { running, .. } =
        containers::inspect(t, &ep, h.engine, &spec.name).await?
    {
        if running {
            containers::stop(t, &ep, h.engine, &spec.name, stop_timeout(h, role)).await?;
        }
        crate::transport::checked(
            t,
            &ep,
            &crate::transport::Command::new([h.engine.command(), "rm", &spec.name])
                .become_root(h.connection.become_root),
        )
        .await?;
    }
    ensure_daemon(cluster, h, t, role, id).await?;
    Ok(true)
}

const HOST_DIRS: &str = include_str!("host_dirs.sh");

/// The ceph user of Debian's packages: the folders' owner on a host that
/// runs no daemon (and so may lack the image).
const DEBIAN_CEPH: &str = "64045:64045";

/// Folders, ceph.conf and keyrings on every host.
pub struct PushConfig {
    pub cluster: Arc<Cluster>,
}

impl Action for PushConfig {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { outcome(push_config(&self.cluster, ep, t).await) })
    }
}

/// Writes what deploy writes on a host: ceph.conf and the keyrings from
/// passwords.yml (each only when it differs), the folders first.
pub async fn push_config(cluster: &Cluster, ep: &Endpoint, t: &dyn Transport) -> StepResult {
    let h = host(cluster, ep)?;
    // Nothing on a host without a daemon is the ceph user's but the
    // folders.
    let owner = super::owner::of_daemon_host(cluster, h, t)
        .await?
        .unwrap_or_else(|| DEBIAN_CEPH.to_string());
    let dirs = Script::new(HOST_DIRS).arg(&owner);
    let out = checked(t, ep, &on_host(h, dirs)).await?;
    let mut changed = out.stdout_text().contains("changed");
    let rendered =
        render::render_host(cluster, h, Secrets::Include).map_err(|e| TransportError::Other {
            host: h.name.clone(),
            reason: e.to_string(),
        })?;
    for f in &rendered.files {
        let rf = RemoteFile {
            path: &f.path,
            content: f.content.as_bytes(),
            mode: f.mode,
            owner: f
                .owner
                .as_deref()
                .map(|o| if o == CEPH_USER { &owner } else { o }),
        };
        changed |= files::put(t, ep, &rf, ep.connection.become_root).await? == Change::Changed;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_hashes_only_the_config_it_reads() {
        let conf = "[global]\nfsid = x\n[mon]\na = 1\n[osd]\nb = 2\n[osd.3]\nc = 3\n[client.rgw.h1]\nd = 4\n";
        assert_eq!(
            daemon_conf(conf, Role::Mon, "h1"),
            "[global]\nfsid = x\n\n[mon]\na = 1\n"
        );
        assert_eq!(
            daemon_conf(conf, Role::Osd, "3"),
            "[global]\nfsid = x\n\n[osd]\nb = 2\n\n[osd.3]\nc = 3\n"
        );
        assert_eq!(
            daemon_conf(conf, Role::Osd, "4"),
            "[global]\nfsid = x\n\n[osd]\nb = 2\n"
        );
        assert!(daemon_conf(conf, Role::Rgw, "h1").ends_with("[client.rgw.h1]\nd = 4\n"));
        // A mon added changes mon host in [global]: no daemon restarts.
        let grown = conf.replace("fsid = x\n", "fsid = x\nmon host = [v2:10.0.0.1:3300] [v2:10.0.0.2:3300]\nmon_initial_members = a, b\n");
        assert_eq!(
            daemon_conf(&grown, Role::Osd, "3"),
            daemon_conf(conf, Role::Osd, "3")
        );
    }

    #[test]
    fn the_host_folders_script_takes_the_owner_as_a_parameter() {
        let cmd = Script::new(HOST_DIRS).arg("167:167").command();
        assert!(!cmd.argv[2].contains("167"));
        assert_eq!(crate::script::words_seen_by_sh(&cmd), ["167:167"]);
    }
}
