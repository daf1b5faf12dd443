//! Real OpenSSH servers on loopback addresses for the SSH tests: a `Fleet` of
//! N hosts (127.X.Y.Z, one sshd per 16 addresses), two test users and a client
//! key. Owns the sshd processes it starts and the packages they need; the
//! users and their sudo rules exist only in the fleet's namespaces
//! (tests/it/sandbox.rs), never in the machine's /etc. It never signals a
//! process it did not start and never targets anything but loopback
//! addresses.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::procs::{
    children_of, connection_sockets, holds_socket, kill, listening_sockets, processes, subtree,
    wait_gone,
};
use crate::sandbox::{Account, Isolation, Sandbox};

/// Absolute, as sshd requires to re-execute itself.
const SSHD: &str = "/usr/sbin/sshd";
/// The user with passwordless sudo.
const USER: &str = "cephalo-test";
/// The user whose sudo asks for a password.
const PASSWORD_SUDO_USER: &str = "cephalo-pw";
/// One sshd refuses more listen sockets than this ("Too many listen sockets").
const ADDRESSES_PER_SSHD: usize = 16;
const PORT: u16 = 2222;
/// Tries with fresh addresses (and ports) when an address is taken.
const ATTEMPTS: u16 = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Parent of every fleet's directory: root-owned and not writable by others
/// all the way up, as StrictModes requires of the AuthorizedKeysFile's path
/// (a directory under /tmp, mode 1777, makes sshd refuse every key).
const FLEET_ROOT: &str = "/run";
/// Names of the fleets' directories begin with this.
const FLEET_PREFIX: &str = "cephalo-it-fleet-";

/// N loopback hosts served by real sshd processes (one sshd per 16 addresses,
/// since one sshd accepts at most 16 ListenAddress lines), torn down on Drop.
pub struct Fleet {
    pub hosts: Vec<TestHost>,
    /// The namespaces the sshds run in; dropped before `dir`.
    sandbox: Sandbox,
    /// Config, host keys, client key, known_hosts, sshd logs, the users'
    /// homes and the copies of /etc that the hosts see (`etc`) live here.
    pub dir: tempfile::TempDir,
    /// Unprivileged user with a plain /bin/sh shell and passwordless sudo.
    pub user: String,
    /// Second user whose sudo asks for a password.
    pub password_sudo_user: String,
    /// ed25519 private key (no passphrase) authorized for both users.
    pub client_key: PathBuf,
    /// Every host's ed25519 host key as it was at start, `[addr]:port` form.
    /// `rotate_host_key` leaves it alone: it then holds the old key.
    pub known_hosts: PathBuf,
    port: u16,
    servers: Vec<Sshd>,
    /// Numbers the files of the next sshd.
    next_server: usize,
    /// Extra `NAME=value` words for every session's environment (sshd SetEnv).
    env: String,
}

pub struct TestHost {
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
    /// The listener sshd serving this host (shared by up to 16 hosts).
    pub sshd_pid: u32,
}

/// One listener sshd.
struct Sshd {
    /// Indexes into `Fleet::hosts`.
    hosts: Vec<usize>,
    files: SshdFiles,
    child: Child,
}

struct SshdFiles {
    config: PathBuf,
    pid_file: PathBuf,
    log: PathBuf,
    host_key: PathBuf,
}

impl Fleet {
    pub fn start(n: usize) -> Fleet {
        Fleet::start_with(n, &[], Isolation::Accounts)
    }

    /// Like `start`, with these variables set in every session (sshd's
    /// SetEnv): how a test gives its hosts, say, a skewed clock through
    /// libfaketime.
    pub fn start_with_env(n: usize, env: &[(&str, &str)]) -> Fleet {
        Fleet::start_with(n, env, Isolation::Accounts)
    }

    /// Hosts with a network and processes of their own as well (see
    /// `Isolation::Machine`), for seeds that would otherwise change the
    /// machine: firewall rules, a time daemon, mounts. Clients reach them
    /// through `client`; `inside` seeds them.
    pub fn start_isolated(n: usize) -> Fleet {
        Fleet::start_with(n, &[], Isolation::Machine)
    }

