//! An IPv6 Ceph public network on the playground (`playground up --ipv6`):
//! the hosts keep IPv4 for SSH, and Ceph's public network is
//! fd00:A:B:C::/64. prechecks pass, deploy reaches HEALTH_OK, and the mons,
//! mgrs and OSDs are bound to their IPv6 addresses only (ms_bind_ipv6 on,
//! ms_bind_ipv4 off), as `ceph mon dump` and `ceph osd dump` show; a
//! client reads back what it wrote over IPv6.

use serde_json::Value;

use super::support::{Playground, output_text};

#[test]
fn an_ipv6_public_network_deploys_healthy_with_every_daemon_on_ipv6() {
    let pid = std::process::id();
    let name = format!("cephalo-v6-{pid}");
    let third = pid % 250;
    let pg = Playground::up_with(
        &name,
        3,
        0,
        "pacific",
        "docker",
        &format!("10.94.{third}.0/24"),
        &["--ipv6"],
    );
    let prefix = format!("fd00:a:5e:{third:x}::");
    let globals = std::fs::read_to_string(pg.dir.path().join("globals.yml")).unwrap();
    assert!(
        globals.contains(&format!("public_network: {prefix}/64")),
        "{globals}"
    );

    let out = pg.cephalo(&["prechecks"]);
    assert!(out.status.success(), "prechecks:\n{}", output_text(&out));
    let deployed = pg.deploy();
    assert!(deployed.contains("HEALTH_OK"), "{deployed}");

    // Every mon on its IPv6 address, v2 and v1.
    let mons = pg.ceph_json("mon dump");
    let addrs: Vec<String> = mons["mons"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["public_addrs"]["addrvec"].as_array().unwrap().clone())
        .map(|a| a["addr"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(addrs.len(), 6, "{mons}");
    for a in &addrs {
        assert!(a.starts_with(&format!("[{prefix}")), "{a}: {mons}");
    }
    // Every OSD's public address is IPv6, and no daemon listens on IPv4.
    let osds = pg.ceph_json("osd dump");
    let up: Vec<&Value> = osds["osds"].as_array().unwrap().iter().collect();
    assert_eq!(up.len(), 3, "{osds}");
    for o in up {
        assert_eq!(o["up"], 1, "{o}");
        let vec = o["public_addrs"]["addrvec"].as_array().unwrap();
        assert!(
            vec.iter().all(|a| a["addr"]
                .as_str()
                .unwrap()
                .starts_with(&format!("[{prefix}"))),
            "{o}"
        );
    }
    let mgr = pg.ceph_json("mgr dump");
    let active = mgr["active_addrs"]["addrvec"][0]["addr"]
        .as_str()
        .unwrap_or_default();
    assert!(active.starts_with(&format!("[{prefix}")), "{mgr}");
    let v4 = pg.on(
        "ceph1",
        "ss -Hltnp | grep -E 'ceph-(mon|osd|mgr)' | awk '{print $4}' | grep -v '^\\[' || true",
    );
    assert_eq!(v4.trim(), "", "daemons listening on IPv4");
    // A client writes and reads back over IPv6.
    let back = pg.on(
        "ceph1",
        "docker exec ceph_mon sh -c 'ceph osd pool create v6 8 >/dev/null 2>&1; echo over-ipv6 >/tmp/o; rados -p v6 put o /tmp/o && rados -p v6 get o -'",
    );
    assert_eq!(back.trim(), "over-ipv6");
}
