//! Daemon containers on a host, kolla's "ensure container" done once for
//! every role: the wanted spec becomes an engine command line and a hash
//! label; a running container with the same hash (and the image id its
//! reference has now) is left alone, a different one is stopped
//! gracefully and replaced once its image is known to be on the host, a
//! stopped one started. Works for docker and podman (same command line).

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::model::Engine;
use crate::render::ContainerSpec;
use crate::transport::{Command, Endpoint, Transport, TransportError, checked, run};

/// The label holding the hash of what the container was made from.
pub const SPEC_LABEL: &str = "cephalo.spec";

/// The hash of a spec plus anything else the daemon depends on (its
/// rendered config files): a change in either recreates the container.
pub fn spec_hash(spec: &ContainerSpec, depends_on: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    for d in depends_on {
        h.update([0u8]);
        h.update(d.as_bytes());
    }
    hex::encode(&h.finalize()[..12])
}

/// `docker run -d ...` for a spec.
pub fn run_argv(engine: Engine, spec: &ContainerSpec, hash: &str) -> Vec<String> {
    let mut a: Vec<String> = vec![
        engine.command().into(),
        "run".into(),
        "-d".into(),
        "--name".into(),
        spec.name.clone(),
    ];
    a.push(format!("--network={}", spec.network));
    a.push(format!("--restart={}", spec.restart_policy));
    a.push("--label".into());
    a.push(format!("{SPEC_LABEL}={hash}"));
    push_options(&mut a, spec);
    push_command(&mut a, &spec.image, &spec.command);
    a
}

/// A one-off container of the daemon's image and privileges, for tools
/// such as monmaptool, `ceph-mon --mkfs` or `ceph-osd --mkfs`.
pub fn oneoff_argv(engine: Engine, spec: &ContainerSpec, command: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        engine.command().into(),
        "run".into(),
        "--rm".into(),
        // Input reaches the tool (`ceph osd new -i -`).
        "-i".into(),
        format!("--network={}", spec.network),
    ];
    push_options(&mut a, spec);
    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    push_command(&mut a, &spec.image, &command);
    a
}

/// Privileges, environment and volumes: the same for a daemon and a tool.
fn push_options(a: &mut Vec<String>, spec: &ContainerSpec) {
    let p = &spec.privileges;
    if p.privileged {
        a.push("--privileged".into());
    }
    for c in &p.cap_add {
        a.push(format!("--cap-add={c}"));
    }
    for c in &p.cap_drop {
        a.push(format!("--cap-drop={c}"));
    }
    for o in &p.security_opt {
        a.push(format!("--security-opt={o}"));
    }
    for r in &p.device_cgroup_rules {
        a.push(format!("--device-cgroup-rule={r}"));
    }
    if p.init {
        a.push("--init".into());
    }
    for (k, v) in &spec.environment {
        a.push("-e".into());
        a.push(format!("{k}={v}"));
    }
    for v in &spec.volumes {
        a.push("-v".into());
        a.push(v.clone());
    }
}

/// The image and the command: the command's program is the entrypoint and
/// the rest its arguments, as cephadm runs them, so that an image's own
/// ENTRYPOINT (the upstream images may carry one) never wraps the command.
/// Only the command line changes: the spec and its hash label do not, so a
/// running container is not recreated because cephalo started doing this.
fn push_command(a: &mut Vec<String>, image: &str, command: &[String]) {
    match command.split_first() {
        Some((program, args)) => {
            a.push(format!("--entrypoint={program}"));
            a.push(image.to_string());
            a.extend(args.iter().cloned());
        }
        None => a.push(image.to_string()),
    }
}

/// What is on the host under a container name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Present {
    Absent,
    Present {
        running: bool,
        /// The engine's word for its state: `running`, `exited`, `created`...
        state: String,
        /// Its `cephalo.spec` label (empty when it has none).
        hash: String,
        /// The image reference it was made from (`.Config.Image`).
        image: String,
        /// The id of the image it runs (`.Image`, without `sha256:`).
        image_id: String,
        /// The id the host has under `image` now (None: no such image
        /// there any more): another id is the same tag with new content.
        image_now: Option<String>,
    },
}