    fn start_with(n: usize, env: &[(&str, &str)], isolation: Isolation) -> Fleet {
        assert!(n > 0, "a fleet has at least one host");
        let machine = machine();
        let dir = tempfile::Builder::new()
            .prefix(FLEET_PREFIX)
            .tempdir_in(FLEET_ROOT)
            .expect("temporary directory for the fleet");
        chmod(dir.path(), 0o755);
        let sandbox = Sandbox::start(dir.path(), &accounts(), isolation);
        let client_key = dir.path().join("client_key");
        keygen(&client_key, "cephalo-it client");
        let authorized = dir.path().join("authorized_keys");
        fs::write(&authorized, read_public_key(&client_key) + "\n").expect("authorized_keys");
        chmod(&authorized, 0o644);

        let mut fleet = Fleet {
            hosts: Vec::new(),
            sandbox,
            known_hosts: dir.path().join("known_hosts"),
            dir,
            user: USER.to_string(),
            password_sudo_user: PASSWORD_SUDO_USER.to_string(),
            client_key,
            port: PORT,
            servers: Vec::new(),
            next_server: 0,
            env: env.iter().map(|(k, v)| format!(" {k}={v}")).collect(),
        };
        let mut refused = Vec::new();
        for attempt in 0..ATTEMPTS {
            // A taken address gets a fresh block; from the third try on also
            // another port, in case something listens on 0.0.0.0:2222.
            fleet.port = PORT + if attempt < 2 { 0 } else { attempt };
            let addrs = loopback_block(n);
            fleet.hosts = addrs
                .iter()
                .enumerate()
                .map(|(i, &addr)| TestHost {
                    name: format!("node{}", i + 1),
                    addr,
                    port: fleet.port,
                    sshd_pid: 0,
                })
                .collect();
            match fleet.start_servers(machine) {
                Ok(()) => {
                    fleet.write_known_hosts();
                    return fleet;
                }
                Err(why) => {
                    for mut server in fleet.servers.drain(..) {
                        let _ = server.child.kill();
                        let _ = server.child.wait();
                    }
                    refused.push(why);
                }
            }
        }
        panic!(
            "could not start sshd for {n} loopback hosts in {ATTEMPTS} tries:\n{}",
            refused.join("\n")
        );
    }

    /// Kolla-style INI inventory listing every host in group `[hosts]`.
    pub fn inventory(&self) -> String {
        let mut out = String::from("[hosts]\n");
        for h in &self.hosts {
            out += &format!(
                "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
                h.name,
                h.addr,
                h.port,
                self.user,
                self.client_key.display()
            );
        }
        out
    }

    /// Kills (SIGKILL) the sshd processes serving established sessions of
    /// this host, and everything they run, but not the listener: the way a
    /// test drops a connection in the middle of a command. Sessions of the
    /// other hosts of the same sshd are told apart by their socket's local
    /// address and left alone. New connections are accepted as before.
    pub fn kill_sessions(&self, host: &TestHost) {
        let server = &self.servers[self.server_of(host)];
        let table = processes();
        let sockets = connection_sockets(&self.sandbox.net_tcp(), host.addr, host.port);
        let mut doomed = Vec::new();
        for session in children_of(&table, server.child.id()) {
            let tree = subtree(&table, session);
            if tree.iter().any(|&pid| holds_socket(pid, &sockets)) {
                doomed.extend(tree);
            }
        }
        kill(&doomed, "-KILL");
        wait_gone(&doomed);
    }

