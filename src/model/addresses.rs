//! Where each host's addresses come from: cephalo's `public_address`,
//! ceph-ansible's `monitor_address`/`_address_block`/`_interface` (mons)
//! and `radosgw_*` (rgws), the `ansible_host` IP, kolla's
//! `storage_interface` (else `network_interface`), `api_interface` (rgw)
//! and `cluster_interface`. An interface or a network needs the host's
//! facts: `resolve_addresses` fills those in, purely, from facts gathered
//! elsewhere. Decides sources and checks them; no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::ceph_ansible::text;
use super::types::{AddressFrom, AddressSource, Cluster, Connection, Host, Role};
use crate::error::{Error, Origin, Problems, Result};
use crate::inventory::{NameKind, check_name};
use crate::settings::Layer;

/// The address sources of one host.
pub(super) struct HostAddresses {
    pub public: Option<AddressSource>,
    pub rgw: Option<AddressSource>,
    pub cluster: Option<AddressSource>,
}

/// ceph-ansible's sample values, which mean "not set".
const SENTINELS: [&str; 4] = ["", "x.x.x.x", "interface", "subnet"];

/// The sources of host `name`'s addresses from its merged vars; a mon's
/// must be usable (an address inside public_network, or an interface or
/// network to learn it from).
pub(super) fn sources_of(
    (name, declared): (&str, &Origin),
    conn: &Connection,
    roles: &BTreeSet<Role>,
    public_network: Option<IpNet>,
    layer: &Layer,
    view_only: bool,
    problems: &mut Problems,
) -> HostAddresses {
    let get = |k: &str, problems: &mut Problems| source(name, layer, k, problems);
    let mut public = get("public_address", problems);
    let mon_keys = [
        "monitor_address_block",
        "monitor_address",
        "monitor_interface",
    ];
    let rgw_keys = [
        "radosgw_address_block",
        "radosgw_address",
        "radosgw_interface",
    ];
    if let Some(p) = public.as_ref().filter(|_| roles.contains(&Role::Mon)) {
        for k in mon_keys {
            if let Some(other) = layer
                .get(k)
                .filter(|v| !SENTINELS.contains(&text(&v.value).as_str()))
            {
                problems.note(
                    other.origin.clone(),
                    format!("cephalo's `public_address` ({}) wins over ceph-ansible's `{k}` for mon `{name}`", p.origin),
                );
            }
        }
    }
    if public.is_none() && roles.contains(&Role::Mon) {
        public = mon_keys.iter().find_map(|k| get(k, problems));
    }
    let ansible_host = conn.address.parse::<IpAddr>().ok().map(|a| AddressSource {
        from: AddressFrom::Given(a),
        origin: layer
            .get("ansible_host")
            .or_else(|| layer.get("ansible_ssh_host"))
            .map(|v| v.origin.clone())
            .unwrap_or_else(|| declared.clone())
            .with_key("ansible_host"),
    });
    let inside = |s: &AddressSource| match (s.address(), public_network) {
        (Some(a), Some(net)) => net.contains(&a),
        _ => true,
    };
    let interface = || {
        ["storage_interface", "network_interface"]
            .iter()
            .find_map(|k| source(name, layer, k, &mut Problems::default()))
    };
    if public.is_none() {
        public = match ansible_host {
            Some(a) if inside(&a) => Some(a),
            // An ansible_host outside public_network is the management
            // address: the interface says where the public one is.
            other => interface().or(other),
        };
    }
    if roles.contains(&Role::Mon) {
        match (&public, public_network) {
            (None, _) => {
                let origin = layer
                    .get("ansible_host")
                    .map(|v| v.origin.clone())
                    .unwrap_or_else(|| declared.clone());
                let why = format!(
                    "mon `{name}` needs its address on public_network: set public_address, or ansible_host to an IP address, or the interface that has it (monitor_interface, network_interface)"
                );
                // A view of the inventory shows the host all the same.
                if view_only {
                    problems.warning(origin, why);
                } else {
                    problems.error(origin, why);
                }
            }
            (Some(s), Some(net)) if !inside(s) => {
                let from = s.origin.key.clone().unwrap_or_default();
                problems.error(
                    s.origin.clone(),
                    format!(
                        "mon `{name}` has address {} ({from}), which is outside public_network {net}; set public_address",
                        s.address().map(|a| a.to_string()).unwrap_or_default()
                    ),
                );
            }
            _ => {}
        }
    }
    let rgw = if roles.contains(&Role::Rgw) {
        rgw_keys
            .iter()
            .chain(&["api_interface"])
            .find_map(|k| get(k, problems))
    } else {
        None
    };
    let cluster = get("cluster_interface", problems);
    HostAddresses {
        public,
        rgw,
        cluster,
    }
}

