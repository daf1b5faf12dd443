//! Throwaway Linux namespaces for the test sshd servers: a private mount
//! namespace where the test users, their sudo rules and a copy of the chrony
//! config exist (bind mounts of copies in the fleet's folder over /etc/...),
//! and on request a network and a pid namespace of their own. Owns that
//! setup and the first process holding the namespaces; it never writes a
//! file of the machine's /etc, and what it mounts is gone with its
//! namespaces, also when a test panics (Drop) or the test process is killed
//! (the holder sees its stdin close).

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Lowest uid and gid given to a test account (only inside the namespace).
const FIRST_ID: u32 = 2000;

/// How much of the machine the namespaces hide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Isolation {
    /// Own accounts, sudo rules and chrony config (a mount namespace); the
    /// machine's network and processes. The SSH tests need no more, and see
    /// the real pids of what their sessions run.
    Accounts,
    /// Also an own network namespace (loopback only: iptables rules and
    /// listeners there are nobody else's) and an own pid namespace (the
    /// sessions see no daemon of the machine, and none of theirs outlives
    /// the namespace). Clients reach the hosts through `Sandbox::client`.
    Machine,
}

/// A test account: name and the password field of its /etc/shadow line.
pub struct Account<'a> {
    pub name: &'a str,
    pub password: &'a str,
    /// Its line in /etc/sudoers.d.
    pub sudo: &'a str,
}

/// The namespaces of one fleet, removed on Drop.
pub struct Sandbox {
    pub isolation: Isolation,
    /// `unshare`: with a pid namespace, the parent of its first process;
    /// either way in the new mount (and network) namespace.
    holder: Child,
    /// Closing it ends the holder, and with it the namespaces.
    stdin: Option<ChildStdin>,
}

impl Sandbox {
    /// Writes the copies under `dir/etc` (the machine's files plus the
    /// accounts), then starts the namespaces with the copies mounted over
    /// the machine's. Homes are `dir/home/NAME`.
    pub fn start(dir: &Path, accounts: &[Account], isolation: Isolation) -> Sandbox {
        write_copies(dir, accounts);
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private"]);
        if isolation == Isolation::Machine {
            c.args(["--net", "--pid", "--fork", "--kill-child", "--mount-proc"]);
        }
        c.args(["--", "sh", "-c", include_str!("sandbox.sh"), "sandbox"])
            .arg(dir)
            .arg(if isolation == Isolation::Machine {
                "net"
            } else {
                "-"
            })
            .arg(read("/proc/sys/kernel/pid_max").trim())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut holder = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare: {e}"));
        let stdin = holder.stdin.take();
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("holder stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let _ = holder.wait();
            let mut err = String::new();
            if let Some(mut e) = holder.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the test namespaces did not start: {}", err.trim());
        }
        Sandbox {
            isolation,
            holder,
            stdin,
        }
    }

    /// `program` in every namespace of the sandbox (a child process in its
    /// pid namespace): how a test seeds what only the hosts may see.
    pub fn enter(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(self.ns("mnt"));
        if self.isolation == Isolation::Machine {
            c.arg(self.ns("net")).arg(self.ns("pid_for_children"));
        }
        c.arg("--").arg(program);
        c
    }

    /// `program` as the sandbox's server: in its namespaces, but itself the
    /// direct child of the caller (no fork), so that its pid is the child's
    /// id; with a pid namespace, only its children live in it.
    pub fn server(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(self.ns("mnt"));
        if self.isolation == Isolation::Machine {
            c.arg(self.ns("net"))
                .arg(self.ns("pid_for_children"))
                .arg("--no-fork");
        }
        c.arg("--").arg(program);
        c
    }

    /// `program` as a client of the hosts: in the sandbox's network (and
    /// nothing else of it) when it has one, else run as is.
    pub fn client(&self, program: impl AsRef<OsStr>) -> Command {
        if self.isolation == Isolation::Accounts {
            return Command::new(program);
        }
        let mut c = Command::new("nsenter");
        c.arg(self.ns("net")).arg("--").arg(program);
        c
    }

