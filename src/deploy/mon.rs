//! The mons: mkfs of a mon without data (from one monmap for a new
//! cluster, from the running cluster's monmap for a mon added), its
//! container, and the waits for quorum.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::{MonStatus, mon_status, quorum};
use crate::containers::{self, oneoff_argv};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, RemoteFile};
use crate::model::{Cluster, Host, Role};
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

/// What another mon with data is, seen from a mon about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Peer {
    /// Its admin socket answered.
    Said(MonStatus),
    /// Its container is not running, or it did not answer (why).
    Silent(String),
}

/// How a mon without data gets its first monmap.
#[derive(Debug, PartialEq, Eq)]
enum Join {
    /// `monmaptool --create` with every inventory mon: a new cluster, or
    /// one whose mons have never met (a run stopped during the bootstrap
    /// left some made from such a map; one more from the same list meets
    /// them).
    Initial,
    /// `mon getmap` from this mon, which is in quorum.
    Through(String),
    Refuse(String),
}

/// The decision, from what the other mons said.
fn join_plan(existing: bool, peers: &[(String, Peer)]) -> Join {
    if !existing {
        return Join::Initial;
    }
    if let Some((name, _)) = peers
        .iter()
        .find(|(_, p)| matches!(p, Peer::Said(s) if s.in_quorum()))
    {
        return Join::Through(name.clone());
    }
    let never_met = |p: &Peer| matches!(p, Peer::Said(s) if s.never_formed());
    if peers.iter().any(|(_, p)| never_met(p))
        && !peers
            .iter()
            .any(|(_, p)| matches!(p, Peer::Said(s) if !s.never_formed()))
    {
        return Join::Initial;
    }
    let said: Vec<String> = peers
        .iter()
        .map(|(name, p)| match p {
            Peer::Said(s) => format!("mon {name}: {} (monmap epoch {})", s.state, s.monmap_epoch),
            Peer::Silent(why) => format!("mon {name}: {why}"),
        })
        .collect();
    Join::Refuse(format!(
        "the cluster has mon data but no mon in quorum to join; start the existing mons first ({})",
        if said.is_empty() {
            "no other mon has data".to_string()
        } else {
            said.join("; ")
        }
    ))
}

/// Every other inventory mon that has data: what its admin socket says.
/// A mon started a moment ago gets a while to open its socket.
async fn peer_states(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    ctx: &StepContext,
) -> Result<Vec<(String, Peer)>, TransportError> {
    let mut peers = Vec::new();
    for other in cluster.hosts_with(Role::Mon).filter(|o| o.name != h.name) {
        if !has_mon_data(cluster, other, t).await? {
            continue;
        }
        let o_ep = crate::transport::Endpoint::of(other);
        let present = containers::inspect(t, &o_ep, other.engine, "ceph_mon").await?;
        if !matches!(present, containers::Present::Present { running: true, .. }) {
            peers.push((
                other.name.clone(),
                Peer::Silent("its ceph_mon container is not running".into()),
            ));
            continue;
        }
        let what = format!("mon {} did not answer on its admin socket", other.name);
        let said = wait_for(ctx, &h.name, &what, Duration::from_secs(60), || async {
            Ok(
                match mon_status(cluster, other, t, Duration::from_secs(15)).await {
                    Ok(s) => Ok(s),
                    Err(e) => Err(e.to_string()),
                },
            )
        })
        .await;
        peers.push((
            other.name.clone(),
            match said {
                Ok(s) => Peer::Said(s),
                Err(e) => Peer::Silent(e.to_string()),
            },
        ));
    }
    Ok(peers)
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
        let owner = super::owner::of_host(cluster, h, t).await?;
        let monmap = format!("/var/lib/ceph/tmp/{c}.monmap");
        let peers = if existing {
            peer_states(cluster, h, t, ctx).await?
        } else {
            Vec::new()
        };
        let running = match join_plan(existing, &peers) {
            Join::Initial => None,
            Join::Through(name) => cluster.hosts_with(Role::Mon).find(|o| o.name == name),
            Join::Refuse(reason) => {
                return Err(TransportError::Other {
                    host: h.name.clone(),
                    reason,
                });
            }
        };
        let spec = spec_of(cluster, h, Role::Mon, &h.name)?;
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
                        owner: Some(&owner),
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
                    .arg(&owner),
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

    fn said(state: &str, epoch: u64) -> Peer {
        Peer::Said(MonStatus {
            state: state.into(),
            monmap_epoch: epoch,
        })
    }

    #[test]
    fn a_new_mon_joins_through_a_mon_in_quorum_else_from_the_first_list_when_none_ever_met() {
        let p = |v: Vec<(&str, Peer)>| -> Vec<(String, Peer)> {
            v.into_iter().map(|(n, p)| (n.to_string(), p)).collect()
        };
        assert_eq!(join_plan(false, &[]), Join::Initial);
        assert_eq!(
            join_plan(
                true,
                &p(vec![
                    ("ceph1", said("probing", 3)),
                    ("ceph2", said("peon", 3))
                ])
            ),
            Join::Through("ceph2".into())
        );
        // A deploy stopped after ceph1's mon started: it waits for peers
        // that were never made.
        assert_eq!(
            join_plan(true, &p(vec![("ceph1", said("probing", 0))])),
            Join::Initial
        );
        // Mons that once met and lost their quorum: never a second monmap.
        for peers in [
            vec![("ceph1", said("probing", 5))],
            vec![
                ("ceph1", said("probing", 0)),
                ("ceph2", said("electing", 2)),
            ],
            vec![(
                "ceph1",
                Peer::Silent("its ceph_mon container is not running".into()),
            )],
            vec![],
        ] {
            match join_plan(true, &p(peers.clone())) {
                Join::Refuse(why) => {
                    assert!(why.contains("no mon in quorum to join"), "{why}");
                    for (name, _) in &peers {
                        assert!(why.contains(&format!("mon {name}: ")), "{why}");
                    }
                }
                other => panic!("{peers:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_hostile_mon_folder_is_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = Script::new(FRESH_MON_DIR)
                .arg(*v)
                .arg(format!("/var/lib/ceph/tmp/{v}.monmap"))
                .arg("167:167")
                .command();
            assert_eq!(cmd.argv[2], FRESH_MON_DIR);
            assert_eq!(
                crate::script::words_seen_by_sh(&cmd),
                [
                    v.to_string(),
                    format!("/var/lib/ceph/tmp/{v}.monmap"),
                    "167:167".into()
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
