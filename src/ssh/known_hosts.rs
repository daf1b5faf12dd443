//! Host key verification against OpenSSH `known_hosts` files: reading them
//! (patterns, negation, hashed names, `@revoked`), deciding whether a host's
//! key is known, unknown, changed or revoked, and appending new entries. It
//! never rewrites or removes an existing line and never touches the network.
//!
//! Matching follows OpenSSH (`hostfile.c`, `match.c`): the name looked up is
//! the lowercased host for port 22 and `[host]:port` otherwise, and each
//! pattern is matched against that whole string, so `127.0.0.*` covers port
//! 22 only, `[127.0.0.*]:2222` port 2222 only, and a bare `*` every port.
//! Two deliberate differences: an `@revoked` key is refused whatever host
//! pattern its line names (OpenSSH applies only lines matching the host),
//! and a host known only by a key of another type is "changed" (OpenSSH
//! asks, as for a new host). `@cert-authority` lines are ignored: cephalo
//! does not accept host certificates.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// Entries read from one or more known_hosts files, in file order, with the
/// lines that could not be used.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    warnings: Vec<(PathBuf, usize, String)>,
    /// Last line number read from or added to each file, to number the
    /// entries `add` records.
    last_lines: Vec<(PathBuf, usize)>,
}

/// What the known_hosts files say about the key a host presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An entry for this host and port has this key.
    Known { file: PathBuf, line: usize },
    /// No entry names this host and port.
    Unknown,
    /// The host has entries, none with this key (`line` is the first one).
    Changed {
        file: PathBuf,
        line: usize,
        known_fingerprint: String,
    },
    /// The key is marked `@revoked` (for any host pattern).
    Revoked { file: PathBuf, line: usize },
}

/// One usable line: a plain entry or an `@revoked` one.
#[derive(Debug, Clone)]
struct Entry {
    file: PathBuf,
    line: usize,
    revoked: bool,
    names: Names,
    key: PublicKey,
}

/// The host field of a line.
#[derive(Debug, Clone)]
enum Names {
    /// Comma-separated patterns (`*`, `?`, leading `!`), lowercased.
    Patterns(String),
    /// `|1|salt|hash`: HMAC-SHA1 of the host name keyed with the salt.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

/// Length of the salt and of the hash in a `|1|` name (SHA-1 output).
const SHA1_LEN: usize = 20;

impl KnownHosts {
    /// Loads every file that exists (missing files are fine: empty); unreadable/bad lines are skipped,
    /// collected as warnings (file, line, reason) retrievable with `warnings()`.
    ///
    /// A file that exists but cannot be read is an error: treating it as
    /// empty would turn every host into an unknown one.
    pub fn load(paths: &[PathBuf]) -> io::Result<KnownHosts> {
        let mut known = KnownHosts::default();
        for path in paths {
            match fs::read(path) {
                // Not UTF-8 somewhere (a comment, say): the rest still counts.
                Ok(bytes) => known.read(path, &String::from_utf8_lossy(&bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot read known hosts file {}: {e}", path.display()),
                    ));
                }
            }
        }
        Ok(known)
    }

    /// Reads the text of one file; `path` is only recorded in verdicts and warnings.
    pub fn parse(path: &Path, text: &str) -> KnownHosts {
        let mut known = KnownHosts::default();
        known.read(path, text);
        known
    }

    /// Lines skipped because they could not be used: (file, line, reason).
    pub fn warnings(&self) -> &[(PathBuf, usize, String)] {
        &self.warnings
    }

