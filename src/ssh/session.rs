//! SSH connections with russh: one verified, authenticated connection per
//! host, opened once and reused by every command of a run (a bounded number
//! of channels at a time), reopened with backoff when it drops between
//! commands. Knows nothing about what the commands do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use russh::client::{self, AuthResult, Handle};
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Preferred, kex};
use tokio::sync::{Mutex, OnceCell, RwLock, Semaphore};

use super::known_hosts::{self, KnownHosts, Verdict};
use crate::transport::{
    BoxFuture, Command, Endpoint, LineSplitter, Output, Stream, Transport, TransportError,
};

/// How cephalo connects.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// known_hosts files read for verification (the user's and the project's).
    pub known_hosts_files: Vec<PathBuf>,
    /// Where `--accept-new-host-keys` records new keys.
    pub project_known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// Channels open at once on one connection (OpenSSH's MaxSessions
    /// defaults to 10).
    pub max_channels: usize,
    /// Key exchange algorithms, most preferred first.
    pub kex: Vec<String>,
    /// Names this machine resolves before DNS (`ssh_hosts_file`).
    pub hosts: super::HostsFile,
}

impl SshOptions {
    pub fn new(project_known_hosts: PathBuf) -> SshOptions {
        let mut files = Vec::new();
        if let Some(home) = std::env::var_os("HOME") {
            files.push(Path::new(&home).join(".ssh/known_hosts"));
        }
        files.push(project_known_hosts.clone());
        SshOptions {
            known_hosts_files: files,
            project_known_hosts,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            max_channels: 8,
            // curve25519 first: the post-quantum exchanges cost far more CPU
            // per connection on small machines.
            kex: vec![
                "curve25519-sha256".into(),
                "curve25519-sha256@libssh.org".into(),
                "mlkem768x25519-sha256".into(),
                "ecdh-sha2-nistp256".into(),
                "diffie-hellman-group-exchange-sha256".into(),
                "diffie-hellman-group14-sha256".into(),
            ],
            hosts: super::HostsFile::default(),
        }
    }
}

/// Environment variable holding the passphrase of an encrypted key.
pub const PASSPHRASE_ENV: &str = "CEPHALO_SSH_PASSPHRASE";

struct Conn {
    handle: Handle<Client>,
    channels: Semaphore,
}

/// A host's connection, opened at most once at a time.
type Slot = Arc<Mutex<Option<Arc<Conn>>>>;

/// The SSH transport: connections by host name.
pub struct SshTransport {
    opts: SshOptions,
    /// The default client configuration; hosts known only by other key
    /// types get their own with the host key order changed.
    config: Arc<client::Config>,
    kex: Vec<kex::Name>,
    known: Arc<RwLock<KnownHosts>>,
    conns: StdMutex<HashMap<String, Slot>>,
    /// Hosts that could not be reached (after the retries), when, and why:
    /// asked again within `DOWN_FOR` they fail at once, so one host that is
    /// gone costs a run one connect timeout, not one per command.
    down: StdMutex<HashMap<String, (Instant, TransportError)>>,
    keys: Mutex<HashMap<PathBuf, Arc<OnceCell<Arc<PrivateKey>>>>>,
}

/// How long a host that could not be reached is not tried again.
const DOWN_FOR: Duration = Duration::from_secs(30);

impl SshTransport {
    pub fn new(opts: SshOptions) -> std::io::Result<SshTransport> {
        let known = KnownHosts::load(&opts.known_hosts_files)?;
        let kex: Vec<kex::Name> = opts
            .kex
            .iter()
            .filter_map(|n| {
                kex::ALL_KEX_ALGORITHMS
                    .iter()
                    .find(|k| k.as_ref() == n.as_str())
                    .map(|k| **k)
            })
            .chain([
                kex::EXTENSION_SUPPORT_AS_CLIENT,
                kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            ])
            .collect();
        Ok(SshTransport {
            opts,
            config: Arc::new(client_config(&kex, None)),
            kex,
            known: Arc::new(RwLock::new(known)),
            conns: StdMutex::new(HashMap::new()),
            down: StdMutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        })
    }

