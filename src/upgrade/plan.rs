//! Builds the upgrade plan: from the source and target releases, the
//! cluster's layout and the operator's options to phases of named steps,
//! in the order Ceph's upgrade notes give (CEPH-NOTES "Rolling upgrades").
//! Pure: no I/O, no tokio; what can only be known live (health, quorum,
//! which MDS is active, the flags before) is a step the executor checks.

use super::layout::{DaemonRef, DaemonType, Flag, Layout, PlanOptions};
use super::refuse::{Refused, check_jump, check_layout};
use super::step::{Check, Gate, MdsAction, Phase, StepKind, UpgradePlan, UpgradeStep, Warning};
use crate::model::ObjectStore;
use crate::release::Release;

/// The upgrade plan from `from` to `to`, or why there is none.
pub fn plan(
    from: Release,
    to: Release,
    layout: &Layout,
    options: &PlanOptions,
) -> Result<UpgradePlan, Refused> {
    check_jump(from, to)?;
    check_layout(layout, from, to)?;
    let mut todo = Vec::new();
    let mut skipped = Vec::new();
    let mut left_out = Vec::new();
    for d in layout.daemons() {
        // A mgr on a release without mgrs does not exist yet: to create.
        let running = match d.running {
            Some(r) => Some(r),
            None if d.kind == DaemonType::Mgr && !from.has_mgr() => None,
            None => Some(from),
        };
        if running == Some(to) {
            skipped.push(d);
        } else if options.includes(d.kind, &d.host) {
            todo.push(d);
        } else {
            left_out.push(d);
        }
    }
    let mut plan = UpgradePlan {
        from,
        to,
        phases: Vec::new(),
        skipped,
        left_out,
    };
    if from == to {
        return Ok(plan);
    }
    let b = Builder {
        from,
        to,
        layout,
        options,
        todo: &todo,
        left_out: &plan.left_out,
    };
    let restarts = b.restart_phases();
    let flags = if restarts.is_empty() {
        Vec::new()
    } else {
        options.flags()
    };
    let mut phases = vec![
        Phase {
            name: "preflight",
            steps: b.preflight(),
        },
        Phase {
            name: "backup",
            steps: vec![step(
                "backup",
                StepKind::Backup,
                "save monmap, keyrings, config, crushmap and OSD map flags next to the inventory (0700, keyrings 0600); the flags recorded here are what the end restores",
                None,
            )],
        },
        Phase {
            name: "before",
            steps: b.before(),
        },
        Phase {
            name: "flags",
            steps: flags.iter().map(|&f| set_flag(f)).collect(),
        },
    ];
    phases.extend(restarts);
    let mut finalise = b.finalise();
    finalise.extend(flags.iter().rev().map(|&f| restore_flag(f)));
    phases.push(Phase {
        name: "finalise",
        steps: finalise,
    });
    phases.retain(|p| !p.steps.is_empty());
    plan.phases = phases;
    Ok(plan)
}

struct Builder<'a> {
    from: Release,
    to: Release,
    layout: &'a Layout,
    options: &'a PlanOptions,
    todo: &'a [DaemonRef],
    left_out: &'a [DaemonRef],
}

fn step(
    id: impl Into<String>,
    kind: StepKind,
    what: impl Into<String>,
    gate: Option<Gate>,
) -> UpgradeStep {
    UpgradeStep {
        id: id.into(),
        kind,
        what: what.into(),
        gate,
    }
}

fn set_flag(flag: Flag) -> UpgradeStep {
    step(
        format!("flag-set:{flag}"),
        StepKind::SetFlag { flag },
        match flag {
            Flag::Noout => "set noout: restarting OSDs are not marked out".to_string(),
            f => format!("set {f}, as asked"),
        },
        Some(Gate::FlagSet { flag }),
    )
}

fn restore_flag(flag: Flag) -> UpgradeStep {
    step(
        format!("flag-restore:{flag}"),
        StepKind::RestoreFlag { flag },
        format!("restore {flag} as it was before the upgrade (unset unless it was set)"),
        Some(Gate::FlagAsBefore { flag }),
    )
}

fn ids(ds: &[&DaemonRef]) -> Vec<String> {
    ds.iter().map(|d| d.id.clone()).collect()
}

