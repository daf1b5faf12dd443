//! Cross-checks of the resolved values: settings that contradict each
//! other, names that would be unsafe in a path or a command (one rule for
//! every input format: `inventory::name`), hosts that share an address.
//! Reports problems only; decides no values.

use std::collections::{BTreeMap, BTreeSet};

use super::types::{Connection, Role};
use crate::error::{Origin, Problems};
use crate::inventory::{NameKind, check_name};
use crate::settings::{ClusterSettings, HostSettings, Layer};

/// An odd number of mons, at least one.
pub(super) fn mon_count(mons: &[String], inventory: &Origin, problems: &mut Problems) {
    if mons.is_empty() {
        problems.error(
            inventory.clone(),
            format!(
                "no monitor: put at least one host in one of the groups {}",
                Role::Mon.groups().join(", ")
            ),
        );
    } else if mons.len().is_multiple_of(2) {
        problems.warning(
            inventory.clone(),
            format!(
                "{} monitors: an even number tolerates no more failures than one fewer; use an odd number",
                mons.len()
            ),
        );
    }
}

/// Pool sizes, the cluster name, the image reference and override names.
pub(super) fn cluster_settings(
    c: &ClusterSettings,
    origin_of: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) {
    if c.osd_pool_default_min_size > c.osd_pool_default_size {
        problems.error(
            origin_of("osd_pool_default_min_size"),
            format!(
                "osd_pool_default_min_size ({}) is larger than osd_pool_default_size ({})",
                c.osd_pool_default_min_size, c.osd_pool_default_size
            ),
        );
    }
    if c.osd_pool_default_size == 0 {
        problems.error(
            origin_of("osd_pool_default_size"),
            "osd_pool_default_size must be at least 1",
        );
    }
    if let Err(msg) = check_name(NameKind::Cluster, &c.cluster_name) {
        problems.error(origin_of("cluster_name"), format!("cluster_name: {msg}"));
    }
    for (key, value, optional) in [
        ("ceph_image_registry", &c.ceph_image_registry, true),
        ("ceph_image_namespace", &c.ceph_image_namespace, true),
        ("ceph_image_name", &c.ceph_image_name, false),
        ("ceph_image_tag", &c.ceph_image_tag, true),
    ] {
        if optional && value.is_empty() {
            continue;
        }
        if let Err(msg) = check_name(NameKind::Image, value) {
            problems.error(origin_of(key), format!("{key}: {msg}"));
        }
    }
    let ratio = c.ceph_upgrade_read_lease_ratio.trim();
    if !ratio.is_empty() && !ratio.parse::<f64>().is_ok_and(|r| r > 0.0 && r <= 1.0) {
        problems.error(
            origin_of("ceph_upgrade_read_lease_ratio"),
            format!(
                "ceph_upgrade_read_lease_ratio `{ratio}` is not a number above 0 and at most 1 (empty: leave the OSDs' read lease alone)"
            ),
        );
    }
    super::overrides::check_sections(c, origin_of, problems);
    for (section, options) in &c.ceph_conf_overrides {
        if section.trim().is_empty() || options.keys().any(|k| k.trim().is_empty()) {
            problems.error(
                origin_of("ceph_conf_overrides"),
                "ceph_conf_overrides has an empty section or option name",
            );
        }
    }
}

/// Two hosts reached at the same address and port are one host twice.
pub(super) fn unique_address(
    seen: &mut BTreeMap<(String, u16), String>,
    name: &str,
    connection: &Connection,
    merged: &Layer,
    declared: &Origin,
    problems: &mut Problems,
) {
    if connection.local {
        return;
    }
    let key = (connection.address.clone(), connection.port);
    if let Some(other) = seen.get(&key) {
        problems.error(
            merged
                .get("ansible_host")
                .map(|v| v.origin.clone())
                .unwrap_or_else(|| declared.clone()),
            format!(
                "hosts `{other}` and `{name}` have the same address {}:{}",
                key.0, key.1
            ),
        );
    } else {
        seen.insert(key, name.to_string());
    }
}

/// A host's own settings: its daemon id, its OSD disks, its tuning.
pub(super) fn host_settings(
    (name, declared): (&str, &Origin),
    hs: &HostSettings,
    roles: &BTreeSet<Role>,
    o: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) {
    // mon, mgr and mds ids are the host name.
    if [Role::Mon, Role::Mgr, Role::Mds]
        .iter()
        .any(|r| roles.contains(r))
        && let Err(msg) = check_name(NameKind::DaemonId, name)
    {
        problems.error(
            declared.clone(),
            format!("host `{name}` runs a mon, mgr or mds, whose id is the host name: {msg}"),
        );
    }
    if roles.contains(&Role::Osd) {
        if hs.ceph_osd_devices.is_empty() && !hs.ceph_osd_bootstrap_labels {
            problems.error(
                o("ceph_osd_bootstrap_labels"),
                format!(
                    "OSD host `{name}` has no way to find disks: ceph_osd_devices is empty and ceph_osd_bootstrap_labels is off"
                ),
            );
        }
        for d in &hs.ceph_osd_devices {
            if let Err(msg) = check_name(NameKind::DevicePath, d) {
                problems.error(
                    o("ceph_osd_devices"),
                    format!("OSD device of host `{name}`: {msg}"),
                );
            }
        }
    }
    tuning(hs, o, problems);
}

/// Tuning settings that would make no sense (or an unsafe path) on a host.
fn tuning(hs: &HostSettings, o: &dyn Fn(&str) -> Origin, problems: &mut Problems) {
    for d in &hs.ceph_tcmalloc_daemons {
        if !["osd", "mon", "mgr", "mds", "rgw"].contains(&d.as_str()) {
            problems.error(
                o("ceph_tcmalloc_daemons"),
                format!("ceph_tcmalloc_daemons: `{d}` is no daemon type (osd, mon, mgr, mds, rgw)"),
            );
        }
    }
    for (key, value) in &hs.ceph_sysctl {
        let ok = !key.is_empty()
            && key.split(['.', '/']).all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !ok {
            problems.error(
                o("ceph_sysctl"),
                format!("ceph_sysctl: `{key}` is not a kernel setting name like net.core.rmem_max"),
            );
        }
        if value.contains(['\n', '\r']) || value.trim().is_empty() {
            problems.error(
                o("ceph_sysctl"),
                format!("ceph_sysctl: `{key}` needs a one-line value"),
            );
        }
    }
    for (name, list) in [
        (
            "ceph_block_scheduler_rotational",
            &hs.ceph_block_scheduler_rotational,
        ),
        ("ceph_block_scheduler_ssd", &hs.ceph_block_scheduler_ssd),
    ] {
        for s in list {
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.error(
                    o(name),
                    format!("{name}: `{s}` is not an I/O scheduler name"),
                );
            }
        }
    }
}
