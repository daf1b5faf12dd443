//! The one way to reach the cluster: every `ceph` call, and every tool run
//! in a mon's container (`rbd`, `rados`, cephalo's scripts), tries the
//! inventory's mons in turn, the one that answered last first, and moves on
//! whenever a mon did not answer *as a Ceph cluster*. That is decided from
//! evidence, never from the engine's wording: `ceph` exited 0, or printed
//! one of Ceph's own errors (`Error ENOENT: ...`, final: not asked again
//! elsewhere). Anything else (a stopped, restarting, missing or hanging
//! container, an unreachable host, a client that could not connect) is
//! "no answer", and the next mon is tried. The mon that answered is kept
//! with the run's cluster (`Cluster.learned.reach`) and named with `-v`.
//! Asks only what its callers give; imports values, model and transport.

use std::future::Future;

use crate::model::{Cluster, Host, Role};
use crate::transport::{Command, Endpoint, Output, Transport, TransportError, run};

/// What one try through one mon came to.
pub enum Attempt<T> {
    /// The cluster answered: with what was asked, or with its own error
    /// (final: the other mons would say the same).
    Answered(Result<T, TransportError>),
    /// Not an answer of the cluster: the next mon is tried.
    NoAnswer(TransportError),
}

/// Ceph's own error in a `ceph` command's stderr: the `Error EXXX: ...`
/// line the CLI prints for every error a mon, mgr or OSD replied with.
/// None when there is none (the client never reached the cluster, or the
/// command never ran).
pub fn ceph_error(stderr: &str) -> Option<&str> {
    stderr.lines().map(str::trim).find(|l| {
        l.strip_prefix("Error E")
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase())
            })
    })
}

fn failed(mon: &Host, cmd: &Command, out: &Output) -> TransportError {
    TransportError::Failed {
        host: mon.name.clone(),
        command: cmd.display(),
        status: out.status,
        stderr_tail: out.stderr_tail(4),
    }
}

/// Runs a `ceph` command on `mon`'s host and judges its outcome: exit 0 or
/// Ceph's own error is the cluster's answer, anything else is none.
pub async fn ceph_attempt(t: &dyn Transport, mon: &Host, cmd: &Command) -> Attempt<Output> {
    match run(t, &Endpoint::of(mon), cmd).await {
        Err(e) => Attempt::NoAnswer(e),
        Ok(out) if out.success() => Attempt::Answered(Ok(out)),
        Ok(out) if ceph_error(&out.stderr_text()).is_some() => {
            Attempt::Answered(Err(failed(mon, cmd, &out)))
        }
        Ok(out) => Attempt::NoAnswer(explain(t, mon, failed(mon, cmd, &out)).await),
    }
}

/// Why a command that ran on `mon`'s host got no answer, when its
/// `ceph_mon` container is the reason: the engine's own record of the
/// container (missing, exited, restarting and how often), asked once.
/// Anything else (the container runs; a client that could not connect)
/// keeps the command's error.
pub async fn explain(t: &dyn Transport, mon: &Host, e: TransportError) -> TransportError {
    if !matches!(e, TransportError::Failed { .. }) {
        return e;
    }
    let inspect = Command::new([
        mon.engine.command(),
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.State.Status}} {{.RestartCount}}",
        "ceph_mon",
    ])
    .become_root(mon.connection.become_root)
    .timeout(std::time::Duration::from_secs(15));
    let state = match run(t, &Endpoint::of(mon), &inspect).await {
        Ok(out) if out.success() => {
            let text = out.stdout_text();
            let mut words = text.split_whitespace();
            let status = words.next().unwrap_or("unknown").to_string();
            let restarts: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            if status == "running" {
                return e;
            }
            match restarts {
                0 => format!("its ceph_mon container is not running ({status})"),
                n => format!("its ceph_mon container is not running ({status}, {n} restarts)"),
            }
        }
        // The engine answered, and has no such container.
        Ok(_) => "it has no ceph_mon container".to_string(),
        Err(_) => return e,
    };
    TransportError::Other {
        host: mon.name.clone(),
        reason: state,
    }
}

/// Runs a tool in `mon`'s container (`cmd`) and judges its outcome: exit 0
/// is an answer; a failure is the cluster's answer only when `ceph fsid`
/// answers through the same container right after (the tool reached the
/// cluster and was told no), else it is none.
pub async fn tool_attempt(
    cluster: &Cluster,
    t: &dyn Transport,
    mon: &Host,
    cmd: &Command,
) -> Attempt<Output> {
    match run(t, &Endpoint::of(mon), cmd).await {
        Err(e) => Attempt::NoAnswer(e),
        Ok(out) if out.success() => Attempt::Answered(Ok(out)),
        Ok(out) => {
            let probe = super::ceph_cmd(cluster, mon, &["fsid"]);
            match ceph_attempt(t, mon, &probe).await {
                Attempt::Answered(Ok(_)) => Attempt::Answered(Err(failed(mon, cmd, &out))),
                Attempt::NoAnswer(why @ TransportError::Other { .. }) => Attempt::NoAnswer(why),
                _ => Attempt::NoAnswer(failed(mon, cmd, &out)),
            }
        }
    }
}

/// The inventory mons in the order a call tries them: the one that
/// answered last first, then the others in inventory order.
pub fn mons_to_try(cluster: &Cluster) -> Vec<&Host> {
    let last = cluster
        .learned
        .reach
        .lock()
        .ok()
        .and_then(|r| r.answered.clone());
    let mut mons: Vec<&Host> = cluster.hosts_with(Role::Mon).collect();
    if let Some(i) = last.and_then(|l| mons.iter().position(|m| m.name == l)) {
        let m = mons.remove(i);
        mons.insert(0, m);
    }
    mons
}