/// The `--format` of the container `inspect`: one line of
/// `RUNNING|STATUS|IMAGE_ID|IMAGE|LABEL` (a field an engine leaves empty
/// keeps its place).
fn inspect_format() -> String {
    format!(
        "{{{{.State.Running}}}}|{{{{.State.Status}}}}|{{{{.Image}}}}|{{{{.Config.Image}}}}|{{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}"
    )
}

/// Reads a container's state, spec label and image, and the id its image
/// reference points to on the host now.
pub async fn inspect(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    name: &str,
) -> Result<Present, TransportError> {
    let cmd = Command::new([
        engine.command(),
        "inspect",
        "--type",
        "container",
        "--format",
        &inspect_format(),
        name,
    ])
    .become_root(host.connection.become_root);
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Ok(Present::Absent);
    }
    let mut found = parse_inspect(&out.stdout_text());
    if let Present::Present {
        image, image_now, ..
    } = &mut found
        && !image.is_empty()
    {
        *image_now = image_id(t, host, engine, image).await?;
    }
    Ok(found)
}

/// Parses `inspect`'s line: `RUNNING|STATUS|IMAGE_ID|IMAGE|LABEL` (docker
/// prints a missing label as `<no value>`, podman as nothing).
pub fn parse_inspect(text: &str) -> Present {
    let mut parts = text.trim().split('|').map(str::trim);
    let mut next = || parts.next().unwrap_or_default();
    let running = next() == "true";
    let state = Some(next()).filter(|s| !s.is_empty()).unwrap_or("unknown");
    let image_id = bare_id(next()).to_string();
    let image = next().to_string();
    let label = next();
    Present::Present {
        running,
        state: state.to_string(),
        image_id,
        image,
        hash: if label.starts_with("<no") {
            String::new()
        } else {
            label.to_string()
        },
        image_now: None,
    }
}

/// An image id without docker's `sha256:` (podman prints none).
fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches("sha256:")
}

/// The first 12 digits of an image id, as the engines show it.
pub fn short_id(id: &str) -> &str {
    let id = bare_id(id);
    id.get(..12).unwrap_or(id)
}

/// Whether an engine's error says the image is not on the host (docker's
/// and podman's words, for `image inspect` and `run --pull=never`).
pub fn says_image_missing(stderr: &str) -> bool {
    let err = stderr.to_ascii_lowercase();
    ["no such image", "image not known", "unable to find image"]
        .iter()
        .any(|w| err.contains(w))
}

/// The id of `image` on the host (without `sha256:`), None when the host
/// does not have it.
pub async fn image_id(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    image: &str,
) -> Result<Option<String>, TransportError> {
    let cmd = Command::new([
        engine.command(),
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        image,
    ])
    .become_root(host.connection.become_root)
    .timeout(Duration::from_secs(60));
    let out = run(t, host, &cmd).await?;
    if out.success() {
        let id = out.stdout_text();
        return Ok(Some(bare_id(&id).to_string()).filter(|i| !i.is_empty()));
    }
    if says_image_missing(&out.stderr_text()) {
        return Ok(None);
    }
    Err(TransportError::Failed {
        host: host.name.clone(),
        command: cmd.display(),
        status: out.status,
        stderr_tail: out.stderr_tail(4),
    })
}

/// What a container needs to be the wanted one: the one decision behind
/// `ensure`, the restart waits of deploy and `deploy --check`/`--diff`,
/// so a check never disagrees with the run that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// It runs and carries the wanted hash.
    Nothing,
    /// There is none.
    Create,
    /// It carries another hash (or none), or its image reference has new
    /// content on the host: stopped, removed and made again.
    Recreate { reason: String },
    /// It carries the wanted hash but does not run (`state` says why).
    Start { state: String },
}

