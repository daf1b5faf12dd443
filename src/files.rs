//! Files on hosts, over any transport: `put` streams the content through
//! stdin to a temp file beside the target, sets mode and owner, and renames
//! it into place; it changes nothing when content, mode and owner already
//! match. `get` reads a file back. Contents are never logged.

use sha2::{Digest, Sha256};

use crate::transport::{Command, Endpoint, Transport, TransportError, quote, run};

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
    let p = quote(path);
    let cmd = Command::shell(format!(
        "if [ -f {p} ]; then stat -c '%a %U:%G %u:%g' -- {p} && sha256sum -- {p}; elif [ -e {p} ]; then echo 'not a regular file' >&2; exit 3; else echo absent; fi"
    ))
    .become_root(become_root);
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
    let p = quote(f.path);
    let chown = f
        .owner
        .map(|o| format!(" && chown {} \"$t\"", quote(o)))
        .unwrap_or_default();
    // mktemp makes the temp file 0600, so a secret is never readable by
    // others while it is written.
    let script = format!(
        "d=$(dirname -- {p}) && mkdir -p -- \"$d\" && t=$(mktemp \"$d/.cephalo.XXXXXX\") || exit 1; \
         if cat > \"$t\" && chmod {mode:o} \"$t\"{chown} && mv -f -- \"$t\" {p}; then exit 0; else rm -f -- \"$t\"; exit 1; fi",
        mode = f.mode
    );
    let cmd = Command::shell(script)
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
}