/// One address setting of a host, read by its kind: `*_address` an IP,
/// `*_address_block` a network, `*_interface` an interface name.
fn source(name: &str, layer: &Layer, key: &str, problems: &mut Problems) -> Option<AddressSource> {
    let v = layer.get(key)?;
    let t = text(&v.value).trim().to_string();
    if SENTINELS.contains(&t.as_str()) {
        return None;
    }
    let origin = v.origin.clone();
    let from = if key.ends_with("_address_block") {
        match t.parse::<IpNet>() {
            Ok(n) => AddressFrom::Network(n),
            Err(_) => {
                problems.error(origin, format!("{key} `{t}` of host `{name}` is not a network in CIDR form like 10.0.0.0/24"));
                return None;
            }
        }
    } else if key.ends_with("_address") {
        match t.parse::<IpAddr>() {
            Ok(a) => AddressFrom::Given(a),
            Err(_) => {
                problems.error(
                    origin,
                    format!("{key} `{t}` of host `{name}` is not an IP address"),
                );
                return None;
            }
        }
    } else {
        if let Err(msg) = check_name(NameKind::DaemonId, &t) {
            problems.error(
                origin,
                format!(
                    "{key} of host `{name}`: {}",
                    msg.replace("daemon id", "interface name")
                ),
            );
            return None;
        }
        AddressFrom::Interface(t)
    };
    Some(AddressSource { from, origin })
}

/// Fills in the addresses that come from an interface or a network, from
/// each host's interfaces and their addresses (`facts`: host -> [(interface,
/// address)]). A public address must be inside public_network and a
/// cluster address inside cluster_network (when set). Every problem is
/// reported at once, naming the host and the setting.
pub fn resolve_addresses(
    cluster: &mut Cluster,
    facts: &BTreeMap<String, Vec<(String, IpAddr)>>,
) -> Result<()> {
    let mut problems = Problems::default();
    let nets = (cluster.public_network, cluster.cluster_network);
    for host in &mut cluster.hosts {
        let have = facts.get(&host.name).map(Vec::as_slice);
        resolve_host(host, nets, have, &mut problems);
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    Ok(())
}

/// `resolve_addresses` for one host only, from its interfaces and their
/// addresses; the other hosts are left as they are. Its problems name the
/// host and the setting.
pub fn resolve_host_addresses(
    cluster: &mut Cluster,
    name: &str,
    have: &[(String, IpAddr)],
) -> Result<()> {
    let mut problems = Problems::default();
    let nets = (cluster.public_network, cluster.cluster_network);
    if let Some(host) = cluster.hosts.iter_mut().find(|h| h.name == name) {
        resolve_host(host, nets, Some(have), &mut problems);
    }
    if problems.has_errors() {
        return Err(Error::Invalid { problems });
    }
    Ok(())
}

fn resolve_host(
    host: &mut Host,
    (public_net, cluster_net): (IpNet, Option<IpNet>),
    have: Option<&[(String, IpAddr)]>,
    problems: &mut Problems,
) {
    for (slot, net, what) in [
        (&mut host.address_from, Some(public_net), "public_network"),
        (&mut host.rgw_address_from, None, ""),
        (
            &mut host.cluster_address_from,
            cluster_net,
            "cluster_network",
        ),
    ] {
        let Some(src) = slot.as_mut() else { continue };
        if src.address().is_some() {
            continue;
        }
        match pick(&host.name, src, have, net.map(|n| (n, what))) {
            Ok(a) => src.from = AddressFrom::Given(a),
            Err(why) => problems.error(src.origin.clone(), why),
        }
    }
    if host.public_address.is_none() {
        host.public_address = host.address_from.as_ref().and_then(AddressSource::address);
    }
}

/// The address of one source in a host's facts.
fn pick(
    host: &str,
    src: &AddressSource,
    have: Option<&[(String, IpAddr)]>,
    net: Option<(IpNet, &str)>,
) -> std::result::Result<IpAddr, String> {
    let Some(have) = have else {
        return Err(format!(
            "no facts for host `{host}`: its address {} is unknown",
            src.describe()
        ));
    };
    let in_net = |a: &IpAddr| net.is_none_or(|(n, _)| n.contains(a));
    let listed = |list: Vec<String>| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    match &src.from {
        AddressFrom::Given(a) => Ok(*a),
        AddressFrom::Interface(i) => {
            let on: Vec<IpAddr> = have
                .iter()
                .filter(|(n, _)| n == i)
                .map(|(_, a)| *a)
                .collect();
            if on.is_empty() {
                let mut names: Vec<String> = have.iter().map(|(n, _)| n.clone()).collect();
                names.dedup();
                return Err(format!(
                    "host `{host}` has no interface `{i}` with an address (its interfaces: {})",
                    listed(names)
                ));
            }
            // IPv4 first, as Ansible's ansible_<if>.ipv4.address.
            let mut fit: Vec<IpAddr> = on.iter().copied().filter(|a| in_net(a)).collect();
            fit.sort_by_key(|a| a.is_ipv6());
            fit.first().copied().ok_or_else(|| {
                let (n, what) = net.unwrap_or((IpNet::default(), ""));
                format!(
                    "interface `{i}` of host `{host}` has no address in {what} {n} (it has: {})",
                    listed(on.iter().map(ToString::to_string).collect())
                )
            })
        }
        AddressFrom::Network(block) => have
            .iter()
            .map(|(_, a)| *a)
            .find(|a| block.contains(a) && in_net(a))
            .ok_or_else(|| {
                format!(
                    "host `{host}` has no address in {block} (it has: {})",
                    listed(have.iter().map(|(i, a)| format!("{a} on {i}")).collect())
                )
            }),
    }
}
