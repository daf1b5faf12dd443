//! `cephalo status`: reads the facts (the cluster's `ceph status` and OSD
//! tree through any mon that answers, every selected host's `ceph_*`
//! containers with the version each running one reports, an unfinished
//! upgrade from the journal here or on the mons) and hands them to the
//! pure `report`. Reads only; changes nothing on any host.

pub mod report;

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::ceph::ceph_json;
use crate::containers::running_version;
use crate::model::{Cluster, Engine};
use crate::transport::{Command, Endpoint, Transport, TransportError, run};

pub use report::{ContainerFact, Facts, HostFacts, Status};

/// The `inspect --format` of the status: one line per container,
/// `NAME|RUNNING|STATUS|IMAGE|STARTED_AT|RESTARTS`.
const INSPECT_FORMAT: &str = "{{.Name}}|{{.State.Running}}|{{.State.Status}}|{{.Config.Image}}|{{.State.StartedAt}}|{{.RestartCount}}";

/// Parses the inspect lines (docker names start with `/`).
pub fn parse_inspect(text: &str) -> Vec<ContainerFact> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut p = l.split('|').map(str::trim);
            let mut next = || p.next().unwrap_or_default().to_string();
            let name = next().trim_start_matches('/').to_string();
            let running = next() == "true";
            let state = Some(next())
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown".into());
            ContainerFact {
                name,
                running,
                state,
                image: next(),
                started_at: next(),
                restarts: next().parse().unwrap_or(0),
                version: None,
            }
        })
        .collect()
}

fn engine_cmd(ep: &Endpoint, words: Vec<String>) -> Command {
    Command::new(words)
        .become_root(ep.connection.become_root)
        .timeout(Duration::from_secs(60))
}

/// A host's `ceph_*` containers: their names (`ps -a`), one `inspect` of
/// all, then `ceph --version` in each running one, at once.
async fn containers_on(
    t: &dyn Transport,
    ep: &Endpoint,
    engine: Engine,
) -> Result<Vec<ContainerFact>, TransportError> {
    let e = engine.command().to_string();
    let ps = engine_cmd(
        ep,
        vec![
            e.clone(),
            "ps".into(),
            "-a".into(),
            "--format".into(),
            "{{.Names}}".into(),
        ],
    );
    let out = run(t, ep, &ps).await?;
    if !out.success() {
        return Err(TransportError::Failed {
            host: ep.name.clone(),
            command: ps.display(),
            status: out.status,
            stderr_tail: out.stderr_tail(4),
        });
    }
    let names: Vec<String> = out
        .stdout_text()
        .split_whitespace()
        .filter(|n| n.starts_with("ceph_"))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut words = vec![
        e,
        "inspect".into(),
        "--type".into(),
        "container".into(),
        "--format".into(),
        INSPECT_FORMAT.into(),
    ];
    words.extend(names.iter().cloned());
    // A container removed since `ps` is left out (the others are printed).
    let inspected = run(t, ep, &engine_cmd(ep, words)).await?;
    let mut found = parse_inspect(&inspected.stdout_text());
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let versions = futures::future::join_all(found.iter().map(|c| async move {
        if c.running {
            running_version(t, ep, engine, &c.name).await.ok()
        } else {
            None
        }
    }))
    .await;
    for (c, v) in found.iter_mut().zip(versions) {
        c.version = v;
    }
    Ok(found)
}

async fn host_facts(cluster: &Cluster, t: &dyn Transport, ep: &Endpoint) -> HostFacts {
    let engine = cluster.host(&ep.name).map_or(Engine::Docker, |h| h.engine);
    match containers_on(t, ep, engine).await {
        Ok(c) => HostFacts::Reached(c),
        Err(e) if e.is_unreachable() || e.is_host_key() => HostFacts::Unreachable {
            why: e.to_string(),
            host_key: e.is_host_key(),
        },
        Err(e) => HostFacts::Failed(e.to_string()),
    }
}

/// Reads every fact the report needs; `hosts` are the selected ones, in
/// inventory order, read in parallel; the cluster is asked through any
/// mon that answers.
pub async fn gather(
    cluster: &Cluster,
    t: &dyn Transport,
    hosts: &[Endpoint],
    inventory_dir: &Path,
) -> Facts {
    let per_host = futures::future::join_all(hosts.iter().map(|ep| host_facts(cluster, t, ep)));
    let ceph_status = async {
        ceph_json(cluster, t, &["status"])
            .await
            .map_err(|e| e.to_string())
    };
    let (per_host, ceph_status) = futures::join!(per_host, ceph_status);
    let osd_tree = match ceph_status {
        Ok(_) => ceph_json(cluster, t, &["osd", "tree"]).await.ok(),
        Err(_) => None,
    };
    let reached = if ceph_status.is_ok() { Some(t) } else { None };
    let journal = crate::upgrade::run::unfinished(cluster, reached, inventory_dir)
        .await
        .ok()
        .flatten();
    Facts {
        ceph_status,
        osd_tree,
        hosts: hosts.iter().map(|e| e.name.clone()).zip(per_host).collect(),
        upgrade: journal.as_ref().map(|j| j.summary(None)),
        upgrade_image: journal.and_then(|j| j.image),
        now: SystemTime::now(),
    }
}

/// The facts read, and the report built from them.
pub async fn status(
    cluster: &Cluster,
    t: &dyn Transport,
    hosts: &[Endpoint],
    inventory_dir: &Path,
) -> Status {
    report::build(cluster, &gather(cluster, t, hosts, inventory_dir).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_lines_of_docker_and_podman() {
        let docker = "/ceph_mon|true|running|cephalo/ceph:reef|2026-11-30T12:00:00.1Z|0\n\
                      /ceph_osd_3|false|exited|cephalo/ceph:reef|2026-11-30T12:00:00Z|4\n";
        let f = parse_inspect(docker);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "ceph_mon");
        assert!(f[0].running);
        assert_eq!(f[1].state, "exited");
        assert_eq!(f[1].restarts, 4);
        let podman =
            "ceph_mgr|true|running|quay.io/ceph/ceph:v18|2026-11-30 12:00:00.1 +0000 UTC|1";
        let f = parse_inspect(podman);
        assert_eq!(f[0].name, "ceph_mgr");
        assert_eq!(f[0].image, "quay.io/ceph/ceph:v18");
        assert_eq!(f[0].started_at, "2026-11-30 12:00:00.1 +0000 UTC");
    }
}
