//! The addresses of hosts whose public (rgw, cluster) address comes from an
//! interface or a network (kolla's `network_interface`, ceph-ansible's
//! `monitor_interface`, `monitor_address_block`): which hosts need them,
//! one `ip -o addr show` per host over the engine, in parallel, parsed
//! into (interface, address) pairs, and filled into the model with
//! `model::resolve_host_addresses`. Reads only; changes nothing on a host.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::{Action, Engine, HostOutcome, Node, OnFailure, Plan, Recap, Step, StepContext};
use crate::error::{Error, Problem, Problems};
use crate::model::{AddressSource, Cluster, Host, Role};
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked};

/// A host's interfaces and their addresses, in the order `ip` lists them.
pub type HostAddrs = Vec<(String, IpAddr)>;

/// The step's name, as progress and the run log show it.
pub const STEP: &str = "gather addresses";

/// Whether one of the host's addresses is still to be learned from facts.
pub fn needs_facts(h: &Host) -> bool {
    let open = |s: &Option<AddressSource>| s.as_ref().is_some_and(|s| s.address().is_none());
    (h.public_address.is_none() && open(&h.address_from))
        || open(&h.rgw_address_from)
        || open(&h.cluster_address_from)
}

/// The hosts whose addresses must be gathered before the `selected` hosts
/// are worked on: the selected daemon hosts that need facts, and every mon
/// that does (`mon_host` of every host's ceph.conf lists them all). A
/// client host's own address is used nowhere: it may be outside
/// public_network (routed), so it is not asked.
pub fn hosts_needing(cluster: &Cluster, selected: &[String]) -> Vec<String> {
    cluster
        .hosts
        .iter()
        .filter(|h| needs_facts(h) && h.roles.iter().any(|r| *r != Role::Client))
        .filter(|h| h.has(Role::Mon) || selected.contains(&h.name))
        .map(|h| h.name.clone())
        .collect()
}

/// The interfaces and addresses in `ip -o addr show` output (the lines
/// `2: eth0    inet 10.0.0.5/24 brd ... scope global eth0`).
pub fn parse(text: &str) -> HostAddrs {
    super::interfaces("", text)
        .into_iter()
        .flat_map(|i| {
            // `eth1@if7` is `eth1` (a veth's peer is not part of its name).
            let name = i.name.split('@').next().unwrap_or_default().to_string();
            i.networks()
                .map(move |n| (name.clone(), n.addr()))
                .collect::<Vec<_>>()
        })
        .collect()
}

type Gathered = Arc<Mutex<BTreeMap<String, HostAddrs>>>;

/// Runs `ip -o addr show` on one host (no root needed).
struct GatherAddrs {
    out: Gathered,
}

impl Action for GatherAddrs {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cmd = Command::new(["ip", "-o", "addr", "show"]).timeout(Duration::from_secs(60));
            match checked(t, ep, &cmd).await {
                Ok(out) => {
                    let addrs = parse(&out.stdout_text());
                    if let Ok(mut m) = self.out.lock() {
                        m.insert(ep.name.clone(), addrs);
                    }
                    HostOutcome::done(false)
                }
                Err(e) => HostOutcome::error("ip -o addr show", e),
            }
        })
    }
}

/// Gathers the interface addresses of `hosts` (all at once, bounded by the
/// engine's forks) through the engine's transport and reporter. The hosts
/// need not be among the engine's own: their endpoints come from the
/// model. Returns what was learned and the recap (unreachable hosts and
/// failed commands are in it).
pub async fn gather(
    cluster: &Cluster,
    engine: &Engine,
    hosts: &[String],
) -> (BTreeMap<String, HostAddrs>, Recap) {
    let sub = Engine {
        transport: engine.transport.clone(),
        hosts: cluster
            .hosts
            .iter()
            .filter(|h| hosts.contains(&h.name))
            .map(|h| (h.name.clone(), Endpoint::of(h)))
            .collect(),
        forks: engine.forks,
        reporter: engine.reporter.clone(),
    };
    let out: Gathered = Arc::default();
    let plan = Plan {
        name: STEP.into(),
        root: Node::Step(Step {
            name: STEP.into(),
            hosts: hosts.to_vec(),
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(GatherAddrs { out: out.clone() }),
        }),
    };
    let recap = sub.run(&plan).await;
    let got = std::mem::take(&mut *out.lock().unwrap_or_else(|p| p.into_inner()));
    (got, recap)
}

