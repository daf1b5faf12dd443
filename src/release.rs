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
    /// The releases a cluster on this one may be upgraded to directly, as
    /// each target's upgrade notes allow ("Upgrading from ..." in
    /// doc/releases/*.rst): at most two releases forward, Kraken skipped.
    pub upgrade_targets: &'static [Release],
}

const TABLE: &[ReleaseInfo] = &[
    info(
        Release::Jewel,
        "jewel",
        10,
        None,
        None,
        &[Release::Luminous],
    ),
    info(
        Release::Kraken,
        "kraken",
        11,
        None,
        None,
        &[Release::Luminous],
    ),
    info(
        Release::Luminous,
        "luminous",
        12,
        None,
        None,
        &[Release::Mimic, Release::Nautilus],
    ),
    info(
        Release::Mimic,
        "mimic",
        13,
        None,
        None,
        &[Release::Nautilus, Release::Octopus],
    ),
    info(
        Release::Nautilus,
        "nautilus",
        14,
        Some("bullseye"),
        Some("14.2.21"),
        &[Release::Octopus, Release::Pacific],
    ),
    info(
        Release::Octopus,
        "octopus",
        15,
        None,
        None,
        &[Release::Pacific, Release::Quincy],
    ),
    info(
        Release::Pacific,
        "pacific",
        16,
        Some("bookworm"),
        Some("16.2.15"),
        &[Release::Quincy, Release::Reef],
    ),
    info(
        Release::Quincy,
        "quincy",
        17,
        None,
        None,
        &[Release::Reef, Release::Squid],
    ),
    info(
        Release::Reef,
        "reef",
        18,
        Some("trixie"),
        Some("18.2.7"),
        &[Release::Squid, Release::Tentacle],
    ),
    info(
        Release::Squid,
        "squid",
        19,
        None,
        None,
        &[Release::Tentacle],
    ),
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
            &[],
        )
    },
];

