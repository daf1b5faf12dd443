//! `cephalo deploy`: the plan that brings up a cluster in kolla's order
//! (config, mons and quorum, mgrs, OSDs, mds and CephFS, rgw, custom
//! containers, health), built
//! by a pure function from the model; each step makes its part match and
//! changes nothing that already does, so a second run reports 0 changed and
//! a half-failed first run completes when run again.

mod cephfs;
pub mod check;
mod config;
mod daemon;
pub mod destroy;
pub mod image_version;
mod mon;
mod osd;
mod osd_leftover;
mod osd_restart;
mod osd_store;
pub mod owner;
pub mod release_guard;
mod waits;

use std::sync::Arc;
use std::time::Duration;

use crate::ceph::first_mon;
use crate::engine::{HostOutcome, Node, OnFailure, Plan, Step};
use crate::model::{Cluster, Host, Role};
use crate::transport::{Command, Endpoint, TransportError};

pub use config::{PushConfig, ensure_daemon, push_config, recreate_daemon, stop_timeout};
pub use daemon::Daemon;
pub use osd_restart::stop_marked_down;
pub use waits::{pgmap_clean, wait_for};

/// What a deploy step did on a host: changed something or not.
type StepResult = Result<bool, TransportError>;

fn outcome(r: StepResult) -> HostOutcome {
    HostOutcome::from_result(r)
}

/// The inventory host behind an endpoint.
fn host<'a>(cluster: &'a Cluster, ep: &Endpoint) -> Result<&'a Host, TransportError> {
    cluster.host(&ep.name).ok_or_else(|| TransportError::Other {
        host: ep.name.clone(),
        reason: "not a Ceph host of the inventory".into(),
    })
}

/// A command (an argument vector or a `Script`) for a host, as root when
/// the host's connection says so.
fn on_host(h: &Host, cmd: impl Into<Command>) -> Command {
    cmd.into()
        .become_root(h.connection.become_root)
        .timeout(Duration::from_secs(300))
}

/// The selected hosts that `keep` accepts, in inventory order.
fn hosts_where(
    cluster: &Cluster,
    selected: &[String],
    keep: impl Fn(&crate::model::Host) -> bool,
) -> Vec<String> {
    cluster
        .hosts
        .iter()
        .filter(|h| selected.contains(&h.name) && keep(h))
        .map(|h| h.name.clone())
        .collect()
}

/// What a deploy (`create`) or reconfigure would change, found without
/// changing anything: config files (with `diff`, their differences), host
/// tuning, daemon containers and new OSDs.
/// What deploy would do to a daemon's container as it is found (`found`,
/// from `containers::inspect`): the one decision of `containers::need`,
/// with the hash deploy wants for it. What the prechecks tell a daemon
/// that this deploy brings back from one it cannot fix by.
pub fn need_of(
    cluster: &Cluster,
    h: &Host,
    role: Role,
    id: &str,
    found: &crate::containers::Present,
) -> Result<crate::containers::Need, TransportError> {
    let want = config::wanted_hash(cluster, h, role, id)?;
    Ok(crate::containers::need(found, &want))
}

pub fn check_plan(
    cluster: &Arc<Cluster>,
    selected: &[String],
    create: bool,
    diff: bool,
    notes: &crate::tune::Notes,
) -> Plan {
    let all = hosts_where(cluster, selected, |_| true);
    let daemons = hosts_where(cluster, selected, |h| crate::tune::tuned(h).0);
    let containers = hosts_where(cluster, selected, |h| {
        crate::tune::tuned(h).0 || !h.custom.is_empty()
    });
    let step = |name: &str, hosts: &[String], action: Arc<dyn crate::engine::Action>| {
        Node::Step(Step {
            name: name.to_string(),
            hosts: hosts.to_vec(),
            batch: None,
            on_failure: OnFailure::Continue,
            action,
        })
    };
    let c = cluster.clone();
    let mut nodes = Vec::new();
    if diff || create {
        nodes.push(step(
            "compare config files",
            &all,
            Arc::new(check::FilesPreview {
                cluster: c.clone(),
                diff,
                notes: notes.clone(),
            }),
        ));
    }
    nodes.push(step(
        "compare host tuning",
        &daemons,
        Arc::new(crate::tune::TuneHost {
            cluster: c.clone(),
            check: true,
            notes: notes.clone(),
        }),
    ));
    nodes.push(step(
        "compare daemon containers",
        &containers,
        Arc::new(check::Daemons {
            cluster: c,
            missing: create,
            diff,
            notes: notes.clone(),
        }),
    ));
    Plan {
        name: "check".into(),
        root: Node::Serial("check".into(), nodes),
    }
}

