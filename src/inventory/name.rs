//! The one rule for names an operator writes that end up in paths, argument
//! vectors and container names on a host: host and group names, the cluster
//! name, daemon ids, device paths and image references. Every input format
//! (INI, YAML, globals, `-e`) checks its names here and nowhere else.

/// What kind of name a text is, which fixes the characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// An inventory host (`ceph1`, `storage-01.example.com`, `10.0.0.5`).
    Host,
    /// An inventory group (`mons`, `ceph-mon`, `storage-osd`).
    Group,
    /// `cluster_name`: the prefix of /etc/ceph/<name>.conf.
    Cluster,
    /// A daemon id (mon, mgr and mds ids are host names): part of
    /// /var/lib/ceph/mon/<cluster>-<id>.
    DaemonId,
    /// A block device: `/dev/sdb`, `/dev/disk/by-id/...`.
    DevicePath,
    /// A container image reference or one of its parts
    /// (`quay.io/ceph/ceph:v18`, `registry:5000`).
    Image,
}

impl NameKind {
    /// The operator's word for the kind, in messages.
    pub fn what(self) -> &'static str {
        match self {
            NameKind::Host => "host name",
            NameKind::Group => "group name",
            NameKind::Cluster => "cluster name",
            NameKind::DaemonId => "daemon id",
            NameKind::DevicePath => "device path",
            NameKind::Image => "image reference",
        }
    }

    /// Characters allowed besides ASCII letters and digits.
    fn punctuation(self) -> &'static str {
        match self {
            NameKind::Host => ".-_:",
            NameKind::Group => "_-.",
            NameKind::Cluster => "-_",
            NameKind::DaemonId => ".-_",
            NameKind::DevicePath => "/._-+:@",
            NameKind::Image => "/._-:@",
        }
    }

    fn allowed(self) -> String {
        let marks: Vec<String> = self
            .punctuation()
            .chars()
            .map(|c| format!("`{c}`"))
            .collect();
        let (last, rest) = marks
            .split_last()
            .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
        let prefix = if self == NameKind::DevicePath {
            "a /dev/ path of "
        } else {
            ""
        };
        format!(
            "{prefix}letters, digits, {} and {last}, not starting with `-`",
            rest.join(", ")
        )
    }
}

/// Checks `text` as a name of `kind`. The error says what is wrong in the
/// operator's words, with control characters shown escaped.
pub fn check_name(kind: NameKind, text: &str) -> Result<(), String> {
    let punctuation = kind.punctuation();
    let chars_ok = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c));
    let shape_ok = match kind {
        NameKind::DevicePath => {
            text.len() > "/dev/".len()
                && text.starts_with("/dev/")
                && !text.split('/').any(|part| part == "..")
        }
        _ => !text.is_empty(),
    };
    if chars_ok && shape_ok && !text.starts_with('-') {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid {} ({})",
            shown(text),
            kind.what(),
            kind.allowed()
        ))
    }
}

/// A name as it may be printed in a message or key path: control characters
/// (a newline in a YAML key) escaped, everything else as written.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_world_names_pass() {
        for (kind, ok) in [
            (NameKind::Host, "control01"),
            (NameKind::Host, "storage-01.example.com"),
            (NameKind::Host, "10.0.0.5"),
            (NameKind::Host, "fe80::1"),
            (NameKind::Host, "ceph_1"),
            (NameKind::Group, "ceph-mon"),
            (NameKind::Group, "storage-osd"),
            (NameKind::Group, "all.children"),
            (NameKind::Cluster, "ceph"),
            (NameKind::Cluster, "backup_2"),
            (NameKind::DaemonId, "ceph1.example.com"),
            (NameKind::DevicePath, "/dev/sdb"),
            (
                NameKind::DevicePath,
                "/dev/disk/by-id/nvme-Samsung_SSD_970_S46+X@1",
            ),
            (
                NameKind::DevicePath,
                "/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
            ),
            (NameKind::DevicePath, "/dev/mapper/vg-lv"),
            (NameKind::Image, "quay.io/ceph/ceph:v18.2.4"),
            (NameKind::Image, "registry.local:5000"),
            (NameKind::Image, "ceph@sha256:0123abcd"),
        ] {
            assert_eq!(check_name(kind, ok), Ok(()), "{kind:?} {ok}");
        }
    }

    #[test]
    fn hostile_names_fail() {
        for bad in [
            "", "ceph1 x", "ceph2;id", "$(id)", "`id`", "a'b", "a\"b", "a\nb", "-rf", "céph1",
            "a\tb", "a|b", "a&b", "a>b", "a\\b",
        ] {
            for kind in [
                NameKind::Host,
                NameKind::Group,
                NameKind::Cluster,
                NameKind::DaemonId,
                NameKind::DevicePath,
                NameKind::Image,
            ] {
                assert!(check_name(kind, bad).is_err(), "{kind:?} {bad:?}");
            }
        }
        assert!(check_name(NameKind::DevicePath, "sdb").is_err());
        assert!(check_name(NameKind::DevicePath, "/dev/").is_err());
        assert!(check_name(NameKind::DevicePath, "/dev/../etc/shadow").is_err());
        assert!(check_name(NameKind::Cluster, "my.cluster").is_err());
        assert!(check_name(NameKind::DaemonId, "fe80::1").is_err());
    }

    #[test]
    fn messages_show_control_characters_escaped() {
        let e = check_name(NameKind::Host, "a\nb").unwrap_err();
        assert!(
            e.starts_with(
                "`a\\nb` is not a valid host name (letters, digits, `.`, `-`, `_` and `:`"
            ),
            "{e}"
        );
        let e = check_name(NameKind::DevicePath, "sdb").unwrap_err();
        assert!(e.contains("a /dev/ path of letters"), "{e}");
    }
}
