//! `cephalo rotate-keys`' plan (CVE-2025-30156: Squid 19.2.6 and Tentacle
//! 20.2.4 flag every key of type aes): each daemon's key rotated to
//! aes256k and its daemon made again one at a time behind the restart's
//! gates (mgrs, OSDs host by host under `noout`, MDS, rgw, then the mons'
//! shared `mon.` key), then the service cipher and the rotating keys, the
//! clients' keys (client.admin through a pending key, the bootstrap keys),
//! passwords.yml, and aes disallowed once nothing needs it. The upgrade to
//! these releases ends with the same phases. Pure: built from the model
//! and the layout; the steps' actions are in `keys` and the upgrade's own
//! restart.

use std::collections::BTreeSet;

use super::layout::{DaemonType, Flag, Layout};
use super::plan::step;
use super::step::{Check, Gate, KeyFile, Phase, StepKind, UpgradePlan, UpgradeStep};
use crate::model::{Cluster, Role};
use crate::release::Release;

/// The keyring of a daemon's data folder, owned by the ceph user.
fn daemon_keyring(host: &str, path: String) -> KeyFile {
    KeyFile {
        host: host.to_string(),
        path,
        ceph_owned: true,
        caps: Vec::new(),
        only_if_there: false,
    }
}

fn rotate(entity: &str, files: Vec<KeyFile>, pending: bool, what: String) -> UpgradeStep {
    step(
        format!("key:{entity}"),
        StepKind::RotateKey {
            entity: entity.to_string(),
            files,
            pending,
        },
        what,
        None,
    )
}

