//! The mons: mkfs of a mon without data (from one monmap for a new
//! cluster, from the running cluster's monmap for a mon added), its
//! container, and the waits for quorum.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::quorum;
use crate::containers::{self, oneoff_argv};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::render::CEPH_OWNER;
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked, run};

use super::config::{ensure_daemon, not_deployed, spec_of};
use super::waits::wait_for;
use super::{StepResult, host, on_host, outcome};

/// mkfs of every mon that has no data yet, then its container. With no mon
/// data anywhere, all mons start from one monmap holding them all; a mon
/// added to a running cluster starts from the cluster's monmap.
pub struct MonBootstrap {
    pub cluster: Arc<Cluster>,
    /// Whether any mon had data when the step began (decided once, before
    /// the first mkfs): none means a new cluster from one monmap.
    pub existing: tokio::sync::OnceCell<bool>,
    /// False for `reconfigure`: a mon without data is an error, not made.
    pub create: bool,
}

impl Action for MonBootstrap {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let existing = self
                .existing
                .get_or_try_init(|| async {
                    for m in self.cluster.hosts_with(Role::Mon) {
                        if has_mon_data(&self.cluster, m, t).await? {
                            return Ok::<bool, TransportError>(true);
                        }
                    }
                    Ok(false)
                })
                .await;
            match existing {
                Ok(existing) => {
                    outcome(mon_bootstrap(&self.cluster, ep, t, ctx, *existing, self.create).await)
                }
                Err(e) => outcome(Err(e)),
            }
        })
    }
}

/// Empties the mon folder `$1` (made anew) and gives it and the monmap
/// `$2` to `$3`.
const FRESH_MON_DIR: &str =
    "rm -rf -- \"$1\" && mkdir -p -- \"$1\" && chown -- \"$3\" \"$1\" \"$2\"";

fn mon_dir(cluster: &Cluster, id: &str) -> String {
    format!("/var/lib/ceph/mon/{}-{id}", cluster.name)
}

async fn has_mon_data(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
) -> Result<bool, TransportError> {
    let out = run(
        t,
        &crate::transport::Endpoint::of(h),
        &on_host(
            h,
            Command::new([
                "test".to_string(),
                "-e".into(),
                format!("{}/keyring", mon_dir(cluster, &h.name)),
            ]),
        ),
    )
    .await?;
    Ok(out.success())
}

async fn mon_bootstrap(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    existing: bool,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let c = &cluster.name;
    let dir = mon_dir(cluster, &h.name);
    let mut changed = false;
    let fresh = !has_mon_data(cluster, h, t).await?;
    if fresh && !create {
        return Err(not_deployed(h, "mon"));
    }
    if fresh {
        let monmap = format!("/var/lib/ceph/tmp/{c}.monmap");
        // A cluster that existed before this run: join it through a
        // running mon.
        let mut running = None;
        for other in cluster
            .hosts_with(Role::Mon)
            .filter(|o| existing && o.name != h.name)
        {
            let present = containers::inspect(
                t,
                &crate::transport::Endpoint::of(other),
                other.engine,
                "ceph_mon",
            )
            .await?;
            if matches!(present, containers::Present::Present { running: true, .. })
                && has_mon_data(cluster, other, t).await?
            {
                running = Some(other);
                break;
            }
        }
        let spec = spec_of(cluster, h, Role::Mon, &h.name)?;
        if existing && running.is_none() {
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: "the cluster has mon data but no running mon to join; start the existing mons first".into(),
            });
        }
        match running {
            Some(other) => {
                let o_ep = crate::transport::Endpoint::of(other);
                let cmd = Command::new([
                    other.engine.command(),
                    "exec",
                    "ceph_mon",
                    "ceph",
                    "--cluster",
                    c,
                    "--connect-timeout",
                    "30",
                    "mon",
                    "getmap",
                    "-o",
                    &monmap,
                ])
                .become_root(other.connection.become_root);
                checked(t, &o_ep, &cmd).await?;
                let map = files::get(t, &o_ep, &monmap, other.connection.become_root).await?;
                files::put(
                    t,
                    ep,
                    &RemoteFile {
                        path: &monmap,
                        content: &map,
                        mode: 0o644,
                        owner: Some(CEPH_OWNER),
                    },
                    ep.connection.become_root,
                )
                .await?;
            }
            None => {
                let mut args: Vec<String> = vec![
                    "monmaptool".into(),
                    "--create".into(),
                    "--clobber".into(),
                    "--fsid".into(),
                    cluster.fsid.to_string(),
                ];
                for m in cluster.hosts_with(Role::Mon) {
                    let addr = m
                        .public_address
                        .map(|ip| crate::render::mon_address(ip, cluster.release))
                        .unwrap_or_default();
                    let flag = if cluster.release.has_msgr2() {
                        "--addv"
                    } else {
                        "--add"
                    };
                    args.extend([flag.into(), m.name.clone(), addr]);
                }
                args.push(monmap.clone());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let cmd = Command::new(oneoff_argv(h.engine, &spec, &refs))
                    .become_root(ep.connection.become_root)
                    .on_line(ctx.output_to_log(&h.name));
                checked(t, ep, &cmd.timeout(Duration::from_secs(300))).await?;
            }
        }
        checked(
            t,
            ep,
            &on_host(
                h,
                // No keyring: no mkfs finished here (one killed half way
                // leaves a partial store); start it afresh.
                Script::new(FRESH_MON_DIR)
                    .arg(&dir)
                    .arg(&monmap)
                    .arg(CEPH_OWNER),
            ),
        )
        .await?;
        let keyring = format!("/var/lib/ceph/tmp/{c}.mon.keyring");
        let mkfs = [
            "ceph-mon",
            "--cluster",
            c,
            "--mkfs",
            "-i",
            &h.name,
            "--monmap",
            &monmap,
            "--keyring",
            &keyring,
            "--setuser",
            "ceph",
            "--setgroup",
            "ceph",
        ];
        let cmd = Command::new(oneoff_argv(h.engine, &spec, &mkfs))
            .become_root(ep.connection.become_root)
            .timeout(Duration::from_secs(300));
        checked(t, ep, &cmd).await?;
        changed = true;
    }
    let restarted = ensure_daemon(cluster, h, t, Role::Mon, &h.name).await?;
    if restarted && !fresh {
        // A mon of a running cluster was restarted: it must be back in
        // quorum before the next one goes down.
        wait_in_quorum(cluster, t, &h.name, ctx).await?;
    }
    Ok(changed || restarted)
}