/// Why a container with another hash is recreated.
pub const SPEC_DIFFERS: &str =
    "its spec or config differs (image, TCMalloc, debug or other settings)";

/// Decides from what `inspect` found and the hash the container must carry.
/// The hash covers the image reference; where the reference is the same,
/// the image id it runs is compared with the one the host has under that
/// reference now (the same tag pulled again with new content).
pub fn need(found: &Present, wanted_hash: &str) -> Need {
    match found {
        Present::Absent => Need::Create,
        Present::Present { hash, .. } if hash != wanted_hash => Need::Recreate {
            reason: SPEC_DIFFERS.into(),
        },
        Present::Present {
            image,
            image_id,
            image_now: Some(now),
            ..
        } if !image_id.is_empty() && bare_id(now) != bare_id(image_id) => Need::Recreate {
            reason: format!(
                "image {image} has new content ({} -> {})",
                short_id(image_id),
                short_id(now)
            ),
        },
        Present::Present { running: true, .. } => Need::Nothing,
        Present::Present { state, .. } => Need::Start {
            state: state.clone(),
        },
    }
}

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Unchanged,
    Created,
    Replaced,
    Started,
}

/// The wanted image is not on the host: nothing was changed.
pub fn image_missing(host: &str, image: &str) -> TransportError {
    TransportError::Other {
        host: host.to_string(),
        reason: format!(
            "image {image} is not on {host}; nothing was changed there. Put it on the hosts first: \
             `cephalo pull -i INVENTORY` (or with --image-archive FILE)"
        ),
    }
}

/// Makes the container on the host match the spec. The wanted image is
/// checked first: a container is never removed while its replacement's
/// image is missing. A container replaced is stopped gracefully
/// (`stop -t stop_timeout`, then SIGKILL), removed, and made again.
pub async fn ensure(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    spec: &ContainerSpec,
    hash: &str,
    stop_timeout: Duration,
) -> Result<Ensured, TransportError> {
    let run = run_argv(engine, spec, hash);
    ensure_with(t, host, engine, spec, hash, stop_timeout, run).await
}

/// `ensure` with the `run` command line given (a spec's `run_argv` with
/// more options, such as a custom container's health command).
pub async fn ensure_with(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    spec: &ContainerSpec,
    hash: &str,
    stop_timeout: Duration,
    run_cmd: Vec<String>,
) -> Result<Ensured, TransportError> {
    let sudo = host.connection.become_root;
    let found = inspect(t, host, engine, &spec.name).await?;
    let done = match need(&found, hash) {
        Need::Nothing => return Ok(Ensured::Unchanged),
        Need::Start { .. } => {
            checked(
                t,
                host,
                &Command::new([engine.command(), "start", &spec.name]).become_root(sudo),
            )
            .await?;
            return Ok(Ensured::Started);
        }
        Need::Recreate { .. } => Ensured::Replaced,
        Need::Create => Ensured::Created,
    };
    // The image first: inspect already read it when the reference is the
    // same (its new content is why the container is replaced).
    let have = match &found {
        Present::Present {
            image,
            image_now: Some(_),
            ..
        } if *image == spec.image => true,
        _ => image_id(t, host, engine, &spec.image).await?.is_some(),
    };
    if !have {
        return Err(image_missing(&host.name, &spec.image));
    }
    if done == Ensured::Replaced {
        if matches!(found, Present::Present { running: true, .. }) {
            stop(t, host, engine, &spec.name, stop_timeout).await?;
        }
        checked(
            t,
            host,
            &Command::new([engine.command(), "rm", &spec.name]).become_root(sudo),
        )
        .await?;
    }
    checked(t, host, &Command::new(run_cmd).become_root(sudo)).await?;
    Ok(done)
}

/// Stops a container gracefully: `stop -t stop_timeout` (SIGTERM, then
/// SIGKILL once the timeout has passed). A stopped container stays as it is.
pub async fn stop(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    name: &str,
    stop_timeout: Duration,
) -> Result<(), TransportError> {
    let secs = stop_timeout.as_secs().to_string();
    checked(
        t,
        host,
        &Command::new([engine.command(), "stop", "-t", &secs, name])
            .become_root(host.connection.become_root)
            .timeout(stop_timeout + Duration::from_secs(60)),
    )
    .await?;
    Ok(())
}

