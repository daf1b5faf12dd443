//! The release-specific steps of an upgrade plan: the preflight checks,
//! what must happen before any daemon restarts (Jewel's sortbitwise), the
//! checks and settings between the mgrs and the OSDs, and the finalise
//! (msgr2, the warnings that never clear, require-osd-release). Pure, like
//! plan.rs, whose builder these methods extend.

use super::layout::{DaemonRef, DaemonType, Flag};
use super::plan::{Builder, step};
use super::step::{Check, Gate, StepKind, UpgradeStep, Warning};
use crate::model::ObjectStore;
use crate::release::Release;

impl Builder<'_> {
    pub(super) fn preflight(&self) -> Vec<UpgradeStep> {
        let versions = if self.from.has_ceph_versions() {
            "read every daemon's version with `ceph versions` and refuse when one does not fit the plan".to_string()
        } else {
            format!(
                "read every daemon's version with `ceph tell <daemon> version` ({} has no `ceph versions`) and refuse when one does not fit the plan",
                self.from
            )
        };
        vec![
            step(
                "preflight:health",
                StepKind::Check {
                    check: Check::HealthNotErr,
                },
                "refuse when the cluster is in HEALTH_ERR",
                None,
            ),
            step(
                "preflight:quorum",
                StepKind::Check {
                    check: Check::MonsInQuorum,
                },
                "refuse when an inventory mon is out of quorum",
                None,
            ),
            step(
                "preflight:versions",
                StepKind::Check {
                    check: Check::VersionsFitPlan {
                        ceph_versions: self.from.has_ceph_versions(),
                    },
                },
                versions,
                None,
            ),
            step(
                "preflight:image",
                StepKind::Check {
                    check: Check::TargetImage,
                },
                format!(
                    "the {} image is on every host (else: `cephalo pull`)",
                    self.to
                ),
                None,
            ),
        ]
    }

    /// Release-specific steps before any daemon restarts.
    pub(super) fn before(&self) -> Vec<UpgradeStep> {
        let mut steps = Vec::new();
        if !self.from.requires_sortbitwise() && self.to.requires_sortbitwise() {
            steps.push(step(
                "pre:sortbitwise",
                StepKind::SetFlag {
                    flag: Flag::Sortbitwise,
                },
                format!(
                    "set sortbitwise before anything else: {} OSDs do not start without it (it stays set)",
                    self.to
                ),
                Some(Gate::FlagSet {
                    flag: Flag::Sortbitwise,
                }),
            ));
        }
        if matches!(self.from, Release::Luminous | Release::Mimic) {
            steps.push(step(
                "pre:osdmap-scrub-flags",
                StepKind::Check {
                    check: Check::OsdmapScrubFlags,
                },
                format!(
                    "the OSD map has recovery_deletes and purged_snapdirs (every PG scrubbed since Luminous); without them {} mons refuse to join",
                    self.to
                ),
                None,
            ));
        }
        steps
    }

    /// Release-specific steps after the mons and mgrs, before the OSDs.
    pub(super) fn between(&self) -> Vec<UpgradeStep> {
        let mut steps = Vec::new();
        let mons_done = !self.any_left_out(DaemonType::Mon);
        if mons_done && !self.from.has_mon_feature_ls() && self.to.has_mon_feature_ls() {
            steps.push(step(
                "mid:mon-feature",
                StepKind::Check {
                    check: Check::MonFeature { release: self.to },
                },
                format!(
                    "`ceph mon feature ls` lists {} among the persistent features",
                    self.to
                ),
                None,
            ));
        }
        if mons_done && self.to.has_min_mon_release() {
            steps.push(step(
                "mid:min-mon-release",
                StepKind::Check {
                    check: Check::MinMonRelease { release: self.to },
                },
                format!(
                    "`ceph mon dump` shows min_mon_release {} ({})",
                    self.to.major(),
                    self.to
                ),
                None,
            ));
        }
        let bluestore = self
            .todo_osds()
            .iter()
            .any(|(_, store)| *store == ObjectStore::Bluestore);
        if bluestore && !self.from.warns_no_per_pool_omap() && self.to.warns_no_per_pool_omap() {
            let (value, what) = if self.options.convert_omap_on_mount {
                (
                    "true",
                    "set bluestore_fsck_quick_fix_on_mount true: each OSD's first start converts its omap to per-pool (seconds on small OSDs, long on big ones)",
                )
            } else {
                (
                    "false",
                    "set bluestore_fsck_quick_fix_on_mount false: OSDs start without converting omap; BLUESTORE_NO_PER_POOL_OMAP stays until they are converted",
                )
            };
            steps.push(step(
                "mid:omap-quick-fix",
                StepKind::SetConfig {
                    who: "osd".into(),
                    option: "bluestore_fsck_quick_fix_on_mount".into(),
                    value: value.into(),
                },
                what,
                Some(Gate::ConfigSet {
                    option: "bluestore_fsck_quick_fix_on_mount".into(),
                    value: value.into(),
                }),
            ));
        }
        steps
    }

    /// The OSDs to restart with their store, by id.
    fn todo_osds(&self) -> Vec<(&DaemonRef, ObjectStore)> {
        let store = |d: &DaemonRef| {
            self.layout
                .hosts
                .iter()
                .filter(|h| h.name == d.host)
                .flat_map(|h| &h.osds)
                .find(|o| o.id.to_string() == d.id)
                .map(|o| o.store)
                .unwrap_or(ObjectStore::Bluestore)
        };
        self.todo(DaemonType::Osd)
            .into_iter()
            .map(|d| (d, store(d)))
            .collect()
    }

    /// What finishes an upgrade once every daemon runs the target; nothing
    /// while daemons are left out.
    pub(super) fn finalise(&self) -> Vec<UpgradeStep> {
        let (from, to) = (self.from, self.to);
        let mut steps = Vec::new();
        if !self.left_out.is_empty() {
            return steps;
        }
        if to.has_msgr2() {
            steps.push(step(
                "msgr2",
                StepKind::EnableMsgr2,
                "`ceph mon enable-msgr2` (nothing to do when every mon has a v2 address)",
                Some(Gate::MonsHaveV2),
            ));
            if !from.has_msgr2() {
                steps.push(step(
                    "conf-v2",
                    StepKind::ConfV2Addresses,
                    "write ceph.conf on every host with v2 and v1 mon addresses",
                    None,
                ));
            }
        }
        if to.warns_insecure_global_id_reclaim() {
            steps.push(step(
                "warn:insecure-global-id-reclaim",
                StepKind::Warning {
                    warning: Warning::InsecureGlobalIdReclaim,
                },
                "AUTH_INSECURE_GLOBAL_ID_RECLAIM never clears by itself: set auth_allow_insecure_global_id_reclaim false once no connected client reclaims insecurely, else name those clients and leave it",
                None,
            ));
        }
        // Keys made before 19.2.6/20.2.4 are aes whatever the source, so
        // every jump to Squid or later checks.
        if to.warns_insecure_key_types() {
            steps.push(step(
                "warn:insecure-key-types",
                StepKind::Warning {
                    warning: Warning::InsecureKeyTypes,
                },
                "AUTH_INSECURE_SERVICE_KEY_TYPE and the other AUTH_INSECURE_* key checks (CVE-2025-30156, from 19.2.6/20.2.4) never clear by themselves: name the entities whose keys are of type aes and the migration to aes256k (cephalo does not rotate keys yet)",
                None,
            ));
        }
        let bluestore = self
            .layout
            .hosts
            .iter()
            .flat_map(|h| &h.osds)
            .any(|o| o.store == ObjectStore::Bluestore);
        if bluestore && to.warns_no_per_pool_omap() {
            steps.push(step(
                "warn:per-pool-omap",
                StepKind::Warning {
                    warning: Warning::PerPoolOmap,
                },
                "BLUESTORE_NO_PER_POOL_OMAP never clears by itself: name the OSDs not yet converted, and remove bluestore_fsck_quick_fix_on_mount once none is",
                None,
            ));
        }
        if !from.autoscales_pools_by_default() && to.autoscales_pools_by_default() {
            steps.push(step(
                "warn:pool-autoscale",
                StepKind::Warning {
                    warning: Warning::PoolAutoscaleWarn,
                },
                "POOL_TOO_MANY_PGS never clears on pools made before Octopus (pg_autoscale_mode warn): set each such pool's pg_autoscale_mode on, naming it",
                None,
            ));
        }
        if to.has_ceph_features() && to.require_osd_release().is_some() {
            steps.push(step(
                "check:client-features",
                StepKind::Check {
                    check: Check::ClientFeatures { release: to },
                },
                format!(
                    "`ceph features`: report connected clients older than {to} (named, not cut off)"
                ),
                None,
            ));
        }
        if to.require_osd_release().is_some() {
            steps.push(step(
                "require-osd-release",
                StepKind::RequireOsdRelease { release: to },
                format!(
                    "`ceph osd require-osd-release {to}`: OSDs older than {to} can no longer join"
                ),
                Some(Gate::RequireOsdRelease { release: to }),
            ));
        }
        steps
    }
}