/// Why a mon gave no answer, in the words of whatever failed (the engine,
/// SSH, the client), without the host (the caller names it).
pub fn why(e: &TransportError) -> String {
    match e {
        TransportError::Failed {
            status,
            stderr_tail,
            ..
        } => {
            let last = stderr_tail
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("");
            if last.is_empty() {
                format!("exited with status {status} and said nothing")
            } else {
                last.to_string()
            }
        }
        other => {
            let text = other.to_string();
            let prefix = format!("{}: ", other.host());
            text.strip_prefix(&prefix).unwrap_or(&text).to_string()
        }
    }
}

/// Runs `attempt` through each inventory mon in turn (`mons_to_try`) until
/// the cluster answers; returns that mon and the answer, or the cluster's
/// own error. When no mon answered: that mon's error when there is one
/// mon, an unreachable error when no mon's host could be reached, else an
/// error naming every mon and why (`what` names the call).
pub async fn through_mons<'a, T, F, Fut>(
    cluster: &'a Cluster,
    what: &str,
    attempt: F,
) -> Result<(&'a Host, T), TransportError>
where
    F: FnMut(&'a Host) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    through_these(cluster, mons_to_try(cluster), what, attempt).await
}

/// `through_mons` in an order the operator gave (gatherkeys' mons).
pub async fn through_these<'a, T, F, Fut>(
    cluster: &'a Cluster,
    mons: Vec<&'a Host>,
    what: &str,
    mut attempt: F,
) -> Result<(&'a Host, T), TransportError>
where
    F: FnMut(&'a Host) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    if mons.is_empty() {
        return Err(TransportError::Other {
            host: "-".into(),
            reason: "the cluster has no mon".into(),
        });
    }
    let mut tried: Vec<(String, TransportError)> = Vec::new();
    for mon in mons {
        match attempt(mon).await {
            Attempt::Answered(result) => {
                remember(cluster, mon, &tried);
                return result.map(|v| (mon, v));
            }
            Attempt::NoAnswer(e) => tried.push((mon.name.clone(), e)),
        }
    }
    Err(no_answer(what, tried))
}

/// Keeps the mon that answered for the run's next calls, and tells `-v`
/// when it changed or mons before it gave no answer.
fn remember(cluster: &Cluster, mon: &Host, tried: &[(String, TransportError)]) {
    let Ok(mut reach) = cluster.learned.reach.lock() else {
        return;
    };
    let changed = reach.answered.as_deref() != Some(mon.name.as_str());
    reach.answered = Some(mon.name.clone());
    if let Some(say) = reach.say.clone().filter(|_| changed || !tried.is_empty()) {
        drop(reach);
        let mut text = format!("ceph: the cluster answered through mon {}", mon.name);
        if !tried.is_empty() {
            let skipped: Vec<String> = tried
                .iter()
                .map(|(m, e)| format!("{m}: {}", why(e)))
                .collect();
            text += &format!(" (no answer through {})", skipped.join("; "));
        }
        say(&text);
    }
}

fn no_answer(what: &str, mut tried: Vec<(String, TransportError)>) -> TransportError {
    if tried.len() == 1 {
        return tried.remove(0).1;
    }
    let host = tried.first().map(|(m, _)| m.clone()).unwrap_or_default();
    let names = || {
        tried
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if tried.iter().all(|(_, e)| e.is_unreachable()) {
        return TransportError::Unreachable {
            target: format!("any mon ({})", names()),
            reason: tried
                .iter()
                .map(|(_, e)| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
            host,
        };
    }
    TransportError::Other {
        reason: format!(
            "no mon answered `{what}`: {}",
            tried
                .iter()
                .map(|(m, e)| format!("{m}: {}", why(e)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cephs_own_errors_are_told_from_everything_else() {
        // What the `ceph` CLI prints for a reply with an error (real
        // answers of Nautilus to Tentacle, tests/fixtures/ceph).
        for said in [
            "Error ENOENT: failed to find client.nobody in keyring",
            "no valid command found; 10 closest matches:\nosd ls\nError EINVAL: invalid command",
            "Error EBUSY: unsafe to stop osd(s) at this time (1 PGs are or would become offline)",
        ] {
            assert!(ceph_error(said).is_some(), "{said}");
        }
        // The engine, SSH or a client that never connected: no answer.
        for said in [
            "Error response from daemon: Container 3f2a is restarting, wait until the container is running",
            "Error response from daemon: container ceph_mon is not running",
            "Error: No such container: ceph_mon",
            "Error: can only create exec sessions on running containers: container state improper",
            "[errno 110] RADOS timed out (error connecting to the cluster)",
            "Error initializing cluster client: ObjectNotFound('RADOS object not found (error calling conf_read_file)')",
            "",
        ] {
            assert_eq!(ceph_error(said), None, "{said}");
        }
    }

    #[test]
    fn why_is_the_last_words_without_the_host() {
        let e = TransportError::Failed {
            host: "ceph1".into(),
            command: "docker exec ceph_mon ceph -s".into(),
            status: 1,
            stderr_tail: "\nError response from daemon: Container 3f is restarting, wait until the container is running\n".into(),
        };
        assert_eq!(
            why(&e),
            "Error response from daemon: Container 3f is restarting, wait until the container is running"
        );
        let u = TransportError::Unreachable {
            host: "ceph2".into(),
            target: "10.0.0.2:22".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(why(&u), "cannot connect to 10.0.0.2:22: connection refused");
    }
}
