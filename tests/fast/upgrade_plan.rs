//! The upgrade plan, without hosts: each supported jump on a 3-host layout
//! checked against the documented sequence (text snapshot plus explicit
//! order asserts), the refused jumps with their messages, daemons already
//! on the target skipped, and the options.

use std::collections::BTreeSet;

use cephalo::model::ObjectStore;
use cephalo::release::Release::{self, *};
use cephalo::upgrade::{
    Daemon, DaemonType, Flag, Gate, Hold, HostLayout, Layout, Osd, PlanOptions, Refused, StepKind,
    UpgradePlan, parse_release, plan,
};

fn daemon(id: &str) -> Daemon {
    Daemon {
        id: id.into(),
        running: None,
    }
}

/// ceph1..ceph3, a mon on each, mgrs on ceph1 and ceph2 (none when
/// `mgrs` is false), two OSDs per host, an MDS on ceph1, an RGW on ceph3.
fn layout(store: ObjectStore, mgrs: bool) -> Layout {
    let hosts = (1..=3)
        .map(|i| {
            let name = format!("ceph{i}");
            HostLayout {
                mons: vec![daemon(&name)],
                mgrs: if mgrs && i <= 2 {
                    vec![daemon(&name)]
                } else {
                    vec![]
                },
                osds: (0..2)
                    .map(|k| Osd {
                        id: (i - 1) * 2 + k,
                        store,
                        running: None,
                    })
                    .collect(),
                mdss: if i == 1 { vec![daemon(&name)] } else { vec![] },
                rgws: if i == 3 { vec![daemon(&name)] } else { vec![] },
                name,
            }
        })
        .collect();
    Layout { hosts }
}

fn planned(from: Release, to: Release) -> UpgradePlan {
    plan(
        from,
        to,
        &layout(ObjectStore::Bluestore, from.has_mgr()),
        &PlanOptions::default(),
    )
    .expect("a plan")
}

fn at(p: &UpgradePlan, id: &str) -> usize {
    p.position(id)
        .unwrap_or_else(|| panic!("no step {id} in\n{}", p.to_text()))
}

