//! Rendered files: ceph.conf per release and host (snapshots), override
//! precedence, keyrings, container specs per daemon, and `render --out`.

use cephalo::model::{Cluster, Role};
use cephalo::render::{self, Secrets};

use std::os::unix::fs::PermissionsExt;

use crate::support::{corpus, good_passwords, load, repo, scratch};

fn multinode(extra: &[&str]) -> Cluster {
    load(
        &repo().join("inventory/multinode"),
        &repo().join("inventory/globals.yml"),
        &good_passwords(),
        extra,
    )
    .unwrap()
}

fn conf(c: &Cluster, host: &str) -> String {
    render::ceph_conf(c, c.host(host).unwrap()).unwrap()
}

#[test]
fn ceph_conf_multinode_pacific_has_v2_and_v1_addresses() {
    let c = multinode(&[]);
    insta::assert_snapshot!("multinode_pacific_control01", conf(&c, "control01"));
    assert!(
        conf(&c, "control01").contains("mon_host = [v2:10.10.10.11:3300,v1:10.10.10.11:6789],")
    );
}

#[test]
fn ceph_conf_multinode_jewel_has_v1_addresses_only() {
    let c = multinode(&[
        "ceph_release=jewel",
        "ceph_image_tag=jewel",
        "ceph_osd_store_type=filestore",
    ]);
    let text = conf(&c, "storage01");
    insta::assert_snapshot!("multinode_jewel_storage01", text);
    assert!(text.contains("mon_host = 10.10.10.11:6789,10.10.10.12:6789,10.10.10.13:6789\n"));
    assert!(
        !text.contains("osd_memory_target"),
        "jewel has no osd_memory_target"
    );
}

#[test]
fn ceph_conf_all_in_one() {
    let c = load(
        &repo().join("inventory/all-in-one"),
        &repo().join("inventory/globals.yml"),
        &good_passwords(),
        &[
            "osd_pool_default_size=1",
            "osd_pool_default_min_size=1",
            "ceph_debug_off=no",
        ],
    )
    .unwrap();
    let text = conf(&c, "localhost");
    insta::assert_snapshot!("all_in_one_pacific", text);
    assert!(!text.contains("debug_ms"), "debug block off");
}

#[test]
fn overrides_merge_kolla_style_later_wins_per_key() {
    let dir = scratch(&[
        (
            "inv",
            "[mons]\nm1 ansible_host=10.0.0.1\nm2 ansible_host=10.0.0.2\nm3 ansible_host=10.0.0.3\n",
        ),
        (
            "globals.yml",
            "public_network: 10.0.0.0/24\nosd_memory_target: 1000\nceph_conf_overrides:\n  global:\n    mon data avail warn: 5\n    mon_max_pg_per_osd: 100\n  osd:\n    osd memory target: 2000\n",
        ),
        (
            "config/ceph.conf",
            "[global]\nmon-max-pg-per-osd = 200\n[client]\nrbd_cache = false\n",
        ),
        (
            "config/m2/ceph.conf",
            "[osd]\nosd_memory_target = 3000\n[global]\nmon_max_pg_per_osd = 300 ; m2 only\n",
        ),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap();
    let parse = |host: &str| {
        let mut p = cephalo::error::Problems::default();
        let conf = render::CephConf::parse(std::path::Path::new("x"), &conf(&c, host), &mut p);
        assert!(p.is_empty());
        conf
    };
    let m1 = parse("m1");
    let m2 = parse("m2");
    // ceph_conf_overrides over the template, in its own section.
    assert_eq!(m1.get("global", "mon_data_avail_warn"), Some("5"));
    assert_eq!(m1.get("osd", "osd_memory_target"), Some("2000"));
    // config/ceph.conf over ceph_conf_overrides; spellings are one key.
    assert_eq!(m1.get("global", "mon_max_pg_per_osd"), Some("200"));
    assert_eq!(m1.get("client", "rbd_cache"), Some("false"));
    // config/<host>/ceph.conf over both, for that host only.
    assert_eq!(m2.get("osd", "osd_memory_target"), Some("3000"));
    assert_eq!(m2.get("global", "mon_max_pg_per_osd"), Some("300"));
    // One line per option: the replaced spelling is gone.
    let text = conf(&c, "m1");
    assert_eq!(
        text.matches("max_pg_per_osd").count() + text.matches("max-pg-per-osd").count(),
        1,
        "{text}"
    );
}

#[test]
fn keyrings_by_role_and_redaction() {
    let c = multinode(&[]);
    let mon = c.host("control01").unwrap();
    let files = render::keyrings(&c, mon, Secrets::Include).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/ceph/ceph.client.admin.keyring",
            "/var/lib/ceph/tmp/ceph.mon.keyring",
            "/var/lib/ceph/bootstrap-rgw/ceph.keyring",
            "/var/lib/ceph/bootstrap-mgr/ceph.keyring"
        ]
    );
    assert!(files.iter().all(|f| f.mode == 0o600 && f.secret));
    let admin = c.secrets["client.admin"].expose();
    assert!(files[0].content.contains(&format!("\tkey = {admin}\n")));
    assert!(files[0].content.contains("\tcaps mgr = \"allow *\"\n"));
    let redacted = render::keyrings(&c, mon, Secrets::Redact).unwrap();
    for f in &redacted {
        for secret in c.secrets.values() {
            assert!(
                !f.content.contains(secret.expose()),
                "{} leaks a key",
                f.path
            );
        }
        assert!(f.content.contains("key = <redacted>"));
    }
    let osd = c.host("storage01").unwrap();
    let files = render::keyrings(&c, osd, Secrets::Redact).unwrap();
    insta::assert_snapshot!(
        "storage01_keyrings",
        files
            .iter()
            .map(|f| format!("# {}\n{}", f.path, f.content))
            .collect::<String>()
    );
    // Jewel: no mgr caps, no bootstrap-mgr keyring.
    let j = multinode(&["ceph_release=jewel", "ceph_image_tag=jewel"]);
    let files = render::keyrings(&j, j.host("control01").unwrap(), Secrets::Redact).unwrap();
    assert!(!files[0].content.contains("mgr"));
    assert!(!files.iter().any(|f| f.path.contains("bootstrap-mgr")));
}