/// Stops a running container that is about to be replaced by `spec`,
/// once the image it will run from is on the host (never stopped for
/// nothing). Whether it was running.
pub async fn stop_to_replace(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    spec: &ContainerSpec,
    stop_timeout: Duration,
) -> Result<bool, TransportError> {
    if image_id(t, host, engine, &spec.image).await?.is_none() {
        return Err(image_missing(&host.name, &spec.image));
    }
    match inspect(t, host, engine, &spec.name).await? {
        Present::Present { running: true, .. } => {
            stop(t, host, engine, &spec.name, stop_timeout).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A read-only look into an image: `ENTRYPOINT ARGS` in a one-off
/// container of it, never pulled (a missing image is the engine's error),
/// without network, removed at once.
pub fn look_into(h: &crate::model::Host, image: &str, entrypoint: &str, args: &[&str]) -> Command {
    let mut argv: Vec<String> = vec![
        h.engine.command().into(),
        "run".into(),
        "--rm".into(),
        "--pull=never".into(),
        "--network=none".into(),
        format!("--entrypoint={entrypoint}"),
        image.into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    Command::new(argv)
        .become_root(h.connection.become_root)
        .timeout(Duration::from_secs(120))
}

/// What a container was made with, as the engine records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    pub image: String,
    /// `KEY=VALUE`, the image's own variables included.
    pub env: Vec<String>,
    /// The entrypoint, then the command's arguments.
    pub command: Vec<String>,
    /// `-v` mounts as given (`SRC:DST[:OPTS]`).
    pub binds: Vec<String>,
}

/// Reads what a container was made with (None: there is none).
pub async fn made_with(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    name: &str,
) -> Result<Option<Made>, TransportError> {
    let format = "{{json .Config.Image}}\n{{json .Config.Env}}\n{{json .Config.Entrypoint}}\n{{json .Config.Cmd}}\n{{json .HostConfig.Binds}}";
    let cmd = Command::new([
        engine.command(),
        "inspect",
        "--type",
        "container",
        "--format",
        format,
        name,
    ])
    .become_root(host.connection.become_root);
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Ok(None);
    }
    Ok(Some(parse_made(&out.stdout_text())))
}

/// Parses `made_with`'s lines: one JSON value each (a string, or a list
/// of strings, or null).
pub fn parse_made(text: &str) -> Made {
    let mut lines = text.lines().map(|l| {
        serde_json::from_str::<serde_json::Value>(l.trim()).unwrap_or(serde_json::Value::Null)
    });
    let mut next = || lines.next().unwrap_or(serde_json::Value::Null);
    let list = |v: serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::Array(a) => a
                .into_iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            serde_json::Value::String(s) => vec![s],
            _ => Vec::new(),
        }
    };
    let image = next().as_str().unwrap_or_default().to_string();
    let env = list(next());
    let mut command = list(next());
    command.extend(list(next()));
    Made {
        image,
        env,
        command,
        binds: list(next()),
    }
}

/// Field by field, how a container made with `made` differs from `spec`:
/// its image, each variable the spec sets (values shown only when
/// `values`: custom containers may carry secrets in theirs), the mounts
/// and the command. Empty when they agree on all of these (the
/// difference is elsewhere: privileges, the config files).
pub fn spec_diff(spec: &ContainerSpec, made: &Made, values: bool) -> Vec<String> {
    let mut out = Vec::new();
    if made.image != spec.image {
        out.push(format!("image {} -> {}", made.image, spec.image));
    }
    for (k, v) in &spec.environment {
        let was = made
            .env
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{k}=")));
        match (was, values) {
            (Some(w), _) if w == v => {}
            (Some(w), true) => out.push(format!("env {k}: {w} -> {v}")),
            (None, true) => out.push(format!("env {k}: (not set) -> {v}")),
            (_, false) => out.push(format!("env {k}: its value differs (not shown)")),
        }
    }
    for b in &made.binds {
        if !spec.volumes.contains(b) {
            out.push(format!("mount - {b}"));
        }
    }
    for v in &spec.volumes {
        if !made.binds.contains(v) {
            out.push(format!("mount + {v}"));
        }
    }
    if !spec.command.is_empty() && made.command != spec.command {
        out.push(format!(
            "command {} -> {}",
            made.command.join(" "),
            spec.command.join(" ")
        ));
    }
    out
}

