//! The Ceph release table: what each release can do, in one place, shared
//! by rendering, deploy and upgrade. No other module compares versions.

use std::fmt;

/// Ceph releases cephalo knows, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    Jewel,
    Kraken,
    Luminous,
    Mimic,
    Nautilus,
    Octopus,
    Pacific,
    Quincy,
    Reef,
    Squid,
    Tentacle,
}

/// The cephx secret types (the `cephx` module makes and reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Type 1: AES-128, 16 bytes. Every release accepts it.
    Aes,
    /// Type 2: AES-256, 32 bytes.
    Aes256,
}

pub struct ReleaseInfo {
    pub release: Release,
    pub name: &'static str,
    pub major: u32,
    /// The Debian suite whose packages carry this release, when one still
    /// serves it (the playground builds images from it).
    pub debian_suite: Option<&'static str>,
    /// The version Debian ships in that suite.
    pub debian_version: Option<&'static str>,
    /// Type of secret this release's ceph-authtool generates, and whether it
    /// accepts AES-256 keys at all.
    pub generated_secret: SecretKind,
    pub accepts_aes256: bool,
}

const TABLE: &[ReleaseInfo] = &[
    info(Release::Jewel, "jewel", 10, None, None),
    info(Release::Kraken, "kraken", 11, None, None),
    info(Release::Luminous, "luminous", 12, None, None),
    info(Release::Mimic, "mimic", 13, None, None),
    info(
        Release::Nautilus,
        "nautilus",
        14,
        Some("bullseye"),
        Some("14.2.21"),
    ),
    info(Release::Octopus, "octopus", 15, None, None),
    info(
        Release::Pacific,
        "pacific",
        16,
        Some("bookworm"),
        Some("16.2.15"),
    ),
    info(Release::Quincy, "quincy", 17, None, None),
    info(Release::Reef, "reef", 18, Some("trixie"), Some("18.2.7")),
    info(Release::Squid, "squid", 19, None, None),
    ReleaseInfo {
        // Verified with each release's own ceph-authtool (docs/research/
        // cephx-key-types.md): only tentacle accepts type 2, and it makes
        // type 2 by default. Squid is unverified and kept at type 1.
        generated_secret: SecretKind::Aes256,
        accepts_aes256: true,
        ..info(
            Release::Tentacle,
            "tentacle",
            20,
            Some("sid"),
            Some("20.2.4"),
        )
    },
];

const fn info(
    release: Release,
    name: &'static str,
    major: u32,
    debian_suite: Option<&'static str>,
    debian_version: Option<&'static str>,
) -> ReleaseInfo {
    ReleaseInfo {
        release,
        name,
        major,
        debian_suite,
        debian_version,
        generated_secret: SecretKind::Aes,
        accepts_aes256: false,
    }
}

impl Release {
    pub const ALL: [Release; 11] = [
        Release::Jewel,
        Release::Kraken,
        Release::Luminous,
        Release::Mimic,
        Release::Nautilus,
        Release::Octopus,
        Release::Pacific,
        Release::Quincy,
        Release::Reef,
        Release::Squid,
        Release::Tentacle,
    ];

    pub fn info(self) -> &'static ReleaseInfo {
        &TABLE[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn major(self) -> u32 {
        self.info().major
    }

    /// Parses a release name (`pacific`) or a major version (`16`).
    pub fn parse(s: &str) -> Option<Release> {
        let s = s.trim().to_ascii_lowercase();
        TABLE
            .iter()
            .find(|i| i.name == s || i.major.to_string() == s)
            .map(|i| i.release)
    }

    /// Messenger v2 (port 3300) exists from Nautilus on: mon addresses are
    /// written `[v2:IP:3300,v1:IP:6789]`, before that `IP:6789`.
    pub fn has_msgr2(self) -> bool {
        self >= Release::Nautilus
    }

    /// ceph-mgr exists from Luminous on.
    pub fn has_mgr(self) -> bool {
        self >= Release::Luminous
    }

    /// `ceph osd new` exists from Luminous on; before it `ceph osd create`.
    pub fn has_osd_new(self) -> bool {
        self >= Release::Luminous
    }

    /// osd_memory_target exists from Luminous 12.2.9 / Mimic on.
    pub fn has_osd_memory_target(self) -> bool {
        self >= Release::Mimic
    }

    /// Filestore was removed in Reef.
    pub fn supports_filestore(self) -> bool {
        self < Release::Reef
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every release name, for messages.
pub fn known_names() -> String {
    TABLE.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_order() {
        for (i, r) in Release::ALL.iter().enumerate() {
            assert_eq!(TABLE[i].release, *r);
            assert_eq!(r.info().major, 10 + i as u32);
        }
        assert_eq!(Release::parse("Pacific"), Some(Release::Pacific));
        assert_eq!(Release::parse("18"), Some(Release::Reef));
        assert_eq!(Release::parse("firefly"), None);
    }
}
