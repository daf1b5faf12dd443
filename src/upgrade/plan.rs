//! Builds the upgrade plan: from the source and target releases, the
//! cluster's layout and the operator's options to phases of named steps,
//! in the order Ceph's upgrade notes give (CEPH-NOTES "Rolling upgrades").
//! Pure: no I/O, no tokio; what can only be known live (health, quorum,
//! which MDS is active, the flags before) is a step the executor checks.

use super::layout::{DaemonRef, DaemonType, Flag, Layout, PlanOptions};
use super::refuse::{Refused, check_jump, check_layout};
use super::step::{
    Gate, Hold, MdsAction, Phase, READ_LEASE_OPTION, StepKind, UpgradePlan, UpgradeStep,
};
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
        operation: "upgrade",
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

/// What every step builder needs (release_steps.rs adds the
/// release-specific ones).
pub(super) struct Builder<'a> {
    pub(super) from: Release,
    pub(super) to: Release,
    pub(super) layout: &'a Layout,
    pub(super) options: &'a PlanOptions,
    pub(super) todo: &'a [DaemonRef],
    pub(super) left_out: &'a [DaemonRef],
}

pub(super) fn step(
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

fn put_back(h: &Hold, what: String) -> UpgradeStep {
    step(
        h.put_back_id(),
        StepKind::PutBack { hold: h.clone() },
        what,
        None,
    )
}

fn ids(ds: &[&DaemonRef]) -> Vec<String> {
    ds.iter().map(|d| d.id.clone()).collect()
}

impl Builder<'_> {
    pub(super) fn todo(&self, kind: DaemonType) -> Vec<&DaemonRef> {
        self.todo.iter().filter(|d| d.kind == kind).collect()
    }

    pub(super) fn any_left_out(&self, kind: DaemonType) -> bool {
        self.left_out.iter().any(|d| d.kind == kind)
    }

    pub(super) fn count(&self, kind: DaemonType) -> usize {
        self.layout
            .daemons()
            .iter()
            .filter(|d| d.kind == kind)
            .count()
    }

    /// The release that answers a daemon type's commands at a later phase:
    /// the target, unless some of those daemons stay on the source.
    pub(super) fn served_by(&self, kind: DaemonType) -> Release {
        if self.any_left_out(kind) {
            self.from
        } else {
            self.to
        }
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
                        recreate: false,
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
                    recreate: false,
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

    fn osds(&self) -> Vec<UpgradeStep> {
        let ask = self.served_by(DaemonType::Mgr).has_osd_ok_to_stop() && self.to.has_mgr();
        let mut steps = Vec::new();
        let ratio = self
            .options
            .read_lease_ratio
            .clone()
            .filter(|_| self.to.has_read_leases() && !self.todo(DaemonType::Osd).is_empty());
        let lease = ratio.clone().map(|ratio| Hold::ReadLease { ratio });
        if let (Some(h), Some(ratio)) = (&lease, &ratio) {
            steps.push(step(
                h.hold_id(),
                StepKind::Hold { hold: h.clone() },
                format!(
                    "record the OSDs' {READ_LEASE_OPTION} and set it to {ratio} for the OSD phase: a PG whose read lease starts over (the first interval with every OSD on a release with leases) serves clients again within {ratio} x osd_heartbeat_grace, not 0.8 x; where OSDs already keep leases, one lease of the old length is waited out before any primary moves"
                ),
                None,
            ));
        }
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
            let affinity = self
                .options
                .primary_affinity
                .then(|| Hold::PrimaryAffinity {
                    host: h.name.clone(),
                    ids: numbers.clone(),
                });
            if let Some(a) = &affinity {
                steps.push(step(
                    a.hold_id(),
                    StepKind::Hold { hold: a.clone() },
                    format!(
                        "record the primary affinity of {names} and set it to 0: the PGs they lead move to their peers before they stop, and they come back as replicas"
                    ),
                    Some(Gate::LeadNoPg {
                        ids: numbers.clone(),
                    }),
                ));
            }
            steps.push(step(
                format!("osd-host:{}", h.name),
                StepKind::Restart {
                    kind: DaemonType::Osd,
                    host: h.name.clone(),
                    ids: ids(&on_host),
                    ok_to_stop: ask,
                    standby_mgr: false,
                    recreate: false,
                },
                format!(
                    "{names} on {}: {before}restart{} on {}",
                    h.name,
                    if on_host.len() > 1 { " together" } else { "" },
                    self.to
                ),
                Some(Gate::OsdsUpPgsClean {
                    ids: numbers,
                    release: self.to,
                }),
            ));
            if let Some(a) = &affinity {
                steps.push(put_back(
                    a,
                    format!("primary affinity of {names} back as recorded"),
                ));
            }
        }
        if let Some(h) = &lease {
            steps.push(put_back(
                h,
                format!("{READ_LEASE_OPTION} back as recorded (removed unless it was set)"),
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
                        recreate: false,
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
}