fn made_again(
    kind: DaemonType,
    host: &str,
    ids: Vec<String>,
    ask: bool,
    standby_mgr: bool,
    gate: Option<Gate>,
) -> UpgradeStep {
    let names = ids
        .iter()
        .map(|i| format!("{kind}.{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    step(
        format!("key-restart:{kind}:{}", ids.join(",")),
        StepKind::Restart {
            kind,
            host: host.to_string(),
            ids,
            ok_to_stop: ask,
            standby_mgr,
            recreate: true,
        },
        format!("{names} on {host}: made again, to log in with the new key"),
        gate,
    )
}

/// The rotation's phases, for `rotate-keys` and the end of an upgrade to
/// `release`. The daemons whose entities are in `rotated` (keys already
/// aes256k, read before a fresh run) are neither rotated nor made again;
/// a resumed run passes none and lets its journal skip what is done.
pub fn phases(
    cluster: &Cluster,
    layout: &Layout,
    release: Release,
    rotated: &BTreeSet<String>,
) -> Vec<Phase> {
    let todo = |entity: &str| !rotated.contains(entity);
    let c = &cluster.name;
    let mgrs = layout.hosts.iter().map(|h| h.mgrs.len()).sum::<usize>();
    let mons = layout.hosts.iter().map(|h| h.mons.len()).sum::<usize>();
    let mdss = layout.hosts.iter().map(|h| h.mdss.len()).sum::<usize>();
    let mut out = vec![Phase {
        name: "ciphers",
        steps: vec![step(
            "keys:preferred-cipher",
            StepKind::MonSet {
                name: "auth_preferred_cipher".into(),
                value: "aes256k".into(),
            },
            "`ceph mon set auth_preferred_cipher aes256k`: keys made from now on are aes256k",
            None,
        )],
    }];
    let mut daemons = Vec::new();
    for h in &layout.hosts {
        for m in h.mgrs.iter().filter(|m| todo(&format!("mgr.{}", m.id))) {
            let entity = format!("mgr.{}", m.id);
            daemons.push(rotate(
                &entity,
                vec![daemon_keyring(
                    &h.name,
                    format!("/var/lib/ceph/mgr/{c}-{}/keyring", m.id),
                )],
                false,
                format!(
                    "rotate {entity}'s key to aes256k and write its keyring on {}",
                    h.name
                ),
            ));
            daemons.push(made_again(
                DaemonType::Mgr,
                &h.name,
                vec![m.id.clone()],
                false,
                mgrs > 1,
                Some(Gate::MgrUpgraded {
                    id: m.id.clone(),
                    release,
                }),
            ));
        }
    }
    let osds_todo = |h: &super::HostLayout| -> Vec<u32> {
        h.osds
            .iter()
            .map(|o| o.id)
            .filter(|id| todo(&format!("osd.{id}")))
            .collect()
    };
    let osds = layout.hosts.iter().any(|h| !osds_todo(h).is_empty());
    if osds {
        daemons.push(step(
            "keys:flag-set:noout",
            StepKind::SetFlag { flag: Flag::Noout },
            "set noout: the OSDs made again are not marked out",
            Some(Gate::FlagSet { flag: Flag::Noout }),
        ));
    }
    for h in layout.hosts.iter().filter(|h| !osds_todo(h).is_empty()) {
        let numbers = osds_todo(h);
        let ids: Vec<String> = numbers.iter().map(u32::to_string).collect();
        for id in &ids {
            let entity = format!("osd.{id}");
            daemons.push(rotate(
                &entity,
                vec![daemon_keyring(
                    &h.name,
                    format!("/var/lib/ceph/osd/{c}-{id}/keyring"),
                )],
                false,
                format!(
                    "rotate {entity}'s key to aes256k and write its keyring on {}",
                    h.name
                ),
            ));
        }
        daemons.push(made_again(
            DaemonType::Osd,
            &h.name,
            ids.clone(),
            release.has_osd_ok_to_stop(),
            false,
            Some(Gate::OsdsUpPgsClean {
                ids: numbers,
                release,
            }),
        ));
    }
    for h in &layout.hosts {
        for (kind, list, entity_of, dir_of, gate) in [
            (
                DaemonType::Mds,
                &h.mdss,
                (|id: &str| format!("mds.{id}")) as fn(&str) -> String,
                (|c: &str, id: &str| format!("/var/lib/ceph/mds/{c}-{id}/keyring"))
                    as fn(&str, &str) -> String,
                None,
            ),
            (
                DaemonType::Rgw,
                &h.rgws,
                |id: &str| format!("client.rgw.{id}"),
                |c: &str, id: &str| format!("/var/lib/ceph/radosgw/{c}-rgw.{id}/keyring"),
                Some(()),
            ),
        ] {
            for d in list.iter().filter(|d| todo(&entity_of(&d.id))) {
                let entity = entity_of(&d.id);
                daemons.push(rotate(
                    &entity,
                    vec![daemon_keyring(&h.name, dir_of(c, &d.id))],
                    false,
                    format!(
                        "rotate {entity}'s key to aes256k and write its keyring on {}",
                        h.name
                    ),
                ));
                let g = match gate {
                    Some(()) => Gate::RgwUpgraded {
                        id: d.id.clone(),
                        release,
                    },
                    None => Gate::RanksActive,
                };
                // A lone MDS is never ok to stop: its file system pauses
                // for the few seconds it takes to come back.
                let ask = kind == DaemonType::Mds && release.has_mds_ok_to_stop() && mdss > 1;
                daemons.push(made_again(
                    kind,
                    &h.name,
                    vec![d.id.clone()],
                    ask,
                    false,
                    Some(g),
                ));
            }
        }
    }
    // The mons share `mon.`: written into every mon's keyring, then each
    // mon made again in turn (they keep quorum with old and new mixed).
    let mon_files: Vec<KeyFile> = layout
        .hosts
        .iter()
        .flat_map(|h| h.mons.iter().map(move |m| (h, m)))
        .map(|(h, m)| KeyFile {
            caps: vec![("mon".into(), "allow *".into())],
            ..daemon_keyring(&h.name, format!("/var/lib/ceph/mon/{c}-{}/keyring", m.id))
        })
        .collect();
    if !mon_files.is_empty() && todo("mon.") {
        daemons.push(rotate(
            "mon.",
            mon_files,
            false,
            "rotate the mons' `mon.` key to aes256k and write it into every mon's keyring".into(),
        ));
        for h in &layout.hosts {
            for m in &h.mons {
                daemons.push(made_again(
                    DaemonType::Mon,
                    &h.name,
                    vec![m.id.clone()],
                    release.has_mon_ok_to_stop() && mons >= 3,
                    false,
                    Some(Gate::MonUpgraded {
                        id: m.id.clone(),
                        release,
                    }),
                ));
            }
        }
    }
    out.push(Phase {
        name: "daemon keys",
        steps: daemons,
    });
    out.push(Phase {
        name: "service keys",
        steps: vec![
            step(
                "keys:service-cipher",
                StepKind::MonSet {
                    name: "auth_service_cipher".into(),
                    value: "aes256k".into(),
                },
                "`ceph mon set auth_service_cipher aes256k`: service tickets of type aes256k",
                None,
            ),
            step(
                "keys:wipe-rotating",
                StepKind::WipeRotatingKeys,
                "`ceph auth wipe-rotating-service-keys`: new rotating service keys, aes256k",
                None,
            ),
        ],
    });
    out.push(Phase {
        name: "client keys",
        steps: client_steps(cluster),
    });
    let mut end = vec![step(
        "keys:disallow-aes",
        StepKind::DisallowAes,
        "once every key is aes256k and no older client is connected: `ceph mon set auth_allowed_ciphers aes256k`",
        None,
    )];
    if osds {
        end.push(step(
            "keys:flag-restore:noout",
            StepKind::RestoreFlag { flag: Flag::Noout },
            "put noout back as it was",
            Some(Gate::FlagAsBefore { flag: Flag::Noout }),
        ));
    }
    out.push(Phase {
        name: "ciphers allowed",
        steps: end,
    });
    out
}

/// client.admin through a pending key, written wherever its keyring is;
/// the bootstrap keys and their keyrings; then passwords.yml.
fn client_steps(cluster: &Cluster) -> Vec<UpgradeStep> {
    let c = &cluster.name;
    let caps = |entity: &str| -> Vec<(String, String)> {
        crate::render::caps_of(cluster, entity)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    };
    let admin_files: Vec<KeyFile> = cluster
        .hosts
        .iter()
        .map(|h| KeyFile {
            host: h.name.clone(),
            path: format!("/etc/ceph/{c}.client.admin.keyring"),
            ceph_owned: false,
            caps: caps("client.admin"),
            only_if_there: true,
        })
        .collect();
    let mut steps = vec![rotate(
        "client.admin",
        admin_files,
        true,
        "client.admin's key through a pending aes256k key (the old one serves until the new one is first used), written wherever its keyring is".into(),
    )];
    for kind in ["osd", "mds", "mgr", "rgw", "rbd", "rbd-mirror"] {
        let entity = format!("client.bootstrap-{kind}");
        let role = match kind {
            "osd" => Some(Role::Osd),
            "mds" => Some(Role::Mds),
            "mgr" => Some(Role::Mgr),
            "rgw" => Some(Role::Rgw),
            _ => None,
        };
        let files: Vec<KeyFile> = role
            .into_iter()
            .flat_map(|r| cluster.hosts_with(r))
            .map(|h| KeyFile {
                host: h.name.clone(),
                path: format!("/var/lib/ceph/bootstrap-{kind}/{c}.keyring"),
                ceph_owned: false,
                caps: caps(&entity),
                only_if_there: true,
            })
            .collect();
        steps.push(rotate(
            &entity,
            files,
            false,
            format!("rotate {entity}'s key to aes256k (where it exists) and rewrite its keyrings"),
        ));
    }
    steps.push(step(
        "keys:passwords",
        StepKind::SavePasswords,
        "write the rotated mon., client.admin and bootstrap keys into passwords.yml (a backup kept, 0600): the next deploy writes them",
        None,
    ));
    steps
}

/// The whole `rotate-keys` plan: preflight, then `phases`.
pub fn plan(
    cluster: &Cluster,
    layout: &Layout,
    release: Release,
    rotated: &BTreeSet<String>,
) -> UpgradePlan {
    let mut phases = vec![Phase {
        name: "preflight",
        steps: vec![
            step(
                "preflight:mons",
                StepKind::Check {
                    check: Check::MonsInQuorum,
                },
                "refuse when an inventory mon is out of quorum",
                None,
            ),
            step(
                "preflight:aes256k",
                StepKind::Check {
                    check: Check::Aes256kReady,
                },
                "refuse unless every daemon runs a release with aes256k keys and the monmap has the feature",
                None,
            ),
        ],
    }];
    phases.extend(self::phases(cluster, layout, release, rotated));
    UpgradePlan {
        operation: "rotate-keys",
        from: release,
        to: release,
        phases,
        skipped: Vec::new(),
        left_out: Vec::new(),
    }
}

/// The end of an upgrade to a release that flags keys of type aes: the
/// rotation's phases after its last step (in place of the warning that
/// names them), once every daemon was upgraded; nothing when it leaves
/// daemons out or has nothing to restart. Whether it was added.
pub fn append_to_upgrade(
    plan: &mut UpgradePlan,
    cluster: &Cluster,
    layout: &Layout,
    rotated: &BTreeSet<String>,
) -> bool {
    if !plan.to.warns_insecure_key_types() || !plan.left_out.is_empty() || plan.is_empty() {
        return false;
    }
    plan.phases.retain_mut(|p| {
        p.steps.retain(|s| {
            !matches!(
                s.kind,
                StepKind::Warning {
                    warning: super::Warning::InsecureKeyTypes
                }
            )
        });
        !p.steps.is_empty()
    });
    let to = plan.to;
    plan.phases.extend(phases(cluster, layout, to, rotated));
    true
}
