//! The readers of `ceph ... -f json` on every release's real answers
//! (tests/fixtures/ceph/<release>/, captured from playground clusters at
//! HEALTH_OK: 3 mons, 2 mgrs, 3 OSDs, one MDS; a lone mon's `mon_status`
//! by capture-mon-status.sh). Every release's folder must be there.

use cephalo::ceph::{osd_in_dump, parse_mon_status, parse_version, quorum_names};
use cephalo::release::Release;
use serde_json::Value;

const RELEASES: [&str; 4] = ["nautilus", "pacific", "reef", "tentacle"];

fn fixture(release: &str, name: &str) -> Option<Value> {
    let path = format!(
        "{}/tests/fixtures/ceph/{release}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{release}/{name}: {e}")))
}

fn each_release(mut f: impl FnMut(&str, Release, &dyn Fn(&str) -> Value)) {
    // Every release cephalo serves has its real answers here: a missing
    // one fails (get panics), it is never skipped.
    for r in RELEASES {
        let get = |name: &str| fixture(r, name).unwrap_or_else(|| panic!("{r}: no {name}.json"));
        f(r, Release::parse(r).unwrap(), &get);
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut n: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m[key].as_str().map(str::to_string))
        .collect();
    n.sort();
    n
}

const MONS: [&str; 3] = ["ceph1", "ceph2", "ceph3"];

#[test]
fn quorum_from_quorum_status_and_status() {
    each_release(|r, _, get| {
        assert_eq!(quorum_names(&get("quorum-status")), MONS, "{r}");
        assert_eq!(quorum_names(&get("status")), MONS, "{r} status");
        assert_eq!(
            cephalo::prechecks::checks::live::quorum_names(&get("status")),
            MONS,
            "{r}"
        );
    });
}

#[test]
fn osds_up_in_osd_dump() {
    each_release(|r, _, get| {
        let dump = get("osd-dump");
        for id in ["0", "1", "2"] {
            let s = osd_in_dump(&dump, id);
            assert!(s.up && s.up_from > 0, "{r} osd.{id}: {s:?}");
        }
        assert!(!osd_in_dump(&dump, "3").up, "{r}");
    });
}

#[test]
fn versions_and_mon_metadata_name_the_release() {
    each_release(|r, release, get| {
        let versions = get("versions");
        for daemon in ["mon", "mgr", "osd", "mds", "overall"] {
            let counts = versions[daemon]
                .as_object()
                .unwrap_or_else(|| panic!("{r}: no {daemon} in versions"));
            for key in counts.keys() {
                let v = parse_version(key).unwrap_or_else(|| panic!("{r}: {key}"));
                assert_eq!(v.release(), Some(release), "{r}: {key}");
            }
        }
        let metadata = get("mon-metadata");
        assert_eq!(names(&metadata, "name"), MONS, "{r}");
        for m in metadata.as_array().unwrap() {
            let v = m["ceph_version"].as_str().and_then(parse_version);
            assert_eq!(v.and_then(|v| v.release()), Some(release), "{r}");
        }
    });
}

#[test]
fn mgr_dump_mon_dump_and_fs_dump_have_the_fields_deploy_reads() {
    each_release(|r, release, get| {
        // deploy::daemon: an mgr is registered when active or standby.
        let mgr = get("mgr-dump");
        assert_eq!(mgr["available"], true, "{r}");
        assert!(mgr["active_gid"].as_u64().is_some(), "{r}");
        let mut mgrs = names(&mgr["standbys"], "name");
        mgrs.push(mgr["active_name"].as_str().unwrap().to_string());
        mgrs.sort();
        assert_eq!(mgrs, ["ceph1", "ceph2"], "{r}");
        assert!(mgr["standbys"][0]["gid"].as_u64().is_some(), "{r}");
        // prechecks: the monmap's mon names; the upgrade: min_mon_release.
        let monmap = get("mon-dump");
        assert_eq!(names(&monmap["mons"], "name"), MONS, "{r}");
        assert_eq!(
            monmap["min_mon_release"].as_u64(),
            Some(u64::from(release.info().major)),
            "{r}"
        );
        // deploy::daemon: the MDS by name and gid among the ranks.
        let fs = get("fs-dump");
        let info = fs["filesystems"][0]["mdsmap"]["info"].as_object().unwrap();
        let mds: Vec<&Value> = info.values().collect();
        assert_eq!(mds.len(), 1, "{r}");
        assert_eq!(mds[0]["name"], "ceph3", "{r}");
        assert!(mds[0]["gid"].as_u64().is_some(), "{r}");
        assert_eq!(fs["filesystems"][0]["mdsmap"]["fs_name"], "cephfs", "{r}");
    });
}

#[test]
fn fs_status_is_no_json_on_nautilus_so_deploy_asks_fs_dump() {
    let table = std::fs::read_to_string(format!(
        "{}/tests/fixtures/ceph/nautilus/fs-status.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(serde_json::from_str::<Value>(&table).is_err());
    assert!(table.contains("cephfs - 0 clients"), "{table}");
    each_release(|r, _, get| {
        assert!(get("fs-dump")["filesystems"].is_array(), "{r}");
    });
}

#[test]
fn a_mons_own_status_tells_never_met_from_in_quorum() {
    // deploy::mon: a mon made by a stopped deploy, whose peers were never
    // made, is probing with the monmap of `monmaptool --create` (epoch 0);
    // a new mon then starts from the same list. A mon in quorum is joined
    // through `mon getmap`.
    each_release(|r, _, get| {
        let alone = parse_mon_status(&get("never-met")).unwrap();
        assert_eq!(alone.state, "probing", "{r}");
        assert!(!alone.in_quorum() && alone.never_formed(), "{r}: {alone:?}");
        let leader = parse_mon_status(&get("in-quorum")).unwrap();
        assert!(
            leader.in_quorum() && !leader.never_formed(),
            "{r}: {leader:?}"
        );
        assert_eq!(leader.monmap_epoch, 1, "{r}");
    });
}

#[test]
fn which_osds_lead_pgs_from_pgs_brief_and_primary_affinity_from_osd_dump() {
    use cephalo::upgrade::hold::{lead_no_pg, primary_affinity};
    each_release(|r, _, get| {
        let mut dump = get("osd-dump");
        let pgs = get("pgs-brief");
        for id in 0..3 {
            assert_eq!(primary_affinity(&dump, id).as_deref(), Some("1"), "{r}");
        }
        assert_eq!(primary_affinity(&dump, 7), None, "{r}");
        // Captured at HEALTH_OK with every affinity 1: each OSD leads PGs.
        let total = cephalo::ceph::pgs_brief(&pgs).unwrap().len();
        assert_eq!(cephalo::map::placement::pg_table(&pgs).len(), total, "{r}");
        assert!(total > 0, "{r}");
        assert_eq!(lead_no_pg(&dump, &pgs, &[]), Ok(()), "{r}");
        for id in 0..3u32 {
            let err = lead_no_pg(&dump, &pgs, &[id]).expect_err(r);
            assert!(err.contains(&format!("PGs led by osd.{id}")), "{r}: {err}");
            assert!(err.ends_with(", 0 not active"), "{r}: {err}");
        }
        // Every acting OSD at 0: Ceph must pick one of them; not waited for.
        for o in dump["osds"].as_array_mut().unwrap() {
            o["primary_affinity"] = serde_json::json!(0);
        }
        assert_eq!(lead_no_pg(&dump, &pgs, &[0, 1, 2]), Ok(()), "{r}");
    });
}
