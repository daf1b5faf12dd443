//! The address families of the networks: Ceph binds its messengers to one
//! family (`ms_bind_ipv4`/`ms_bind_ipv6`), so public_network and
//! cluster_network must both be IPv4 or both IPv6. Reports problems only.

use ipnet::IpNet;

use crate::error::{Origin, Problems};

/// A cluster_network of the other family than public_network is an error
/// naming both keys.
pub(super) fn check_families(
    public: Option<&IpNet>,
    cluster: Option<&IpNet>,
    origin_of: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) {
    let family = |n: &IpNet| match n {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    };
    if let (Some(p), Some(c)) = (public, cluster)
        && family(p) != family(c)
    {
        problems.error(
            origin_of("cluster_network"),
            format!(
                "cluster_network {c} is {} but public_network {p} is {}: Ceph binds to one \
                 address family; use two {} networks (or no cluster_network)",
                family(c),
                family(p),
                family(p)
            ),
        );
    }
}