/// What learning addresses from the hosts' interfaces found: the gathering
/// (unreachable hosts and failed commands are in it) and, by host, why an
/// address could not be resolved (no such interface, no address in
/// public_network).
pub struct Learned {
    pub recap: Recap,
    pub unresolved: BTreeMap<String, Problems>,
}

/// One asked host's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its addresses, described with the setting each came from.
    Known(Vec<String>),
    /// Not reached, or `ip` failed: the transport's error.
    Unreached(String),
    /// Reached, but an address could not be resolved: the problems.
    Unresolved(Vec<Problem>),
}

impl Learned {
    /// Every asked host's outcome, in the order they were asked.
    pub fn verdicts(&self, cluster: &Cluster) -> Vec<(String, Verdict)> {
        self.recap
            .hosts
            .keys()
            .map(|host| {
                let v = if let Some(e) = failure_of(&self.recap, host) {
                    Verdict::Unreached(e.to_string())
                } else if let Some(p) = self.unresolved.get(host) {
                    Verdict::Unresolved(p.errors().cloned().collect())
                } else {
                    Verdict::Known(
                        cluster
                            .host(host)
                            .into_iter()
                            .flat_map(|h| {
                                [
                                    &h.address_from,
                                    &h.rgw_address_from,
                                    &h.cluster_address_from,
                                ]
                            })
                            .flatten()
                            .map(AddressSource::describe)
                            .collect(),
                    )
                };
                (host.clone(), v)
            })
            .collect()
    }
}

/// Gathers the interface addresses of the hosts that need them for the
/// `selected` hosts (`hosts_needing`) and fills them into the model. None
/// when no host needs facts (nothing is connected to).
pub async fn learn(cluster: &mut Cluster, selected: &[String], engine: &Engine) -> Option<Learned> {
    let hosts = hosts_needing(cluster, selected);
    if hosts.is_empty() {
        return None;
    }
    let (gathered, recap) = gather(cluster, engine, &hosts).await;
    let unresolved = fill_in(cluster, &gathered);
    Some(Learned { recap, unresolved })
}

/// Fills each gathered host's addresses into the model; the problems of
/// each host that could not be resolved (an interface missing, no address
/// on public_network), by host.
pub fn fill_in(
    cluster: &mut Cluster,
    gathered: &BTreeMap<String, HostAddrs>,
) -> BTreeMap<String, Problems> {
    let mut failed = BTreeMap::new();
    for (host, have) in gathered {
        if let Err(Error::Invalid { problems }) =
            crate::model::resolve_host_addresses(cluster, host, have)
        {
            failed.insert(host.clone(), problems);
        }
    }
    failed
}

/// The gathering error of a host, when the step did not reach it or its
/// command failed.
pub fn failure_of<'r>(recap: &'r Recap, host: &str) -> Option<&'r TransportError> {
    recap
        .results
        .iter()
        .find(|r| r.host == host && r.status.is_failure())
        .and_then(|r| r.error.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addr_output_becomes_interface_address_pairs() {
        let text = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
                    2: eth0    inet 10.88.3.11/24 brd 10.88.3.255 scope global eth0\\       valid_lft forever\n\
                    2: eth0    inet6 fe80::42:aff:fe58:30b/64 scope link \\       valid_lft forever\n\
                    3: eth1@if7    inet 192.168.17.11/24 scope global eth1\n\
                    garbage line\n";
        let got: Vec<(String, String)> = parse(text)
            .into_iter()
            .map(|(i, a)| (i, a.to_string()))
            .collect();
        let want: Vec<(String, String)> = [
            ("lo", "127.0.0.1"),
            ("eth0", "10.88.3.11"),
            ("eth0", "fe80::42:aff:fe58:30b"),
            ("eth1", "192.168.17.11"),
        ]
        .iter()
        .map(|(i, a)| (i.to_string(), a.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