    /// The sandbox's TCP sockets, /proc/net/tcp as its network sees it.
    pub fn net_tcp(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/net/tcp", self.holder.id()))
    }

    /// `--mount=/proc/PID/ns/mnt` and the like, for nsenter.
    fn ns(&self, kind: &str) -> String {
        let option = match kind {
            "mnt" => "mount",
            "pid_for_children" => "pid",
            other => other,
        };
        format!("--{option}=/proc/{}/ns/{kind}", self.holder.id())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // EOF ends the holder; as the first process of a pid namespace, its
        // end kills everything left in there.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.holder.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// `dir/etc/{passwd,shadow,group,gshadow}` with the accounts added,
/// `dir/etc/sudoers.d` with their rules, `dir/etc/chrony`, the homes, and
/// `dir/exec` (a mount point for sandbox.sh).
fn write_copies(dir: &Path, accounts: &[Account]) {
    let etc = dir.join("etc");
    make_dir(&etc, 0o755);
    make_dir(&dir.join("exec"), 0o755);
    make_dir(&dir.join("home"), 0o755);
    let passwd = read("/etc/passwd");
    let group = read("/etc/group");
    let mut used = ids(&passwd, accounts);
    used.extend(ids(&group, accounts));
    let mut next = FIRST_ID;
    let mut lines: [String; 4] = Default::default();
    let mut rules = String::new();
    for a in accounts {
        while used.contains(&next) {
            next += 1;
        }
        let id = next;
        used.push(id);
        let home = dir.join("home").join(a.name);
        make_dir(&home, 0o755);
        std::os::unix::fs::chown(&home, Some(id), Some(id))
            .unwrap_or_else(|e| panic!("chown {}: {e}", home.display()));
        lines[0] += &format!(
            "{0}:x:{id}:{id}:cephalo tests:{1}:/bin/sh\n",
            a.name,
            home.display()
        );
        lines[1] += &format!("{}:{}:20000:0:99999:7:::\n", a.name, a.password);
        lines[2] += &format!("{}:x:{id}:\n", a.name);
        lines[3] += &format!("{}:!::\n", a.name);
        rules += a.sudo;
        rules.push('\n');
    }
    for (file, added) in ["passwd", "shadow", "group", "gshadow"].iter().zip(lines) {
        let machine = Path::new("/etc").join(file);
        if !machine.exists() {
            continue;
        }
        let copy = etc.join(file);
        fs::copy(&machine, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", machine.display()));
        // The machine's accounts, but not ones named like the tests' (left
        // by an earlier version of these tests): in here, ours are the ones.
        let text: String = read(&machine)
            .lines()
            .filter(|l| !accounts.iter().any(|a| l.split(':').next() == Some(a.name)))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&copy, text + &added).unwrap_or_else(|e| panic!("write {}: {e}", copy.display()));
    }

    // sudo: only the accounts' rules (/etc/sudoers stays the machine's),
    // and its time stamps kept in the fleet's folder, not in /run/sudo.
    let sudoers = etc.join("sudoers.d");
    make_dir(&sudoers, 0o755);
    rules += &format!(
        "Defaults timestampdir=\"{}\", lecture=never\n",
        dir.join("sudo-ts").display()
    );
    // sudo skips files in sudoers.d whose name has a dot.
    let rules_file = sudoers.join("zz-cephalo-it");
    fs::write(&rules_file, rules).expect("write the test sudo rules");
    fs::set_permissions(&rules_file, fs::Permissions::from_mode(0o440)).expect("chmod");

    if Path::new("/etc/chrony").is_dir() {
        let out = Command::new("cp")
            .args(["-a", "/etc/chrony"])
            .arg(etc.join("chrony"))
            .output()
            .expect("run cp");
        assert!(
            out.status.success(),
            "cp -a /etc/chrony: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The third field (uid or gid) of every line of /etc/passwd or /etc/group
/// but the accounts' own.
fn ids(text: &str, accounts: &[Account]) -> Vec<u32> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| !accounts.iter().any(|a| a.name == f[0]))
        .filter_map(|f| f.get(2)?.parse().ok())
        .collect()
}

fn make_dir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