    pub fn known_hosts_warnings(&self) -> Vec<(PathBuf, usize, String)> {
        self.known
            .try_read()
            .map(|k| k.warnings().to_vec())
            .unwrap_or_default()
    }

    /// One connection per host and way of logging in: the same host reached
    /// as another user, with another key or through another jump host is
    /// another connection.
    fn slot(&self, host: &Endpoint) -> Slot {
        let key = format!("{}|{:?}", host.name, host.connection);
        let mut map = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().clone()
    }

    /// The host's connection, opened when there is none or it dropped.
    async fn conn(&self, host: &Endpoint) -> Result<Arc<Conn>, TransportError> {
        let slot = self.slot(host);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref()
            && !c.handle.is_closed()
        {
            return Ok(c.clone());
        }
        let key = format!("{}|{:?}", host.name, host.connection);
        let recent = self
            .down
            .lock()
            .ok()
            .and_then(|d| d.get(&key).cloned())
            .filter(|(at, _)| at.elapsed() < DOWN_FOR);
        if let Some((_, e)) = recent {
            return Err(e);
        }
        let opened = self.open_with_retries(host).await;
        if let Ok(mut down) = self.down.lock() {
            match &opened {
                Err(e @ TransportError::Unreachable { .. }) => {
                    down.insert(key, (Instant::now(), e.clone()));
                }
                _ => {
                    down.remove(&key);
                }
            }
        }
        let c = Arc::new(opened?);
        *guard = Some(c.clone());
        Ok(c)
    }