    /// host is the name or address cephalo connects to, port the TCP port.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        if let Some(e) = self.revocation(key) {
            return Verdict::Revoked {
                file: e.file.clone(),
                line: e.line,
            };
        }
        let name = host_name(host, port);
        let mut first_other = None;
        for e in self.entries_for(&name) {
            if e.key.key_data() == key.key_data() {
                return Verdict::Known {
                    file: e.file.clone(),
                    line: e.line,
                };
            }
            first_other.get_or_insert(e);
        }
        match first_other {
            Some(e) => Verdict::Changed {
                file: e.file.clone(),
                line: e.line,
                known_fingerprint: fingerprint(&e.key),
            },
            None => Verdict::Unknown,
        }
    }

    /// Host key algorithms of the (not revoked) keys known for this host, in
    /// file order, without repeats: what to ask the server for first so that
    /// it presents a key we know. An RSA key stands for rsa-sha2-512,
    /// rsa-sha2-256 and ssh-rsa, the signature algorithms it can serve.
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let name = host_name(host, port);
        let mut algorithms = Vec::new();
        for e in self.entries_for(&name) {
            if self.revocation(&e.key).is_some() {
                continue;
            }
            let for_key = match e.key.algorithm() {
                Algorithm::Rsa { .. } => vec![
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha512),
                    },
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha256),
                    },
                    Algorithm::Rsa { hash: None },
                ],
                other => vec![other],
            };
            for a in for_key {
                if !algorithms.contains(&a) {
                    algorithms.push(a);
                }
            }
        }
        algorithms
    }

    /// Records in memory the entry `append` wrote to `path`, numbered as the
    /// line after the last one read from or added to that file.
    pub fn add(&mut self, path: &Path, host: &str, port: u16, key: &PublicKey) {
        let line = match self.last_lines.iter_mut().find(|(p, _)| p == path) {
            Some((_, last)) => {
                *last += 1;
                *last
            }
            None => {
                self.last_lines.push((path.to_path_buf(), 1));
                1
            }
        };
        self.entries.push(Entry {
            file: path.to_path_buf(),
            line,
            revoked: false,
            names: Names::Patterns(host_name(host, port)),
            key: key.clone(),
        });
    }

    fn read(&mut self, path: &Path, text: &str) {
        let mut count = 0;
        for (i, line) in text.lines().enumerate() {
            count = i + 1;
            match parse_line(line) {
                Ok(None) => {}
                Ok(Some((revoked, names, key))) => self.entries.push(Entry {
                    file: path.to_path_buf(),
                    line: count,
                    revoked,
                    names,
                    key,
                }),
                Err(reason) => self.warnings.push((path.to_path_buf(), count, reason)),
            }
        }
        match self.last_lines.iter_mut().find(|(p, _)| p == path) {
            Some((_, last)) => *last = count,
            None => self.last_lines.push((path.to_path_buf(), count)),
        }
    }

    /// The first `@revoked` line with this key.
    fn revocation(&self, key: &PublicKey) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.revoked && e.key.key_data() == key.key_data())
    }

    /// Plain (not `@revoked`) entries whose host field matches `name`.
    fn entries_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| !e.revoked && e.names.matches(name))
    }
}

/// Parses one line: `Ok(None)` for blank lines, comments and
/// `@cert-authority` lines; otherwise (revoked, host names, key).
fn parse_line(line: &str) -> Result<Option<(bool, Names, PublicKey)>, String> {
    let mut fields = line.split([' ', '\t', '\r']).filter(|f| !f.is_empty());
    let first = match fields.next() {
        None => return Ok(None),
        Some(f) if f.starts_with('#') => return Ok(None),
        Some(f) => f,
    };
    let (revoked, hosts) = match first {
        "@cert-authority" => return Ok(None),
        "@revoked" => (true, fields.next().ok_or("no host names after @revoked")?),
        m if m.starts_with('@') => return Err(format!("unknown marker {m}")),
        hosts => (false, hosts),
    };
    if hosts.starts_with('@') {
        return Err("more than one marker".into());
    }
    let names = Names::parse(hosts)?;
    let (Some(kind), Some(data)) = (fields.next(), fields.next()) else {
        return Err("no key after the host names".into());
    };
    if kind.starts_with('#') || data.starts_with('#') {
        return Err("no key after the host names".into());
    }
    // The key alone, single-spaced: ssh-key's parser wants exactly that.
    let key = PublicKey::from_openssh(&format!("{kind} {data}"))
        .map_err(|e| format!("cannot read the {kind} key: {e}"))?;
    Ok(Some((revoked, names, key)))
}

