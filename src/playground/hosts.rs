//! The playground's machines on this one: the Docker network, the loop
//! device disks, and the host containers (each with sshd, its own host
//! keys, a nested Docker engine and only its own disks), and their removal,
//! where every step takes "already gone" for done.

use std::path::Path;
use std::time::{Duration, Instant};

use super::PlaygroundError;
use super::layout::{DiskPlan, HostPlan, Layout};
use super::machine::{Output, cmd};
use super::state::LoopDisk;

/// Label on every Docker object a playground makes: its folder.
pub const DIR_LABEL: &str = "org.cephalo.playground.dir";
/// Label with the playground's name.
pub const NAME_LABEL: &str = "org.cephalo.playground";

/// How long a new host may take to have its keys and nested engine ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

fn labels(l: &Layout) -> Vec<String> {
    vec![
        "--label".into(),
        format!("{NAME_LABEL}={}", l.request.name),
        "--label".into(),
        format!("{DIR_LABEL}={}", l.dir.display()),
    ]
}

/// A failed removal that means "it was not there".
fn gone(out: &Output) -> bool {
    let e = out.stderr.to_ascii_lowercase();
    out.success() || e.contains("no such") || e.contains("not found")
}

/// The Docker object exists (`docker <kind> inspect NAME`).
pub fn exists(kind: &str, name: &str) -> bool {
    cmd(["docker", kind, "inspect", name]).succeeds()
}

/// The playground network, with the playground's subnet.
pub fn ensure_network(l: &Layout) -> Result<(), PlaygroundError> {
    if exists("network", &l.network) {
        let subnet = cmd(["docker", "network", "inspect", "--format"])
            .arg("{{range .IPAM.Config}}{{.Subnet}} {{end}}")
            .arg(&l.network)
            .run()?;
        if subnet.split_whitespace().any(|s| s == l.subnet.to_string()) {
            return Ok(());
        }
        return Err(PlaygroundError::Usage(format!(
            "the Docker network {} exists with subnet {subnet}, not {}; remove it or choose another --name",
            l.network, l.subnet
        )));
    }
    let mut create = cmd([
        "docker", "network", "create", "--driver", "bridge", "--subnet",
    ])
    .arg(l.subnet.to_string());
    if let Some(v6) = l.subnet6() {
        create = create.args(["--ipv6", "--subnet", &v6.to_string()]);
    }
    create
        .args(labels(l))
        .arg(&l.network)
        .run()
        .map_err(|e| match e {
            PlaygroundError::Command { stderr, .. } if stderr.contains("overlap") => {
                PlaygroundError::Usage(format!(
                    "--subnet {} overlaps a network this machine already has ({stderr}); choose another --subnet",
                    l.subnet
                ))
            }
            other => other,
        })?;
    Ok(())
}

/// A sparse disk file on a new loop device (`losetup -f`: never a fixed
/// number), with one GPT partition named for an OSD.
pub fn make_disk(
    d: &DiskPlan,
    size: &str,
    host: &str,
    record: &mut dyn FnMut(&LoopDisk) -> Result<(), PlaygroundError>,
) -> Result<LoopDisk, PlaygroundError> {
    if let Some(parent) = d.file.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PlaygroundError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let file = d.file.display().to_string();
    // A file left by an earlier playground is detached and started afresh.
    detach_file(&d.file)?;
    let _ = std::fs::remove_file(&d.file);
    cmd(["truncate", "-s", size, &file]).run()?;
    // Direct I/O: the OSD's writes go to the file without a second copy in
    // this machine's page cache (the loop device's kernel threads took a
    // quarter of a 2-core machine copying them); the kernel leaves it off
    // where the file system cannot.
    let device = cmd([
        "losetup",
        "--find",
        "--show",
        "--partscan",
        "--direct-io=on",
        &file,
    ])
    .run()?;
    let disk = LoopDisk {
        file: d.file.clone(),
        partition: partition_of(&device),
        journal: d.journal.as_ref().map(|_| format!("{device}p2")),
        device,
        label: d.label.clone(),
        host: host.into(),
    };
    record(&disk)?;
    let parted = cmd(["parted", "--script", &disk.device, "--", "mklabel", "gpt"]);
    let parted = match &d.journal {
        None => parted.args(["mkpart", &d.label, "1MiB", "100%"]),
        Some(j) => {
            let end = format!("-{}", super::layout::JOURNAL_SIZE);
            parted
                .args(["mkpart", &d.label, "1MiB", &end])
                .args(["mkpart", j, &end, "100%"])
        }
    };
    parted.run()?;
    // The kernel makes the partition nodes in devtmpfs; no udev is needed.
    let started = Instant::now();
    for node in std::iter::once(&disk.partition).chain(&disk.journal) {
        while !Path::new(node).exists() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(PlaygroundError::Setup(format!(
                    "{node} did not appear after partitioning {}",
                    disk.device
                )));
            }
            let _ = cmd(["partx", "--update", &disk.device]).output();
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(disk)
}

