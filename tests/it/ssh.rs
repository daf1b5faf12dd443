//! The SSH engine against real OpenSSH servers on loopback (tests/it/sshd.rs):
//! exec, timeouts, files, sudo, host keys, unreachable hosts, dropped
//! connections, and `cephalo run` on 200 hosts.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command as Cli;
use cephalo::files::{self, Change, RemoteFile};
use cephalo::model::Connection;
use cephalo::ssh::{SshOptions, SshTransport};
use cephalo::transport::{Command, Endpoint, Transport, TransportError, run};
use predicates::prelude::*;

use crate::sshd::{Fleet, TestHost};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn endpoint(fleet: &Fleet, h: &TestHost, user: &str) -> Endpoint {
    Endpoint {
        name: h.name.clone(),
        connection: Connection {
            address: h.addr.to_string(),
            port: h.port,
            user: Some(user.to_string()),
            private_key_file: Some(fleet.client_key.clone()),
            become_root: false,
            local: false,
            password: None,
            jump: None,
        },
    }
}

fn transport(known_hosts: &Path, accept_new: bool) -> SshTransport {
    let mut opts = SshOptions::new(known_hosts.to_path_buf());
    // Only the fleet's file: the machine's own known_hosts plays no part.
    opts.known_hosts_files = vec![known_hosts.to_path_buf()];
    opts.accept_new_host_keys = accept_new;
    SshTransport::new(opts).unwrap()
}