impl Names {
    fn parse(field: &str) -> Result<Names, String> {
        if !field.starts_with('|') {
            return Ok(Names::Patterns(field.to_ascii_lowercase()));
        }
        let bad = || format!("bad hashed host name {field} (expected |1|salt|hash)");
        let rest = field.strip_prefix("|1|").ok_or_else(bad)?;
        let (salt, hash) = rest.split_once('|').ok_or_else(bad)?;
        let salt = STANDARD.decode(salt).map_err(|_| bad())?;
        let hash = STANDARD.decode(hash).map_err(|_| bad())?;
        if salt.len() != SHA1_LEN || hash.len() != SHA1_LEN {
            return Err(bad());
        }
        Ok(Names::Hashed { salt, hash })
    }

    /// `name` is what `host_name` returns.
    fn matches(&self, name: &str) -> bool {
        match self {
            Names::Patterns(list) => match_pattern_list(name, list),
            Names::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(name.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
        }
    }
}

/// OpenSSH's `match_pattern_list`: true if some pattern matches and no
/// negated (`!`) pattern does, whatever their order.
fn match_pattern_list(name: &str, list: &str) -> bool {
    let mut positive = false;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if match_pattern(name.as_bytes(), pattern.as_bytes()) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

/// `*` matches any run of bytes (including none), `?` any one byte; every
/// other byte stands for itself (`[` and `]` included).
fn match_pattern(name: &[u8], pattern: &[u8]) -> bool {
    let (mut n, mut p) = (0, 0);
    // Where the last `*` was, and the name position it is trying to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            n += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((star_p, star_n)) = star {
            // Let the `*` swallow one more byte and retry from there.
            star = Some((star_p, star_n + 1));
            p = star_p + 1;
            n = star_n + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The name OpenSSH looks up and writes for a host: lowercased, and
/// `[host]:port` unless the port is 22.
fn host_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The exact line to add for this host (OpenSSH format: `host` for port 22, `[host]:port` otherwise,
/// then the key in OpenSSH public key format), without a newline.
///
/// The host is lowercased, as OpenSSH writes it; the key's comment is left out.
pub fn line_for(host: &str, port: u16, key: &PublicKey) -> String {
    let bare = PublicKey::new(key.key_data().clone(), "");
    // Encoding a key that was decoded can only fail on a length over 4 GiB,
    // which its u32 length prefixes rule out: no host can make this panic.
    let key_text = bare
        .to_openssh()
        .expect("a decoded public key encodes again");
    format!("{} {key_text}", host_name(host, port))
}

/// Appends line_for(...) + "\n" to the file (creating it and its parent dir, file mode 0600 when created),
/// never rewriting existing lines.
///
/// A missing parent directory is created with mode 0700, as ssh does for
/// `~/.ssh`. If the file does not end with a newline, one is added first so
/// the last line stays intact. Callers appending from several tasks should
/// serialize: the line is written with one `write`, but the newline check
/// and the write are not atomic together.
pub fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    let context = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot append to known hosts file {}: {e}", path.display()),
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(context)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(context)?;
    let mut text = String::new();
    if file.metadata().map_err(context)?.len() > 0 {
        let mut last = [0u8];
        file.seek(SeekFrom::End(-1)).map_err(context)?;
        file.read_exact(&mut last).map_err(context)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(&line_for(host, port, key));
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(context)
}

/// SHA256 fingerprint as OpenSSH prints it: "SHA256:base64-without-padding".
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Output};
    use std::sync::OnceLock;

    /// A key made by ssh-keygen, with what ssh-keygen says about it.
    struct TestKey {
        key: PublicKey,
        /// `type base64`, no comment.
        text: String,
        /// Second field of `ssh-keygen -l -E sha256`.
        sha256: String,
    }

    struct Keys {
        a: TestKey,
        b: TestKey,
        rsa: TestKey,
    }

    /// Runs ssh-keygen, whatever its exit status; fails the test if it is missing.
    fn ssh_keygen(args: &[&str]) -> Output {
        Command::new("ssh-keygen")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run ssh-keygen ({e}): these tests need OpenSSH's ssh-keygen \
                     (apt-get install -y openssh-client)"
                )
            })
    }

    fn ssh_keygen_ok(args: &[&str]) -> String {
        let out = ssh_keygen(args);
        assert!(
            out.status.success(),
            "ssh-keygen {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn generate(dir: &Path, name: &str, kind: &[&str]) -> TestKey {
        let file = dir.join(name);
        let mut args = vec!["-q", "-N", "", "-C", name, "-f", file.to_str().unwrap()];
        args.extend(kind);
        ssh_keygen_ok(&args);
        let public = format!("{}.pub", file.display());
        let written = fs::read_to_string(&public).unwrap();
        let listed = ssh_keygen_ok(&["-l", "-E", "sha256", "-f", &public]);
        TestKey {
            key: PublicKey::from_openssh(&written).unwrap(),
            text: written
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            sha256: listed.split_whitespace().nth(1).unwrap().to_string(),
        }
    }

    fn keys() -> &'static Keys {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        KEYS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            Keys {
                a: generate(dir.path(), "a", &["-t", "ed25519"]),
                b: generate(dir.path(), "b", &["-t", "ed25519"]),
                rsa: generate(dir.path(), "rsa", &["-t", "rsa", "-b", "2048"]),
            }
        })
    }

    /// Replaces `{a}`, `{b}` and `{rsa}` with those keys' `type base64`.
    fn fill(text: &str) -> String {
        let k = keys();
        text.replace("{a}", &k.a.text)
            .replace("{b}", &k.b.text)
            .replace("{rsa}", &k.rsa.text)
    }

    fn kh(text: &str) -> KnownHosts {
        KnownHosts::parse(Path::new("kh"), &fill(text))
    }

    fn known(line: usize) -> Verdict {
        Verdict::Known {
            file: "kh".into(),
            line,
        }
    }

    fn changed(line: usize, key: &TestKey) -> Verdict {
        Verdict::Changed {
            file: "kh".into(),
            line,
            known_fingerprint: key.sha256.clone(),
        }
    }

    fn revoked(line: usize) -> Verdict {
        Verdict::Revoked {
            file: "kh".into(),
            line,
        }
    }

    #[test]
    fn host_patterns_agree_with_openssh() {
        let a = &keys().a;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        // (host field, host, port, matches)
        let table: &[(&str, &str, u16, bool)] = &[
            ("host1", "host1", 22, true),
            ("host1", "host1", 2222, false),
            ("host1", "host2", 22, false),
            ("Host1", "host1", 22, true),
            ("host1", "HOST1", 22, true),
            ("[host1]:2222", "host1", 2222, true),
            ("[host1]:2222", "host1", 22, false),
            ("[host1]:2222", "host1", 2223, false),
            ("[host1]:22", "host1", 22, false),
            ("127.0.0.*", "127.0.0.5", 22, true),
            ("127.0.0.*", "127.0.1.5", 22, false),
            ("127.0.0.*", "127.0.0.5", 2222, false),
            ("[127.0.0.*]:2222", "127.0.0.9", 2222, true),
            ("[127.0.0.*]:2222", "127.0.0.9", 22, false),
            ("[127.0.0.*]:2222", "127.0.1.9", 2222, false),
            ("node?.lab", "node1.lab", 22, true),
            ("node?.lab", "node12.lab", 22, false),
            ("node?.lab", "node.lab", 22, false),
            ("*", "anything", 22, true),
            ("*", "anything", 2222, true),
            ("*.lab", "a.lab", 2222, false),
            ("*.lab,!bad.lab", "good.lab", 22, true),
            ("*.lab,!bad.lab", "bad.lab", 22, false),
            ("!bad.lab,*.lab", "bad.lab", 22, false),
            ("!bad.lab", "good.lab", 22, false),
            ("a.lab,b.lab,[c.lab]:2200", "b.lab", 22, true),
            ("a.lab,b.lab,[c.lab]:2200", "c.lab", 2200, true),
            ("a.lab,b.lab,[c.lab]:2200", "c.lab", 22, false),
            ("a.lab,b.lab", "ab.lab", 22, false),
        ];
        for &(field, host, port, expected) in table {
            let text = format!("{field} {}\n", a.text);
            let ours = KnownHosts::parse(Path::new("kh"), &text).check(host, port, &a.key);
            let want = if expected { known(1) } else { Verdict::Unknown };
            assert_eq!(ours, want, "{field} against {host} port {port}");
            fs::write(&file, &text).unwrap();
            let name = host_name(host, port);
            let found = ssh_keygen(&["-F", &name, "-f", file.to_str().unwrap()]);
            assert_eq!(
                found.status.success(),
                expected,
                "ssh-keygen -F {name} disagrees on {field}"
            );
        }
    }

    #[test]
    fn tabs_double_spaces_comments_and_blank_lines() {
        let k = keys();
        let (kind, data) = k.a.text.split_once(' ').unwrap();
        let text = format!(
            "# comment\n\n   \n\ttabbed\t{kind}\t{data}\n\
             spaced  {kind}   {data}   trailing comment\n\
             \t  leading {kind} {data}\n\
             crlf {kind} {data}\r\n\
             @revoked\t*.old\t{}\n",
            k.b.text
        );
        let known_hosts = KnownHosts::parse(Path::new("kh"), &text);
        assert!(
            known_hosts.warnings().is_empty(),
            "{:?}",
            known_hosts.warnings()
        );
        assert_eq!(known_hosts.check("tabbed", 22, &k.a.key), known(4));
        assert_eq!(known_hosts.check("spaced", 22, &k.a.key), known(5));
        assert_eq!(known_hosts.check("leading", 22, &k.a.key), known(6));
        assert_eq!(known_hosts.check("crlf", 22, &k.a.key), known(7));
        assert_eq!(known_hosts.check("x", 22, &k.b.key), revoked(8));
    }

    #[test]
    fn hashed_names_written_by_ssh_keygen() {
        let k = keys();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        fs::write(&file, fill("h22.lab {a}\n[h2222.lab]:2222 {a}\n")).unwrap();
        ssh_keygen_ok(&["-H", "-f", file.to_str().unwrap()]);
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.lines().all(|l| l.starts_with("|1|")),
            "ssh-keygen -H did not hash: {text}"
        );
        let known_hosts = KnownHosts::load(std::slice::from_ref(&file)).unwrap();
        assert!(
            known_hosts.warnings().is_empty(),
            "{:?}",
            known_hosts.warnings()
        );
        let at = |line| Verdict::Known {
            file: file.clone(),
            line,
        };
        assert_eq!(known_hosts.check("h22.lab", 22, &k.a.key), at(1));
        assert_eq!(known_hosts.check("H22.Lab", 22, &k.a.key), at(1));
        assert_eq!(known_hosts.check("h2222.lab", 2222, &k.a.key), at(2));
        assert_eq!(
            known_hosts.check("h22.lab", 2222, &k.a.key),
            Verdict::Unknown
        );
        assert_eq!(
            known_hosts.check("h2222.lab", 22, &k.a.key),
            Verdict::Unknown
        );
        assert_eq!(
            known_hosts.check("other.lab", 22, &k.a.key),
            Verdict::Unknown
        );
        assert!(matches!(
            known_hosts.check("h22.lab", 22, &k.b.key),
            Verdict::Changed { line: 1, .. }
        ));
    }

    #[test]
    fn revoked_key_is_refused_whatever_the_pattern() {
        let k = keys();
        let known_hosts = kh("host1 {a}\n@revoked other.lab {a}\nhost1 {rsa}\n@revoked * {b}\n");
        assert_eq!(known_hosts.check("host1", 22, &k.a.key), revoked(2));
        assert_eq!(known_hosts.check("new.lab", 2222, &k.a.key), revoked(2));
        assert_eq!(known_hosts.check("host1", 22, &k.b.key), revoked(4));
        assert_eq!(known_hosts.check("host1", 22, &k.rsa.key), known(3));
        // A revoked line is no entry for its host: other keys are new there.
        assert_eq!(
            known_hosts.check("other.lab", 22, &k.rsa.key),
            Verdict::Unknown
        );
    }

    #[test]
    fn cert_authority_lines_are_ignored() {
        let k = keys();
        let known_hosts = kh("@cert-authority *.lab {a}\n@cert-authority\t*.lab not-a-key\n");
        assert!(
            known_hosts.warnings().is_empty(),
            "{:?}",
            known_hosts.warnings()
        );
        assert_eq!(known_hosts.check("x.lab", 22, &k.a.key), Verdict::Unknown);
        assert_eq!(known_hosts.check("x.lab", 22, &k.b.key), Verdict::Unknown);
    }

    #[test]
    fn changed_key_reports_the_first_entry_for_the_host() {
        let k = keys();
        let known_hosts = kh("# header\n\nother {a}\nhost1 {b}\n*.lab,host1 {rsa}\n");
        assert_eq!(known_hosts.check("host1", 22, &k.a.key), changed(4, &k.b));
        assert_eq!(known_hosts.check("host1", 22, &k.rsa.key), known(5));
        assert_eq!(known_hosts.check("host1", 2222, &k.a.key), Verdict::Unknown);
        // Known only by a key of another type: changed too (cephalo refuses).
        assert_eq!(known_hosts.check("x.lab", 22, &k.a.key), changed(5, &k.rsa));
    }

    #[test]
    fn bad_lines_are_warnings_and_skipped() {
        let k = keys();
        let known_hosts = kh("host1\n\
             host1 ssh-ed25519 not*base64\n\
             @bogus host1 {a}\n\
             |1|c2hvcnQ=|c2hvcnQ= {a}\n\
             |2|abc|def {a}\n\
             @revoked\n\
             @revoked @revoked host1 {a}\n\
             host1 # no key\n\
             host1 ssh-rsa {a}\n\
             host1 {b}\n");
        let lines: Vec<usize> = known_hosts.warnings().iter().map(|w| w.1).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for (file, line, reason) in known_hosts.warnings() {
            assert_eq!(file, Path::new("kh"));
            assert!(!reason.is_empty(), "line {line}");
        }
        assert_eq!(known_hosts.check("host1", 22, &k.a.key), changed(10, &k.b));
    }

    #[test]
    fn load_reads_every_file_and_skips_missing_ones() {
        let k = keys();
        let dir = tempfile::tempdir().unwrap();
        let (user, project, missing) = (
            dir.path().join("user"),
            dir.path().join("project"),
            dir.path().join("missing"),
        );
        fs::write(&user, fill("host1 {b}\ngarbage\n")).unwrap();
        fs::write(&project, fill("# ours\nhost1 {a}\n")).unwrap();
        let known_hosts = KnownHosts::load(&[missing, user.clone(), project.clone()]).unwrap();
        assert_eq!(
            known_hosts.check("host1", 22, &k.a.key),
            Verdict::Known {
                file: project.clone(),
                line: 2
            }
        );
        assert_eq!(
            known_hosts.check("host1", 22, &k.rsa.key),
            Verdict::Changed {
                file: user.clone(),
                line: 1,
                known_fingerprint: k.b.sha256.clone(),
            }
        );
        assert_eq!(known_hosts.warnings().len(), 1);
        assert_eq!(known_hosts.warnings()[0].0, user);
        assert_eq!(known_hosts.warnings()[0].1, 2);
        // A file that exists but cannot be read is an error, not "no hosts".
        assert!(KnownHosts::load(&[dir.path().to_path_buf()]).is_err());
    }

    #[test]
    fn line_for_is_what_openssh_writes_and_finds() {
        let k = keys();
        assert_eq!(
            line_for("Node1.LAB", 22, &k.a.key),
            format!("node1.lab {}", k.a.text)
        );
        assert_eq!(
            line_for("10.0.0.1", 2222, &k.rsa.key),
            format!("[10.0.0.1]:2222 {}", k.rsa.text)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        fs::write(&file, format!("{}\n", line_for("10.0.0.1", 2222, &k.a.key))).unwrap();
        let found = ssh_keygen(&["-F", "[10.0.0.1]:2222", "-f", file.to_str().unwrap()]);
        assert!(
            found.status.success(),
            "ssh-keygen -F does not find our line"
        );
    }

    #[test]
    fn append_creates_a_private_file_and_keeps_existing_lines() {
        let k = keys();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("new/dir/known_hosts");
        append(&file, "host1", 22, &k.a.key).unwrap();
        append(&file, "host2", 2222, &k.rsa.key).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            format!("host1 {}\n[host2]:2222 {}\n", k.a.text, k.rsa.text)
        );
        let known_hosts = KnownHosts::load(std::slice::from_ref(&file)).unwrap();
        assert!(matches!(
            known_hosts.check("host2", 2222, &k.rsa.key),
            Verdict::Known { line: 2, .. }
        ));

        // An existing file keeps its mode and its last line, even without a newline.
        let existing = dir.path().join("existing");
        fs::write(&existing, "# mine").unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).unwrap();
        append(&existing, "host1", 22, &k.a.key).unwrap();
        assert_eq!(
            fs::read_to_string(&existing).unwrap(),
            format!("# mine\nhost1 {}\n", k.a.text)
        );
        let mode = fs::metadata(&existing).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn add_numbers_the_entry_after_the_file_last_line() {
        let k = keys();
        let mut known_hosts = kh("# one\nhost1 {a}\n\n");
        known_hosts.add(Path::new("kh"), "host2", 2222, &k.b.key);
        assert_eq!(known_hosts.check("host2", 2222, &k.b.key), known(4));
        known_hosts.add(Path::new("other"), "host3", 22, &k.b.key);
        assert_eq!(
            known_hosts.check("host3", 22, &k.b.key),
            Verdict::Known {
                file: "other".into(),
                line: 1
            }
        );
    }

    #[test]
    fn known_algorithms_follow_the_file_order() {
        let rsa_family = [
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
            Algorithm::Rsa { hash: None },
        ];
        let known_hosts = kh("host1 {rsa}\nhost1 {a}\nhost1 {b}\n*.lab {rsa}\n");
        let mut want = rsa_family.to_vec();
        want.push(Algorithm::Ed25519);
        assert_eq!(known_hosts.known_algorithms("host1", 22), want);
        assert_eq!(known_hosts.known_algorithms("x.lab", 22), rsa_family);
        assert!(known_hosts.known_algorithms("host1", 2222).is_empty());
        // A revoked key is not asked for.
        let known_hosts = kh("host1 {a}\nhost1 {rsa}\n@revoked * {a}\n");
        assert_eq!(known_hosts.known_algorithms("host1", 22), rsa_family);
    }

    #[test]
    fn fingerprint_is_what_ssh_keygen_prints() {
        let k = keys();
        for key in [&k.a, &k.b, &k.rsa] {
            assert!(key.sha256.starts_with("SHA256:"), "{}", key.sha256);
            assert_eq!(fingerprint(&key.key), key.sha256);
        }
    }

    #[test]
    fn pattern_matching_edge_cases() {
        assert!(match_pattern(b"", b""));
        assert!(match_pattern(b"", b"*"));
        assert!(!match_pattern(b"", b"?"));
        assert!(match_pattern(b"abcabd", b"*abd"));
        assert!(match_pattern(b"a.b.c", b"a*c"));
        assert!(!match_pattern(b"a.b.cd", b"a*c"));
        assert!(match_pattern(b"[h]:2222", b"*"));
        assert!(match_pattern(b"[h]:2222", b"[h]:22??"));
        assert!(!match_pattern(b"[h]:222", b"[h]:22??"));
    }
}