    /// Connection resets during the handshake (sshd's MaxStartups) and
    /// refused connections are retried with backoff; host key and
    /// authentication failures are not.
    async fn open_with_retries(&self, host: &Endpoint) -> Result<Conn, TransportError> {
        let delays = [100u64, 300, 800, 1600];
        let mut attempt = 0;
        loop {
            match self.open(host).await {
                Ok(c) => return Ok(c),
                Err(e @ TransportError::Unreachable { .. }) if attempt < delays.len() => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(delays[attempt])).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn open(&self, host: &Endpoint) -> Result<Conn, TransportError> {
        let c = &host.connection;
        // The hosts file first, then the system's resolver (DNS, /etc/hosts).
        let mapped = self.opts.hosts.lookup(&c.address);
        let target = mapped.map_or_else(|| c.address.clone(), |ip| ip.to_string());
        let unreachable = |reason: String| TransportError::Unreachable {
            host: host.name.clone(),
            target: match mapped {
                Some(ip) => format!("{}:{} ({ip}, ssh_hosts_file)", c.address, c.port),
                None => format!("{}:{}", c.address, c.port),
            },
            reason,
        };
        let failure = Arc::new(StdMutex::new(None));
        let handler = Client {
            host: host.name.clone(),
            address: c.address.clone(),
            port: c.port,
            known: self.known.clone(),
            accept_new: self.opts.accept_new_host_keys,
            project_file: self.opts.project_known_hosts.clone(),
            failure: failure.clone(),
        };
        let config = self.config_for(host).await;
        let connect: BoxFuture<'_, Result<Handle<Client>, russh::Error>> = match &c.jump {
            None => Box::pin(client::connect(config, (target.as_str(), c.port), handler)),
            Some(j) => {
                // The jump host is a host of its own: verified, authenticated
                // with the same credentials, and shared by every host behind it.
                let jump = Endpoint {
                    name: format!("jump host {}", j.address),
                    connection: crate::model::Connection {
                        address: j.address.clone(),
                        port: j.port,
                        user: j.user.clone().or_else(|| c.user.clone()),
                        private_key_file: c.private_key_file.clone(),
                        become_root: false,
                        local: false,
                        password: None,
                        jump: None,
                    },
                };
                let via = Box::pin(self.conn(&jump)).await.map_err(|e| {
                    unreachable(format!("through jump host {}:{}: {e}", j.address, j.port))
                })?;
                let channel = via
                    .handle
                    .channel_open_direct_tcpip(target.clone(), u32::from(c.port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| {
                        unreachable(format!(
                            "jump host {} cannot open a tunnel: {}",
                            j.address,
                            describe(&e)
                        ))
                    })?;
                Box::pin(client::connect_stream(
                    config,
                    channel.into_stream(),
                    handler,
                ))
            }
        };
        let handle = match tokio::time::timeout(self.opts.connect_timeout, connect).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    self.opts.connect_timeout.as_secs()
                )));
            }
            Ok(Err(e)) => {
                if let Some(f) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    return Err(f);
                }
                return Err(unreachable(describe(&e)));
            }
            Ok(Ok(h)) => h,
        };
        let mut handle = handle;
        self.authenticate(host, &mut handle).await?;
        Ok(Conn {
            handle,
            channels: Semaphore::new(self.opts.max_channels.max(1)),
        })
    }

    /// Host key algorithms ordered by what is known for this host, so a
    /// host known only by its RSA key is not asked for its ed25519 key.
    async fn config_for(&self, host: &Endpoint) -> Arc<client::Config> {
        let known = self.known.read().await;
        let algs = known.known_algorithms(&host.connection.address, host.connection.port);
        if algs.is_empty() || self.config.preferred.key.first() == algs.first() {
            return self.config.clone();
        }
        let mut order: Vec<Algorithm> = Vec::new();
        for a in algs.iter().chain(self.config.preferred.key.iter()) {
            if !order.contains(a) {
                order.push(a.clone());
            }
        }
        Arc::new(client_config(&self.kex, Some(order)))
    }

    async fn load_key(
        &self,
        path: &Path,
        host: &Endpoint,
    ) -> Result<Arc<PrivateKey>, TransportError> {
        let cell = {
            let mut map = self.keys.lock().await;
            map.entry(path.to_path_buf()).or_default().clone()
        };
        // A key that cannot be used is a login failure: the host is not
        // reached, and the message says what to do.
        let other = |reason: String| TransportError::AuthFailed {
            host: host.name.clone(),
            user: host.connection.user.clone().unwrap_or_else(local_user),
            tried: reason,
        };
        cell.get_or_try_init(|| async {
            let path = path.to_path_buf();
            // Decrypting takes a second or two: once, off the async threads.
            tokio::task::spawn_blocking(move || load_private_key(&path))
                .await
                .map_err(|e| other(format!("loading the key failed: {e}")))?
                .map(Arc::new)
                .map_err(other)
        })
        .await
        .cloned()
    }

    async fn authenticate(
        &self,
        host: &Endpoint,
        handle: &mut Handle<Client>,
    ) -> Result<(), TransportError> {
        let c = &host.connection;
        let user = c.user.clone().unwrap_or_else(local_user);
        let lost = |e: russh::Error| TransportError::Unreachable {
            host: host.name.clone(),
            target: format!("{}:{}", c.address, c.port),
            reason: format!("during authentication: {}", describe(&e)),
        };
        let mut tried = Vec::new();
        let mut key_files: Vec<PathBuf> = Vec::new();
        match &c.private_key_file {
            Some(p) => key_files.push(expand_home(p)),
            None => {
                // The agent first, then the default key files, as ssh does.
                if std::env::var_os("SSH_AUTH_SOCK").is_some()
                    && let Ok(mut agent) =
                        russh::keys::agent::client::AgentClient::connect_env().await
                    && let Ok(ids) = agent.request_identities().await
                {
                    for id in ids {
                        let public = id.public_key().into_owned();
                        let hash = rsa_hash(handle, &public).await.map_err(lost)?;
                        tried.push(format!("agent key {}", known_hosts::fingerprint(&public)));
                        if let Ok(AuthResult::Success) = handle
                            .authenticate_publickey_with(user.clone(), public, hash, &mut agent)
                            .await
                        {
                            return Ok(());
                        }
                    }
                }
                if let Some(home) = std::env::var_os("HOME") {
                    for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                        let p = Path::new(&home).join(".ssh").join(name);
                        if p.exists() {
                            key_files.push(p);
                        }
                    }
                }
            }
        }
        for path in key_files {
            let key = self.load_key(&path, host).await?;
            let hash = rsa_hash(handle, key.public_key()).await.map_err(lost)?;
            tried.push(format!("key {}", path.display()));
            let with_hash = PrivateKeyWithHashAlg::new(key, hash);
            if handle
                .authenticate_publickey(user.clone(), with_hash)
                .await
                .map_err(lost)?
                .success()
            {
                return Ok(());
            }
        }
        if let Some(password) = &c.password {
            tried.push("password".into());
            if handle
                .authenticate_password(user.clone(), password.as_str())
                .await
                .map_err(lost)?
                .success()
            {
                return Ok(());
            }
        }
        if tried.is_empty() {
            tried.push("nothing: no key file, agent or password".into());
        }
        Err(TransportError::AuthFailed {
            host: host.name.clone(),
            user,
            tried: tried.join(", "),
        })
    }

    async fn exec(&self, host: &Endpoint, cmd: &Command) -> Result<Output, TransportError> {
        let started = Instant::now();
        let conn = self.conn(host).await?;
        let lost = || TransportError::ConnectionLost {
            host: host.name.clone(),
            command: cmd.display(),
        };
        let _permit = conn.channels.acquire().await.map_err(|_| lost())?;
        let channel = conn
            .handle
            .channel_open_session()
            .await
            .map_err(|_| lost())?;
        channel.exec(true, cmd.line()).await.map_err(|_| lost())?;
        let (mut read, write) = channel.split();
        let stdin = match &cmd.stdin {
            Some(input) => Some(input.reader().await.map_err(|e| TransportError::Other {
                host: host.name.clone(),
                reason: format!("cannot read the input of `{}`: {e}", cmd.display()),
            })?),
            None => None,
        };
        let writer = async move {
            if let Some(reader) = stdin {
                let _ = write.data(reader).await;
            }
            let _ = write.eof().await;
            write
        };
        let sink = if cmd.secret {
            None
        } else {
            cmd.on_line.clone()
        };
        let reader = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut status = None;
            let (mut out_lines, mut err_lines) = (LineSplitter::default(), LineSplitter::default());
            // Keep reading until the channel closes: the exit status can
            // come before the last of the output.
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        if let Some(s) = &sink {
                            out_lines.push(&data, Stream::Stdout, s);
                        }
                        out.extend_from_slice(&data)
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        if let Some(s) = &sink {
                            err_lines.push(&data, Stream::Stderr, s);
                        }
                        err.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        err.extend_from_slice(
                            format!("killed by signal {signal_name:?}\n").as_bytes(),
                        );
                        status = Some(128 + 9);
                    }
                    _ => {}
                }
            }
            if let Some(s) = &sink {
                out_lines.finish(Stream::Stdout, s);
                err_lines.finish(Stream::Stderr, s);
            }
            (status, out, err)
        };
        let both = async { tokio::join!(writer, reader) };
        match tokio::time::timeout(cmd.timeout, both).await {
            Err(_) => Err(TransportError::Timeout {
                host: host.name.clone(),
                command: cmd.display(),
                seconds: cmd.timeout.as_secs(),
            }),
            // No exit status: the connection dropped (or the server killed
            // the session). Never taken for success.
            Ok((_, (None, _, _))) => Err(lost()),
            Ok((_, (Some(status), stdout, stderr))) => Ok(Output {
                status,
                stdout,
                stderr,
                duration: started.elapsed(),
            }),
        }
    }
}

