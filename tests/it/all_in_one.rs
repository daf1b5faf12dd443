//! The all-in-one example as an operator uses it, on a one-host Pacific
//! playground treated as that one machine: cephalo runs on the host itself
//! (`ansible_connection=local`), with inventory/all-in-one and
//! inventory/globals-all-in-one.yml copied there and only the two
//! addresses the example says to set edited (`public_address`,
//! `public_network`), and this test bed's constraints appended to the
//! globals as the playground states them (no privileged containers, no
//! kernel settings of the machine's own). The upstream image name the
//! example uses by default is given the playground's image, as a site
//! without registry access does from an archive. `genpwd`, then `prechecks` pass (nothing failed),
//! then `deploy` reaches HEALTH_OK with every role on the one host, the
//! daemons named `localhost`.

use std::process::Command;

use super::support::{Playground, repo};

/// `docker exec HOST sh -c SCRIPT` on the host machine: (status, output).
fn inside(container: &str, script: &str) -> (i32, String) {
    let out = Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_all_in_one_example_passes_its_prechecks_and_deploys_on_one_host() {
    let pid = std::process::id();
    let name = format!("cephalo-aio-{pid}");
    let subnet = format!("10.91.{}.0/24", pid % 250);
    let pg = Playground::up(&name, 1, 0, "pacific", "docker", &subnet);
    let host = format!("{name}-ceph1");
    // The host's address, as the playground's inventory has it.
    let inventory = std::fs::read_to_string(pg.inventory()).unwrap();
    let address = inventory
        .lines()
        .find(|l| l.starts_with("ceph1 "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("ansible_host="))
        })
        .unwrap_or_else(|| panic!("no ceph1 address in {inventory}"))
        .to_string();

    // The binary and the two example files, onto the host.
    for (from, to) in [
        (
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_cephalo")),
            "/usr/local/bin/cephalo",
        ),
        (repo().join("inventory/all-in-one"), "/root/all-in-one"),
    ] {
        let st = Command::new("docker")
            .arg("cp")
            .arg(&from)
            .arg(format!("{host}:{to}"))
            .status()
            .unwrap();
        assert!(st.success(), "docker cp {}", from.display());
    }
    // What this test bed needs of every cluster on it, as the playground's
    // own globals say it (no privileged containers; kernel settings of the
    // host container's own network namespace only, never the machine's):
    // appended to the example's globals.
    let (bed, overrides) = pg.test_bed();
    let example = std::fs::read_to_string(repo().join("inventory/globals-all-in-one.yml")).unwrap();
    // The bed's [global] options join the example's own.
    let head = "\nceph_conf_overrides:\n  global:\n";
    let at = example
        .find(head)
        .expect("the example has ceph_conf_overrides")
        + head.len();
    let mut globals = format!("{}{overrides}{}", &example[..at], &example[at..]);
    globals.push_str("\n# This test bed (tests/it/all_in_one.rs):\n");
    globals.push_str(&bed);
    let globals_file = pg.dir.path().join("globals-all-in-one.yml");
    std::fs::write(&globals_file, globals).unwrap();
    let st = Command::new("docker")
        .arg("cp")
        .arg(&globals_file)
        .arg(format!("{host}:/root/globals-all-in-one.yml"))
        .status()
        .unwrap();
    assert!(st.success());
    // The two values the example says to set, and nothing else.
    let (st, out) = inside(
        &host,
        &format!(
            "set -e; cd /root; \
             sed -i 's/public_address=10.10.10.10/public_address={address}/' all-in-one; \
             sed -i 's#^public_network: 10.10.10.0/24#public_network: {subnet}#' globals-all-in-one.yml; \
             grep -c 'public_address={address}' all-in-one; grep -c '^public_network: {subnet}' globals-all-in-one.yml; \
             docker tag cephalo/ceph:pacific quay.io/ceph/ceph:v16"
        ),
    );
    assert_eq!(st, 0, "{out}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["1", "1"], "{out}");

    let cephalo = |args: &str| {
        inside(
            &host,
            &format!(
                "cd /root && cephalo {args} -i all-in-one --globals globals-all-in-one.yml 2>&1"
            ),
        )
    };
    let (st, out) = cephalo("genpwd");
    assert_eq!(st, 0, "{out}");
    let (st, out) = cephalo("prechecks");
    assert_eq!(st, 0, "prechecks failed:\n{out}");
    assert!(out.contains("hostname.matches"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let (st, out) = cephalo("deploy");
    assert_eq!(st, 0, "deploy failed:\n{out}");
    assert!(out.contains("HEALTH_OK"), "{out}");

    // Every role on the one host, named `localhost`.
    let (st, s) = inside(&host, "docker exec ceph_mon ceph -s -f json");
    assert_eq!(st, 0, "{s}");
    let s: serde_json::Value =
        serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{e}: {s}"));
    assert_eq!(s["quorum_names"], serde_json::json!(["localhost"]), "{s}");
    assert_eq!(s["health"]["status"], "HEALTH_OK", "{s}");
    let osds = &s["osdmap"];
    let up = osds["num_up_osds"]
        .as_u64()
        .or(osds["osdmap"]["num_up_osds"].as_u64());
    assert!(up.is_some_and(|n| n >= 1), "{s}");
    let (_, names) = inside(&host, "docker ps --format '{{.Names}}' | sort");
    for c in ["ceph_mds", "ceph_mgr", "ceph_mon", "ceph_rgw"] {
        assert!(names.lines().any(|l| l == c), "{c} not running: {names}");
    }
    assert!(names.lines().any(|l| l.starts_with("ceph_osd_")), "{names}");
    drop(pg);
}
