//! Host checks on OSD disks: the configured devices exist and are free
//! to label (or already carry kolla partitions), and every bootstrap
//! label found is a complete OSD. Applies to OSD hosts only.

use super::{CheckResult, HostCheck, HostView, Level, gib};
use crate::facts::{BlockDev, Facts, OsdLabel, osd_label};
use crate::model::{Host, Role};

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "disks.device",
        judges: "each of ceph_osd_devices exists, is not mounted or in LVM, and is empty or kolla-labelled",
        run: device,
    },
    HostCheck {
        id: "disks.bootstrap",
        judges: "with bootstrap labels: some bootstrap partition, existing OSD or configured device",
        run: bootstrap,
    },
    HostCheck {
        id: "disks.partners",
        judges: "with bootstrap labels: every labelled OSD has its data and partner partitions",
        run: partners,
    },
];

/// OSDs a host will run: bootstrap partitions found, existing OSDs, or the
/// configured devices.
pub fn expected_osds(host: &Host, f: &Facts) -> usize {
    if !host.has(Role::Osd) {
        return 0;
    }
    let labelled = f
        .block
        .iter()
        .filter_map(|b| b.part_name.as_deref())
        .filter(|n| osd_label(n).is_some_and(|l| l.is_data()))
        .count();
    labelled.max(host.settings.ceph_osd_devices.len())
}

/// The kolla labels found on the host, with the partition carrying each.
fn labels(f: &Facts) -> Vec<(&str, OsdLabel)> {
    f.block
        .iter()
        .filter_map(|b| {
            b.part_name
                .as_deref()
                .and_then(|n| osd_label(n).map(|l| (b.name.as_str(), l)))
        })
        .collect()
}

fn device(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    if !host.has(Role::Osd) {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Configured devices must exist and be free to partition, unless they
    // already carry kolla labels.
    for d in &host.settings.ceph_osd_devices {
        let base = d.trim_start_matches("/dev/");
        let dev = f.block.iter().find(|b| b.name == base);
        let parts: Vec<&BlockDev> = f
            .block
            .iter()
            .filter(|b| b.parent.as_deref() == Some(base))
            .collect();
        let labelled = parts
            .iter()
            .any(|p| p.part_name.as_deref().and_then(osd_label).is_some());
        let mounted = f
            .mounts
            .iter()
            .any(|m| m == d || parts.iter().any(|p| *m == format!("/dev/{}", p.name)));
        let in_lvm = f
            .lvm_pvs
            .iter()
            .any(|pv| pv == d || parts.iter().any(|p| *pv == format!("/dev/{}", p.name)));
        out.push(match dev {
            None => v.result(
                "disks.device",
                Level::Fail,
                format!("{d} does not exist"),
                "fix ceph_osd_devices for this host",
            ),
            Some(_) if mounted => v.result(
                "disks.device",
                Level::Fail,
                format!("{d} is mounted"),
                "unmount it, or remove it from ceph_osd_devices",
            ),
            Some(_) if in_lvm => v.result(
                "disks.device",
                Level::Fail,
                format!("{d} is an LVM physical volume"),
                "remove it from LVM, or from ceph_osd_devices",
            ),
            Some(_) if labelled => v.result(
                "disks.device",
                Level::Pass,
                format!("{d} has kolla OSD partitions"),
                "",
            ),
            Some(b) if b.signature.is_some() || !parts.is_empty() => v.result(
                "disks.device",
                Level::Fail,
                format!(
                    "{d} holds {}",
                    b.signature
                        .clone()
                        .unwrap_or_else(|| format!("{} partition(s)", parts.len()))
                ),
                "it is not empty: cephalo disks prepare refuses it unless --zap names it",
            ),
            Some(b) => v.result(
                "disks.device",
                Level::Pass,
                format!("{d} empty, {}", gib(b.size)),
                "",
            ),
        });
    }
    out
}

fn bootstrap(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    if !host.has(Role::Osd) || !host.settings.ceph_osd_bootstrap_labels {
        return Vec::new();
    }
    let labels = labels(f);
    let data: Vec<&(&str, OsdLabel)> = labels
        .iter()
        .filter(|(_, l)| l.is_data() && !l.existing)
        .collect();
    let existing = labels
        .iter()
        .filter(|(_, l)| l.is_data() && l.existing)
        .count();
    vec![
        if data.is_empty() && existing == 0 && host.settings.ceph_osd_devices.is_empty() {
            v.result(
            "disks.bootstrap",
            Level::Fail,
            "no KOLLA_CEPH_OSD_BOOTSTRAP* partition and no existing OSD",
            "label the OSD disks (parted DEV -s -- mklabel gpt mkpart KOLLA_CEPH_OSD_BOOTSTRAP_BS 1 -1) or set ceph_osd_devices",
        )
        } else {
            v.result(
                "disks.bootstrap",
                Level::Pass,
                format!(
                    "{} bootstrap partition(s), {existing} existing OSD(s)",
                    data.len()
                ),
                "",
            )
        },
    ]
}

fn partners(v: &HostView) -> Vec<CheckResult> {
    let (host, f) = (v.host, v.facts);
    if !host.has(Role::Osd) || !host.settings.ceph_osd_bootstrap_labels {
        return Vec::new();
    }
    let labels = labels(f);
    // A named bootstrap label wants its partners; a partner wants its
    // data partition. kolla skipped such OSDs silently.
    let mut broken = Vec::new();
    for (dev, l) in labels.iter().filter(|(_, l)| !l.existing) {
        let has_data = labels.iter().any(|(_, o)| {
            !o.existing && o.is_data() && o.name == l.name && o.bluestore == l.bluestore
        });
        match l.partner {
            Some(p) if !has_data => broken.push(format!(
                "{dev} is the _{p} partner of `{}`, which has no data partition",
                l.name
            )),
            None if !l.bluestore && !l.name.is_empty() => {
                let has_journal = labels
                    .iter()
                    .any(|(_, o)| !o.existing && o.partner == Some('J') && o.name == l.name);
                if !has_journal {
                    broken.push(format!(
                        "{dev}: filestore OSD `{}` has no _J journal partition",
                        l.name
                    ));
                }
            }
            _ => {}
        }
    }
    vec![if broken.is_empty() {
        v.result(
            "disks.partners",
            Level::Pass,
            "every labelled OSD is complete",
            "",
        )
    } else {
        v.result(
            "disks.partners",
            Level::Fail,
            broken.join("; "),
            "label the missing partition, or remove the stray label",
        )
    }]
}