    /// Gives a host a new host key and its own restarted sshd (the "changed
    /// host key" test). Its established sessions are killed, as a reinstalled
    /// host's would be; the other hosts of its former sshd keep their key,
    /// listener pid and sessions (that sshd re-reads its config on SIGHUP).
    pub fn rotate_host_key(&mut self, host_index: usize) {
        let machine = machine();
        let addr = self.hosts[host_index].addr;
        self.kill_sessions(&self.hosts[host_index]);
        let s = self.server_of(&self.hosts[host_index]);
        if self.servers[s].hosts.len() == 1 {
            let mut old = self.servers.remove(s);
            let _ = old.child.kill();
            let _ = old.child.wait();
        } else {
            self.servers[s].hosts.retain(|&h| h != host_index);
            let addrs = self.addrs_of(&self.servers[s].hosts);
            let server = &mut self.servers[s];
            write_config(
                &server.files,
                &addrs,
                self.port,
                self.dir.path(),
                machine,
                &self.env,
            );
            // sshd writes its pid file once its listen sockets are bound: a
            // new pid file means the re-executed sshd dropped `addr`.
            let _ = fs::remove_file(&server.files.pid_file);
            kill(&[server.child.id()], "-HUP");
            if let Err(why) = wait_ready(server, &addrs, self.port, &self.sandbox.net_tcp()) {
                panic!("sshd restarted without {addr}: {why}");
            }
        }
        let mut server = self.spawn_server(vec![host_index], machine);
        let addrs = self.addrs_of(&server.hosts);
        if let Err(why) = wait_ready(&mut server, &addrs, self.port, &self.sandbox.net_tcp()) {
            let _ = server.child.kill();
            let _ = server.child.wait();
            panic!("sshd with the new host key for {addr}: {why}");
        }
        self.hosts[host_index].sshd_pid = server.child.id();
        self.servers.push(server);
    }

    /// The known_hosts line of a host's current host key (after
    /// `rotate_host_key`, the new one).
    pub fn known_hosts_line(&self, host_index: usize) -> String {
        let h = &self.hosts[host_index];
        let server = &self.servers[self.server_of(h)];
        format!(
            "[{}]:{} {}",
            h.addr,
            h.port,
            read_public_key(&server.files.host_key)
        )
    }

    /// The system ssh client, strict about host keys and never prompting,
    /// logging in as `user` to run `command`.
    pub fn ssh(&self, host: &TestHost, user: &str, command: &str) -> Command {
        let mut c = self.client("ssh");
        c.args(["-F", "/dev/null", "-i"])
            .arg(&self.client_key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "ConnectTimeout=10",
                "-p",
            ])
            .arg(host.port.to_string())
            .arg(format!("{user}@{}", host.addr))
            .arg(command)
            .stdin(Stdio::null());
        c
    }

    /// `program` as a client of the hosts (ssh, cephalo): as is, or in the
    /// fleet's network when it has one of its own.
    pub fn client(&self, program: impl AsRef<OsStr>) -> Command {
        self.sandbox.client(program)
    }

    /// `program` inside the hosts' namespaces (their mounts, and network and
    /// processes if isolated): seeds that the commands run through the
    /// fleet's sshd see, and nothing else on the machine.
    pub fn inside(&self, program: impl AsRef<OsStr>) -> Command {
        self.sandbox.enter(program)
    }

    /// The fleet's own copy of a file or folder of /etc that its hosts see
    /// in place of the machine's (chrony, passwd, sudoers.d, ...).
    pub fn etc(&self, rel: &str) -> PathBuf {
        self.dir.path().join("etc").join(rel)
    }

    fn start_servers(&mut self, machine: &Machine) -> Result<(), String> {
        let groups: Vec<Vec<usize>> = (0..self.hosts.len())
            .collect::<Vec<_>>()
            .chunks(ADDRESSES_PER_SSHD)
            .map(|c| c.to_vec())
            .collect();
        // Start them all, then wait: the sshds come up in parallel.
        for group in groups {
            let server = self.spawn_server(group, machine);
            self.servers.push(server);
        }
        for i in 0..self.servers.len() {
            let addrs = self.addrs_of(&self.servers[i].hosts);
            let tcp = self.sandbox.net_tcp();
            wait_ready(&mut self.servers[i], &addrs, self.port, &tcp)?;
            let pid = self.servers[i].child.id();
            for h in self.servers[i].hosts.clone() {
                self.hosts[h].sshd_pid = pid;
            }
        }
        Ok(())
    }

    /// Generates a host key, writes the config and starts sshd for `hosts`.
    fn spawn_server(&mut self, hosts: Vec<usize>, machine: &Machine) -> Sshd {
        let k = self.next_server;
        self.next_server += 1;
        let dir = self.dir.path();
        let host_key = dir.join(format!("sshd-{k}-host-ed25519"));
        keygen(&host_key, &format!("cephalo-it sshd {k}"));
        let files = SshdFiles {
            config: dir.join(format!("sshd-{k}.conf")),
            pid_file: dir.join(format!("sshd-{k}.pid")),
            log: dir.join(format!("sshd-{k}.log")),
            host_key,
        };
        write_config(
            &files,
            &self.addrs_of(&hosts),
            self.port,
            dir,
            machine,
            &self.env,
        );
        let stderr = fs::File::create(&files.log).expect("sshd log file");
        let child = self
            .sandbox
            .server(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&files.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SSHD}: {e}"));
        Sshd {
            hosts,
            files,
            child,
        }
    }

    fn write_known_hosts(&self) {
        let lines: String = (0..self.hosts.len())
            .map(|i| self.known_hosts_line(i) + "\n")
            .collect();
        fs::write(&self.known_hosts, lines).expect("known_hosts");
        chmod(&self.known_hosts, 0o644);
    }

    fn server_of(&self, host: &TestHost) -> usize {
        let index = self
            .hosts
            .iter()
            .position(|h| h.addr == host.addr && h.port == host.port)
            .unwrap_or_else(|| panic!("{} is not a host of this fleet", host.addr));
        self.servers
            .iter()
            .position(|s| s.hosts.contains(&index))
            .expect("every host has an sshd")
    }

    fn addrs_of(&self, hosts: &[usize]) -> Vec<Ipv4Addr> {
        hosts.iter().map(|&h| self.hosts[h].addr).collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Sessions are found before their listener is killed (no new forks
        // after), since they are reparented once it is gone.
        let table = processes();
        let mut doomed = Vec::new();
        for server in &mut self.servers {
            doomed.extend(subtree(&table, server.child.id()).into_iter().skip(1));
            let _ = server.child.kill();
        }
        // Commands whose client went away were already reparented; they (or
        // the sudo above them) carry the fleet's mark in their environment.
        let mark = fleet_mark(self.dir.path());
        for &pid in table.keys() {
            if has_environment(pid, &mark) {
                doomed.extend(subtree(&table, pid));
            }
        }
        kill(&doomed, "-KILL");
        for server in &mut self.servers {
            let _ = server.child.wait();
        }
    }
}