/// The order every plan keeps (Ceph's upgrade notes): preflight, backup,
/// flags, mons one at a time, mgrs, OSDs host by host, MDS, RGW,
/// finalise with require-osd-release last before the flags are restored.
fn assert_documented_order(p: &UpgradePlan) {
    let ids: Vec<&str> = p.steps().map(|(_, s)| s.id.as_str()).collect();
    let first = |prefix: &str| {
        ids.iter()
            .position(|i| i.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} step"))
    };
    let last = |prefix: &str| {
        ids.iter()
            .rposition(|i| i.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} step"))
    };
    assert_eq!(ids[0], "preflight:health");
    assert!(at(p, "backup") < at(p, "flag-set:noout"));
    assert!(at(p, "flag-set:noout") < first("mon:"));
    assert_eq!(
        ids.iter().filter(|i| i.starts_with("mon:")).count(),
        3,
        "one step per mon"
    );
    assert!(last("mon:") < first("mgr"), "mons before mgrs");
    assert!(last("mgr") < first("osd-host:"), "mgrs before OSDs");
    assert_eq!(
        ids.iter().filter(|i| i.starts_with("osd-host:")).count(),
        3,
        "one step per OSD host"
    );
    assert!(last("osd-host:") < first("mds:"), "OSDs before MDS");
    assert!(last("mds:") < first("rgw:"), "MDS before RGW");
    let require = at(p, "require-osd-release");
    assert!(last("rgw:") < require);
    assert_eq!(
        ids[require + 1],
        "flag-restore:noout",
        "require-osd-release last before the flags are restored"
    );
    assert_eq!(ids.last(), Some(&"flag-restore:noout"));
    assert!(at(p, "check:client-features") < require);
    // Every step id is unique: the journal keys on it.
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn jewel_to_luminous() {
    let p = planned(Jewel, Luminous);
    assert_documented_order(&p);
    // sortbitwise before anything restarts, mgrs created after the mons
    // with client.admin's mgr caps first, mon feature ls before the OSDs.
    assert!(at(&p, "pre:sortbitwise") < at(&p, "flag-set:noout"));
    assert!(at(&p, "pre:sortbitwise") < at(&p, "mon:ceph1"));
    assert!(at(&p, "mon:ceph3") < at(&p, "mgr-caps"));
    assert!(at(&p, "mgr-caps") < at(&p, "mgr-create:ceph1"));
    assert!(at(&p, "mgr-create:ceph3") < at(&p, "mid:mon-feature"));
    assert!(at(&p, "mid:mon-feature") < at(&p, "osd-host:ceph1"));
    assert!(p.position("msgr2").is_none(), "no msgr2 before Nautilus");
    assert!(p.position("mid:min-mon-release").is_none());
    insta::assert_snapshot!("upgrade_plan_jewel_luminous", p.to_text());
}

#[test]
fn luminous_to_nautilus() {
    let p = planned(Luminous, Nautilus);
    assert_documented_order(&p);
    assert!(at(&p, "pre:osdmap-scrub-flags") < at(&p, "mon:ceph1"));
    assert!(at(&p, "mon:ceph3") < at(&p, "mid:min-mon-release"));
    assert!(at(&p, "mid:min-mon-release") < at(&p, "osd-host:ceph1"));
    assert!(at(&p, "msgr2") < at(&p, "require-osd-release"));
    assert!(at(&p, "conf-v2") < at(&p, "require-osd-release"));
    insta::assert_snapshot!("upgrade_plan_luminous_nautilus", p.to_text());
}

#[test]
fn nautilus_to_pacific() {
    let p = planned(Nautilus, Pacific);
    assert_documented_order(&p);
    assert!(at(&p, "mon:ceph3") < at(&p, "mid:min-mon-release"));
    assert!(at(&p, "mid:omap-quick-fix") < at(&p, "osd-host:ceph1"));
    assert!(at(&p, "mds:standby-replay-off") < at(&p, "mds:max-mds-1"));
    for w in [
        "warn:insecure-global-id-reclaim",
        "warn:per-pool-omap",
        "warn:pool-autoscale",
    ] {
        assert!(at(&p, w) < at(&p, "require-osd-release"), "{w}");
    }
    insta::assert_snapshot!("upgrade_plan_nautilus_pacific", p.to_text());
}

#[test]
fn pacific_to_reef() {
    let p = planned(Pacific, Reef);
    assert_documented_order(&p);
    // mons have ok-to-stop from Octopus, MDS too.
    let mon = p.steps().find(|(_, s)| s.id == "mon:ceph1").unwrap().1;
    assert!(matches!(
        mon.kind,
        StepKind::Restart {
            ok_to_stop: true,
            ..
        }
    ));
    assert!(
        p.position("mid:omap-quick-fix").is_none(),
        "converted on Pacific"
    );
    assert!(p.position("warn:pool-autoscale").is_none());
    insta::assert_snapshot!("upgrade_plan_pacific_reef", p.to_text());
}

#[test]
fn reef_to_tentacle() {
    let p = planned(Reef, Tentacle);
    assert_documented_order(&p);
    insta::assert_snapshot!("upgrade_plan_reef_tentacle", p.to_text());
}

#[test]
fn the_plan_serialises_to_json() {
    let p = planned(Nautilus, Pacific);
    let v: serde_json::Value = serde_json::from_str(&p.to_json()).expect("json");
    assert_eq!(v["from"], "nautilus");
    assert_eq!(v["to"], "pacific");
    let osds = &v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ph| ph["name"] == "osds")
        .unwrap()["steps"];
    assert_eq!(osds[0]["kind"]["do"], "hold");
    assert_eq!(osds[0]["kind"]["hold"]["setting"], "read-lease");
    let osd = &osds[2];
    assert_eq!(osd["id"], "osd-host:ceph1");
    assert_eq!(osd["kind"]["do"], "restart");
    assert_eq!(osd["kind"]["type"], "osd");
    assert_eq!(osd["kind"]["ids"], serde_json::json!(["0", "1"]));
    assert_eq!(osd["gate"]["gate"], "osds-up-pgs-clean");
    insta::assert_json_snapshot!("upgrade_plan_pacific_reef_json", planned(Pacific, Reef));
}