#[test]
fn exec_exit_codes_stderr_and_timeouts() {
    let fleet = Fleet::start(1);
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    let t = transport(&fleet.known_hosts, false);
    rt().block_on(async {
        let out = run(
            &t,
            &host,
            &Command::new(["sh", "-c", "echo out; echo err >&2; exit 3"]),
        )
        .await
        .unwrap();
        assert_eq!(out.status, 3);
        assert_eq!(out.stdout_text(), "out\n");
        assert_eq!(out.stderr_text(), "err\n");
        // Arguments arrive as given, whatever they hold.
        let out = run(
            &t,
            &host,
            &Command::new(["printf", "%s|", "a b", "it's", "$HOME"]),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout_text(), "a b|it's|$HOME|");
        // stdin reaches the command; large output arrives whole.
        let out = run(
            &t,
            &host,
            &Command::new(["wc", "-c"]).stdin(vec![b'x'; 300_000]),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout_text().trim(), "300000");
        let out = run(
            &t,
            &host,
            &Command::new(["head", "-c", "2000000", "/dev/zero"]),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout.len(), 2_000_000);
        // A file streams into stdin without being read into memory whole.
        let big = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(big.path(), vec![7u8; 5 << 20]).unwrap();
        let out = run(
            &t,
            &host,
            &Command::new(["sha256sum"]).stdin_file(big.path()),
        )
        .await
        .unwrap();
        let want = std::process::Command::new("sha256sum")
            .arg(big.path())
            .output()
            .unwrap();
        let digest = |s: &str| s.split_whitespace().next().map(str::to_string);
        assert_eq!(
            digest(&out.stdout_text()),
            digest(&String::from_utf8_lossy(&want.stdout))
        );
        // A timeout names the host and the command, and the connection
        // stays usable.
        let e = run(
            &t,
            &host,
            &Command::new(["sleep", "5"]).timeout(Duration::from_millis(500)),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, TransportError::Timeout { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("`sleep 5` did not finish within 0 s"),
            "{e}"
        );
        assert!(
            run(&t, &host, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
        // Many commands at once on one connection (more than MaxSessions
        // allows channels) all complete.
        let many = (0..40).map(|i| {
            let t = &t;
            let host = &host;
            async move { run(t, host, &Command::new(["echo", &i.to_string()])).await }
        });
        for (i, r) in futures::future::join_all(many)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(r.unwrap().stdout_text(), format!("{i}\n"));
        }
    });
}

#[test]
fn sudo_as_a_non_root_user_and_sudo_that_wants_a_password() {
    let fleet = Fleet::start(1);
    let t = transport(&fleet.known_hosts, false);
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    let pw_host = endpoint(&fleet, &fleet.hosts[0], &fleet.password_sudo_user);
    rt().block_on(async {
        let out = run(&t, &host, &Command::new(["id", "-un"])).await.unwrap();
        assert_eq!(out.stdout_text().trim(), fleet.user);
        let out = run(&t, &host, &Command::new(["id", "-u"]).become_root(true))
            .await
            .unwrap();
        assert_eq!(out.stdout_text().trim(), "0");
        let e = tokio::time::timeout(
            Duration::from_secs(20),
            run(&t, &pw_host, &Command::new(["id", "-u"]).become_root(true)),
        )
        .await
        .expect("a sudo that wants a password must fail, not hang")
        .unwrap_err();
        assert!(matches!(e, TransportError::SudoNeedsPassword { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("sudo asks for a password for `sudo -n -- id -u`"),
            "{e}"
        );
    });
}

#[test]
fn files_upload_is_idempotent_with_mode_and_owner_and_downloads_back() {
    let fleet = Fleet::start(1);
    let t = transport(&fleet.known_hosts, false);
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    let dir = format!(
        "/tmp/cephalo-files-{}-{}",
        std::process::id(),
        fleet.hosts[0].port
    );
    let path = format!("{dir}/sub/ceph.client.admin.keyring");
    // Removed also when an assertion fails.
    struct RemoveDir<'a>(&'a str);
    impl Drop for RemoveDir<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    let _remove = RemoveDir(&dir);
    rt().block_on(async {
        let content = b"[client.admin]\n\tkey = AQBs\n".to_vec();
        let f = RemoteFile {
            path: &path,
            content: &content,
            mode: 0o600,
            owner: Some("root:root"),
        };
        assert_eq!(
            files::put(&t, &host, &f, true).await.unwrap(),
            Change::Changed
        );
        assert_eq!(
            files::put(&t, &host, &f, true).await.unwrap(),
            Change::Unchanged
        );
        let meta = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!((meta.uid(), meta.gid()), (0, 0));
        // Only the mode differs: rewritten.
        let f644 = RemoteFile {
            mode: 0o644,
            ..f.clone()
        };
        assert_eq!(
            files::put(&t, &host, &f644, true).await.unwrap(),
            Change::Changed
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o644
        );
        // Only the owner differs: rewritten.
        let owner = format!("{0}:{0}", fleet.user);
        let mine = RemoteFile {
            owner: Some(&owner),
            ..f644.clone()
        };
        assert_eq!(
            files::put(&t, &host, &mine, true).await.unwrap(),
            Change::Changed
        );
        assert_eq!(
            files::put(&t, &host, &mine, true).await.unwrap(),
            Change::Unchanged
        );
        // The content differs: rewritten, and no temp file is left behind.
        let other = RemoteFile {
            content: b"new\n",
            ..mine.clone()
        };
        assert_eq!(
            files::put(&t, &host, &other, true).await.unwrap(),
            Change::Changed
        );
        let left: Vec<_> = std::fs::read_dir(format!("{dir}/sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(files::get(&t, &host, &path, true).await.unwrap(), b"new\n");
        // Without sudo the user cannot write under a root-owned folder.
        let denied = RemoteFile {
            path: "/etc/cephalo-denied",
            ..other.clone()
        };
        let e = files::put(&t, &host, &denied, false).await.unwrap_err();
        assert!(matches!(e, TransportError::Failed { .. }), "{e}");
        let e = files::get(&t, &host, "/nonexistent/file", false)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("No such file"), "{e}");
    });
}

#[test]
fn unknown_host_key_is_refused_and_accept_new_records_it() {
    let fleet = Fleet::start(2);
    let scratch = tempfile::tempdir().unwrap();
    let project = scratch.path().join("known_hosts");
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    rt().block_on(async {
        let t = transport(&project, false);
        let e = t.connect(&host).await.unwrap_err();
        assert!(matches!(e, TransportError::UnknownHostKey { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("is not known (SHA256:"), "{msg}");
        assert!(
            msg.contains(&format!(
                "[{}]:{} ssh-ed25519 ",
                fleet.hosts[0].addr, fleet.hosts[0].port
            )),
            "{msg}"
        );
        assert!(
            !project.exists(),
            "nothing recorded without --accept-new-host-keys"
        );

        let t = transport(&project, true);
        assert!(
            run(&t, &host, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
        let recorded = std::fs::read_to_string(&project).unwrap();
        let wanted = std::fs::read_to_string(&fleet.known_hosts).unwrap();
        let line = recorded.lines().next().unwrap();
        assert!(
            wanted.lines().any(|l| l
                .split_whitespace()
                .take(3)
                .eq(line.split_whitespace().take(3))),
            "{line}"
        );
        // Once recorded, a transport without accept-new connects.
        let t = transport(&project, false);
        assert!(
            run(&t, &host, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
    });
}

#[test]
fn changed_host_key_is_refused_even_with_accept_new() {
    let mut fleet = Fleet::start(1);
    let old_text = std::fs::read_to_string(&fleet.known_hosts).unwrap();
    fleet.rotate_host_key(0);
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    // The fleet's known_hosts still holds the old key.
    let old = tempfile::tempdir().unwrap();
    let known = old.path().join("known_hosts");
    std::fs::write(&known, old_text).unwrap();
    rt().block_on(async {
        let t = transport(&known, true);
        let e = t.connect(&host).await.unwrap_err();
        assert!(matches!(e, TransportError::ChangedHostKey { .. }), "{e}");
        assert!(e.to_string().contains("HOST KEY CHANGED"), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("{}:1 holds SHA256:", known.display())),
            "{e}"
        );
    });
}

#[test]
fn dropped_connection_mid_command_is_an_error_and_the_next_command_reconnects() {
    let fleet = Fleet::start(1);
    let t = Arc::new(transport(&fleet.known_hosts, false));
    let host = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
    rt().block_on(async {
        assert!(
            run(t.as_ref(), &host, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
        let (t2, h2) = (t.clone(), host.clone());
        let long =
            tokio::spawn(
                async move { run(t2.as_ref(), &h2, &Command::new(["sleep", "30"])).await },
            );
        tokio::time::sleep(Duration::from_millis(800)).await;
        fleet.kill_sessions(&fleet.hosts[0]);
        let e = tokio::time::timeout(Duration::from_secs(15), long)
            .await
            .expect("the client notices")
            .unwrap()
            .unwrap_err();
        assert!(matches!(e, TransportError::ConnectionLost { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("the connection was lost while running `sleep 30`"),
            "{e}"
        );
        let out = run(t.as_ref(), &host, &Command::new(["echo", "back"]))
            .await
            .unwrap();
        assert_eq!(out.stdout_text(), "back\n");
    });
}

fn cephalo() -> Cli {
    Cli::cargo_bin("cephalo").unwrap()
}

/// Ansible's `-m shell -a 'uptime; df -h'` habit: one argument with shell
/// syntax runs through `sh -c` on every host; several arguments stay
/// words, their shell syntax passed as written.
#[test]
fn run_takes_one_shell_string_or_words() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    std::fs::write(&inv, fleet.inventory()).unwrap();
    let run = |words: &[&str]| {
        let out = cephalo()
            .args(["run", "-i"])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(&fleet.known_hosts)
            .arg("--log-dir")
            .arg(dir.path().join("logs"))
            .arg("--")
            .args(words)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let shell = run(&["echo a; echo b"]);
    let words = run(&["echo", "a; b"]);
    for h in &fleet.hosts {
        assert!(
            shell.contains(&format!("{} | CHANGED | rc=0 >>\na\nb\n", h.name)),
            "{shell}"
        );
        assert!(
            words.contains(&format!("{} | CHANGED | rc=0 >>\na; b\n", h.name)),
            "{words}"
        );
    }
}

#[test]
fn run_reports_an_unreachable_host_while_the_others_succeed() {
    let fleet = Fleet::start(3);
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    let dead = "dead ansible_host=127.0.0.1 ansible_port=1\n";
    std::fs::write(&inv, format!("{}{dead}", fleet.inventory())).unwrap();
    let out = cephalo()
        .args(["run", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .args(["--", "sh", "-c", "echo $SSH_CONNECTION | cut -d' ' -f3"])
        .assert()
        .code(5);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for h in &fleet.hosts {
        assert!(
            stdout.contains(&format!("{} | CHANGED | rc=0 >>\n{}\n", h.name, h.addr)),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("dead | UNREACHABLE | dead: cannot connect to 127.0.0.1:1: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("dead  : ok=0    changed=0    unreachable=1"),
        "{stdout}"
    );
    // The run log has one JSON event per line, ending with the recap.
    let log = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "recap");
    assert_eq!(last["hosts"]["dead"]["unreachable"], 1);
    // Output lines were streamed into the log as they came.
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for h in &fleet.hosts {
        assert!(
            events.iter().any(|e| e["event"] == "output"
                && e["host"] == h.name.as_str()
                && e["line"] == h.addr.to_string().as_str()),
            "no streamed output for {}",
            h.name
        );
    }
}

#[test]
fn run_exit_codes_for_failed_commands_and_unknown_host_keys() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    std::fs::write(&inv, fleet.inventory()).unwrap();
    let base = |c: &mut Cli| {
        c.args(["run", "-i"])
            .arg(&inv)
            .arg("--log-dir")
            .arg(dir.path().join("logs"));
    };
    let mut c = cephalo();
    base(&mut c);
    c.arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .args([
            "--limit",
            &fleet.hosts[1].name,
            "--",
            "sh",
            "-c",
            "echo broken >&2; exit 7",
        ])
        .assert()
        .code(4)
        .stdout(predicate::str::contains(format!(
            "{} | FAILED | rc=7 >>\nstderr: broken",
            fleet.hosts[1].name
        )))
        .stdout(predicate::str::contains(&fleet.hosts[0].name).not());
    // No known key for the hosts: refused, exit 6, and the line to add shown.
    let empty = dir.path().join("empty_known_hosts");
    let mut c = cephalo();
    base(&mut c);
    c.env("HOME", dir.path())
        .arg("--known-hosts")
        .arg(&empty)
        .args(["--", "true"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("is not known (SHA256:"));
    // --json: one event per line.
    let mut c = cephalo();
    base(&mut c);
    let out = c
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .args(["--json", "--", "true"])
        .assert()
        .success();
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "host_finished" && e["status"] == "changed")
            .count(),
        2
    );
}

#[test]
fn run_on_200_hosts() {
    let fleet = Fleet::start(200);
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    std::fs::write(&inv, fleet.inventory()).unwrap();
    let out = cephalo()
        .args(["run", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .args(["--", "sh", "-c", "echo $SSH_CONNECTION | cut -d' ' -f3"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for h in &fleet.hosts {
        assert!(
            stdout.contains(&format!("{} | CHANGED | rc=0 >>\n{}\n", h.name, h.addr)),
            "{}",
            h.name
        );
    }
    assert_eq!(stdout.matches("unreachable=0    failed=0").count(), 200);
}

/// A new client key of the given type, authorized on the fleet.
fn extra_key(fleet: &Fleet, name: &str, args: &[&str], passphrase: &str) -> std::path::PathBuf {
    let path = fleet.dir.path().join(name);
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-N", passphrase, "-C", name, "-f"])
        .arg(&path)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen {args:?}");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let authorized = fleet.dir.path().join("authorized_keys");
    let mut text = std::fs::read_to_string(&authorized).unwrap();
    text.push_str(&public);
    std::fs::write(&authorized, text).unwrap();
    path
}

#[test]
fn rsa_ecdsa_encrypted_and_agent_keys() {
    let fleet = Fleet::start(1);
    let t = transport(&fleet.known_hosts, false);
    let rsa = extra_key(&fleet, "rsa", &["-t", "rsa", "-b", "2048"], "");
    let ecdsa = extra_key(&fleet, "ecdsa", &["-t", "ecdsa", "-b", "256"], "");
    let locked = extra_key(&fleet, "locked", &["-t", "ed25519"], "s3cret pass");
    let stranger = fleet.dir.path().join("stranger");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-t", "ed25519", "-f"])
            .arg(&stranger)
            .status()
            .unwrap()
            .success()
    );
    rt().block_on(async {
        for key in [&rsa, &ecdsa] {
            // RSA signs with SHA-2: OpenSSH 8.8+ refuses SHA-1.
            let mut h = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
            h.connection.private_key_file = Some(key.clone());
            let out = run(&t, &h, &Command::new(["id", "-un"]))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
            assert_eq!(out.stdout_text().trim(), fleet.user);
        }
        let mut h = endpoint(&fleet, &fleet.hosts[0], &fleet.user);
        h.connection.private_key_file = Some(stranger.clone());
        let e = t.connect(&h).await.unwrap_err();
        assert!(matches!(e, TransportError::AuthFailed { .. }), "{e}");
        assert!(
            e.to_string().contains(&format!(
                "authentication as `{}` failed (tried: key {})",
                fleet.user,
                stranger.display()
            )),
            "{e}"
        );
    });

    // An encrypted key: the passphrase comes from the environment; without
    // it (and no terminal) the error says how to give it.
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    let h = &fleet.hosts[0];
    std::fs::write(
        &inv,
        format!(
            "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
            h.name,
            h.addr,
            h.port,
            fleet.user,
            locked.display()
        ),
    )
    .unwrap();
    let run_cli = |env: &[(&str, &str)], inv: &Path| {
        let mut c = cephalo();
        c.args(["run", "-i"])
            .arg(inv)
            .arg("--known-hosts")
            .arg(&fleet.known_hosts)
            .arg("--log-dir")
            .arg(dir.path().join("logs"));
        c.env_remove("SSH_AUTH_SOCK").env("HOME", dir.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(["--", "id", "-un"]);
        c
    };
    run_cli(&[("CEPHALO_SSH_PASSPHRASE", "s3cret pass")], &inv)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "rc=0 >>\n{}\n",
            fleet.user
        )));
    run_cli(&[], &inv)
        .assert()
        .code(5)
        .stdout(predicate::str::contains(format!(
            "key {} is encrypted: set CEPHALO_SSH_PASSPHRASE",
            locked.display()
        )));
    run_cli(&[("CEPHALO_SSH_PASSPHRASE", "wrong")], &inv)
        .assert()
        .code(5)
        .stdout(predicate::str::contains("cannot decrypt key"));

    // ssh-agent: no key file in the inventory, the agent holds the key.
    let sock = dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::process::Command::new("ssh-add")
            .arg(&rsa)
            .env("SSH_AUTH_SOCK", &sock)
            .output()
            .unwrap()
            .status
            .success()
    );
    let agent_inv = dir.path().join("agent-inventory");
    std::fs::write(
        &agent_inv,
        format!(
            "{} ansible_host={} ansible_port={} ansible_user={}\n",
            h.name, h.addr, h.port, fleet.user
        ),
    )
    .unwrap();
    let mut c = run_cli(&[], &agent_inv);
    c.env("SSH_AUTH_SOCK", &sock)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "rc=0 >>\n{}\n",
            fleet.user
        )));
    let _ = agent.kill();
    let _ = agent.wait();
}

#[test]
fn jump_host_carries_the_connection() {
    let fleet = Fleet::start(2);
    let (jump, target) = (&fleet.hosts[0], &fleet.hosts[1]);
    // Through the inventory: ansible_ssh_common_args with ProxyJump.
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    std::fs::write(
        &inv,
        format!(
            "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_common_args='-o ProxyJump={}@{}:{}'\n",
            target.name, target.addr, target.port, fleet.user, fleet.client_key.display(), fleet.user, jump.addr, jump.port
        ),
    )
    .unwrap();
    cephalo()
        .args(["run", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&fleet.known_hosts)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .args(["--", "sh", "-c", "echo $SSH_CONNECTION | cut -d' ' -f3"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{} | CHANGED | rc=0 >>\n{}\n",
            target.name, target.addr
        )));

    // The session really rides on the jump host: dropping the jump host's
    // sessions drops the target's command.
    let t = Arc::new(transport(&fleet.known_hosts, false));
    let mut h = endpoint(&fleet, target, &fleet.user);
    h.connection.jump =
        cephalo::model::JumpHost::parse(&format!("{}@{}:{}", fleet.user, jump.addr, jump.port));
    rt().block_on(async {
        assert!(
            run(t.as_ref(), &h, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
        let (t2, h2) = (t.clone(), h.clone());
        let long =
            tokio::spawn(
                async move { run(t2.as_ref(), &h2, &Command::new(["sleep", "30"])).await },
            );
        tokio::time::sleep(Duration::from_millis(800)).await;
        fleet.kill_sessions(jump);
        let e = tokio::time::timeout(Duration::from_secs(15), long)
            .await
            .expect("noticed")
            .unwrap()
            .unwrap_err();
        assert!(matches!(e, TransportError::ConnectionLost { .. }), "{e}");
        // And both connections come back for the next command.
        assert!(
            run(t.as_ref(), &h, &Command::new(["true"]))
                .await
                .unwrap()
                .success()
        );
    });
}