/// What the machine setup found out about this OpenSSH.
struct Machine {
    /// `PerSourcePenalties` exists from OpenSSH 9.8 on (Debian 12 has 9.2).
    per_source_penalties: bool,
}

/// The machine setup, done once per test process: packages, and sshd's
/// privilege separation directory (/run/sshd, as its service makes it).
fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(prepare_machine)
}

fn prepare_machine() -> Machine {
    if !Path::new(SSHD).exists() || !on_path("sudo") || !on_path("unshare") || !on_path("nsenter") {
        install_packages();
    }
    if !Path::new("/run/sshd").exists() {
        make_dir("/run/sshd", 0o755);
    }
    Machine {
        per_source_penalties: sshd_knows("PerSourcePenalties=no"),
    }
}

/// The two test users, as the fleet's namespaces know them. Without PAM,
/// sshd refuses every login to an account whose password is locked ("!"),
/// while "*" only means "no password can match". The second one gets a
/// password hash (of random bytes: nobody knows a password that matches it),
/// so that sudo asks for a password.
fn accounts() -> Vec<Account<'static>> {
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| {
        const CRYPT: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut bytes = vec![0u8; 16 + 86];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .expect("read /dev/urandom");
        let text: String = bytes
            .iter()
            .map(|b| CRYPT[*b as usize % 64] as char)
            .collect();
        format!("$6${}${}", &text[..16], &text[16..])
    });
    vec![
        Account {
            name: USER,
            password: "*",
            sudo: "cephalo-test ALL=(ALL) NOPASSWD: ALL",
        },
        Account {
            name: PASSWORD_SUDO_USER,
            password: hash,
            sudo: "cephalo-pw ALL=(ALL) ALL",
        },
    ]
}