fn refused(from: Release, to: Release, l: &Layout) -> Refused {
    plan(from, to, l, &PlanOptions::default()).expect_err("refused")
}

#[test]
fn refused_jumps_say_the_way() {
    let l = layout(ObjectStore::Bluestore, true);
    assert_eq!(
        refused(Jewel, Mimic, &l).to_string(),
        "jewel -> mimic skips a release: upgrade to luminous first (the way: jewel -> luminous -> mimic)"
    );
    assert_eq!(
        refused(Luminous, Pacific, &l).to_string(),
        "luminous -> pacific skips a release: upgrade to nautilus first (the way: luminous -> nautilus -> pacific)"
    );
    assert_eq!(
        refused(Jewel, Reef, &l).to_string(),
        "jewel -> reef skips 3 releases: upgrade to luminous first (the way: jewel -> luminous -> nautilus -> pacific -> reef)"
    );
    assert_eq!(
        refused(Reef, Pacific, &l).to_string(),
        "reef -> pacific is a downgrade, which Ceph does not support (daemons have written on-disk formats reef cannot read): stay on reef"
    );
    assert_eq!(
        refused(Jewel, Kraken, &l).to_string(),
        "kraken is not a release to upgrade to from jewel: jewel upgrades to luminous"
    );
    let e = parse_release("firefly").expect_err("unknown");
    assert!(
        e.to_string()
            .starts_with("unknown Ceph release `firefly`: cephalo knows jewel, kraken,"),
        "{e}"
    );
    assert_eq!(parse_release("18"), Ok(Reef));
}

#[test]
fn filestore_osds_cannot_go_to_reef() {
    let l = layout(ObjectStore::Filestore, true);
    let e = refused(Pacific, Reef, &l);
    insta::assert_snapshot!("upgrade_plan_refused_filestore_reef", e.to_string());
    assert!(plan(Pacific, Quincy, &l, &PlanOptions::default()).is_ok());
}

#[test]
fn mixed_versions_that_do_not_fit_are_refused() {
    let mut l = layout(ObjectStore::Bluestore, true);
    l.hosts[1].osds[0].running = Some(Squid);
    assert_eq!(
        refused(Pacific, Reef, &l).to_string(),
        "osd.2 on ceph2 runs squid, newer than the target reef: a downgrade is not possible; plan the upgrade to squid instead"
    );
    let mut l = layout(ObjectStore::Bluestore, true);
    l.hosts[0].mons[0].running = Some(Octopus);
    assert_eq!(
        refused(Pacific, Reef, &l).to_string(),
        "mon.ceph1 on ceph1 runs octopus, older than the source pacific: finish the upgrade to pacific first (`cephalo upgrade --to pacific`)"
    );
}

#[test]
fn daemons_already_on_the_target_are_skipped() {
    let mut l = layout(ObjectStore::Bluestore, true);
    l.hosts[0].mons[0].running = Some(Reef);
    for o in &mut l.hosts[1].osds {
        o.running = Some(Reef);
    }
    l.hosts[0].osds[0].running = Some(Reef);
    let p = plan(Pacific, Reef, &l, &PlanOptions::default()).expect("plan");
    assert!(p.position("mon:ceph1").is_none());
    assert!(p.position("mon:ceph2").is_some());
    assert!(p.position("osd-host:ceph2").is_none());
    let ceph1 = p.steps().find(|(_, s)| s.id == "osd-host:ceph1").unwrap().1;
    assert!(
        matches!(&ceph1.kind, StepKind::Restart { ids, .. } if ids == &["1"]),
        "only osd.1 left on ceph1"
    );
    insta::assert_snapshot!("upgrade_plan_partly_done", p.to_text());

    // Everything on the target: nothing but the idempotent finalise.
    let mut l = layout(ObjectStore::Bluestore, true);
    for h in &mut l.hosts {
        h.mons
            .iter_mut()
            .chain(h.mgrs.iter_mut())
            .chain(h.mdss.iter_mut())
            .chain(h.rgws.iter_mut())
            .for_each(|d| d.running = Some(Reef));
        h.osds.iter_mut().for_each(|o| o.running = Some(Reef));
    }
    let p = plan(Pacific, Reef, &l, &PlanOptions::default()).expect("plan");
    assert!(
        p.steps()
            .all(|(_, s)| !matches!(s.kind, StepKind::Restart { .. } | StepKind::SetFlag { .. }))
    );
    assert!(p.position("require-osd-release").is_some());
    assert_eq!(p.skipped.len(), 3 + 2 + 6 + 1 + 1);

    // The same release: nothing at all.
    let p = plan(Reef, Reef, &l, &PlanOptions::default()).expect("plan");
    assert!(p.is_empty());
    assert!(
        p.to_text()
            .contains("nothing to do: every daemon runs reef")
    );
}

