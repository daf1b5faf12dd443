//! Paths to the fixtures and small helpers shared by the test modules.

use std::path::{Path, PathBuf};

use serde_json::Value;

use cephalo::model::{self, Cluster, Sources};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn corpus(rel: &str) -> PathBuf {
    let p = repo().join("tests/corpus").join(rel);
    private_if_secrets(&p);
    p
}

/// A passwords file is kept 0600, as cephalo requires of it: git checks
/// every file out 0644 (it records no other modes), so the fixtures are
/// made private before a test reads them. Other files are left alone.
pub fn private_if_secrets(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let secrets = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("passwords"))
        || path.components().any(|c| c.as_os_str() == "passwords");
    if secrets && path.is_file() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Loads a cluster from an inventory with the given globals and passwords.
pub fn load(
    inventory: &Path,
    globals: &Path,
    passwords: &Path,
    extra: &[&str],
) -> cephalo::Result<Cluster> {
    model::load(&Sources {
        inventory: inventory.to_path_buf(),
        globals: Some(globals.to_path_buf()),
        passwords: Some(passwords.to_path_buf()),
        extra_vars: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

/// The bodies of the ```LANG fenced blocks of a Markdown text, in order.
pub fn fenced(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == format!("```{lang}") => current = Some(String::new()),
            Some(buf) if line.trim() == "```" => {
                out.push(std::mem::take(buf));
                current = None;
            }
            Some(buf) => {
                buf.push_str(line);
                buf.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Writes files into a temporary folder: (relative path, content).
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        private_if_secrets(&p);
    }
    dir
}

/// The good passwords fixture (fixed fsid and keys, so renders are stable).
pub fn good_passwords() -> PathBuf {
    corpus("good/passwords.yml")
}

/// The cephalo binary for the end-to-end tests, which may take long (image
/// builds, a deploy): a 30-minute limit instead of none.
pub fn long_cephalo() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cephalo").unwrap();
    c.timeout(std::time::Duration::from_secs(1800));
    c
}

/// What a command printed, stdout then stderr, for failure messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A playground torn down when the test ends, also when it fails.
pub struct Playground {
    pub dir: tempfile::TempDir,
    /// The hosts' container engine: docker or podman.
    pub engine: String,
}

impl Playground {
    /// `cephalo playground up --no-deploy` with its own name and network:
    /// the hosts have the Ceph image and nothing else.
    pub fn up(
        name: &str,
        hosts: usize,
        clients: usize,
        release: &str,
        engine: &str,
        subnet: &str,
    ) -> Playground {
        Playground::up_with(name, hosts, clients, release, engine, subnet, &[])
    }

    /// `up`, with more `playground up` options (`--ipv6`).
    pub fn up_with(
        name: &str,
        hosts: usize,
        clients: usize,
        release: &str,
        engine: &str,
        subnet: &str,
        extra: &[&str],
    ) -> Playground {
        let pg = Playground {
            dir: tempfile::Builder::new()
                .prefix(&format!("{name}-"))
                .tempdir()
                .unwrap(),
            engine: engine.to_string(),
        };
        let out = long_cephalo()
            .args(["playground", "up", "--no-deploy", "--release", release])
            .args(["--engine", engine])
            .args([
                "--hosts",
                &hosts.to_string(),
                "--clients",
                &clients.to_string(),
            ])
            .args(["--name", name, "--subnet", subnet])
            .args(extra)
            .arg("--dir")
            .arg(pg.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "up failed:\n{}", output_text(&out));
        pg
    }

    /// `cephalo ARGS -i INVENTORY --log-dir LOGS`.
    pub fn cephalo(&self, args: &[&str]) -> std::process::Output {
        long_cephalo()
            .args(args)
            .arg("-i")
            .arg(self.inventory())
            .arg("--log-dir")
            .arg(self.logs())
            .output()
            .unwrap()
    }

    /// `cephalo deploy` of the playground; its stdout.
    pub fn deploy(&self) -> String {
        let out = self.cephalo(&["deploy"]);
        assert!(
            out.status.success(),
            "deploy failed:\n{}",
            output_text(&out)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn inventory(&self) -> PathBuf {
        self.dir.path().join("inventory")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }
    /// `cephalo run --limit HOST -b -- sh -c SCRIPT`: the host's output.
    pub fn on(&self, host: &str, script: &str) -> String {
        self.run_on(host, script, &self.logs())
    }

    /// `on`, logged apart from the playground's run logs (which tests
    /// check for secrets): for reading keys and other test-side looks.
    pub fn peek(&self, host: &str, script: &str) -> String {
        self.run_on(host, script, &self.dir.path().join("peek-logs"))
    }

    /// Runs `script` as root on `host`; on a podman playground `docker` in
    /// it is podman.
    fn run_on(&self, host: &str, script: &str, logs: &Path) -> String {
        let script = if self.engine == "podman" {
            format!("docker() {{ podman \"$@\"; }}; {script}")
        } else {
            script.to_string()
        };
        let script = script.as_str();
        let out = long_cephalo()
            .args(["run", "-b", "--limit", host, "-i"])
            .arg(self.inventory())
            .arg("--log-dir")
            .arg(logs)
            .args(["--", "sh", "-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}:\n{}", output_text(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let body = text.split(" >>\n").nth(1).unwrap_or_default();
        // No output at all: the recap follows the header directly.
        if body.starts_with("RECAP\n") {
            return String::new();
        }
        body.split("\nRECAP\n")
            .next()
            .unwrap_or_default()
            .to_string()
    }
    pub fn ceph_json(&self, args: &str) -> Value {
        let out = self.on(
            "ceph1",
            // stderr apart: `auth get` says "exported keyring" there.
            &format!("docker exec ceph_mon ceph {args} -f json 2>/dev/null"),
        );
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("ceph {args}: {e}: {out}"))
    }
}

impl Playground {
    /// What this test bed needs of every cluster on it, as the
    /// playground's own globals say it: (the settings block: no privileged
    /// containers, kernel settings of the host containers' own network
    /// namespaces only; the `[global]` ceph.conf options, indented as under
    /// `ceph_conf_overrides: global:`). Tests that deploy files of their
    /// own append these.
    pub fn test_bed(&self) -> (String, String) {
        let bed = std::fs::read_to_string(self.dir.path().join("globals.yml")).unwrap();
        let from = bed
            .find("# The host containers cannot start privileged")
            .unwrap_or_else(|| panic!("no test-bed block in {bed}"));
        let (block, overrides) = bed[from..]
            .split_once("\nceph_conf_overrides:\n  global:\n")
            .unwrap_or_else(|| panic!("no ceph_conf_overrides in {bed}"));
        // A one-host playground's own choice of pools of one copy is the
        // cluster's, not the test bed's: the example states its own.
        let overrides = overrides
            .split_once("    # One host:")
            .map_or(overrides, |(bed_only, _)| bed_only);
        (format!("{block}\n"), overrides.to_string())
    }

    /// (host name, address) of each host, as the playground's inventory
    /// has them, and the SSH user and key file it logs in with.
    pub fn hosts(&self) -> (Vec<(String, String)>, String, String) {
        let inventory = std::fs::read_to_string(self.inventory()).unwrap();
        let mut hosts = Vec::new();
        let (mut user, mut key) = (String::new(), String::new());
        for line in inventory.lines() {
            let mut words = line.split_whitespace();
            let Some(name) = words.next() else { continue };
            let mut address = None;
            for w in words {
                if let Some(a) = w.strip_prefix("ansible_host=") {
                    address = Some(a.to_string());
                } else if let Some(u) = w.strip_prefix("ansible_user=") {
                    user = u.to_string();
                } else if let Some(k) = w.strip_prefix("ansible_ssh_private_key_file=") {
                    key = k.to_string();
                }
            }
            if let Some(a) = address {
                hosts.push((name.to_string(), a));
            }
        }
        (hosts, user, key)
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = long_cephalo()
            .args(["playground", "down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}
