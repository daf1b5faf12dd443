//! Custom containers on their hosts (the deploy step after the Ceph
//! daemons): each one's cephx user and keyring, then its container made to
//! match through the one container mechanism (`containers::ensure_with`),
//! so a second deploy leaves it alone and a change restarts only it. The
//! declarations and their checks are `model::custom`'s.

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::ceph_out;
use crate::containers::{self, Ensured, spec_hash};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::files::{self, RemoteFile};
use crate::model::custom::{CustomCephx, CustomContainer};
use crate::model::{Cluster, Engine, Host};
use crate::render::ContainerSpec;
use crate::settings::Privileges;
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError};

/// How long a custom container gets to stop when it is replaced.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The container spec of a custom container on a host: the host's
/// network (its ports are the host's), no extra privileges.
pub fn spec(h: &Host, c: &CustomContainer) -> ContainerSpec {
    ContainerSpec {
        name: c.container(),
        image: c.image.clone(),
        command: c.command.clone(),
        environment: c.env.clone(),
        volumes: c.mounts.clone(),
        network: "host".into(),
        restart_policy: if c.restart.is_empty() {
            h.settings.container_restart_policy.clone()
        } else {
            c.restart.clone()
        },
        privileges: Privileges::default(),
    }
}

/// The `cephalo.spec` label it must carry: its spec, health command and
/// cephx user with caps.
pub fn wanted_hash(h: &Host, c: &CustomContainer) -> String {
    let health = c.health.join("\0");
    let user = c
        .cephx
        .as_ref()
        .map(|x| format!("{}\0{}", x.user, x.cap_args().join("\0")))
        .unwrap_or_default();
    spec_hash(&spec(h, c), &[&health, &user])
}

/// `docker run -d ...` of a custom container: the daemons' command line
/// with its health command (`--health-cmd`, one shell-quoted line: the
/// engines run it with `sh -c`) among the options, and its command after
/// the image as the image's arguments (docker's CMD: an ENTRYPOINT of the
/// image stays, unlike the Ceph daemons').
pub fn run_argv(
    engine: Engine,
    h: &Host,
    c: &CustomContainer,
    hash: &str,
) -> Result<Vec<String>, String> {
    let spec = spec(h, c);
    let options_only = ContainerSpec {
        command: Vec::new(),
        ..spec
    };
    let mut a = containers::run_argv(engine, &options_only, hash);
    if !c.health.is_empty() {
        let line = shlex::try_join(c.health.iter().map(String::as_str))
            .map_err(|e| format!("the health command of `{}` cannot be quoted: {e}", c.name))?;
        let at = a.len() - 1;
        a.insert(at, format!("--health-cmd={line}"));
    }
    a.extend(c.command.iter().cloned());
    Ok(a)
}

/// The deploy step: every custom container of the host.
pub struct CustomContainers {
    pub cluster: Arc<Cluster>,
    /// False for `reconfigure`: a cephx user without its keyring on the
    /// host is an error (reconfigure makes no keys).
    pub create: bool,
}

impl Action for CustomContainers {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            HostOutcome::from_result(ensure_all(&self.cluster, ep, t, self.create).await)
        })
    }
}

fn other(h: &str, reason: String) -> TransportError {
    TransportError::Other {
        host: h.to_string(),
        reason,
    }
}

/// Makes every custom container of a host match; whether anything changed.
pub async fn ensure_all(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
    create: bool,
) -> Result<bool, TransportError> {
    let h = cluster
        .host(&ep.name)
        .ok_or_else(|| other(&ep.name, "not a Ceph host of the inventory".into()))?;
    let mut changed = false;
    for c in &h.custom {
        if let Some(x) = &c.cephx {
            changed |= keyring(cluster, h, ep, t, c, x, create).await?;
        }
        let hash = wanted_hash(h, c);
        let argv = run_argv(h.engine, h, c, &hash).map_err(|e| other(&h.name, e))?;
        let done = containers::ensure_with(t, ep, h.engine, &spec(h, c), &hash, STOP_TIMEOUT, argv)
            .await?;
        changed |= done != Ensured::Unchanged;
    }
    Ok(changed)
}

/// The container's cephx user and its keyring on the host (0600, written
/// only when it differs): the key from `auth get-or-create` (`auth
/// get-key` for reconfigure, which makes no users), never logged; then the
/// caps as declared (`auth caps`, which changes nothing when they are).
async fn keyring(
    cluster: &Cluster,
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    c: &CustomContainer,
    x: &CustomCephx,
    create: bool,
) -> Result<bool, TransportError> {
    let path = x.keyring(&cluster.name);
    let user = x.user.as_str();
    // Without caps: an existing user's key comes back whatever its caps.
    let answer = if create {
        ceph_out(cluster, t, &["auth", "get-or-create", user], true).await?
    } else {
        ceph_out(cluster, t, &["auth", "get-key", user], true).await?
    };
    let key = key_of(&answer).ok_or_else(|| {
        other(
            &h.name,
            format!(
                "no key for {user} (custom container `{}`) in Ceph's answer",
                c.name
            ),
        )
    })?;
    let text = keyring_text(user, key);
    let changed = files::put(
        t,
        ep,
        &RemoteFile {
            path: &path,
            content: text.as_bytes(),
            mode: 0o600,
            owner: None,
        },
        ep.connection.become_root,
    )
    .await?
        == files::Change::Changed;
    let caps = x.cap_args();
    let mut args = vec!["auth", "caps", user];
    args.extend(caps.iter().map(String::as_str));
    ceph_out(cluster, t, &args, false).await?;
    Ok(changed)
}

/// The key in `auth get-or-create`'s keyring (`key = ...`) or `auth
/// get-key`'s bare answer.
pub fn key_of(answer: &str) -> Option<&str> {
    let key = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("key = "))
        .unwrap_or(answer)
        .trim();
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some(key)
}

/// A keyring of one user.
pub fn keyring_text(user: &str, key: &str) -> String {
    format!("[{user}]\n\tkey = {key}\n")
}
