//! Why an upgrade plan is refused, each time with the way to take instead.
//! Pure: judges releases and the layout, reaches no host.

use super::layout::{DaemonRef, DaemonType, Layout};
use crate::error::{ExitCode, exit};
use crate::model::ObjectStore;
use crate::release::{Release, known_names};

/// An upgrade cephalo will not plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("unknown Ceph release `{given}`: cephalo knows {known}")]
    UnknownRelease { given: String, known: String },

    #[error(
        "{from} -> {to} is a downgrade, which Ceph does not support (daemons have written on-disk formats {from} cannot read): stay on {from}"
    )]
    Downgrade { from: Release, to: Release },

    #[error("{from} -> {to} {how}: upgrade to {next} first (the way: {way})")]
    TooFar {
        from: Release,
        to: Release,
        /// "skips a release", "skips 2 releases".
        how: String,
        next: Release,
        way: String,
    },

    #[error("{to} is not a release to upgrade to from {from}: {why}")]
    NoWay {
        from: Release,
        to: Release,
        why: String,
    },

    #[error("{}", filestore_message(.osds, *.to))]
    Filestore { osds: Vec<DaemonRef>, to: Release },

    #[error(
        "{daemon} runs {running}, newer than the target {to}: a downgrade is not possible; plan the upgrade to {running} instead"
    )]
    NewerThanTarget {
        daemon: DaemonRef,
        running: Release,
        to: Release,
    },

    #[error(
        "{daemon} runs {running}, older than the source {from}: finish the upgrade to {from} first (`cephalo upgrade --to {from}`)"
    )]
    OlderThanSource {
        daemon: DaemonRef,
        running: Release,
        from: Release,
    },
}

impl ExitCode for Refused {
    fn exit_code(&self) -> i32 {
        match self {
            Refused::UnknownRelease { .. } => exit::BAD_INPUT,
            _ => exit::REFUSED,
        }
    }
}

fn filestore_message(osds: &[DaemonRef], to: Release) -> String {
    // Grouped by host, in the order given: "osd.0 osd.1 on ceph1, ...".
    let mut hosts: Vec<(&str, Vec<String>)> = Vec::new();
    for o in osds {
        match hosts.iter_mut().find(|(h, _)| *h == o.host) {
            Some((_, ids)) => ids.push(format!("osd.{}", o.id)),
            None => hosts.push((&o.host, vec![format!("osd.{}", o.id)])),
        }
    }
    let names = hosts
        .iter()
        .map(|(h, ids)| format!("{} on {h}", ids.join(" ")))
        .collect::<Vec<_>>()
        .join(", ");
    let last = Release::ALL
        .into_iter()
        .rfind(|r| r.supports_filestore())
        .unwrap_or(Release::Jewel);
    format!(
        "{names} use{} filestore, which {to} no longer supports: move {} to bluestore first (destroy and recreate, one host at a time, waiting for active+clean), or upgrade only as far as {last}",
        if osds.len() == 1 { "s" } else { "" },
        if osds.len() == 1 { "it" } else { "them" },
    )
}

/// Parses `--to` / `--from`: a release name or major version.
pub fn parse_release(given: &str) -> Result<Release, Refused> {
    Release::parse(given).ok_or_else(|| Refused::UnknownRelease {
        given: given.to_string(),
        known: known_names(),
    })
}

/// The releases from `from` to `to`, each a direct upgrade, taking the
/// furthest step each time; None when there is no such way.
pub fn way(from: Release, to: Release) -> Option<Vec<Release>> {
    let mut way = vec![from];
    let mut at = from;
    while at != to {
        let next = at
            .upgrade_targets()
            .iter()
            .copied()
            .filter(|&r| r <= to)
            .max()?;
        way.push(next);
        at = next;
    }
    Some(way)
}

/// Refuses the jump itself: downgrades, jumps too long, no way at all.
pub fn check_jump(from: Release, to: Release) -> Result<(), Refused> {
    if to < from {
        return Err(Refused::Downgrade { from, to });
    }
    if to == from || from.can_upgrade_to(to) {
        return Ok(());
    }
    match way(from, to) {
        Some(w) if w.len() > 2 => Err(Refused::TooFar {
            from,
            to,
            how: match w.len() - 2 {
                1 => "skips a release".to_string(),
                n => format!("skips {n} releases"),
            },
            next: w[1],
            way: w.iter().map(|r| r.name()).collect::<Vec<_>>().join(" -> "),
        }),
        _ => Err(Refused::NoWay {
            from,
            to,
            why: match from.upgrade_targets() {
                [] => format!("{from} is the newest release cephalo knows"),
                t => format!(
                    "{from} upgrades to {}",
                    t.iter().map(|r| r.name()).collect::<Vec<_>>().join(" or ")
                ),
            },
        }),
    }
}

/// Refuses a layout that does not fit the jump: filestore OSDs going to a
/// release without filestore, daemons newer than the target or older than
/// the source.
pub fn check_layout(layout: &Layout, from: Release, to: Release) -> Result<(), Refused> {
    for d in layout.daemons() {
        let Some(running) = d.running else { continue };
        if running > to {
            return Err(Refused::NewerThanTarget {
                daemon: d,
                running,
                to,
            });
        }
        if running < from {
            return Err(Refused::OlderThanSource {
                daemon: d,
                running,
                from,
            });
        }
    }
    if !to.supports_filestore() {
        let osds: Vec<DaemonRef> = layout
            .hosts
            .iter()
            .flat_map(|h| {
                h.osds
                    .iter()
                    .filter(|o| o.store == ObjectStore::Filestore)
                    .map(|o| DaemonRef {
                        kind: DaemonType::Osd,
                        id: o.id.to_string(),
                        host: h.name.clone(),
                        running: o.running,
                    })
            })
            .collect();
        if !osds.is_empty() {
            return Err(Refused::Filestore { osds, to });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Release::*;

    #[test]
    fn the_way_takes_the_longest_allowed_steps() {
        assert_eq!(way(Jewel, Jewel), Some(vec![Jewel]));
        assert_eq!(way(Jewel, Luminous), Some(vec![Jewel, Luminous]));
        assert_eq!(
            way(Nautilus, Tentacle),
            Some(vec![Nautilus, Pacific, Reef, Tentacle])
        );
        assert_eq!(way(Jewel, Kraken), None);
        assert_eq!(way(Tentacle, Reef), None);
        assert!(check_jump(Reef, Reef).is_ok());
        assert!(check_jump(Quincy, Squid).is_ok());
        assert!(matches!(
            check_jump(Mimic, Pacific),
            Err(Refused::TooFar { next: Octopus, .. })
        ));
        assert_eq!(
            parse_release("pluto").map_err(|e| e.exit_code()),
            Err(exit::BAD_INPUT)
        );
        assert_eq!(
            check_jump(Reef, Pacific).map_err(|e| e.exit_code()),
            Err(exit::REFUSED)
        );
    }
}
