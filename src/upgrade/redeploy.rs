//! `cephalo redeploy`'s plan: the daemons the operator names made again
//! from the inventory's spec, with the same data, by the upgrade's own
//! steps (a restart with `recreate`), gates, flags and journal; the way
//! out of a daemon left crash-looping, stopped or missing. Its preflight
//! asks for the quorum of the *other* mons: a mon that is down is no
//! reason to refuse bringing it back. Pure: no I/O.

use super::layout::{DaemonRef, DaemonType, Flag, Layout};
use super::plan::step;
use super::step::{Check, Gate, Phase, StepKind, UpgradePlan, UpgradeStep};
use crate::release::Release;

/// A daemon named on the command line (`mon.ceph1`, `osd.3`), found in
/// the layout; else what the layout has, for the error.
pub fn parse_daemons(layout: &Layout, names: &[String]) -> Result<Vec<DaemonRef>, String> {
    let all = layout.daemons();
    let mut out: Vec<DaemonRef> = Vec::new();
    for name in names {
        let found = all
            .iter()
            .find(|d| format!("{}.{}", d.kind, d.id) == *name)
            .cloned();
        match found {
            Some(d) if !out.contains(&d) => out.push(d),
            Some(_) => {}
            None => {
                let known: Vec<String> =
                    all.iter().map(|d| format!("{}.{}", d.kind, d.id)).collect();
                return Err(format!(
                    "`{name}` is not a daemon of the inventory (its daemons: {})",
                    known.join(", ")
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("name the daemons to make again, as Ceph names them: mon.HOST, mgr.HOST, osd.ID, mds.HOST, rgw.HOST".into());
    }
    Ok(out)
}

/// The plan: preflight (the other mons in quorum), `noout` while an OSD is
/// made again, then each daemon in the upgrade's order (mons, mgrs, OSDs,
/// MDS, rgw) stopped after Ceph's own ok-to-stop, made again and gated as
/// an upgrade's restart is, then `noout` put back.
pub fn plan(release: Release, layout: &Layout, daemons: &[DaemonRef]) -> UpgradePlan {
    let mut todo = daemons.to_vec();
    todo.sort_by_key(|d| d.kind);
    let mons_total = layout.hosts.iter().map(|h| h.mons.len()).sum::<usize>();
    let mgrs_total = layout.hosts.iter().map(|h| h.mgrs.len()).sum::<usize>();
    let mdss_total = layout.hosts.iter().map(|h| h.mdss.len()).sum::<usize>();
    let mons: Vec<String> = todo
        .iter()
        .filter(|d| d.kind == DaemonType::Mon)
        .map(|d| d.id.clone())
        .collect();
    let osds = todo.iter().any(|d| d.kind == DaemonType::Osd);
    let mut phases = vec![Phase {
        name: "preflight",
        steps: vec![step(
            "preflight:others-in-quorum",
            StepKind::Check {
                check: Check::OthersInQuorum { mons: mons.clone() },
            },
            if mons.is_empty() {
                "every inventory mon in quorum and a majority".to_string()
            } else {
                format!(
                    "the mons but {} in quorum and a majority: the cluster answers while they are made again",
                    mons.join(", ")
                )
            },
            None,
        )],
    }];
    if osds {
        phases.push(Phase {
            name: "flags",
            steps: vec![step(
                "flag-set:noout",
                StepKind::SetFlag { flag: Flag::Noout },
                "set noout: the OSDs made again are not marked out",
                Some(Gate::FlagSet { flag: Flag::Noout }),
            )],
        });
    }
    let steps: Vec<UpgradeStep> = todo
        .iter()
        .map(|d| redeploy_step(release, d, mons_total, mgrs_total, mdss_total))
        .collect();
    phases.push(Phase {
        name: "redeploy",
        steps,
    });
    if osds {
        phases.push(Phase {
            name: "finalise",
            steps: vec![step(
                "flag-restore:noout",
                StepKind::RestoreFlag { flag: Flag::Noout },
                "put noout back as it was",
                Some(Gate::FlagAsBefore { flag: Flag::Noout }),
            )],
        });
    }
    UpgradePlan {
        operation: "redeploy",
        from: release,
        to: release,
        phases,
        skipped: Vec::new(),
        left_out: Vec::new(),
    }
}

fn redeploy_step(
    release: Release,
    d: &DaemonRef,
    mons: usize,
    mgrs: usize,
    mdss: usize,
) -> UpgradeStep {
    let (ask, standby, gate, before) = match d.kind {
        DaemonType::Mon => {
            let ask = release.has_mon_ok_to_stop() && mons >= 3;
            (
                ask,
                false,
                Some(Gate::MonUpgraded {
                    id: d.id.clone(),
                    release,
                }),
                if ask {
                    format!("`ceph mon ok-to-stop {}`, then ", d.id)
                } else {
                    String::new()
                },
            )
        }
        DaemonType::Mgr => (
            false,
            mgrs > 1,
            Some(Gate::MgrUpgraded {
                id: d.id.clone(),
                release,
            }),
            if mgrs > 1 {
                "a standby in `ceph mgr dump`, then ".to_string()
            } else {
                String::new()
            },
        ),
        DaemonType::Osd => {
            let ask = release.has_osd_ok_to_stop();
            (
                ask,
                false,
                Some(Gate::OsdsUpPgsClean {
                    ids: d.id.parse().into_iter().collect(),
                    release,
                }),
                if ask {
                    format!("`ceph osd ok-to-stop {}`, then ", d.id)
                } else {
                    String::new()
                },
            )
        }
        // A lone MDS is never ok to stop: its file system pauses while it
        // is made again.
        DaemonType::Mds => (
            release.has_mds_ok_to_stop() && mdss > 1,
            false,
            Some(Gate::RanksActive),
            String::new(),
        ),
        DaemonType::Rgw => (
            false,
            false,
            Some(Gate::RgwUpgraded {
                id: d.id.clone(),
                release,
            }),
            String::new(),
        ),
    };
    step(
        format!("redeploy:{}.{}", d.kind, d.id),
        StepKind::Restart {
            kind: d.kind,
            host: d.host.clone(),
            ids: vec![d.id.clone()],
            ok_to_stop: ask,
            standby_mgr: standby,
            recreate: true,
        },
        format!(
            "{}.{} on {}: {before}stop it, remove its container and make it again from the inventory's spec (same data)",
            d.kind, d.id, d.host
        ),
        gate,
    )
}