#[test]
fn options_limit_the_daemons_and_add_flags() {
    let l = layout(ObjectStore::Bluestore, true);
    let options = PlanOptions {
        daemon_types: Some([DaemonType::Mon, DaemonType::Mgr].into()),
        hosts: None,
        extra_flags: vec![Flag::NodeepScrub, Flag::Noscrub, Flag::Noout],
        ..PlanOptions::default()
    };
    let p = plan(Pacific, Reef, &l, &options).expect("plan");
    assert!(p.position("osd-host:ceph1").is_none());
    assert!(p.position("mds:max-mds-1").is_none());
    // OSDs, the MDS and the RGW stay on pacific: no finalise.
    assert!(p.position("require-osd-release").is_none());
    assert_eq!(p.left_out.len(), 6 + 1 + 1);
    let ids: Vec<&str> = p.steps().map(|(_, s)| s.id.as_str()).collect();
    assert_eq!(
        &ids[ids.len() - 3..],
        [
            "flag-restore:noscrub",
            "flag-restore:nodeep-scrub",
            "flag-restore:noout"
        ],
        "restored in reverse order, each once"
    );
    assert!(at(&p, "flag-set:noscrub") < at(&p, "mon:ceph1"));

    let options = PlanOptions {
        hosts: Some(["ceph2".to_string()].into()),
        convert_omap_on_mount: false,
        ..PlanOptions::default()
    };
    let p = plan(Nautilus, Pacific, &l, &options).expect("plan");
    let restarted: Vec<&str> = p
        .steps()
        .filter(|(_, s)| matches!(s.kind, StepKind::Restart { .. }))
        .map(|(_, s)| s.id.as_str())
        .collect();
    assert_eq!(restarted, ["mon:ceph2", "mgr:ceph2", "osd-host:ceph2"]);
    let quick_fix = p
        .steps()
        .find(|(_, s)| s.id == "mid:omap-quick-fix")
        .unwrap()
        .1;
    assert!(matches!(&quick_fix.kind, StepKind::SetConfig { value, .. } if value == "false"));
}

#[test]
fn the_osd_phase_holds_a_short_read_lease_and_each_hosts_primary_affinity_and_puts_them_back() {
    let l = layout(ObjectStore::Bluestore, true);
    let p = plan(Nautilus, Pacific, &l, &PlanOptions::default()).expect("plan");
    let ids: Vec<&str> = p.steps().map(|(_, s)| s.id.as_str()).collect();
    let osd_phase: Vec<&str> = ids
        .iter()
        .copied()
        .skip_while(|id| *id != "hold:read-lease")
        .take_while(|id| !id.starts_with("mds:"))
        .collect();
    assert_eq!(
        &osd_phase[..4],
        [
            "hold:read-lease",
            "hold:primary-affinity:ceph1",
            "osd-host:ceph1",
            "put-back:primary-affinity:ceph1"
        ]
    );
    assert_eq!(osd_phase.last(), Some(&"put-back:read-lease"));
    // Every hold is put back by the plan, after what it covers.
    for (_, s) in p.steps() {
        if let StepKind::Hold { hold } = &s.kind {
            assert!(at(&p, &hold.put_back_id()) > at(&p, &s.id), "{}", s.id);
        }
    }
    let lease = p
        .steps()
        .find(|(_, s)| s.id == "hold:read-lease")
        .unwrap()
        .1;
    assert!(
        matches!(&lease.kind, StepKind::Hold { hold: Hold::ReadLease { ratio } } if ratio == "0.2")
    );
    let affinity = p
        .steps()
        .find(|(_, s)| s.id == "hold:primary-affinity:ceph1")
        .unwrap()
        .1;
    assert!(matches!(&affinity.gate, Some(Gate::LeadNoPg { ids }) if !ids.is_empty()));

    // Jewel -> Luminous: no release with leases.
    let p = plan(
        Jewel,
        Luminous,
        &layout(ObjectStore::Filestore, true),
        &PlanOptions::default(),
    )
    .expect("plan");
    assert!(p.position("hold:read-lease").is_none());
    assert!(p.position("hold:primary-affinity:ceph1").is_some());

    // Turned off by the settings; nothing to hold without OSDs to restart.
    let off = PlanOptions {
        read_lease_ratio: None,
        primary_affinity: false,
        ..PlanOptions::default()
    };
    let mons_only = PlanOptions {
        daemon_types: Some([DaemonType::Mon].into()),
        ..PlanOptions::default()
    };
    for options in [off, mons_only] {
        let p = plan(Nautilus, Pacific, &l, &options).expect("plan");
        assert!(
            !p.steps()
                .any(|(_, s)| matches!(s.kind, StepKind::Hold { .. })),
            "{options:?}"
        );
    }
}