impl Transport for SshTransport {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        cmd: &'a Command,
    ) -> BoxFuture<'a, Result<Output, TransportError>> {
        Box::pin(async move {
            if host.connection.local {
                return crate::local::run(host, cmd).await;
            }
            self.exec(host, cmd).await
        })
    }

    fn connect<'a>(&'a self, host: &'a Endpoint) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            if host.connection.local {
                return Ok(());
            }
            self.conn(host).await.map(|_| ())
        })
    }
}

fn client_config(kex: &[kex::Name], host_keys: Option<Vec<Algorithm>>) -> client::Config {
    let mut preferred = Preferred {
        kex: kex.to_vec().into(),
        ..Preferred::default()
    };
    if let Some(order) = host_keys {
        preferred.key = order.into();
    }
    client::Config {
        nodelay: true,
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 4,
        // Never an inactivity timeout: it would kill long commands.
        inactivity_timeout: None,
        preferred,
        ..Default::default()
    }
}

/// RSA keys sign with SHA-2 when the server allows it (OpenSSH >= 8.8
/// refuses SHA-1); other key types take no hash.
async fn rsa_hash(
    handle: &Handle<Client>,
    key: &PublicKey,
) -> Result<Option<HashAlg>, russh::Error> {
    if key.algorithm().is_rsa() {
        Ok(handle
            .best_supported_rsa_hash()
            .await?
            .flatten()
            .or(Some(HashAlg::Sha256)))
    } else {
        Ok(None)
    }
}