/// The Ceph version a running container's daemon runs: `ceph --version`
/// inside it (every release has it, Jewel too), as printed.
pub async fn running_version(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    name: &str,
) -> Result<String, TransportError> {
    let cmd = Command::new([engine.command(), "exec", name, "ceph", "--version"])
        .become_root(host.connection.become_root)
        .timeout(Duration::from_secs(60));
    Ok(checked(t, host, &cmd)
        .await?
        .stdout_text()
        .trim()
        .to_string())
}

/// The daemon containers (`ceph_mon`, `ceph_mgr`, `ceph_mds`, `ceph_rgw`,
/// `ceph_osd_<id>`) that run on a host.
pub async fn running_daemons(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
) -> Result<Vec<String>, TransportError> {
    let cmd = Command::new([engine.command(), "ps", "--format", "{{.Names}}"])
        .become_root(host.connection.become_root)
        .timeout(Duration::from_secs(60));
    let text = checked(t, host, &cmd).await?.stdout_text();
    Ok(text
        .split_whitespace()
        .filter(|n| is_daemon_container(n))
        .map(str::to_string)
        .collect())
}

/// A daemon container's name, as cephalo makes them.
pub fn is_daemon_container(name: &str) -> bool {
    matches!(name, "ceph_mon" | "ceph_mgr" | "ceph_mds" | "ceph_rgw")
        || name
            .strip_prefix("ceph_osd_")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Privileges;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "ceph_osd_3".into(),
            image: "cephalo/ceph:pacific".into(),
            command: vec!["ceph-osd".into(), "-f".into(), "-i".into(), "3".into()],
            environment: [(
                "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES".to_string(),
                "134217728".to_string(),
            )]
            .into_iter()
            .collect(),
            volumes: vec!["/dev:/dev".into()],
            network: "host".into(),
            restart_policy: "unless-stopped".into(),
            privileges: Privileges {
                privileged: false,
                cap_add: vec!["ALL".into()],
                cap_drop: vec!["SYS_RESOURCE".into()],
                security_opt: vec!["seccomp=unconfined".into()],
                device_cgroup_rules: vec!["b *:* rwm".into()],
                init: true,
            },
        }
    }

    #[test]
    fn command_lines() {
        let a = run_argv(Engine::Docker, &spec(), "abc");
        assert_eq!(
            a.join(" "),
            "docker run -d --name ceph_osd_3 --network=host --restart=unless-stopped --label cephalo.spec=abc \
             --cap-add=ALL --cap-drop=SYS_RESOURCE --security-opt=seccomp=unconfined --device-cgroup-rule=b *:* rwm --init \
             -e TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=134217728 -v /dev:/dev --entrypoint=ceph-osd cephalo/ceph:pacific -f -i 3"
        );
        let o = oneoff_argv(Engine::Podman, &spec(), &["ceph-osd", "--mkfs", "-i", "3"]);
        assert_eq!(
            o.join(" "),
            "podman run --rm -i --network=host --cap-add=ALL --cap-drop=SYS_RESOURCE --security-opt=seccomp=unconfined \
             --device-cgroup-rule=b *:* rwm --init -e TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=134217728 -v /dev:/dev \
             --entrypoint=ceph-osd cephalo/ceph:pacific --mkfs -i 3"
        );
        let mut other = spec();
        assert_eq!(spec_hash(&spec(), &["conf"]), spec_hash(&other, &["conf"]));
        assert_ne!(
            spec_hash(&spec(), &["conf"]),
            spec_hash(&spec(), &["conf2"])
        );
        other.image = "cephalo/ceph:reef".into();
        assert_ne!(spec_hash(&spec(), &[]), spec_hash(&other, &[]));
    }

    #[test]
    fn what_a_container_needs_from_inspected_facts() {
        let found = |line: &str| parse_inspect(line);
        const ID: &str = "sha256:1111111111111111aaaa";
        // docker: running, with the wanted label.
        assert_eq!(
            need(&found(&format!("true|running|{ID}|img:1|abc\n")), "abc"),
            Need::Nothing
        );
        // Stopped (a host reboot with restart=no, or `docker stop`).
        assert_eq!(
            need(&found(&format!("false|exited|{ID}|img:1|abc\n")), "abc"),
            Need::Start {
                state: "exited".into()
            }
        );
        assert_eq!(
            need(&found("false|created|1111|img:1|abc"), "abc"),
            Need::Start {
                state: "created".into()
            }
        );
        // Another spec or config: recreated, running or not.
        for line in ["true|running|1111|img:1|old", "false|exited|1111|img:1|old"] {
            assert_eq!(
                need(&found(line), "abc"),
                Need::Recreate {
                    reason: SPEC_DIFFERS.into()
                }
            );
        }
        // Made by hand: docker prints a missing label as `<no value>`,
        // podman as nothing.
        assert_eq!(
            found(&format!("true|running|{ID}|img:1|<no value>")),
            Present::Present {
                running: true,
                state: "running".into(),
                hash: String::new(),
                image: "img:1".into(),
                image_id: "1111111111111111aaaa".into(),
                image_now: None,
            }
        );
        assert!(matches!(
            need(&found("true|running|1111|img:1|<no value>"), "abc"),
            Need::Recreate { .. }
        ));
        assert!(matches!(
            need(&found("true|running|1111|img:1|"), "abc"),
            Need::Recreate { .. }
        ));
        // An engine that leaves the image reference empty keeps the label
        // in its place.
        assert_eq!(need(&found("true|running|1111||abc"), "abc"), Need::Nothing);
        assert_eq!(need(&Present::Absent, "abc"), Need::Create);
    }

    #[test]
    fn the_same_tag_with_new_content_is_recreated() {
        let with_now = |now: Option<&str>| {
            let mut p =
                parse_inspect("true|running|sha256:0123456789abcdef00|cephalo/ceph:reef|abc");
            if let Present::Present { image_now, .. } = &mut p {
                *image_now = now.map(str::to_string);
            }
            p
        };
        // The host has the same id under the reference (docker with
        // `sha256:`, podman without): nothing.
        assert_eq!(
            need(&with_now(Some("0123456789abcdef00")), "abc"),
            Need::Nothing
        );
        assert_eq!(
            need(&with_now(Some("sha256:0123456789abcdef00")), "abc"),
            Need::Nothing
        );
        // The reference was pulled again with new content.
        assert_eq!(
            need(&with_now(Some("sha256:fedcba987654321000")), "abc"),
            Need::Recreate {
                reason: "image cephalo/ceph:reef has new content (0123456789ab -> fedcba987654)"
                    .into()
            }
        );
        // The reference is gone from the host: nothing to recreate it from.
        assert_eq!(need(&with_now(None), "abc"), Need::Nothing);
    }

    #[test]
    fn daemon_container_names() {
        for n in [
            "ceph_mon",
            "ceph_mgr",
            "ceph_mds",
            "ceph_rgw",
            "ceph_osd_0",
            "ceph_osd_12",
        ] {
            assert!(is_daemon_container(n), "{n}");
        }
        for n in [
            "ceph_osd_",
            "ceph_osd_x",
            "ceph_exporter",
            "other",
            "ceph_mon2",
        ] {
            assert!(!is_daemon_container(n), "{n}");
        }
    }
}