#[test]
fn jewel_with_mgr_hosts_creates_them() {
    let p = plan(
        Jewel,
        Luminous,
        &layout(ObjectStore::Filestore, true),
        &PlanOptions::default(),
    )
    .expect("plan");
    let created: Vec<&str> = p
        .steps()
        .filter(|(_, s)| matches!(s.kind, StepKind::CreateMgr { .. }))
        .map(|(_, s)| s.id.as_str())
        .collect();
    assert_eq!(created, ["mgr-create:ceph1", "mgr-create:ceph2"]);
    // A mgr created on a run that was then interrupted is on the target.
    let mut l = layout(ObjectStore::Filestore, true);
    l.hosts[0].mgrs[0].running = Some(Luminous);
    let p = plan(Jewel, Luminous, &l, &PlanOptions::default()).expect("plan");
    assert!(p.position("mgr-create:ceph1").is_none());
    assert!(p.position("mgr-create:ceph2").is_some());
}

#[test]
fn the_layout_comes_from_the_inventory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut inv = String::from("[playground]\n");
    for i in 1..=3 {
        inv += &format!("ceph{i} ansible_host=10.77.0.1{i} public_address=10.77.0.1{i}\n");
    }
    inv += "[mons]\nceph1\nceph2\nceph3\n[mgrs]\nceph1\nceph2\n[osds]\nceph1\nceph2\nceph3\n[mdss]\nceph3\n";
    std::fs::write(dir.path().join("inventory"), inv).unwrap();
    std::fs::write(
        dir.path().join("globals.yml"),
        "ceph_release: pacific\npublic_network: 10.77.0.0/24\nenable_ceph_mds: \"yes\"\n\
         ceph_osd_devices: [/dev/vdb]\n",
    )
    .unwrap();
    let passwords =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/good/passwords.yml");
    std::fs::copy(passwords, dir.path().join("passwords.yml")).unwrap();
    std::fs::set_permissions(
        dir.path().join("passwords.yml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let cluster = cephalo::model::load(&cephalo::model::Sources {
        inventory: dir.path().join("inventory"),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let osds = [("ceph1", 0), ("ceph2", 1), ("ceph3", 2)]
        .into_iter()
        .map(|(h, id)| (h.to_string(), vec![id]))
        .collect();
    let l = Layout::from_cluster(&cluster, &osds);
    let p = plan(Nautilus, Pacific, &l, &PlanOptions::default()).expect("plan");
    let restarted: Vec<&str> = p
        .steps()
        .filter(|(_, s)| matches!(s.kind, StepKind::Restart { .. }))
        .map(|(_, s)| s.id.as_str())
        .collect();
    assert_eq!(
        restarted,
        [
            "mon:ceph1",
            "mon:ceph2",
            "mon:ceph3",
            "mgr:ceph1",
            "mgr:ceph2",
            "osd-host:ceph1",
            "osd-host:ceph2",
            "osd-host:ceph3"
        ]
    );
    assert!(p.position("mds:upgrade-active").is_some());
    assert!(p.position("rgw:ceph1").is_none());
}