fn install_packages() {
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("run apt-get")
    };
    let install = ["-o", "DPkg::Lock::Timeout=300", "install", "-y"];
    let install = [&install[..], &["openssh-server", "sudo", "util-linux"]].concat();
    if !apt(&install).status.success() {
        // Stale package lists are the usual reason.
        apt(&["-o", "DPkg::Lock::Timeout=300", "update"]);
        let out = apt(&install);
        assert!(
            out.status.success(),
            "apt-get install -y openssh-server sudo util-linux failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(Path::new(SSHD).exists(), "{SSHD} missing after install");
}

/// Whether this sshd accepts a `-o` option (checked with a throwaway key).
fn sshd_knows(option: &str) -> bool {
    let dir = tempfile::Builder::new()
        .prefix(FLEET_PREFIX)
        .tempdir_in(FLEET_ROOT)
        .expect("temporary directory");
    let key = dir.path().join("key");
    keygen(&key, "probe");
    let out = Command::new(SSHD)
        .args(["-t", "-f", "/dev/null", "-h"])
        .arg(&key)
        .arg("-o")
        .arg(option)
        .output()
        .expect("run sshd -t");
    out.status.success()
}

fn write_config(
    files: &SshdFiles,
    addrs: &[Ipv4Addr],
    port: u16,
    dir: &Path,
    machine: &Machine,
    env: &str,
) {
    let mut c = format!(
        "# cephalo integration tests: {} loopback hosts\n",
        addrs.len()
    );
    c += &format!("Port {port}\n");
    for a in addrs {
        c += &format!("ListenAddress {a}:{port}\n");
    }
    c += &format!("HostKey {}\n", files.host_key.display());
    c += &format!("PidFile {}\n", files.pid_file.display());
    c += &format!(
        "AuthorizedKeysFile {}\n",
        dir.join("authorized_keys").display()
    );
    c += &format!("AllowUsers {USER} {PASSWORD_SUDO_USER}\n");
    c += &format!("SetEnv {}{env}\n", fleet_mark(dir));
    c += "PermitRootLogin no\n\
          PubkeyAuthentication yes\n\
          PasswordAuthentication no\n\
          KbdInteractiveAuthentication no\n\
          UsePAM no\n\
          StrictModes yes\n\
          MaxStartups 1000:30:1000\n\
          MaxSessions 64\n\
          LogLevel ERROR\n\
          PrintMotd no\n\
          Subsystem sftp internal-sftp\n";
    if machine.per_source_penalties {
        c += "PerSourcePenalties no\n";
    }
    fs::write(&files.config, c).expect("write sshd config");
}

/// Waits until sshd has bound its sockets (its pid file appears) and listens
/// on every address, as `tcp` (the fleet network's /proc/net/tcp) shows. Err
/// when an address was taken or sshd died, so the caller can try other
/// addresses; a panic naming the address on timeout.
fn wait_ready(server: &mut Sshd, addrs: &[Ipv4Addr], port: u16, tcp: &Path) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let log = |s: &Sshd| fs::read_to_string(&s.files.log).unwrap_or_default();
    while !server.files.pid_file.exists() {
        if let Some(status) = server.child.try_wait().expect("sshd status") {
            return Err(format!("sshd exited ({status}): {}", log(server).trim()));
        }
        if Instant::now() > deadline {
            panic!(
                "sshd for {} did not bind its addresses in {READY_TIMEOUT:?}: {}",
                addrs[0],
                log(server).trim()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // An address taken by someone else is only an error line: sshd carries on
    // with the others.
    let text = log(server);
    if text.contains("Bind to port") || text.contains("Cannot bind") {
        return Err(format!("address taken: {}", text.trim()));
    }
    // A listening socket takes connections (into its backlog) at once.
    loop {
        let listening = listening_sockets(tcp);
        let Some(missing) = addrs.iter().find(|&&a| !listening.contains(&(a, port))) else {
            return Ok(());
        };
        if Instant::now() > deadline {
            panic!(
                "sshd does not listen on {missing}:{port} after {READY_TIMEOUT:?}: {}",
                log(server).trim()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A block of `n` loopback addresses no other fleet of this process had:
/// 127.X.Y.Z with X from the process id, so that concurrent test processes
/// (and sshds a killed run left behind) rarely meet; when they do, binding
/// fails and `start` takes another block.
fn loopback_block(n: usize) -> Vec<Ipv4Addr> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    const PER_X: usize = 256 * 254;
    let pid = std::process::id() as usize;
    let x = 100 + (pid % 100) as u8;
    let start = NEXT.fetch_add(n, Ordering::Relaxed) + (pid / 100) % 64 * 1000;
    (start..start + n)
        .map(|k| {
            let k = k % PER_X;
            Ipv4Addr::new(127, x, (k / 254) as u8, (k % 254 + 1) as u8)
        })
        .collect()
}

/// The environment entry every session of a fleet gets (sshd's SetEnv), so
/// that Drop finds commands whose connection is gone.
fn fleet_mark(dir: &Path) -> String {
    format!("CEPHALO_IT_FLEET={}", dir.display())
}

fn has_environment(pid: u32, entry: &str) -> bool {
    fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|&b| b == 0).any(|e| e == entry.as_bytes()))
}

fn keygen(path: &Path, comment: &str) {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(public_key_path(path));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path));
}

fn public_key_path(private: &Path) -> PathBuf {
    let mut public = private.as_os_str().to_owned();
    public.push(".pub");
    PathBuf::from(public)
}

/// "ssh-ed25519 AAAA..." of a key made by `keygen`, without the comment.
fn read_public_key(private: &Path) -> String {
    let text = fs::read_to_string(public_key_path(private)).expect("public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

fn make_dir(path: &str, mode: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {path}: {e}"));
    chmod(Path::new(path), mode);
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

// The harness's own tests: real logins, real sudo, real dropped connections.

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn sshd_three_hosts_login_and_passwordless_sudo() {
    let fleet = Fleet::start(3);
    for host in &fleet.hosts {
        let out = fleet
            .ssh(host, &fleet.user, "id -un; sudo -n true && echo sudo-ok")
            .output()
            .expect("run ssh");
        assert!(out.status.success(), "{}: {}", host.addr, stderr_of(&out));
        assert_eq!(
            stdout_of(&out).lines().collect::<Vec<_>>(),
            ["cephalo-test", "sudo-ok"],
            "{}",
            host.addr
        );
    }
    // The inventory is one cephalo reads, with every connection variable.
    let inventory = fleet.inventory();
    let parsed = cephalo::inventory::Inventory::parse(Path::new("fleet"), inventory.as_bytes())
        .expect("the fleet's inventory parses");
    assert_eq!(parsed.hosts_of("hosts"), ["node1", "node2", "node3"]);
    let node2 = &parsed.hosts["node2"].vars;
    let var = |k: &str| node2[k].value.as_str().map(str::to_string);
    assert_eq!(var("ansible_host"), Some(fleet.hosts[1].addr.to_string()));
    assert_eq!(var("ansible_user"), Some(fleet.user.clone()));
    assert_eq!(
        var("ansible_ssh_private_key_file"),
        Some(fleet.client_key.display().to_string())
    );
}

/// The users and their sudo rules exist for the sessions only: the machine's
/// /etc is not written and sees no mount (a run leaves no account behind).
#[test]
fn sshd_users_and_sudo_rules_exist_only_in_the_fleets_namespace() {
    let fleet = Fleet::start(1);
    let inside = fs::read_to_string(fleet.etc("passwd")).unwrap();
    let line = inside
        .lines()
        .find(|l| l.starts_with("cephalo-test:"))
        .expect("the fleet's passwd has the user");
    let out = fleet
        .ssh(
            &fleet.hosts[0],
            &fleet.user,
            "getent passwd cephalo-test; sudo -n ls /etc/sudoers.d",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{line}\nzz-cephalo-it\n"));
    let machine = fs::read_to_string("/etc/passwd").unwrap();
    assert!(!machine.contains(line), "{machine}");
    assert!(!Path::new("/etc/sudoers.d/zz-cephalo-it").exists());
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for target in ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers.d"] {
        assert!(
            !mounts.lines().any(|l| l.split(' ').nth(4) == Some(target)),
            "{mounts}"
        );
    }
}

#[test]
fn sshd_password_sudo_user_is_asked_for_a_password() {
    let fleet = Fleet::start(1);
    let out = fleet
        .ssh(
            &fleet.hosts[0],
            &fleet.password_sudo_user,
            "id -un; sudo -n true",
        )
        .output()
        .expect("run ssh");
    assert_eq!(stdout_of(&out).trim(), "cephalo-pw", "{}", stderr_of(&out));
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("a password is required"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn sshd_forty_hosts_on_three_sshds() {
    let t0 = Instant::now();
    let fleet = Fleet::start(40);
    let started = t0.elapsed();
    let pids: HashSet<u32> = fleet.hosts.iter().map(|h| h.sshd_pid).collect();
    assert_eq!(pids.len(), 3, "40 addresses need 3 sshds of at most 16");
    let addrs: HashSet<Ipv4Addr> = fleet.hosts.iter().map(|h| h.addr).collect();
    assert_eq!(addrs.len(), 40);
    // All at once: also shows MaxStartups lets 40 unauthenticated in.
    let clients: Vec<Child> = fleet
        .hosts
        .iter()
        .map(|h| {
            fleet
                .ssh(h, &fleet.user, "true")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ssh")
        })
        .collect();
    for (host, client) in fleet.hosts.iter().zip(clients) {
        let out = client.wait_with_output().expect("ssh");
        assert!(out.status.success(), "{}: {}", host.addr, stderr_of(&out));
    }
    eprintln!(
        "40 hosts: started in {started:?}, 40 parallel logins done at {:?}",
        t0.elapsed()
    );
}

/// Starts `sleep 30` on a host; returns the client and the remote shell's
/// pid (the "remote" host is this machine).
fn remote_sleep(fleet: &Fleet, host: &TestHost) -> (Child, u32) {
    let mut client = fleet
        .ssh(host, &fleet.user, "echo $$; exec sleep 30")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssh");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(client.stdout.as_mut().expect("stdout")),
        &mut line,
    )
    .expect("read the remote pid");
    let pid = line.trim().parse().expect("the remote pid");
    (client, pid)
}

/// Whether a process runs (exists and is not a zombie), for up to 5 s.
fn still_running_after_5s(pid: u32) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return false,
            Ok(stat)
                if stat
                    .rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z')) =>
            {
                return false;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    true
}

#[test]
fn sshd_kill_sessions_drops_only_that_hosts_connection() {
    let fleet = Fleet::start(2);
    assert_eq!(fleet.hosts[0].sshd_pid, fleet.hosts[1].sshd_pid);
    let (mut victim, victim_sleep) = remote_sleep(&fleet, &fleet.hosts[0]);
    let (mut bystander, bystander_sleep) = remote_sleep(&fleet, &fleet.hosts[1]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(victim.try_wait().unwrap().is_none(), "session ended early");

    let t0 = Instant::now();
    fleet.kill_sessions(&fleet.hosts[0]);
    let status = loop {
        if let Some(status) = victim.try_wait().unwrap() {
            break status;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "ssh still running 5 s after kill_sessions"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    assert!(
        !still_running_after_5s(victim_sleep),
        "the remote command survived"
    );
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the other host's session was killed too"
    );
    // The listener is untouched: the host takes new connections.
    let out = fleet
        .ssh(&fleet.hosts[0], &fleet.user, "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    // A client that goes away leaves its command running, reparented away
    // from sshd, as on a real host; dropping the fleet still ends it.
    let _ = bystander.kill();
    let _ = bystander.wait();
    let listener = fleet.hosts[1].sshd_pid;
    let t0 = Instant::now();
    while subtree(&processes(), listener).contains(&bystander_sleep) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "sshd kept the command"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(fs::metadata(format!("/proc/{bystander_sleep}")).is_ok());
    drop(fleet);
    assert!(
        !still_running_after_5s(bystander_sleep),
        "Drop left a command running"
    );
}

#[test]
fn sshd_rotated_host_key_is_refused_by_old_known_hosts() {
    let mut fleet = Fleet::start(2);
    let old_pid = fleet.hosts[0].sshd_pid;
    fleet.rotate_host_key(1);

    let out = fleet
        .ssh(&fleet.hosts[1], &fleet.user, "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        stderr_of(&out)
    );
    // The other host keeps its key and its sshd.
    assert_eq!(fleet.hosts[0].sshd_pid, old_pid);
    assert_ne!(fleet.hosts[1].sshd_pid, old_pid);
    let out = fleet
        .ssh(&fleet.hosts[0], &fleet.user, "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // With the new key known, the rotated host is reachable again.
    let lines = format!(
        "{}\n{}\n",
        fleet.known_hosts_line(0),
        fleet.known_hosts_line(1)
    );
    fs::write(&fleet.known_hosts, lines).unwrap();
    let out = fleet
        .ssh(&fleet.hosts[1], &fleet.user, "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}