const fn info(
    release: Release,
    name: &'static str,
    major: u32,
    debian_suite: Option<&'static str>,
    debian_version: Option<&'static str>,
    upgrade_targets: &'static [Release],
) -> ReleaseInfo {
    ReleaseInfo {
        release,
        name,
        major,
        debian_suite,
        debian_version,
        generated_secret: SecretKind::Aes,
        accepts_aes256: false,
        upgrade_targets,
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

    /// The tag of this release's upstream container image
    /// (`quay.io/ceph/ceph:v<major>`, the newest point release of the
    /// series, as Ceph's documentation names them): the images begin with
    /// Nautilus, so older releases have none and need `ceph_image_tag`.
    pub fn upstream_tag(self) -> Option<String> {
        (self >= Release::Nautilus).then(|| format!("v{}", self.major()))
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

    // Upgrade facts: what `cephalo upgrade` may ask of a release. Where a
    // command arrived in a point release, the release that has it in every
    // point release is named; the executor still treats "unknown command"
    // as "this check does not exist here".

    /// The releases this one may be upgraded to directly (the table's
    /// `upgrade_targets`, from each target's "Upgrading from" notes).
    pub fn upgrade_targets(self) -> &'static [Release] {
        self.info().upgrade_targets
    }

    /// Whether `to` is a direct upgrade from this release.
    pub fn can_upgrade_to(self, to: Release) -> bool {
        self.upgrade_targets().contains(&to)
    }

    /// The value of `ceph osd require-osd-release` that finishes an upgrade
    /// to this release: the command exists from Luminous on (Luminous
    /// release notes, "Upgrade from Jewel or Kraken", last step).
    pub fn require_osd_release(self) -> Option<&'static str> {
        (self >= Release::Luminous).then(|| self.name())
    }

    /// `ceph osd ok-to-stop <ids>` (MgrCommands.h: served by ceph-mgr, so
    /// by the mgrs' release): in ceph(8) from the Luminous docs on, next to
    /// `osd safe-to-destroy`. It came in a 12.2.x point release (which one
    /// is not verified here), so on Luminous "unknown command" means "no
    /// such check", not "not ok".
    pub fn has_osd_ok_to_stop(self) -> bool {
        self >= Release::Luminous
    }

    /// `ceph mon ok-to-stop <ids>` (MonCommands.h, next to `mon ok-to-rm`
    /// and `mon ok-to-add-offline`): added for cephadm in Octopus.
    pub fn has_mon_ok_to_stop(self) -> bool {
        self >= Release::Octopus
    }

    /// `ceph mds ok-to-stop <ids>` (MonCommands.h): added for cephadm in
    /// Octopus.
    pub fn has_mds_ok_to_stop(self) -> bool {
        self >= Release::Octopus
    }

    /// No release has a `ceph mgr ok-to-stop`: a mgr may stop when `ceph mgr
    /// dump` lists a standby (what cephadm checks), from Luminous on.
    pub fn has_mgr_standby_check(self) -> bool {
        self.has_mgr()
    }

    /// `ceph versions` (per daemon type, every running version) is new in
    /// Luminous ("New in Luminous: Upgrade Complete?"); on Jewel a daemon's
    /// version is read with `ceph tell <daemon> version`.
    pub fn has_ceph_versions(self) -> bool {
        self >= Release::Luminous
    }

    /// `ceph mon feature ls` (persistent mon features, "luminous" once every
    /// mon runs Luminous) is new in Luminous (Luminous upgrade notes).
    pub fn has_mon_feature_ls(self) -> bool {
        self >= Release::Luminous
    }

    /// `ceph features` (the features and releases of connected clients and
    /// daemons) is new in Luminous ("New in Luminous: Upgrade Complete?").
    pub fn has_ceph_features(self) -> bool {
        self >= Release::Luminous
    }

    /// The `ceph mon metadata <id>` field that names the running version:
    /// `ceph_version`, a string like "ceph version 16.2.15 (...) pacific
    /// (stable)"; `mon metadata` came in Jewel, and this field is the one
    /// every release has (later ones add shorter fields; parse this one, do
    /// not match it). CEPH-NOTES "Seen in a real upgrade":
    /// this, not `quorum_status`, says a restarted mon is back.
    pub fn mon_metadata_version_field(self) -> &'static str {
        "ceph_version"
    }

    /// `ceph mon dump` prints `min_mon_release N (name)` from Nautilus on
    /// (Nautilus upgrade notes: check it after the mons).
    pub fn has_min_mon_release(self) -> bool {
        self >= Release::Nautilus
    }

    /// Luminous OSDs need the `sortbitwise` flag before they start (Luminous
    /// upgrade notes: set it on Jewel, before anything else).
    pub fn requires_sortbitwise(self) -> bool {
        self >= Release::Luminous
    }

    /// The `allow_standby_replay` file system flag replaced the
    /// `mds_standby_replay` option in Nautilus (Nautilus release notes,
    /// CephFS).
    pub fn has_fs_allow_standby_replay(self) -> bool {
        self >= Release::Nautilus
    }

    /// Lowering `max_mds` stops the extra ranks by itself from Mimic on;
    /// before, each was stopped with `ceph mds deactivate <rank>` (Mimic
    /// release notes; Nautilus made `mds deactivate` obsolete).
    pub fn stops_extra_mds_ranks(self) -> bool {
        self >= Release::Mimic
    }

    /// The mons' configuration database (`ceph config set`) exists from
    /// Mimic on (Mimic release notes, "centralized configuration").
    pub fn has_config_db(self) -> bool {
        self >= Release::Mimic
    }

    /// AUTH_INSECURE_GLOBAL_ID_RECLAIM(_ALLOWED) is raised from 14.2.20,
    /// 15.2.11 and 16.2.1 on, and stays until
    /// `auth_allow_insecure_global_id_reclaim` is false (CVE-2021-20288;
    /// CEPH-NOTES "Seen in a real upgrade").
    pub fn warns_insecure_global_id_reclaim(self) -> bool {
        self >= Release::Nautilus
    }

    /// AUTH_INSECURE_SERVICE_KEY_TYPE (an error), AUTH_INSECURE_SERVICE_TICKETS
    /// and the client, rotating-key and allowed-cipher warnings are raised
    /// from 19.2.6 and 20.2.4 on (CVE-2025-30156) for keys of type aes, which
    /// every cluster made before has.
    pub fn warns_insecure_key_types(self) -> bool {
        self >= Release::Squid
    }

    /// BLUESTORE_NO_PER_POOL_OMAP is raised by default from Pacific on for
    /// OSDs whose omap is not yet per pool (made before Octopus); the first
    /// start with `bluestore_fsck_quick_fix_on_mount true` converts them
    /// (CEPH-NOTES "Seen in a real upgrade").
    pub fn warns_no_per_pool_omap(self) -> bool {
        self >= Release::Pacific
    }

    /// PG read leases (doc/dev/osd_internals/stale_read.rst, new in
    /// Octopus): a primary serves reads only while its acting set has
    /// granted it a lease of `osd_pool_default_read_lease_ratio` x
    /// `osd_heartbeat_grace`; a new interval may wait out the last one.
    pub fn has_read_leases(self) -> bool {
        self >= Release::Octopus
    }

    /// New pools get `pg_autoscale_mode on` from Octopus on; pools made on
    /// Nautilus keep `warn`, and raise POOL_TOO_MANY_PGS that never clears
    /// (CEPH-NOTES "Seen in a real upgrade").
    pub fn autoscales_pools_by_default(self) -> bool {
        self >= Release::Octopus
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A release serialises as its name (`"pacific"`), as plans print it.
impl serde::Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Release {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Release::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown Ceph release `{name}`")))
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

    #[test]
    fn upgrades_go_at_most_two_releases_forward() {
        use Release::*;
        let allowed = [
            (Jewel, Luminous),
            (Luminous, Mimic),
            (Luminous, Nautilus),
            (Mimic, Nautilus),
            (Mimic, Octopus),
            (Nautilus, Octopus),
            (Nautilus, Pacific),
            (Octopus, Pacific),
            (Octopus, Quincy),
            (Pacific, Quincy),
            (Pacific, Reef),
            (Quincy, Reef),
            (Quincy, Squid),
            (Reef, Squid),
            (Reef, Tentacle),
            (Squid, Tentacle),
        ];
        for (from, to) in allowed {
            assert!(from.can_upgrade_to(to), "{from} -> {to}");
        }
        for from in Release::ALL {
            for &to in from.upgrade_targets() {
                assert!(to > from, "{from} -> {to} goes backwards");
                assert!(to.major() - from.major() <= 2, "{from} -> {to}");
            }
            assert!(!from.can_upgrade_to(from));
        }
        assert!(!Jewel.can_upgrade_to(Mimic));
        assert!(!Jewel.can_upgrade_to(Kraken));
        assert!(!Luminous.can_upgrade_to(Octopus));
        assert!(Tentacle.upgrade_targets().is_empty());
    }

    #[test]
    fn upgrade_facts_per_release() {
        use Release::*;
        assert_eq!(Jewel.require_osd_release(), None);
        assert_eq!(Luminous.require_osd_release(), Some("luminous"));
        assert_eq!(Reef.require_osd_release(), Some("reef"));
        assert!(!Jewel.has_osd_ok_to_stop() && Luminous.has_osd_ok_to_stop());
        assert!(!Nautilus.has_mon_ok_to_stop() && Octopus.has_mon_ok_to_stop());
        assert!(!Nautilus.has_mds_ok_to_stop() && Octopus.has_mds_ok_to_stop());
        assert!(!Jewel.has_mgr_standby_check() && Luminous.has_mgr_standby_check());
        assert!(!Jewel.has_ceph_versions() && Luminous.has_ceph_versions());
        assert!(!Jewel.has_mon_feature_ls() && Luminous.has_mon_feature_ls());
        assert!(!Jewel.has_ceph_features() && Luminous.has_ceph_features());
        assert!(!Mimic.has_min_mon_release() && Nautilus.has_min_mon_release());
        assert!(!Mimic.has_msgr2() && Nautilus.has_msgr2());
        assert!(!Jewel.requires_sortbitwise() && Luminous.requires_sortbitwise());
        assert!(!Mimic.has_fs_allow_standby_replay() && Nautilus.has_fs_allow_standby_replay());
        assert!(!Luminous.stops_extra_mds_ranks() && Mimic.stops_extra_mds_ranks());
        assert!(!Luminous.has_config_db() && Mimic.has_config_db());
        assert!(!Mimic.warns_insecure_global_id_reclaim());
        assert!(Nautilus.warns_insecure_global_id_reclaim());
        assert!(!Octopus.warns_no_per_pool_omap() && Pacific.warns_no_per_pool_omap());
        assert!(!Nautilus.autoscales_pools_by_default() && Octopus.autoscales_pools_by_default());
        assert!(Quincy.supports_filestore() && !Reef.supports_filestore());
        for r in Release::ALL {
            assert_eq!(r.mon_metadata_version_field(), "ceph_version");
        }
        assert_eq!(Nautilus.upstream_tag().as_deref(), Some("v14"));
        assert_eq!(Reef.upstream_tag().as_deref(), Some("v18"));
        assert_eq!(Tentacle.upstream_tag().as_deref(), Some("v20"));
        assert_eq!(Mimic.upstream_tag(), None);
    }
}