/// `/dev/loop3` -> `/dev/loop3p1`.
fn partition_of(device: &str) -> String {
    format!("{device}p1")
}

/// Detaches every loop device backed by this file (`losetup -j`).
pub fn detach_file(file: &Path) -> Result<Vec<String>, PlaygroundError> {
    if !file.exists() {
        return Ok(Vec::new());
    }
    let out = cmd(["losetup", "--associated"])
        .arg(file.display().to_string())
        .output()?;
    let mut detached = Vec::new();
    for line in out.stdout.lines() {
        // `/dev/loop3: [2049]:1234 (/path/file)`
        if let Some((dev, _)) = line.split_once(':') {
            detach(dev)?;
            detached.push(dev.to_string());
        }
    }
    Ok(detached)
}

/// Detaches a loop device recorded for `file`, only when it is still backed
/// by that file (loop numbers are reused by others once free).
pub fn detach_recorded(d: &LoopDisk) -> Result<bool, PlaygroundError> {
    let out = cmd(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"])
        .arg(&d.device)
        .output()?;
    let back = out.stdout.trim();
    let ours = d.file.display().to_string();
    if out.success() && (back == ours || back == format!("{ours} (deleted)")) {
        detach(&d.device)?;
        return Ok(true);
    }
    Ok(false)
}

fn detach(device: &str) -> Result<(), PlaygroundError> {
    let c = cmd(["losetup", "--detach", device]);
    let out = c.output()?;
    if out.success() || out.stderr.contains("No such device") {
        Ok(())
    } else {
        Err(c.failed(&out))
    }
}

/// Starts a host container: the options that work on these machines
/// (`--privileged` does not: no CAP_SYS_RESOURCE in the bounding set), a
/// named volume for the nested engine's /var/lib/docker (overlay2 instead
/// of vfs), and only this host's own loop devices.
pub fn start_host(
    l: &Layout,
    h: &HostPlan,
    disks: &[&LoopDisk],
    image: &str,
) -> Result<(), PlaygroundError> {
    if !exists("volume", &h.volume) {
        cmd(["docker", "volume", "create"])
            .args(labels(l))
            .arg(&h.volume)
            .run()?;
    }
    let mut run = cmd(["docker", "run", "--detach", "--name", &h.container])
        .args(["--hostname", &h.name])
        .args(labels(l))
        .args(["--network", &l.network])
        .args(["--ip", &h.address.to_string()])
        .args(match l.address6(h) {
            Some(v6) => vec!["--ip6".to_string(), v6.to_string()],
            None => Vec::new(),
        })
        .args(["--network-alias", &h.name])
        .args(["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"])
        .args(["--security-opt", "seccomp=unconfined"])
        .args(["--security-opt", "apparmor=unconfined"])
        .args(["--security-opt", "systempaths=unconfined"])
        .args(["--device-cgroup-rule", "a *:* rwm"])
        .args(["--cgroupns", "host"])
        .args(["--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw"])
        // The nested engine's storage on a volume (overlay2 instead of vfs).
        .args([
            "--volume",
            &format!(
                "{}:{}",
                h.volume,
                if l.request.engine == "podman" {
                    "/var/lib/containers"
                } else {
                    "/var/lib/docker"
                }
            ),
        ])
        .args(["--env", &format!("PLAYGROUND_ENGINE={}", l.request.engine)])
        .args(["--restart", "no"]);
    for d in disks {
        run = run
            .args(["--device", &d.device])
            .args(["--device", &d.partition]);
        if let Some(j) = &d.journal {
            run = run.args(["--device", j]);
        }
    }
    run.arg(image).run()?;
    Ok(())
}

/// Waits until the host has made its SSH host keys and its nested engine
/// answers; returns its ed25519 public key.
pub fn wait_ready(h: &HostPlan, nested: &str) -> Result<String, PlaygroundError> {
    let started = Instant::now();
    let key =
        cmd(["docker", "exec", &h.container]).args(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
    let engine = cmd(["docker", "exec", &h.container])
        .args([nested, "info", "--format"])
        .arg(if nested == "podman" {
            "{{.Store.GraphDriverName}}"
        } else {
            "{{.Driver}}"
        });
    loop {
        let k = key.output()?;
        let e = engine.output()?;
        if k.success() && !k.stdout.trim().is_empty() && e.success() {
            return Ok(k.stdout.trim().to_string());
        }
        if started.elapsed() > READY_TIMEOUT {
            let logs = cmd(["docker", "logs", "--tail", "20", &h.container])
                .output()
                .map(|o| format!("{}{}", o.stdout, o.stderr))
                .unwrap_or_default();
            let dockerd = cmd(["docker", "exec", &h.container])
                .args(["tail", "-n", "15", "/var/log/dockerd.log"])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            return Err(PlaygroundError::Setup(format!(
                "host {} was not ready within {} s (host key: {}, nested engine: {}).\ncontainer log:\n{}\nnested dockerd log:\n{}",
                h.name,
                READY_TIMEOUT.as_secs(),
                if k.success() { "made" } else { "missing" },
                if e.success() {
                    "answering"
                } else {
                    "not answering"
                },
                logs.trim(),
                dockerd.trim()
            )));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Lets the playground key log in as the deploy user.
pub fn authorize(h: &HostPlan, public_key: &str) -> Result<(), PlaygroundError> {
    cmd(["docker", "exec", "-i", &h.container, "sh", "-c"])
        .arg(
            "umask 077 && cat >/home/cephalo/.ssh/authorized_keys && \
             chown cephalo:cephalo /home/cephalo/.ssh/authorized_keys",
        )
        .stdin(format!("{}\n", public_key.trim()))
        .run()?;
    Ok(())
}

/// `running`, `exited`, ... or None when the container does not exist.
pub fn container_status(container: &str) -> Option<String> {
    cmd([
        "docker",
        "inspect",
        "--format",
        "{{.State.Status}}",
        container,
    ])
    .run()
    .ok()
}

/// Removes a host container with what runs inside it. Nested containers go
/// first, so the nested engine releases their cgroups (the host shares the
/// machine's cgroup tree).
pub fn remove_container(container: &str) -> Result<bool, PlaygroundError> {
    let Some(status) = container_status(container) else {
        return Ok(false);
    };
    if status == "running" {
        let _ = cmd(["docker", "exec", container, "sh", "-c"])
            .arg(
                "ids=$(docker ps -aq 2>/dev/null); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null",
            )
            .output();
    }
    remove(&["rm", "--force", "--volumes", container])
}

/// `docker <args>`, where "no such ..." counts as done; true when
/// something was removed.
pub fn remove(args: &[&str]) -> Result<bool, PlaygroundError> {
    let c = cmd(["docker"]).args(args.iter().copied());
    let out = c.output()?;
    if out.success() {
        return Ok(true);
    }
    if gone(&out) {
        return Ok(false);
    }
    Err(c.failed(&out))
}

/// Docker objects of a kind (`container`, `volume`, `network`) labelled
/// with this playground folder.
pub fn labelled(kind: &str, dir: &Path) -> Vec<String> {
    let filter = format!("label={DIR_LABEL}={}", dir.display());
    let c = match kind {
        "container" => cmd(["docker", "ps", "--all", "--format", "{{.Names}}"]),
        "volume" => cmd(["docker", "volume", "ls", "--format", "{{.Name}}"]),
        _ => cmd(["docker", "network", "ls", "--format", "{{.Name}}"]),
    };
    c.args(["--filter", &filter])
        .run()
        .map(|out| out.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names() {
        assert_eq!(partition_of("/dev/loop3"), "/dev/loop3p1");
        assert_eq!(partition_of("/dev/loop12"), "/dev/loop12p1");
    }

    #[test]
    fn gone_means_no_such_object() {
        let out = |code, stderr: &str| Output {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.into(),
        };
        assert!(gone(&out(0, "")));
        assert!(gone(&out(1, "Error: No such container: x")));
        assert!(gone(&out(1, "Error: No such volume: x")));
        assert!(gone(&out(
            1,
            "Error response from daemon: network x not found"
        )));
        assert!(!gone(&out(1, "Error: volume is in use")));
    }
}
