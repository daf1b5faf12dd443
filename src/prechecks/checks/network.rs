//! Host checks on the network: the configured interface, an address in
//! public_network (and cluster_network), and the mon ports of the other
//! mons reachable from a mon host.

use super::{CheckResult, HostCheck, HostView, Level};
use crate::facts::Interface;
use crate::model::Role;

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "network.interface",
        judges: "network_interface, when set, exists and is up",
        run: interface,
    },
    HostCheck {
        id: "network.public",
        judges: "public_address (or some address) of the host, on its interface, in public_network",
        run: public,
    },
    HostCheck {
        id: "network.cluster",
        judges: "an address in cluster_network, when it is set",
        run: cluster,
    },
    HostCheck {
        id: "network.mons",
        judges: "a mon host reaches TCP 3300 and 6789 of the other mons",
        run: mons,
    },
];

/// The interfaces the public address must be on: the one
/// network_interface names when it is set and exists, else all of them.
fn scope<'a>(v: &HostView<'a>) -> Vec<&'a Interface> {
    let wanted = &v.host.settings.network_interface;
    let f = v.facts;
    match f
        .interfaces
        .iter()
        .find(|i| !wanted.is_empty() && &i.name == wanted)
    {
        Some(i) => vec![i],
        None => f.interfaces.iter().collect(),
    }
}

fn interface(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
    let wanted = &v.host.settings.network_interface;
    if wanted.is_empty() {
        return Vec::new();
    }
    vec![match f.interfaces.iter().find(|i| &i.name == wanted) {
        None => v.result(
            "network.interface",
            Level::Fail,
            format!("no interface `{wanted}`"),
            format!(
                "set network_interface to one of: {}",
                f.interfaces
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(i) if !i.up => v.result(
            "network.interface",
            Level::Fail,
            format!("{wanted} is down"),
            format!("ip link set {wanted} up"),
        ),
        Some(i) => v.result(
            "network.interface",
            Level::Pass,
            format!("{wanted} up, {}", i.addresses.join(" ")),
            "",
        ),
    }]
}

fn public(v: &HostView) -> Vec<CheckResult> {
    let (cluster, host) = (v.cluster, v.host);
    let wanted = &host.settings.network_interface;
    let scope = scope(v);
    let in_public: Vec<String> = scope
        .iter()
        .flat_map(|i| i.networks())
        .filter(|n| cluster.public_network.contains(&n.addr()))
        .map(|n| n.addr().to_string())
        .collect();
    let on_iface = if wanted.is_empty() {
        String::new()
    } else {
        format!(" on {wanted}")
    };
    vec![match &host.public_address {
        Some(a) if scope.iter().any(|i| i.owns(*a)) && cluster.public_network.contains(a) => {
            v.result("network.public", Level::Pass, format!("{a}{on_iface}"), "")
        }
        Some(a) => v.result(
            "network.public",
            Level::Fail,
            format!("{a} is not an address of the host{on_iface} in public_network {}", cluster.public_network),
            "set public_address to an address the host has in public_network (and network_interface to its interface)",
        ),
        None if in_public.is_empty() => v.result(
            "network.public",
            Level::Fail,
            format!("no address in public_network {}{on_iface}", cluster.public_network),
            "give the host an address in public_network, or fix public_network / network_interface",
        ),
        None => v.result("network.public", Level::Pass, in_public.join(", "), ""),
    }]
}

fn cluster(v: &HostView) -> Vec<CheckResult> {
    let Some(net) = v.cluster.cluster_network else {
        return Vec::new();
    };
    let any = v
        .facts
        .interfaces
        .iter()
        .flat_map(|i| i.networks())
        .any(|n| net.contains(&n.addr()));
    vec![v.result(
        "network.cluster",
        if any { Level::Pass } else { Level::Fail },
        if any {
            format!("address in {net}")
        } else {
            format!("no address in cluster_network {net}")
        },
        "give the host an address in cluster_network, or leave cluster_network empty",
    )]
}

fn mons(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
    if !v.host.has(Role::Mon) || f.peers.is_empty() {
        return Vec::new();
    }
    let bad: Vec<String> = f
        .peers
        .iter()
        .filter_map(|(p, r)| r.as_ref().err().map(|e| format!("{p} ({e})")))
        .collect();
    vec![if bad.is_empty() {
        v.result(
            "network.mons",
            Level::Pass,
            format!("{} mon ports reachable", f.peers.len()),
            "",
        )
    } else {
        v.result(
            "network.mons",
            Level::Fail,
            format!("cannot reach {}", bad.join(", ")),
            "open TCP 3300 and 6789 between the mon hosts",
        )
    }]
}
