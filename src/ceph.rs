//! Asking the cluster: the `ceph` CLI run through a mon's container, and
//! the few answers operations read from it (status, quorum, an OSD's
//! state). Shared by deploy, prechecks and the rolling upgrade; it only
//! asks, and changes the cluster only through the arguments its callers
//! give (`auth get-or-create`, `fs new`). Imports model and transport
//! only, never an operation.

use std::time::Duration;

use crate::model::{Cluster, Host, Role};
use crate::transport::{Command, Transport, TransportError, checked};

/// The mon whose container runs the cluster's `ceph` commands: the first
/// in the inventory.
pub fn first_mon(cluster: &Cluster) -> Option<&Host> {
    cluster.hosts_with(Role::Mon).next()
}

/// `ceph --cluster NAME ARGS` in the `ceph_mon` container of `mon`.
pub fn ceph_cmd(cluster: &Cluster, mon: &Host, args: &[&str]) -> Command {
    let mut argv: Vec<String> = vec![
        mon.engine.command().into(),
        "exec".into(),
        "ceph_mon".into(),
        "ceph".into(),
        "--cluster".into(),
        cluster.name.clone(),
        "--connect-timeout".into(),
        "15".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    Command::new(argv)
        .become_root(mon.connection.become_root)
        .timeout(Duration::from_secs(60))
}

fn no_mon() -> TransportError {
    TransportError::Other {
        host: "-".into(),
        reason: "the cluster has no mon".into(),
    }
}

/// Runs `ceph ARGS` on the first mon and returns its output; `secret`
/// keeps the output out of logs (a key).
pub async fn ceph_out(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
    secret: bool,
) -> Result<String, TransportError> {
    let mon = first_mon(cluster).ok_or_else(no_mon)?;
    let mut cmd = ceph_cmd(cluster, mon, args);
    if secret {
        cmd = cmd.secret();
    }
    Ok(checked(t, &crate::transport::Endpoint::of(mon), &cmd)
        .await?
        .stdout_text())
}

/// `ceph ARGS -f json` on the first mon.
pub async fn ceph_json(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
) -> Result<serde_json::Value, TransportError> {
    let mon = first_mon(cluster).ok_or_else(no_mon)?;
    ceph_json_on(cluster, t, mon, args).await
}

/// `ceph ARGS -f json` through the given mon's container.
pub async fn ceph_json_on(
    cluster: &Cluster,
    t: &dyn Transport,
    mon: &Host,
    args: &[&str],
) -> Result<serde_json::Value, TransportError> {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let text = checked(
        t,
        &crate::transport::Endpoint::of(mon),
        &ceph_cmd(cluster, mon, &a),
    )
    .await?
    .stdout_text();
    serde_json::from_str(&text).map_err(|e| TransportError::Other {
        host: mon.name.clone(),
        reason: format!(
            "`ceph {}` printed no JSON ({e}): {}",
            args.join(" "),
            text.chars().take(200).collect::<String>()
        ),
    })
}

/// `ceph -s` of the cluster, as an operator reads it (the summary).
pub async fn ceph_status(cluster: &Cluster, t: &dyn Transport) -> Result<String, TransportError> {
    ceph_out(cluster, t, &["-s"], false).await
}

/// The mons in quorum now.
pub async fn quorum(cluster: &Cluster, t: &dyn Transport) -> Result<Vec<String>, TransportError> {
    Ok(quorum_names(
        &ceph_json(cluster, t, &["quorum_status"]).await?,
    ))
}

/// The `quorum_names` of `ceph quorum_status`.
pub fn quorum_names(quorum_status: &serde_json::Value) -> Vec<String> {
    quorum_status["quorum_names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// An OSD as the OSD map has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsdState {
    pub up: bool,
    /// The map epoch it is up from (0 when it never was).
    pub up_from: u64,
}

/// Whether osd.`id` is up, and from which map epoch.
pub async fn osd_state(
    cluster: &Cluster,
    t: &dyn Transport,
    id: &str,
) -> Result<OsdState, TransportError> {
    Ok(osd_in_dump(
        &ceph_json(cluster, t, &["osd", "dump"]).await?,
        id,
    ))
}

/// osd.`id` in the output of `ceph osd dump` (down from epoch 0 when it
/// is not there).
pub fn osd_in_dump(dump: &serde_json::Value, id: &str) -> OsdState {
    let osd = dump["osds"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["osd"].as_u64().map(|n| n.to_string()).as_deref() == Some(id));
    osd.map_or(
        OsdState {
            up: false,
            up_from: 0,
        },
        |o| OsdState {
            up: o["up"].as_u64() == Some(1),
            up_from: o["up_from"].as_u64().unwrap_or(0),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_from_ceph_json() {
        let q = serde_json::json!({"quorum_names": ["a", "b"], "quorum": [0, 1]});
        assert_eq!(quorum_names(&q), ["a", "b"]);
        assert!(quorum_names(&serde_json::json!({})).is_empty());
        let dump = serde_json::json!({"osds": [
            {"osd": 0, "up": 1, "up_from": 12},
            {"osd": 3, "up": 0, "up_from": 7}]});
        assert_eq!(
            osd_in_dump(&dump, "0"),
            OsdState {
                up: true,
                up_from: 12
            }
        );
        assert_eq!(
            osd_in_dump(&dump, "3"),
            OsdState {
                up: false,
                up_from: 7
            }
        );
        assert_eq!(
            osd_in_dump(&dump, "9"),
            OsdState {
                up: false,
                up_from: 0
            }
        );
    }
}