#[test]
fn container_specs_per_daemon() {
    let c = multinode(&[]);
    let control = c.host("control01").unwrap();
    let mon = render::container_spec(&c, control, Role::Mon, "control01").unwrap();
    assert_eq!(mon.name, "ceph_mon");
    assert_eq!(mon.image, "quay.io/ceph/ceph:v16");
    assert_eq!(mon.network, "host");
    assert_eq!(
        mon.command,
        [
            "ceph-mon",
            "-f",
            "--cluster",
            "ceph",
            "-i",
            "control01",
            "--setuser",
            "ceph",
            "--setgroup",
            "ceph"
        ]
    );
    assert!(!mon.privileges.privileged);
    let rgw = render::container_spec(&c, control, Role::Rgw, "control01").unwrap();
    assert!(rgw.command.contains(&"client.rgw.control01".to_string()));
    let storage = c.host("storage01").unwrap();
    let osd = render::container_spec(&c, storage, Role::Osd, "7").unwrap();
    assert_eq!(osd.name, "ceph_osd_7");
    assert_eq!(
        osd.environment["TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES"],
        "134217728"
    );
    assert!(osd.volumes.contains(&"/dev:/dev".to_string()));
    assert!(
        osd.privileges.privileged,
        "real clusters run OSDs privileged"
    );
    insta::assert_json_snapshot!("osd_container_spec", osd);
    let mds = render::container_spec(&c, storage, Role::Mds, "storage01").unwrap();
    assert_eq!(mds.name, "ceph_mds");
    let mgr = render::container_spec(&c, control, Role::Mgr, "control01").unwrap();
    assert_eq!(mgr.name, "ceph_mgr");

    // Where privileged containers are impossible, the capability set of the
    // test bed is given instead; tcmalloc follows its setting.
    let dir = scratch(&[
        ("inv", "[mons]\nm1 ansible_host=10.0.0.1\n\n[osds]\nm1\n"),
        (
            "globals.yml",
            "public_network: 10.0.0.0/24\nceph_tcmalloc_max_total_thread_cache_bytes: 268435456\nceph_osd_container_privileges:\n  privileged: no\n  cap_add: [ALL]\n  cap_drop: [SYS_RESOURCE]\n  security_opt: [seccomp=unconfined]\n  device_cgroup_rules: ['b *:* rwm']\n  init: yes\n",
        ),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap();
    let osd = render::container_spec(&c, &c.hosts[0], Role::Osd, "0").unwrap();
    assert!(!osd.privileges.privileged);
    assert_eq!(osd.privileges.cap_drop, ["SYS_RESOURCE"]);
    assert_eq!(osd.privileges.device_cgroup_rules, ["b *:* rwm"]);
    assert!(osd.privileges.init);
    assert_eq!(
        osd.environment["TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES"],
        "268435456"
    );
}

#[test]
fn render_host_lists_every_file_of_a_host() {
    let c = multinode(&[]);
    let r = render::render_host(&c, c.host("storage02").unwrap(), Secrets::Redact).unwrap();
    let files: Vec<(&str, u32)> = r.files.iter().map(|f| (f.path.as_str(), f.mode)).collect();
    assert_eq!(
        files,
        [
            ("/etc/ceph/ceph.conf", 0o644),
            ("/var/lib/ceph/bootstrap-osd/ceph.keyring", 0o600),
            ("/var/lib/ceph/bootstrap-mds/ceph.keyring", 0o600)
        ]
    );
    let names: Vec<&str> = r.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ceph_osd_ID", "ceph_mds"]);
    let _ = corpus("good");
}

/// An IPv6 public network binds the messengers to IPv6 only and writes the
/// mons' addresses in brackets; an IPv4 one writes no ms_bind line; a v4/v6
/// mix of the two networks is refused naming cluster_network.
#[test]
fn ipv6_networks_bind_ipv6_and_a_mix_is_refused() {
    let inv = "[mons]\nm1 ansible_host=fd00:10::11\n[osds]\nm1\n";
    let dir = scratch(&[
        ("inv", inv),
        (
            "globals.yml",
            "public_network: fd00:10::/64\ncluster_network: fd00:20::/64\n",
        ),
    ]);
    let c = load(
        &dir.path().join("inv"),
        &dir.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap();
    let text = conf(&c, "m1");
    assert!(text.contains("ms_bind_ipv6 = true\n"), "{text}");
    assert!(text.contains("ms_bind_ipv4 = false\n"), "{text}");
    assert!(
        text.contains("mon_host = [v2:[fd00:10::11]:3300,v1:[fd00:10::11]:6789]\n"),
        "{text}"
    );

    let v4 = multinode(&[]);
    assert!(!conf(&v4, "control01").contains("ms_bind"));

    let mixed = scratch(&[
        ("inv", inv),
        (
            "globals.yml",
            "public_network: fd00:10::/64\ncluster_network: 10.10.20.0/24\n",
        ),
    ]);
    let e = load(
        &mixed.path().join("inv"),
        &mixed.path().join("globals.yml"),
        &good_passwords(),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("globals.yml:2 (key `cluster_network`): cluster_network 10.10.20.0/24 is IPv4 but public_network fd00:10::/64 is IPv6"),
        "{e}"
    );
}

/// `render --out` again after a host left the inventory removes that
/// host's folder, and only what cephalo wrote: a file of the operator's is
/// kept (and so its folder), a folder cephalo never wrote is not touched,
/// and a host left out by --limit keeps its folder.
#[test]
fn render_out_removes_what_it_wrote_for_hosts_no_longer_in_the_inventory() {
    let three = "[mons]\nm1 ansible_host=10.0.0.1\nm2 ansible_host=10.0.0.2\nm3 ansible_host=10.0.0.3\n[osds]\nm1\nm2\nm3\n";
    let dir = scratch(&[
        ("inv", three),
        (
            "globals.yml",
            "public_network: 10.0.0.0/24\nosd_pool_default_size: 1\nosd_pool_default_min_size: 1\n",
        ),
    ]);
    std::fs::copy(good_passwords(), dir.path().join("passwords.yml")).unwrap();
    crate::support::private_if_secrets(&dir.path().join("passwords.yml"));
    let out = dir.path().join("out");
    let render = |limit: Option<&str>| {
        let mut c = assert_cmd::Command::cargo_bin("cephalo").unwrap();
        c.args(["render", "-i"])
            .arg(dir.path().join("inv"))
            .arg("--out")
            .arg(&out);
        if let Some(l) = limit {
            c.args(["--limit", l]);
        }
        let a = c.assert().success();
        String::from_utf8_lossy(&a.get_output().stdout).to_string()
    };
    render(None);
    for h in ["m1", "m2", "m3"] {
        assert!(out.join(h).join("etc/ceph/ceph.conf").is_file(), "{h}");
    }
    std::fs::write(out.join("m3/my-notes.txt"), "mine").unwrap();
    std::fs::create_dir_all(out.join("not-a-host")).unwrap();
    std::fs::write(out.join("not-a-host/file"), "mine").unwrap();

    // m2 and m3 leave the inventory; m1 alone is rendered.
    std::fs::write(
        dir.path().join("inv"),
        "[mons]\nm1 ansible_host=10.0.0.1\n[osds]\nm1\n",
    )
    .unwrap();
    let said = render(None);
    assert!(
        said.contains(&format!(
            "removed {}: m2 is no longer in the inventory",
            out.join("m2").display()
        )),
        "{said}"
    );
    assert!(!out.join("m2").exists());
    assert!(!out.join("m3/etc").exists() && !out.join("m3/containers").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("m3/my-notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("not-a-host/file")).unwrap(),
        "mine"
    );
    assert!(out.join("m1/etc/ceph/ceph.conf").is_file());

    // A host left out by --limit is still in the inventory: kept.
    std::fs::write(dir.path().join("inv"), three).unwrap();
    render(None);
    render(Some("m1"));
    assert!(out.join("m2/etc/ceph/ceph.conf").is_file());

    // A folder of someone else's (not empty, no earlier render in it) is
    // refused before anything is written or its mode changed.
    let theirs = dir.path().join("theirs");
    std::fs::create_dir_all(theirs.join("photos")).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let refused = assert_cmd::Command::cargo_bin("cephalo")
        .unwrap()
        .args(["render", "-i"])
        .arg(dir.path().join("inv"))
        .arg("--out")
        .arg(&theirs)
        .assert()
        .code(2);
    let e = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        e.contains(&format!(
            "error: {}: this folder holds files that no earlier `cephalo render` wrote; give --out a new or empty folder",
            theirs.display()
        )),
        "{e}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&theirs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["notes.txt", "photos"]);
    assert_eq!(
        std::fs::metadata(&theirs).unwrap().permissions().mode() & 0o777,
        0o755
    );
    // An empty folder is taken.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    assert_cmd::Command::cargo_bin("cephalo")
        .unwrap()
        .args(["render", "-i"])
        .arg(dir.path().join("inv"))
        .arg("--out")
        .arg(dir.path().join("empty"))
        .assert()
        .success();
}
