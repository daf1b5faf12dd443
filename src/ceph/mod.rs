//! Asking the cluster: the `ceph` CLI run through the container of any
//! inventory mon through which the cluster answers (`reach`: the one way
//! every operation reaches it), and the few answers operations read from
//! it (status, quorum, an OSD's state, version strings). Shared by deploy,
//! prechecks, status and the rolling upgrade; it only asks, and changes the
//! cluster only through the arguments its callers give (`auth
//! get-or-create`, `fs new`). Imports values, model and transport only,
//! never an operation.

pub mod reach;

use std::time::Duration;

use crate::model::{Cluster, Host, Role};
use crate::release::Release;
use crate::transport::{Command, Output, Transport, TransportError, checked};

pub use reach::mons_to_try;

/// The first mon of the inventory (where steps about the whole cluster
/// are reported). `ceph` itself runs through any mon that answers.
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

/// Runs `ceph ARGS` through the first mon (in the order of
/// `reach::mons_to_try`) through which the cluster answers; returns that
/// mon and the output.
async fn through_any_mon<'a>(
    cluster: &'a Cluster,
    t: &dyn Transport,
    args: &[&str],
    secret: bool,
) -> Result<(&'a Host, Output), TransportError> {
    reach::through_mons(cluster, &format!("ceph {}", args.join(" ")), |mon| {
        let cmd = ceph_cmd(cluster, mon, args);
        let cmd = if secret { cmd.secret() } else { cmd };
        async move { reach::ceph_attempt(t, mon, &cmd).await }
    })
    .await
}

/// Runs `WORDS` in the `ceph_mon` container of the first mon through which
/// the cluster answers (`rbd ...`, `rados ...`, `sh -c SCRIPT cephalo
/// ARGS`), with `timeout`; returns its output.
pub async fn in_mon_container(
    cluster: &Cluster,
    t: &dyn Transport,
    words: &[String],
    timeout: Duration,
) -> Result<String, TransportError> {
    let what = words.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
    let (_, out) = reach::through_mons(cluster, &what, |mon| {
        let mut argv: Vec<String> = vec![
            mon.engine.command().into(),
            "exec".into(),
            "ceph_mon".into(),
        ];
        argv.extend(words.iter().cloned());
        let cmd = Command::new(argv)
            .become_root(mon.connection.become_root)
            .timeout(timeout);
        async move { reach::tool_attempt(cluster, t, mon, &cmd).await }
    })
    .await?;
    Ok(out.stdout_text())
}

/// The raw bytes `ceph ARGS` writes (binary maps, keys: kept out of logs).
pub async fn ceph_bytes(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
) -> Result<Vec<u8>, TransportError> {
    Ok(through_any_mon(cluster, t, args, true).await?.1.stdout)
}

/// Runs `ceph ARGS` through a mon that answers and returns its output;
/// `secret` keeps the output out of logs (a key).
pub async fn ceph_out(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
    secret: bool,
) -> Result<String, TransportError> {
    Ok(through_any_mon(cluster, t, args, secret)
        .await?
        .1
        .stdout_text())
}

/// `ceph ARGS -f json` through a mon that answers.
pub async fn ceph_json(
    cluster: &Cluster,
    t: &dyn Transport,
    args: &[&str],
) -> Result<serde_json::Value, TransportError> {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let (mon, out) = through_any_mon(cluster, t, &a, false).await?;
    parse_json(mon, args, &out.stdout_text())
}

