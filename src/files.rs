//! Files on hosts, over any transport: `put` streams the content through
//! stdin to a temp file beside the target, sets mode and owner, and renames
//! it into place; it changes nothing when content, mode and owner already
//! match. `get` reads a file back. Contents are never logged.

use sha2::{Digest, Sha256};

use crate::script::Script;
use crate::transport::{Command, Endpoint, Transport, TransportError, run};

/// Prints `absent`, or `MODE USER:GROUP UID:GID` then the sha256 of the
/// regular file at `$1` (read on stdin: a name with a newline or a
/// backslash cannot change sha256sum's line); exit 3 for anything else.
const PROBE: &str = "if [ -f \"$1\" ]; then stat -c '%a %U:%G %u:%g' -- \"$1\" && sha256sum < \"$1\"; \
elif [ -e \"$1\" ]; then echo 'not a regular file' >&2; exit 3; else echo absent; fi";

/// Writes stdin to `$1` with mode `$2` (octal) and owner `$3` (none when
/// empty): through a temp file beside it, renamed into place. mktemp makes
/// the temp file 0600, so a secret is never readable by others while it is
/// written.
const PUT: &str = "d=$(dirname -- \"$1\") && mkdir -p -- \"$d\" && t=$(mktemp \"$d/.cephalo.XXXXXX\") || exit 1
if cat > \"$t\" && chmod \"$2\" \"$t\" && { [ -z \"$3\" ] || chown -- \"$3\" \"$t\"; } && mv -f -- \"$t\" \"$1\"; then exit 0; else rm -f -- \"$t\"; exit 1; fi";

/// The command that reports what is at `path`.
fn probe_command(path: &str) -> Command {
    Script::new(PROBE).arg(path).command()
}

/// The command that writes its stdin to the file `f` (content not included).
fn put_command(f: &RemoteFile<'_>) -> Command {
    Script::new(PUT)
        .arg(f.path)
        .arg(format!("{:o}", f.mode))
        .arg(f.owner.unwrap_or_default())
        .command()
}

/// A file as it must be on a host.
#[derive(Debug, Clone)]
pub struct RemoteFile<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
    pub mode: u32,
    /// `user:group` (names or ids); None leaves the owner as created.
    pub owner: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Unchanged,
    Changed,
}

/// What is at a path now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Present {
    Absent,
    File {
        mode: u32,
        owner_names: String,
        owner_ids: String,
        sha256: String,
    },
}

/// Parses the probe's output: `absent`, or `MODE USER:GROUP UID:GID` then
/// sha256sum's line.
pub fn parse_probe(stdout: &str) -> Option<Present> {
    let mut lines = stdout.lines();
    let first = lines.next()?.trim();
    if first == "absent" {
        return Some(Present::Absent);
    }
    let mut parts = first.split_whitespace();
    let mode = u32::from_str_radix(parts.next()?, 8).ok()?;
    let owner_names = parts.next()?.to_string();
    let owner_ids = parts.next()?.to_string();
    let sha256 = lines.next()?.split_whitespace().next()?.to_string();
    Some(Present::File {
        mode,
        owner_names,
        owner_ids,
        sha256,
    })
}

fn failed(host: &Endpoint, cmd: &Command, out: &crate::transport::Output) -> TransportError {
    TransportError::Failed {
        host: host.name.clone(),
        command: cmd.display(),
        status: out.status,
        stderr_tail: out.stderr_tail(3),
    }
}

/// What is at `path` on the host.
pub async fn probe(
    t: &dyn Transport,
    host: &Endpoint,
    path: &str,
    become_root: bool,
) -> Result<Present, TransportError> {
    let cmd = probe_command(path).become_root(become_root);
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Err(failed(host, &cmd, &out));
    }
    parse_probe(&out.stdout_text()).ok_or_else(|| TransportError::Other {
        host: host.name.clone(),
        reason: format!(
            "cannot read the state of {path}: unexpected output {:?}",
            out.stdout_text()
        ),
    })
}

