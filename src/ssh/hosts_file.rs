//! The `ssh_hosts_file` setting: an /etc/hosts-format file of names for
//! this machine (`IP NAME [ALIAS...]`, `#` comments), consulted before DNS
//! for the address cephalo connects to. Host keys are still looked up
//! under the name, as OpenSSH does with a name /etc/hosts resolves. Reads
//! and parses only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// Name -> address, the first line naming a name winning (as glibc reads
/// /etc/hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsFile {
    names: HashMap<String, IpAddr>,
}

impl HostsFile {
    /// The file's entries, or every line that is not `IP NAME...` with
    /// why (line numbers from 1).
    pub fn parse(text: &str) -> Result<HostsFile, Vec<(u64, String)>> {
        let mut names = HashMap::new();
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            let Ok(ip) = first.parse::<IpAddr>() else {
                bad.push((i as u64 + 1, format!("`{first}` is not an IP address")));
                continue;
            };
            let mut any = false;
            for name in words {
                any = true;
                names.entry(name.to_ascii_lowercase()).or_insert(ip);
            }
            if !any {
                bad.push((i as u64 + 1, format!("no name after {ip}")));
            }
        }
        if bad.is_empty() {
            Ok(HostsFile { names })
        } else {
            Err(bad)
        }
    }

    /// Reads and parses `path`: the read error, or the bad lines.
    pub fn load(path: &Path) -> Result<HostsFile, HostsFileError> {
        let text = std::fs::read_to_string(path).map_err(HostsFileError::Read)?;
        HostsFile::parse(&text).map_err(HostsFileError::Lines)
    }

    /// The address `name` has here (names are not case-sensitive).
    pub fn lookup(&self, name: &str) -> Option<IpAddr> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }
}

#[derive(Debug)]
pub enum HostsFileError {
    Read(std::io::Error),
    Lines(Vec<(u64, String)>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_etc_hosts_and_bad_lines_are_named() {
        let h = HostsFile::parse(
            "# playground\n10.88.3.11 ceph1 ceph1.lab\n\n10.88.3.12\tCeph2 # a comment\n10.88.3.99 ceph1\nfd00::13 ceph3\n",
        )
        .unwrap();
        let at = |n: &str| h.lookup(n).map(|a| a.to_string());
        assert_eq!(at("ceph1").as_deref(), Some("10.88.3.11"));
        assert_eq!(at("ceph1.lab").as_deref(), Some("10.88.3.11"));
        assert_eq!(at("CEPH2").as_deref(), Some("10.88.3.12"));
        assert_eq!(at("ceph3").as_deref(), Some("fd00::13"));
        assert_eq!(at("ceph4"), None);
        assert_eq!(
            HostsFile::parse("10.0.0.1 a\nceph1 10.0.0.2\n10.0.0.3\n").unwrap_err(),
            [
                (2, "`ceph1` is not an IP address".to_string()),
                (3, "no name after 10.0.0.3".to_string())
            ]
        );
    }
}