/// The OSD part of the plan. Existing OSDs first: every host checks its
/// own at once, and those that need a restart restart host by host with
/// `noout` set, put back as it was after the phase whatever happened. Then
/// new OSDs on every OSD host at once (no data, nothing to protect), and
/// one wait for all of them to be up and in.
fn osd_nodes(cluster: &Arc<Cluster>, osds: &[String], first: &[String], create: bool) -> Vec<Node> {
    let step = |name: &str,
                hosts: &[String],
                batch: Option<usize>,
                action: Arc<dyn crate::engine::Action>| {
        Node::Step(Step {
            name: name.to_string(),
            hosts: hosts.to_vec(),
            batch,
            on_failure: OnFailure::StopPlay,
            action,
        })
    };
    let rolling = Arc::new(osd_restart::Rolling::default());
    let mut nodes = vec![Node::Finally(
        Box::new(step(
            "osd restarts",
            osds,
            None,
            Arc::new(osd_restart::RestartOsds {
                cluster: cluster.clone(),
                rolling: rolling.clone(),
            }),
        )),
        Box::new(step(
            "restore noout",
            first,
            None,
            Arc::new(osd_restart::RestoreNoout {
                cluster: cluster.clone(),
                rolling,
            }),
        )),
    )];
    if create {
        let created = waits::Created::default();
        let at_once = usize::try_from(cluster.settings.ceph_osd_create_hosts_at_once).unwrap_or(0);
        nodes.push(step(
            "osd creations",
            osds,
            (at_once > 0).then_some(at_once),
            Arc::new(osd::CreateOsds {
                cluster: cluster.clone(),
                created: created.clone(),
                wait_each: at_once == 1,
                dump: Default::default(),
            }),
        ));
        nodes.push(step(
            "wait for new osds",
            first,
            None,
            Arc::new(waits::WaitNewOsds {
                cluster: cluster.clone(),
                created,
            }),
        ));
    }
    nodes
}

/// The deploy plan for the selected hosts.
/// `create` false is `reconfigure`: config and containers of the daemons
/// that exist, never a new mon, key, OSD or file system.
pub fn plan(cluster: &Arc<Cluster>, selected: &[String], wait_health: bool, create: bool) -> Plan {
    plan_with(cluster, selected, wait_health, create, &Default::default())
}

/// The deploy plan, with what its tuning step finds reported to `tune_notes`.
pub fn plan_with(
    cluster: &Arc<Cluster>,
    selected: &[String],
    wait_health: bool,
    create: bool,
    tune_notes: &crate::tune::Notes,
) -> Plan {
    let with = |role: Role| hosts_where(cluster, selected, |h| h.has(role));
    let all = hosts_where(cluster, selected, |_| true);
    let first = first_mon(cluster)
        .map(|h| vec![h.name.clone()])
        .unwrap_or_default();
    let step = |name: &str,
                hosts: Vec<String>,
                batch: Option<usize>,
                action: Arc<dyn crate::engine::Action>| {
        Node::Step(Step {
            name: name.to_string(),
            hosts,
            batch,
            on_failure: OnFailure::StopPlay,
            action,
        })
    };
    let tuned = hosts_where(cluster, selected, |h| crate::tune::tuned(h).0);
    let c = cluster.clone();
    let mut nodes = vec![
        step(
            "push config",
            all,
            None,
            Arc::new(config::PushConfig { cluster: c.clone() }),
        ),
        // sysctl profile and OSD disk settings, before the daemons start.
        step(
            "tune hosts",
            tuned,
            None,
            Arc::new(crate::tune::TuneHost {
                cluster: c.clone(),
                check: false,
                notes: tune_notes.clone(),
            }),
        ),
        // One mon at a time: a restarted mon is back in quorum before the next.
        step(
            "bootstrap mons",
            with(Role::Mon),
            Some(1),
            Arc::new(mon::MonBootstrap {
                cluster: c.clone(),
                existing: Default::default(),
                create,
            }),
        ),
        step(
            "wait for mon quorum",
            first.clone(),
            None,
            Arc::new(mon::WaitQuorum { cluster: c.clone() }),
        ),
    ];
    if cluster.release.has_mgr() {
        nodes.push(step(
            "mgrs",
            with(Role::Mgr),
            Some(1),
            Arc::new(daemon::Daemon {
                cluster: c.clone(),
                role: Role::Mgr,
                create,
            }),
        ));
    }
    nodes.extend(osd_nodes(cluster, &with(Role::Osd), &first, create));
    if cluster.settings.enable_ceph_mds && !create {
        nodes.push(step(
            "mdss",
            with(Role::Mds),
            Some(1),
            Arc::new(daemon::Daemon {
                cluster: c.clone(),
                role: Role::Mds,
                create,
            }),
        ));
    } else if cluster.settings.enable_ceph_mds {
        nodes.push(step(
            "mdss",
            with(Role::Mds),
            Some(1),
            Arc::new(daemon::Daemon {
                cluster: c.clone(),
                role: Role::Mds,
                create,
            }),
        ));
        nodes.push(step(
            "cephfs",
            first.clone(),
            None,
            Arc::new(cephfs::CephFs { cluster: c.clone() }),
        ));
    }
    if cluster.settings.enable_ceph_mds && cluster.mds_max_mds.is_some() {
        nodes.push(step(
            "cephfs max_mds",
            first.clone(),
            None,
            Arc::new(cephfs::MaxMds { cluster: c.clone() }),
        ));
    }
    if cluster.settings.enable_ceph_rgw {
        nodes.push(step(
            "rgws",
            with(Role::Rgw),
            Some(1),
            Arc::new(daemon::Daemon {
                cluster: c.clone(),
                role: Role::Rgw,
                create,
            }),
        ));
    }
    let custom = hosts_where(cluster, selected, |h| !h.custom.is_empty());
    if !custom.is_empty() {
        nodes.push(step(
            "custom containers",
            custom,
            None,
            Arc::new(crate::custom::CustomContainers {
                cluster: c.clone(),
                create,
            }),
        ));
    }
    if wait_health {
        nodes.push(step(
            "wait for HEALTH_OK",
            first,
            None,
            Arc::new(waits::WaitHealth { cluster: c }),
        ));
    }
    Plan {
        name: "deploy".into(),
        root: Node::Serial("deploy".into(), nodes),
    }
}