/// The hex sha256 of a content, as `sha256sum` prints it.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// Whether what is at the path is already the wanted file: content, mode
/// and (when one is wanted) owner, by names or ids.
pub fn is_wanted(present: &Present, f: &RemoteFile<'_>) -> bool {
    match present {
        Present::Absent => false,
        Present::File {
            mode,
            owner_names,
            owner_ids,
            sha256,
        } => {
            *sha256 == sha256_hex(f.content)
                && *mode == f.mode
                && f.owner.is_none_or(|o| o == owner_names || o == owner_ids)
        }
    }
}

/// What `put` would do, changing nothing.
pub async fn would_put(
    t: &dyn Transport,
    host: &Endpoint,
    f: &RemoteFile<'_>,
    become_root: bool,
) -> Result<Change, TransportError> {
    Ok(
        if is_wanted(&probe(t, host, f.path, become_root).await?, f) {
            Change::Unchanged
        } else {
            Change::Changed
        },
    )
}

/// Puts a file on a host unless it is already there as wanted.
pub async fn put(
    t: &dyn Transport,
    host: &Endpoint,
    f: &RemoteFile<'_>,
    become_root: bool,
) -> Result<Change, TransportError> {
    if would_put(t, host, f, become_root).await? == Change::Unchanged {
        return Ok(Change::Unchanged);
    }
    let cmd = put_command(f)
        .stdin(f.content.to_vec())
        .become_root(become_root)
        .secret();
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Err(failed(host, &cmd, &out));
    }
    Ok(Change::Changed)
}

/// Reads a whole file from a host.
pub async fn get(
    t: &dyn Transport,
    host: &Endpoint,
    path: &str,
    become_root: bool,
) -> Result<Vec<u8>, TransportError> {
    let cmd = Command::new(["cat", "--", path])
        .become_root(become_root)
        .secret();
    let out = run(t, host, &cmd).await?;
    if !out.success() {
        return Err(failed(host, &cmd, &out));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output() {
        assert_eq!(parse_probe("absent\n"), Some(Present::Absent));
        assert_eq!(
            parse_probe("600 root:root 0:0\nabc123  /etc/ceph/x\n"),
            Some(Present::File {
                mode: 0o600,
                owner_names: "root:root".into(),
                owner_ids: "0:0".into(),
                sha256: "abc123".into()
            })
        );
        assert_eq!(parse_probe("garbage"), None);
    }

    /// Runs a command's quoted line under the local `sh`, as a host would.
    fn local(cmd: &Command, stdin: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.line())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        child.wait_with_output().expect("wait for sh")
    }

    #[test]
    fn hostile_paths_are_one_word_for_put_and_probe() {
        let dir = std::env::temp_dir().join(format!("cephalo-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in crate::script::HOSTILE.iter().enumerate() {
            // A folder of its own: a split word would land beside it.
            let sub = dir.join(i.to_string());
            let path = sub.join(name).join(name);
            let path = path.to_str().unwrap();
            let f = RemoteFile {
                path,
                content: b"x\n",
                mode: 0o640,
                owner: None,
            };
            let cmd = put_command(&f);
            assert_eq!(cmd.argv[2], PUT);
            assert_eq!(
                crate::script::words_seen_by_sh(&cmd),
                [path, "640", ""],
                "{name:?}"
            );
            let out = local(&cmd, f.content);
            assert!(out.status.success(), "{name:?}: {out:?}");
            assert_eq!(std::fs::read(path).unwrap(), b"x\n", "{name:?}");
            let entries: Vec<_> = std::fs::read_dir(&sub).unwrap().collect();
            assert_eq!(entries.len(), 1, "{name:?}: {entries:?}");
            let out = local(&probe_command(path), b"");
            assert!(out.status.success(), "{name:?}: {out:?}");
            match parse_probe(&String::from_utf8_lossy(&out.stdout)) {
                Some(Present::File { mode, sha256, .. }) => {
                    assert_eq!(mode, 0o640, "{name:?}");
                    assert_eq!(sha256, sha256_hex(b"x\n"), "{name:?}");
                }
                other => panic!("{name:?}: {other:?}"),
            }
            let absent = format!("{path}.not-there");
            let out = local(&probe_command(&absent), b"");
            assert_eq!(
                parse_probe(&String::from_utf8_lossy(&out.stdout)),
                Some(Present::Absent)
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