fn parse_json(mon: &Host, args: &[&str], text: &str) -> Result<serde_json::Value, TransportError> {
    serde_json::from_str(text).map_err(|e| TransportError::Other {
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

/// What one mon says of itself through its admin socket, which answers
/// with or without a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonStatus {
    /// `leader`, `peon`, `probing`, `electing`, `synchronizing`.
    pub state: String,
    /// The epoch of its monmap: 0 until the mons first formed a quorum
    /// (a monmap from `monmaptool --create`), 1 or more after.
    pub monmap_epoch: u64,
}

impl MonStatus {
    pub fn in_quorum(&self) -> bool {
        self.state == "leader" || self.state == "peon"
    }

    /// The mons have never met: the monmap is the one it was made from.
    pub fn never_formed(&self) -> bool {
        self.monmap_epoch == 0
    }
}

/// Reads `mon_status` as printed by every release from Jewel to Tentacle.
pub fn parse_mon_status(v: &serde_json::Value) -> Option<MonStatus> {
    Some(MonStatus {
        state: v["state"].as_str()?.to_string(),
        monmap_epoch: v["monmap"]["epoch"].as_u64()?,
    })
}

/// `mon_status` of `mon` through its admin socket, with `timeout`.
pub async fn mon_status(
    cluster: &Cluster,
    mon: &Host,
    t: &dyn Transport,
    timeout: Duration,
) -> Result<MonStatus, TransportError> {
    let asok = format!("/var/run/ceph/{}-mon.{}.asok", cluster.name, mon.name);
    let cmd = Command::new([
        mon.engine.command(),
        "exec",
        "ceph_mon",
        "ceph",
        "--admin-daemon",
        &asok,
        "mon_status",
    ])
    .become_root(mon.connection.become_root)
    .timeout(timeout);
    let out = checked(t, &crate::transport::Endpoint::of(mon), &cmd).await?;
    serde_json::from_str(&out.stdout_text())
        .ok()
        .and_then(|v| parse_mon_status(&v))
        .ok_or_else(|| TransportError::Other {
            host: mon.name.clone(),
            reason: "mon_status printed no state and monmap epoch".into(),
        })
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

/// The PGs of `ceph pg dump pgs_brief -f json`: `{"pg_ready": ..,
/// "pg_stats": [...]}` on Nautilus to Tentacle (tests/fixtures/ceph), a
/// bare list or `pg_map.pg_stats` on older releases (not verified here).
pub fn pgs_brief(dump: &serde_json::Value) -> Option<&Vec<serde_json::Value>> {
    dump.as_array()
        .or_else(|| dump["pg_stats"].as_array())
        .or_else(|| dump["pg_map"]["pg_stats"].as_array())
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

/// A Ceph version, as daemons print it: `ceph version 16.2.15 (sha)
/// pacific (stable)`; Jewel's has no release name (`ceph version 10.2.11
/// (sha)`), development builds add `-N-gSHA` to the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CephVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl CephVersion {
    /// The release of its major number (None: one cephalo does not know).
    pub fn release(self) -> Option<Release> {
        Release::parse(&self.major.to_string())
    }
}

impl std::fmt::Display for CephVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(r) = self.release() {
            write!(f, " ({r})")?;
        }
        Ok(())
    }
}

/// Parses a version string (`ceph --version`, `ceph versions` keys, `ceph
/// mon metadata`'s ceph_version) by its number, never by its words.
pub fn parse_version(text: &str) -> Option<CephVersion> {
    let mut words = text.split_whitespace();
    words.by_ref().find(|w| *w == "version")?;
    let number = words.next()?.trim_start_matches('v');
    let number = number.split(['-', '+', '~']).next()?;
    let mut parts = number.split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().and_then(Result::ok).unwrap_or(0);
    let patch = parts.next().and_then(Result::ok).unwrap_or(0);
    Some(CephVersion {
        major,
        minor,
        patch,
    })
}

/// What `ceph <type> ok-to-stop <ids>` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OkToStop {
    Yes,
    /// The release has no such check (`no valid command found`).
    NoSuchCheck,
    /// Still no when the bound ran out: Ceph's last words.
    No {
        said: String,
    },
}

/// Asks `ceph <kind> ok-to-stop <ids>` through a mon that answers until
/// Ceph says yes, pausing 2, 4, 8 ... up to 30 s between asks, for at most
/// `limit`. Each pause is reported to `paused(start_ms, ms, said)` (for the
/// run log); deploy's OSD restarts and the upgrade's gates both ask here.
pub async fn ok_to_stop(
    cluster: &Cluster,
    t: &dyn Transport,
    kind: &str,
    ids: &[String],
    limit: Duration,
    paused: impl Fn(u64, u64, &str),
) -> Result<OkToStop, TransportError> {
    let mut args = vec![kind, "ok-to-stop"];
    args.extend(ids.iter().map(String::as_str));
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_secs(2);
    loop {
        let said = match ceph_out(cluster, t, &args, false).await {
            Ok(_) => return Ok(OkToStop::Yes),
            Err(TransportError::Failed {
                status: 22,
                stderr_tail,
                ..
            }) if stderr_tail.contains("no valid command") => return Ok(OkToStop::NoSuchCheck),
            Err(TransportError::Failed { stderr_tail, .. }) => stderr_tail.trim().to_string(),
            Err(e) => return Err(e),
        };
        if started.elapsed() + pause > limit {
            return Ok(OkToStop::No { said });
        }
        let at = crate::engine::report::now_ms() as u64;
        tokio::time::sleep(pause).await;
        paused(at, pause.as_millis() as u64, &said);
        pause = (pause * 2).min(Duration::from_secs(30));
    }
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

    #[test]
    fn version_strings_are_parsed_by_their_number() {
        let v = |s: &str| parse_version(s);
        let pacific =
            v("ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)")
                .unwrap();
        assert_eq!((pacific.major, pacific.minor, pacific.patch), (16, 2, 15));
        assert_eq!(pacific.release(), Some(Release::Pacific));
        assert_eq!(pacific.to_string(), "16.2.15 (pacific)");
        // Jewel names no release.
        let jewel = v("ceph version 10.2.11 (e4b061b47f07f583c92a050d9e84b1813a35671e)\n").unwrap();
        assert_eq!(jewel.release(), Some(Release::Jewel));
        // A development build, and a name that says otherwise: the number wins.
        let dev = v("ceph version 19.3.0-5432-gdeadbeef (deadbeef) squid (dev)").unwrap();
        assert_eq!((dev.major, dev.minor, dev.patch), (19, 3, 0));
        assert_eq!(
            v("ceph version 18.2.7 (x) pacific (stable)")
                .unwrap()
                .release(),
            Some(Release::Reef)
        );
        assert!(v("18.2.7").is_none());
        assert!(v("ceph version unknown").is_none());
        assert!(v("").is_none());
        // Every release the fake answers with parses back to itself.
        for r in Release::ALL {
            let s = crate::fake::ceph::version_string(r);
            assert_eq!(v(&s).and_then(CephVersion::release), Some(r), "{s}");
        }
    }
}