async fn wait_in_quorum(
    cluster: &Cluster,
    t: &dyn Transport,
    name: &str,
    ctx: &StepContext,
) -> Result<(), TransportError> {
    let what = format!("mon {name} did not rejoin the quorum");
    wait_for(ctx, name, &what, Duration::from_secs(180), || async {
        let names = quorum(cluster, t).await?;
        Ok(if names.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(format!("quorum: {}", names.join(", ")))
        })
    })
    .await
}

/// Waits until every inventory mon is in quorum.
pub struct WaitQuorum {
    pub cluster: Arc<Cluster>,
}

impl Action for WaitQuorum {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let want: Vec<String> = cluster
                .hosts_with(Role::Mon)
                .map(|h| h.name.clone())
                .collect();
            let r = wait_for(
                ctx,
                &ep.name,
                "the mons did not form a quorum",
                Duration::from_secs(180),
                || async {
                    let names = quorum(cluster, t).await?;
                    let missing: Vec<&str> = want
                        .iter()
                        .filter(|w| !names.contains(w))
                        .map(String::as_str)
                        .collect();
                    Ok(if missing.is_empty() {
                        Ok(false)
                    } else {
                        Err(format!(
                            "in quorum: {}; not yet: {}",
                            names.join(", "),
                            missing.join(", ")
                        ))
                    })
                },
            )
            .await;
            outcome(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_mon_folder_is_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = Script::new(FRESH_MON_DIR)
                .arg(*v)
                .arg(format!("/var/lib/ceph/tmp/{v}.monmap"))
                .arg(CEPH_OWNER)
                .command();
            assert_eq!(cmd.argv[2], FRESH_MON_DIR);
            assert_eq!(
                crate::script::words_seen_by_sh(&cmd),
                [
                    v.to_string(),
                    format!("/var/lib/ceph/tmp/{v}.monmap"),
                    CEPH_OWNER.into()
                ]
            );
        }
    }

    #[test]
    fn the_fresh_mon_folder_script_removes_only_its_folder() {
        // Run for real in a scratch folder: a name with a space, `;` or
        // `$(...)` must not remove or make anything beside it.
        let base = std::env::temp_dir().join(format!("cephalo-mon-{}", std::process::id()));
        for (i, v) in crate::script::HOSTILE.iter().enumerate() {
            let root = base.join(i.to_string());
            let dir = root.join(format!("ceph-{v}"));
            std::fs::create_dir_all(dir.join("old")).unwrap();
            std::fs::write(root.join("keep"), "").unwrap();
            let monmap = root.join("monmap");
            std::fs::write(&monmap, "").unwrap();
            let me = format!(
                "{}:{}",
                String::from_utf8(
                    std::process::Command::new("id")
                        .arg("-u")
                        .output()
                        .unwrap()
                        .stdout
                )
                .unwrap()
                .trim(),
                String::from_utf8(
                    std::process::Command::new("id")
                        .arg("-g")
                        .output()
                        .unwrap()
                        .stdout
                )
                .unwrap()
                .trim()
            );
            let cmd = Script::new(FRESH_MON_DIR)
                .arg(dir.to_str().unwrap())
                .arg(monmap.to_str().unwrap())
                .arg(me)
                .command();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd.line())
                .output()
                .unwrap();
            assert!(out.status.success(), "{v:?}: {out:?}");
            assert!(dir.is_dir() && !dir.join("old").exists(), "{v:?}");
            let mut names: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, [format!("ceph-{v}"), "keep".into(), "monmap".into()]);
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
