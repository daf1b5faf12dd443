//! Daemon containers on a host, kolla's "ensure container" done once for
//! every role: the wanted spec becomes an engine command line and a hash
//! label; a running container with the same hash is left alone, a
//! different one is replaced, a stopped one started. Works for docker and
//! podman (same command line).

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
    a.push(spec.image.clone());
    a.extend(spec.command.iter().cloned());
    a
}

/// A one-off container of the daemon's image and privileges, for tools
/// such as monmaptool, `ceph-mon --mkfs` or `ceph-osd --mkfs`.
pub fn oneoff_argv(engine: Engine, spec: &ContainerSpec, command: &[&str]) -> Vec<String> {
    let mut a = run_argv(engine, spec, "oneoff");
    // `run -d --name X --restart ...` -> `run --rm` without name or restart.
    a.retain(|x| x != "-d" && !x.starts_with("--restart="));
    if let Some(i) = a.iter().position(|x| x == "--name") {
        a.drain(i..=i + 1);
    }
    if let Some(i) = a.iter().position(|x| x == "--label") {
        a.drain(i..=i + 1);
    }
    a.insert(2, "--rm".into());
    // Input reaches the tool (`ceph osd new -i -`).
    a.insert(3, "-i".into());
    let image_at = a.iter().position(|x| *x == spec.image).unwrap_or(a.len());
    a.truncate(image_at + 1);
    a.extend(command.iter().map(|s| s.to_string()));
    a
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
    },
}

/// Reads a container's state and spec label.
pub async fn inspect(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    name: &str,
) -> Result<Present, TransportError> {
    let format = format!(
        "{{{{.State.Running}}}} {{{{.State.Status}}}} {{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}"
    );
    let cmd = Command::new([
        engine.command(),
        "inspect",
        "--type",
        "container",
        "--format",
        &format,
        name,
    ])
    .become_root(host.connection.become_root);
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Ok(Present::Absent);
    }
    Ok(parse_inspect(&out.stdout_text()))
}

/// Parses `inspect`'s line: `RUNNING STATUS LABEL` (docker prints a missing
/// label as `<no value>`).
pub fn parse_inspect(text: &str) -> Present {
    let mut parts = text.split_whitespace();
    Present::Present {
        running: parts.next() == Some("true"),
        state: parts.next().unwrap_or("unknown").to_string(),
        hash: parts
            .next()
            .unwrap_or_default()
            .trim_start_matches("<no")
            .to_string(),
    }
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
    /// It carries another hash (or none): removed and made again.
    Recreate { reason: &'static str },
    /// It carries the wanted hash but does not run (`state` says why).
    Start { state: String },
}

/// Why a container with another hash is recreated.
pub const SPEC_DIFFERS: &str =
    "its spec or config differs (image, TCMalloc, debug or other settings)";

/// Decides from what `inspect` found and the hash the container must carry.
pub fn need(found: &Present, wanted_hash: &str) -> Need {
    match found {
        Present::Absent => Need::Create,
        Present::Present { hash, .. } if hash != wanted_hash => Need::Recreate {
            reason: SPEC_DIFFERS,
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

/// Makes the container on the host match the spec.
pub async fn ensure(
    t: &dyn Transport,
    host: &Endpoint,
    engine: Engine,
    spec: &ContainerSpec,
    hash: &str,
) -> Result<Ensured, TransportError> {
    let sudo = host.connection.become_root;
    let done = match need(&inspect(t, host, engine, &spec.name).await?, hash) {
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
        Need::Recreate { .. } => {
            checked(
                t,
                host,
                &Command::new([engine.command(), "rm", "-f", &spec.name]).become_root(sudo),
            )
            .await?;
            Ensured::Replaced
        }
        Need::Create => Ensured::Created,
    };
    checked(
        t,
        host,
        &Command::new(run_argv(engine, spec, hash)).become_root(sudo),
    )
    .await?;
    Ok(done)
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
             -e TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=134217728 -v /dev:/dev cephalo/ceph:pacific ceph-osd -f -i 3"
        );
        let o = oneoff_argv(Engine::Podman, &spec(), &["ceph-osd", "--mkfs", "-i", "3"]);
        assert_eq!(
            o.join(" "),
            "podman run --rm -i --network=host --cap-add=ALL --cap-drop=SYS_RESOURCE --security-opt=seccomp=unconfined \
             --device-cgroup-rule=b *:* rwm --init -e TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=134217728 -v /dev:/dev \
             cephalo/ceph:pacific ceph-osd --mkfs -i 3"
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
        // docker: running, with the wanted label.
        assert_eq!(need(&found("true running abc\n"), "abc"), Need::Nothing);
        // Stopped (a host reboot with restart=no, or `docker stop`).
        assert_eq!(
            need(&found("false exited abc\n"), "abc"),
            Need::Start {
                state: "exited".into()
            }
        );
        assert_eq!(
            need(&found("false created abc"), "abc"),
            Need::Start {
                state: "created".into()
            }
        );
        // Another spec or config: recreated, running or not.
        for line in ["true running old", "false exited old"] {
            assert_eq!(
                need(&found(line), "abc"),
                Need::Recreate {
                    reason: SPEC_DIFFERS
                }
            );
        }
        // Made by hand: docker prints a missing label as `<no value>`,
        // podman as nothing.
        assert_eq!(
            found("true running <no value>"),
            Present::Present {
                running: true,
                state: "running".into(),
                hash: String::new()
            }
        );
        assert!(matches!(
            need(&found("true running <no value>"), "abc"),
            Need::Recreate { .. }
        ));
        assert!(matches!(
            need(&found("true running"), "abc"),
            Need::Recreate { .. }
        ));
        assert_eq!(need(&Present::Absent, "abc"), Need::Create);
    }
}