fn load_private_key(path: &Path) -> Result<PrivateKey, String> {
    match russh::keys::load_secret_key(path, None) {
        Ok(k) => Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let pass = match std::env::var(PASSPHRASE_ENV) {
                Ok(p) => p,
                Err(_) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                    rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
                        .map_err(|e| format!("cannot read the passphrase: {e}"))?
                }
                Err(_) => {
                    return Err(format!(
                        "key {} is encrypted: set {PASSPHRASE_ENV} or run cephalo on a terminal to be asked",
                        path.display()
                    ));
                }
            };
            russh::keys::load_secret_key(path, Some(&pass))
                .map_err(|e| format!("cannot decrypt key {}: {e}", path.display()))
        }
        Err(e) => Err(format!("cannot read key {}: {e}", path.display())),
    }
}

fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => Path::new(&home).join(rest),
        _ => p.to_path_buf(),
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

fn describe(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => io.to_string(),
        russh::Error::Disconnect => "the server closed the connection".into(),
        russh::Error::UnknownKey => "host key rejected".into(),
        other => other.to_string(),
    }
}

/// russh's callbacks for one connection: host key verification.
struct Client {
    host: String,
    address: String,
    port: u16,
    known: Arc<RwLock<KnownHosts>>,
    accept_new: bool,
    project_file: PathBuf,
    /// Why the host key was refused, for the error the caller sees.
    failure: Arc<StdMutex<Option<TransportError>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(TransportError::Other {
                    host: self.host.clone(),
                    reason: "the server offered a host certificate; cephalo verifies plain host keys only".into(),
                });
                return Ok(false);
            }
        };
        let fingerprint = known_hosts::fingerprint(key);
        let verdict = self.known.read().await.check(&self.address, self.port, key);
        let refusal = match verdict {
            Verdict::Known { .. } => return Ok(true),
            Verdict::Unknown if self.accept_new => {
                let mut known = self.known.write().await;
                // Another connection may have recorded it meanwhile.
                if !matches!(
                    known.check(&self.address, self.port, key),
                    Verdict::Known { .. }
                ) {
                    known_hosts::append(&self.project_file, &self.address, self.port, key)?;
                    known.add(&self.project_file, &self.address, self.port, key);
                }
                return Ok(true);
            }
            Verdict::Unknown => TransportError::UnknownHostKey {
                host: self.host.clone(),
                target: format!("{}:{}", self.address, self.port),
                fingerprint,
                line: known_hosts::line_for(&self.address, self.port, key),
                file: self.project_file.display().to_string(),
            },
            Verdict::Changed {
                file,
                line,
                known_fingerprint,
            } => TransportError::ChangedHostKey {
                host: self.host.clone(),
                target: format!("{}:{}", self.address, self.port),
                fingerprint,
                known_at: format!("{}:{line}", file.display()),
                known_fingerprint,
            },
            Verdict::Revoked { file, line } => TransportError::RevokedHostKey {
                host: self.host.clone(),
                target: format!("{}:{}", self.address, self.port),
                fingerprint,
                at: format!("{}:{line}", file.display()),
            },
        };
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(refusal);
        Ok(false)
    }
}