impl Builder<'_> {
    fn todo(&self, kind: DaemonType) -> Vec<&DaemonRef> {
        self.todo.iter().filter(|d| d.kind == kind).collect()
    }

    fn any_left_out(&self, kind: DaemonType) -> bool {
        self.left_out.iter().any(|d| d.kind == kind)
    }

    fn count(&self, kind: DaemonType) -> usize {
        self.layout
            .daemons()
            .iter()
            .filter(|d| d.kind == kind)
            .count()
    }

    /// The release that answers a daemon type's commands at a later phase:
    /// the target, unless some of those daemons stay on the source.
    fn served_by(&self, kind: DaemonType) -> Release {
        if self.any_left_out(kind) {
            self.from
        } else {
            self.to
        }
    }

    fn preflight(&self) -> Vec<UpgradeStep> {
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
    fn before(&self) -> Vec<UpgradeStep> {
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

    /// mons, mgrs, the checks between, OSDs, MDS, RGW.
    fn restart_phases(&self) -> Vec<Phase> {
        let mut phases = vec![
            Phase {
                name: "mons",
                steps: self.mons(),
            },
            Phase {
                name: "mgrs",
                steps: self.mgrs(),
            },
        ];
        let between = self.between();
        let osds = self.osds();
        let mds = self.mds();
        let rgws = self.rgws();
        let restarts = phases.iter().any(|p| !p.steps.is_empty())
            || !osds.is_empty()
            || !mds.is_empty()
            || !rgws.is_empty();
        if !restarts {
            return Vec::new();
        }
        phases.push(Phase {
            name: "between",
            steps: between,
        });
        phases.push(Phase {
            name: "osds",
            steps: osds,
        });
        phases.push(Phase {
            name: "mds",
            steps: mds,
        });
        phases.push(Phase {
            name: "rgws",
            steps: rgws,
        });
        phases
    }

    fn mons(&self) -> Vec<UpgradeStep> {
        let ask = self.from.has_mon_ok_to_stop() && self.count(DaemonType::Mon) >= 3;
        self.todo(DaemonType::Mon)
            .into_iter()
            .map(|d| {
                let before = if ask {
                    format!("`ceph mon ok-to-stop {}`, then ", d.id)
                } else if self.count(DaemonType::Mon) < 3 {
                    format!(
                        "(only {} mon(s): the cluster pauses while it restarts) ",
                        self.count(DaemonType::Mon)
                    )
                } else {
                    format!(
                        "(no `mon ok-to-stop` on {}: the others keep quorum) ",
                        self.from
                    )
                };
                step(
                    format!("mon:{}", d.id),
                    StepKind::Restart {
                        kind: DaemonType::Mon,
                        host: d.host.clone(),
                        ids: vec![d.id.clone()],
                        ok_to_stop: ask,
                        standby_mgr: false,
                    },
                    format!("mon.{} on {}: {before}restart on {}", d.id, d.host, self.to),
                    Some(Gate::MonUpgraded {
                        id: d.id.clone(),
                        release: self.to,
                    }),
                )
            })
            .collect()
    }

    fn mgrs(&self) -> Vec<UpgradeStep> {
        let mut steps = Vec::new();
        if !self.to.has_mgr() {
            return steps;
        }
        if !self.from.has_mgr() {
            steps.push(step(
                "mgr-caps",
                StepKind::AdminMgrCaps,
                format!(
                    "add mgr 'allow *' to client.admin's caps ({} has no mgr caps)",
                    self.from
                ),
                None,
            ));
            let mut create: Vec<(String, String, &str)> = self
                .todo(DaemonType::Mgr)
                .into_iter()
                .map(|d| (d.host.clone(), d.id.clone(), ""))
                .collect();
            if self.count(DaemonType::Mgr) == 0 && !self.any_left_out(DaemonType::Mon) {
                // No mgr host in the inventory: one on each mon host, as
                // ceph-ansible does.
                create = self
                    .layout
                    .daemons()
                    .into_iter()
                    .filter(|d| d.kind == DaemonType::Mon && self.options.includes(DaemonType::Mgr, &d.host))
                    .map(|d| (d.host.clone(), d.host, " (the inventory names no mgr host: one on each mon host; add them to the inventory's mgrs)"))
                    .collect();
            }
            for (host, id, why) in create {
                steps.push(step(
                    format!("mgr-create:{id}"),
                    StepKind::CreateMgr {
                        host: host.clone(),
                        id: id.clone(),
                    },
                    format!(
                        "create mgr.{id} on {host}: {} has none, {} needs one{why}",
                        self.from, self.to
                    ),
                    Some(Gate::MgrUpgraded {
                        id,
                        release: self.to,
                    }),
                ));
            }
            return steps;
        }
        let standby = self.count(DaemonType::Mgr) > 1;
        for d in self.todo(DaemonType::Mgr) {
            let before = if standby {
                "a standby in `ceph mgr dump`, then "
            } else {
                "(the only mgr: no standby to take over) "
            };
            steps.push(step(
                format!("mgr:{}", d.id),
                StepKind::Restart {
                    kind: DaemonType::Mgr,
                    host: d.host.clone(),
                    ids: vec![d.id.clone()],
                    ok_to_stop: false,
                    standby_mgr: standby,
                },
                format!("mgr.{} on {}: {before}restart on {}", d.id, d.host, self.to),
                Some(Gate::MgrUpgraded {
                    id: d.id.clone(),
                    release: self.to,
                }),
            ));
        }
        steps
    }

    /// Release-specific steps after the mons and mgrs, before the OSDs.
    fn between(&self) -> Vec<UpgradeStep> {
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

    fn osds(&self) -> Vec<UpgradeStep> {
        let ask = self.served_by(DaemonType::Mgr).has_osd_ok_to_stop() && self.to.has_mgr();
        let mut steps = Vec::new();
        for h in &self.layout.hosts {
            let on_host: Vec<&DaemonRef> = self
                .todo(DaemonType::Osd)
                .into_iter()
                .filter(|d| d.host == h.name)
                .collect();
            if on_host.is_empty() {
                continue;
            }
            let numbers: Vec<u32> = on_host.iter().filter_map(|d| d.id.parse().ok()).collect();
            let names = on_host
                .iter()
                .map(|d| format!("osd.{}", d.id))
                .collect::<Vec<_>>()
                .join(" ");
            let before = if ask {
                format!("`ceph osd ok-to-stop {}`, then ", ids(&on_host).join(" "))
            } else {
                String::new()
            };
            steps.push(step(
                format!("osd-host:{}", h.name),
                StepKind::Restart {
                    kind: DaemonType::Osd,
                    host: h.name.clone(),
                    ids: ids(&on_host),
                    ok_to_stop: ask,
                    standby_mgr: false,
                },
                format!(
                    "{names} on {}: {before}restart together on {}",
                    h.name, self.to
                ),
                Some(Gate::OsdsUpPgsClean {
                    ids: numbers,
                    release: self.to,
                }),
            ));
        }
        steps
    }

    fn mds(&self) -> Vec<UpgradeStep> {
        let daemons: Vec<DaemonRef> = self.todo(DaemonType::Mds).into_iter().cloned().collect();
        if daemons.is_empty() {
            return Vec::new();
        }
        let mons = self.served_by(DaemonType::Mon);
        let replay = self.from.has_fs_allow_standby_replay();
        let ask = mons.has_mds_ok_to_stop();
        let mds = |id: &str, action, ok_to_stop, what: String, gate| {
            step(
                format!("mds:{id}"),
                StepKind::Mds {
                    action,
                    daemons: daemons.clone(),
                    ok_to_stop,
                },
                what,
                Some(gate),
            )
        };
        let mut steps = Vec::new();
        if replay {
            steps.push(mds(
                "standby-replay-off",
                MdsAction::StandbyReplayOff,
                false,
                "record allow_standby_replay of each file system and set it false".into(),
                Gate::NoStandbyReplay,
            ));
        }
        steps.push(mds(
            "max-mds-1",
            MdsAction::MaxMdsOne,
            false,
            if mons.stops_extra_mds_ranks() {
                "record max_mds of each file system and set it to 1".into()
            } else {
                format!("record max_mds of each file system, set it to 1 and `ceph mds deactivate` the other ranks ({mons} does not stop them by itself)")
            },
            Gate::OneActiveRank,
        ));
        steps.push(mds(
            "stop-standbys",
            MdsAction::StopStandbys,
            ask,
            if ask {
                "stop every MDS but the active one (after `ceph mds ok-to-stop` for them)".into()
            } else {
                "stop every MDS but the active one".into()
            },
            Gate::OnlyActiveMds,
        ));
        steps.push(mds(
            "upgrade-active",
            MdsAction::UpgradeActive,
            false,
            format!("restart the active MDS on {}", self.to),
            Gate::ActiveMdsUpgraded { release: self.to },
        ));
        steps.push(mds(
            "start-standbys",
            MdsAction::StartStandbys,
            false,
            format!("start the stopped MDS daemons on {}", self.to),
            Gate::StandbysUpgraded { release: self.to },
        ));
        steps.push(mds(
            "max-mds-restore",
            MdsAction::RestoreMaxMds,
            false,
            "restore max_mds as recorded".into(),
            Gate::MdsSettingsAsBefore,
        ));
        if replay {
            steps.push(mds(
                "standby-replay-restore",
                MdsAction::RestoreStandbyReplay,
                false,
                "restore allow_standby_replay as recorded".into(),
                Gate::MdsSettingsAsBefore,
            ));
        }
        steps
    }

    fn rgws(&self) -> Vec<UpgradeStep> {
        self.todo(DaemonType::Rgw)
            .into_iter()
            .map(|d| {
                step(
                    format!("rgw:{}", d.id),
                    StepKind::Restart {
                        kind: DaemonType::Rgw,
                        host: d.host.clone(),
                        ids: vec![d.id.clone()],
                        ok_to_stop: false,
                        standby_mgr: false,
                    },
                    format!("rgw.{} on {}: restart on {}", d.id, d.host, self.to),
                    Some(Gate::RgwUpgraded {
                        id: d.id.clone(),
                        release: self.to,
                    }),
                )
            })
            .collect()
    }

    /// What finishes an upgrade once every daemon runs the target; nothing
    /// while daemons are left out.
    fn finalise(&self) -> Vec<UpgradeStep> {
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
