//! A Docker engine that answers on this machine, and the tools the
//! playground runs here: installs the Debian packages that are missing
//! (apt-get) and starts `dockerd` in the background when `docker info` does
//! not answer (these machines have no systemd). Says what it did.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::PlaygroundError;
use super::machine::{cmd, on_path, tail};

/// Where a dockerd started by cephalo logs.
pub fn log_path() -> PathBuf {
    PathBuf::from("/var/log/cephalo-dockerd.log")
}

/// How long a starting dockerd may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub fn answers() -> bool {
    cmd(["docker", "info", "--format", "{{.ServerVersion}}"]).succeeds()
}

/// Installs the Debian packages of the programs missing from PATH:
/// `(program, package)` pairs.
pub fn ensure_tools(tools: &[(&str, &str)], say: &dyn Fn(&str)) -> Result<(), PlaygroundError> {
    let mut missing: Vec<&str> = tools
        .iter()
        .filter(|(program, _)| !on_path(program) && !in_sbin(program))
        .map(|(_, package)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    say(&format!("installing {} (apt-get)", missing.join(", ")));
    let install = cmd(["apt-get", "install", "-y", "-qq", "--no-install-recommends"])
        .args(missing.iter().copied())
        .env("DEBIAN_FRONTEND", "noninteractive");
    if install.run().is_err() {
        // Package lists may be missing or stale on a fresh machine.
        cmd(["apt-get", "update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()?;
        install.run()?;
    }
    Ok(())
}

/// Programs in /usr/sbin are not on every user's PATH.
fn in_sbin(program: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/local/sbin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(program).is_file())
}

/// Makes sure `docker info` answers: installs docker.io when dockerd is
/// missing, starts dockerd in the background when it is not running.
pub fn ensure_engine(say: &dyn Fn(&str)) -> Result<(), PlaygroundError> {
    if answers() {
        return Ok(());
    }
    ensure_tools(&[("dockerd", "docker.io"), ("docker", "docker.io")], say)?;
    if answers() {
        return Ok(());
    }
    let log = log_path();
    let dockerd = [
        "/usr/sbin/dockerd",
        "/usr/bin/dockerd",
        "/usr/local/bin/dockerd",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).is_file())
    .map(|p| p.to_string())
    .unwrap_or_else(|| "dockerd".into());
    say(&format!(
        "starting the Docker engine ({dockerd} in the background, log {})",
        log.display()
    ));
    let started = Instant::now();
    let mut child = cmd([dockerd.as_str()]).spawn_daemon(&log)?;
    let pid = child.id();
    while started.elapsed() < START_TIMEOUT {
        if answers() {
            say(&format!(
                "Docker engine answering after {:.1} s (pid {pid})",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(PlaygroundError::Setup(format!(
                "dockerd exited ({status}) before answering; the end of {}:\n{}",
                log.display(),
                tail(&log_text, 15)
            )));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    Err(PlaygroundError::Setup(format!(
        "the Docker engine did not answer within {} s; the end of {}:\n{}",
        START_TIMEOUT.as_secs(),
        log.display(),
        tail(&log_text, 15)
    )))
}

/// Everything `up` runs on this machine.
pub fn ensure_all(say: &dyn Fn(&str)) -> Result<(), PlaygroundError> {
    ensure_engine(say)?;
    ensure_tools(
        &[
            ("losetup", "mount"),
            ("parted", "parted"),
            ("ssh-keygen", "openssh-client"),
        ],
        say,
    )
}
