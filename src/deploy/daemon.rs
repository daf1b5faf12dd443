//! The keyed daemons mgr, mds and rgw: the key from the cluster, then the
//! container, and after a restart the wait until the cluster has the
//! daemon again (a new gid; rgw answering HTTP) before the next host.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::{ceph_json, ceph_out};
use crate::containers;
use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked, run};

use super::config::{ensure_daemon, not_deployed, wanted_hash};
use super::waits::wait_for;
use super::{StepResult, host, on_host, outcome};

/// A keyed daemon (mgr, mds, rgw): its key from the cluster, then its
/// container.
pub struct Daemon {
    pub cluster: Arc<Cluster>,
    pub role: Role,
    /// False for `reconfigure`: a daemon without its key is an error.
    pub create: bool,
}

impl Action for Daemon {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(
            async move { outcome(daemon(&self.cluster, self.role, ep, t, ctx, self.create).await) },
        )
    }
}

/// Makes the daemon's data folder `$1`, owned by `$2`.
const DATA_DIR: &str = "mkdir -p -- \"$1\" && chown -- \"$2\" \"$1\"";

/// Prints the HTTP status of an anonymous request to the rgw on port
/// `sys.argv[1]`.
const RGW_PROBE: &str = "import sys, urllib.request as u; print(u.urlopen('http://127.0.0.1:%s/' % sys.argv[1], timeout=5).status)";

/// Waits until a (re)started rgw answers HTTP on its port (an anonymous
/// request: 200 with the empty bucket list).
async fn rgw_answers(
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let port = h.settings.ceph_rgw_port;
    let port_arg = port.to_string();
    let cmd = Command::new([
        h.engine.command(),
        "exec",
        "ceph_rgw",
        "python3",
        "-c",
        RGW_PROBE,
        &port_arg,
    ])
    .become_root(h.connection.become_root)
    .timeout(Duration::from_secs(30));
    let what = format!("rgw on {} did not answer on port {port}", h.name);
    wait_for(ctx, &h.name, &what, Duration::from_secs(180), || async {
        let out = run(t, ep, &cmd).await?;
        Ok(if out.success() && out.stdout_text().trim() == "200" {
            Ok(())
        } else {
            Err(format!("rgw port {port}: {}", out.stderr_tail(1).trim()))
        })
    })
    .await
}

/// The gid a mgr or mds is registered with in the cluster (a restarted
/// daemon registers again with a new one); None when it is not.
async fn registered_gid(
    cluster: &Cluster,
    t: &dyn Transport,
    role: Role,
    name: &str,
) -> Result<Option<u64>, TransportError> {
    let named = |d: &serde_json::Value| d["name"].as_str() == Some(name);
    Ok(match role {
        Role::Mgr => {
            let v = ceph_json(cluster, t, &["mgr", "dump"]).await?;
            if v["active_name"].as_str() == Some(name) && v["available"].as_bool() == Some(true) {
                v["active_gid"].as_u64()
            } else {
                v["standbys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| named(d))
                    .and_then(|d| d["gid"].as_u64())
            }
        }
        Role::Mds => {
            let v = ceph_json(cluster, t, &["fs", "dump"]).await?;
            let standby = v["standbys"].as_array().into_iter().flatten();
            let ranks = v["filesystems"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|f| {
                    f["mdsmap"]["info"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(_, d)| d)
                });
            standby
                .chain(ranks)
                .find(|d| named(d))
                .and_then(|d| d["gid"].as_u64())
        }
        _ => None,
    })
}

/// Entity, data folder and caps of a keyed daemon.
fn identity(cluster: &Cluster, role: Role, id: &str) -> (String, String, Vec<&'static str>) {
    let c = &cluster.name;
    match role {
        Role::Mgr => (
            format!("mgr.{id}"),
            format!("/var/lib/ceph/mgr/{c}-{id}"),
            vec![
                "mon",
                "allow profile mgr",
                "osd",
                "allow *",
                "mds",
                "allow *",
            ],
        ),
        Role::Mds => (
            format!("mds.{id}"),
            format!("/var/lib/ceph/mds/{c}-{id}"),
            vec![
                "mon",
                "allow profile mds",
                "osd",
                "allow rwx",
                "mds",
                "allow",
                "mgr",
                "allow profile mds",
            ],
        ),
        _ => (
            format!("client.rgw.{id}"),
            format!("/var/lib/ceph/radosgw/{c}-rgw.{id}"),
            vec!["mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"],
        ),
    }
}

async fn daemon(
    cluster: &Cluster,
    role: Role,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let (entity, dir, caps) = identity(cluster, role, &h.name);
    let keyring = format!("{dir}/keyring");
    let mut changed = false;
    let exists = run(t, ep, &on_host(h, Command::new(["test", "-s", &keyring])))
        .await?
        .success();
    if !exists && !create {
        return Err(not_deployed(h, role.name()));
    }
    if !exists {
        let mut args = vec!["auth", "get-or-create", entity.as_str()];
        args.extend(caps.iter().copied());
        let key = ceph_out(cluster, t, &args, true).await?;
        let owner = super::owner::of_host(cluster, h, t).await?;
        checked(
            t,
            ep,
            &on_host(h, Script::new(DATA_DIR).arg(&dir).arg(&owner)),
        )
        .await?;
        files::put(
            t,
            ep,
            &RemoteFile {
                path: &keyring,
                content: key.as_bytes(),
                mode: 0o600,
                owner: Some(&owner),
            },
            ep.connection.become_root,
        )
        .await?;
        changed = true;
    }
    // A mgr or mds that is (re)started is waited for until the cluster
    // has it again (a new gid), before the next host's is touched.
    let tracked = matches!(role, Role::Mgr | Role::Mds);
    let name = format!("ceph_{}", role.name());
    let now = containers::inspect(t, ep, h.engine, &name).await?;
    let want = wanted_hash(cluster, h, role, &h.name)?;
    let restarts = containers::need(&now, &want) != containers::Need::Nothing;
    let before = if tracked && restarts {
        registered_gid(cluster, t, role, &h.name).await?
    } else {
        None
    };
    if ensure_daemon(cluster, h, t, role, &h.name).await? {
        changed = true;
        if role == Role::Rgw {
            rgw_answers(h, ep, t, ctx).await?;
        }
        if tracked {
            let what = format!(
                "{} {} did not register with the cluster",
                role.name(),
                h.name
            );
            wait_for(ctx, &h.name, &what, Duration::from_secs(180), || async {
                let gid = registered_gid(cluster, t, role, &h.name).await?;
                Ok(match gid {
                    Some(g) if Some(g) != before => Ok(()),
                    _ => Err(format!(
                        "{} {}: not registered anew yet",
                        role.name(),
                        h.name
                    )),
                })
            })
            .await?;
        }
    }
    if role == Role::Mgr && cluster.settings.enable_ceph_mgr_prometheus {
        ceph_out(
            cluster,
            t,
            &["mgr", "module", "enable", "prometheus"],
            false,
        )
        .await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_data_folder_is_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = Script::new(DATA_DIR).arg(*v).arg("167:167").command();
            assert_eq!(cmd.argv[2], DATA_DIR);
            assert_eq!(crate::script::words_seen_by_sh(&cmd), [*v, "167:167"]);
        }
    }
}
