//! Operating a deployed cluster on a real 4-host Pacific playground whose
//! hosts run the daemons with podman (the other end-to-end tests use
//! docker), with one client host:
//! - scale-out: an OSD host, then a mon, then an rgw added to the
//!   inventory join on the next deploy (`deploy --check`/`--diff` show it
//!   first) and nothing else restarts;
//! - `gatherkeys`: six keyrings equal to the cluster's, unchanged on a
//!   second run, a backup after a key rotation, the next mon when the first
//!   is down;
//! - `admin` to a host in no Ceph group: modes, owners, `ceph -s` there, a
//!   hand-edited conf refused;
//! - `tune`: the sysctl file and live values, the OSD disks' udev rule,
//!   debug 0/0, drift found and fixed, a TCMalloc change restarting only
//!   the OSDs;
//! - `--check` of deploy, reconfigure, tune, admin and gatherkeys exits 0
//!   when nothing would change and 8 when something would (cron's signal).
//!
//! No output or log holds a key.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use crate::support::{Playground, output_text as all};

/// `cephalo ARGS -i INVENTORY --log-dir LOGS`.
fn run(pg: &Playground, args: &[&str], seen: &mut Vec<String>) -> Output {
    let out = pg.cephalo(args);
    seen.push(all(&out));
    out
}

fn ok(pg: &Playground, args: &[&str], seen: &mut Vec<String>) -> String {
    let out = run(pg, args, seen);
    assert!(out.status.success(), "{args:?} failed:\n{}", all(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A `--check` that finds something to change: exit code 8, its stdout.
fn drift(pg: &Playground, args: &[&str], seen: &mut Vec<String>) -> String {
    let out = run(pg, args, seen);
    assert_eq!(out.status.code(), Some(8), "{args:?}:\n{}", all(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The key in a keyring text.
fn key_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("key = "))
        .unwrap_or_else(|| panic!("no key in {text:?}"))
        .trim()
        .to_string()
}

/// The cluster's key of an identity, read outside the run logs checked
/// for secrets.
fn cluster_key(pg: &Playground, entity: &str) -> String {
    key_of(&pg.peek(
        "ceph2",
        &format!("docker exec ceph_mon ceph auth get {entity} 2>/dev/null"),
    ))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn keyring_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".keyring"))
        .collect();
    v.sort();
    v
}

#[test]
fn keys_admin_and_tuning_on_a_deployed_cluster() {
    let pid = std::process::id();
    let pg = Playground::up(
        &format!("cephalo-ops-{pid}"),
        4,
        1,
        "pacific",
        "podman",
        &format!("10.81.{}.0/24", pid % 250),
    );
    let mut seen = Vec::new();
    scale_out(&pg, &mut seen);
    gatherkeys(&pg, &mut seen);
    admin(&pg, &mut seen);
    tune(&pg, &mut seen);

    // No output and no run log holds a key: not passwords.yml's, not the
    // rotated one.
    let passwords = std::fs::read_to_string(pg.dir.path().join("passwords.yml")).unwrap();
    let mut secrets: Vec<String> = passwords
        .lines()
        .filter(|l| l.contains("_key:"))
        .map(|l| {
            l.split_once(':')
                .unwrap()
                .1
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    secrets.push(cluster_key(&pg, "client.bootstrap-rgw"));
    assert!(secrets.len() >= 7, "{secrets:?}");
    for entry in std::fs::read_dir(pg.logs()).unwrap() {
        seen.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    for text in &seen {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a key leaked into:\n{text}");
        }
    }
}

/// Quorum names and the number of OSDs up, from `ceph -s`.
fn mons_and_osds(pg: &Playground) -> (Vec<String>, u64) {
    let s = pg.ceph_json("status");
    let quorum = s["quorum_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let osdmap = if s["osdmap"]["osdmap"].is_object() {
        &s["osdmap"]["osdmap"]
    } else {
        &s["osdmap"]
    };
    (quorum, osdmap["num_up_osds"].as_u64().unwrap())
}

fn scale_out(pg: &Playground, seen: &mut Vec<String>) {
    // First without ceph3's mon and without ceph4's OSD.
    let full = std::fs::read_to_string(pg.inventory()).unwrap();
    let mons = "[mons]\nceph1\nceph2\nceph3\n";
    let osds = "ceph3\nceph4\n\n[mdss]";
    assert!(full.contains(mons) && full.contains(osds), "{full}");
    let small = full
        .replace(mons, "[mons]\nceph1\nceph2\n")
        .replace(osds, "ceph3\n\n[mdss]");
    std::fs::write(pg.inventory(), &small).unwrap();
    seen.push(pg.deploy());
    assert_eq!(mons_and_osds(pg), (vec!["ceph1".into(), "ceph2".into()], 3));

    // ceph4 joins osds: --check shows its new OSD and changes nothing;
    // then the OSD is made, and nothing else restarts.
    let before = containers(pg);
    std::fs::write(pg.inventory(), small.replace("ceph3\n\n[mdss]", osds)).unwrap();
    let check = drift(pg, &["deploy", "--check"], seen);
    let changes: Vec<&str> = check
        .lines()
        .filter(|l| l.starts_with("ceph") && l.contains(" | ") && !l.contains("left alone"))
        .collect();
    assert_eq!(changes.len(), 3, "{check}");
    assert_eq!(
        changes[0],
        "ceph4 | /var/lib/ceph/bootstrap-osd/ceph.keyring: would be written (new)"
    );
    assert_eq!(
        changes[1],
        "ceph4 | /etc/udev/rules.d/90-ceph-osd-disks.rules: would be written"
    );
    assert!(
        changes[2].starts_with("ceph4 | /dev/loop")
            && changes[2]
                .ends_with("(KOLLA_CEPH_OSD_BOOTSTRAP_BS_CEPH4_1): would become a new OSD"),
        "{check}"
    );
    assert!(
        check.contains("\n3 change(s) would be made on 1 host(s)"),
        "{check}"
    );
    assert_eq!(containers(pg), before);
    seen.push(pg.deploy());
    assert_eq!(mons_and_osds(pg).1, 4);
    let after = containers(pg);
    let added: Vec<&String> = after.iter().filter(|c| !before.contains(c)).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("ceph4 ceph_osd_3 "), "{added:?}");
    assert_eq!(before.len() + 1, after.len(), "{before:?}\n{after:?}");

    // ceph3 joins mons: it joins the quorum from the cluster's monmap, and
    // no other daemon restarts (they follow the monmap, not mon host).
    std::fs::write(pg.inventory(), &full).unwrap();
    let check = drift(pg, &["deploy", "--check", "--diff"], seen);
    assert!(
        check.contains("ceph3 | ceph_mon: would be created"),
        "{check}"
    );
    for k in 1..=4 {
        assert!(
            check.contains(&format!(
                "ceph{k} | /etc/ceph/ceph.conf: would be written (its content differs)"
            )),
            "{check}"
        );
    }
    assert!(check.contains("ceph1 |   +mon_host = "), "{check}");
    assert!(check.contains("ceph1 |   -mon_host = "), "{check}");
    assert_eq!(containers(pg), after);
    seen.push(pg.deploy());
    assert_eq!(
        mons_and_osds(pg),
        (vec!["ceph1".into(), "ceph2".into(), "ceph3".into()], 4)
    );
    let grown = containers(pg);
    let added: Vec<&String> = grown.iter().filter(|c| !after.contains(c)).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("ceph3 ceph_mon "), "{added:?}");
    assert_eq!(after.len() + 1, grown.len());

    // rgw switched on for ceph4: its gateway answers S3 requests, and no
    // other daemon restarts.
    std::fs::write(pg.inventory(), format!("{full}\n[rgws]\nceph4\n")).unwrap();
    let globals = pg.dir.path().join("globals.yml");
    let text = std::fs::read_to_string(&globals).unwrap();
    std::fs::write(&globals, format!("{text}\nenable_ceph_rgw: yes\n")).unwrap();
    seen.push(pg.deploy());
    let with_rgw = containers(pg);
    let added: Vec<&String> = with_rgw.iter().filter(|c| !grown.contains(c)).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("ceph4 ceph_rgw "), "{added:?}");
    assert_eq!(grown.len() + 1, with_rgw.len());
    // Deployed: --check finds nothing to change (exit 0).
    let clean = ok(pg, &["deploy", "--check"], seen);
    assert!(
        clean.contains("\n0 change(s) would be made on 0 host(s)"),
        "{clean}"
    );
    ok(pg, &["reconfigure", "-C"], seen);
    let answer = pg.peek(
        "ceph4",
        r#"docker exec ceph_rgw python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:7480/').read().decode())""#,
    );
    assert!(answer.contains("ListAllMyBucketsResult"), "{answer}");
}

fn gatherkeys(pg: &Playground, seen: &mut Vec<String>) {
    let dest = pg.dir.path().join("keys");
    let dest_arg = dest.display().to_string();
    let first = ok(pg, &["gatherkeys", "--dest", &dest_arg], seen);
    assert!(first.contains("mon ceph1: in quorum"), "{first}");
    assert_eq!(mode(&dest), 0o700);
    let files = keyring_files(&dest);
    assert_eq!(
        files,
        [
            "ceph.bootstrap-mds.keyring",
            "ceph.bootstrap-mgr.keyring",
            "ceph.bootstrap-osd.keyring",
            "ceph.bootstrap-rgw.keyring",
            "ceph.client.admin.keyring",
            "ceph.mon.keyring",
        ]
    );
    for (file, entity) in [
        ("ceph.bootstrap-mds.keyring", "client.bootstrap-mds"),
        ("ceph.bootstrap-mgr.keyring", "client.bootstrap-mgr"),
        ("ceph.bootstrap-osd.keyring", "client.bootstrap-osd"),
        ("ceph.bootstrap-rgw.keyring", "client.bootstrap-rgw"),
        ("ceph.client.admin.keyring", "client.admin"),
        ("ceph.mon.keyring", "mon."),
    ] {
        let path = dest.join(file);
        assert_eq!(mode(&path), 0o600, "{file}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&format!("[{entity}]\n")), "{file}");
        assert_eq!(key_of(&text), cluster_key(pg, entity), "{file}");
    }

    // Again: every file unchanged, none rewritten.
    let mtimes: Vec<_> = files
        .iter()
        .map(|f| std::fs::metadata(dest.join(f)).unwrap().modified().unwrap())
        .collect();
    let again = ok(pg, &["gatherkeys", "--dest", &dest_arg], seen);
    assert!(again.contains(": 0 changed, 6 unchanged"), "{again}");
    let after: Vec<_> = files
        .iter()
        .map(|f| std::fs::metadata(dest.join(f)).unwrap().modified().unwrap())
        .collect();
    assert_eq!(mtimes, after);

    // client.bootstrap-rgw gets a new key in the cluster: the old file is
    // kept as a backup, the new key written, passwords.yml's named.
    let rgw = dest.join("ceph.bootstrap-rgw.keyring");
    let old_key = key_of(&std::fs::read_to_string(&rgw).unwrap());
    pg.peek(
        "ceph1",
        r#"docker exec ceph_mon sh -c 'k=$(ceph-authtool --gen-print-key); printf "[client.bootstrap-rgw]\n\tkey = %s\n\tcaps mon = \"allow profile bootstrap-rgw\"\n" "$k" > /tmp/r && ceph auth import -i /tmp/r 2>/dev/null && rm /tmp/r'"#,
    );
    let new_key = cluster_key(pg, "client.bootstrap-rgw");
    assert_ne!(new_key, old_key);
    let out = run(pg, &["gatherkeys", "--dest", &dest_arg], seen);
    assert!(out.status.success(), "{}", all(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("client.bootstrap-rgw")
                && l.contains("replaced (a different key")),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "client.bootstrap-rgw differs from `ceph_bootstrap_rgw_key` in passwords.yml"
        ),
        "{}",
        all(&out)
    );
    assert_eq!(key_of(&std::fs::read_to_string(&rgw).unwrap()), new_key);
    let backups: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("ceph.bootstrap-rgw.keyring-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = dest.join(&backups[0]);
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(key_of(&std::fs::read_to_string(&backup).unwrap()), old_key);

    // The first mon down: the next one is used, and the output says so.
    pg.peek("ceph1", "docker stop ceph_mon >/dev/null");
    let text = ok(pg, &["gatherkeys", "--dest", &dest_arg], seen);
    pg.peek("ceph1", "docker start ceph_mon >/dev/null");
    assert!(
        text.contains("mon ceph1: skipped: its ceph_mon container is not running"),
        "{text}"
    );
    assert!(text.contains("mon ceph2: in quorum"), "{text}");

    // --check changes nothing: exit 0 while every file is right, 8 when
    // one would be written.
    let clean = ok(pg, &["gatherkeys", "--check", "--dest", &dest_arg], seen);
    assert!(
        clean.contains(": 0 would be changed, 6 unchanged"),
        "{clean}"
    );
    std::fs::remove_file(dest.join("ceph.mon.keyring")).unwrap();
    let text = drift(pg, &["gatherkeys", "--check", "--dest", &dest_arg], seen);
    assert!(
        text.lines()
            .any(|l| l.starts_with("mon.") && l.contains("would be written")),
        "{text}"
    );
    assert!(!dest.join("ceph.mon.keyring").exists());
}

fn admin(pg: &Playground, seen: &mut Vec<String>) {
    // client1 leaves the clients group: a host in no Ceph group at all.
    let inventory = std::fs::read_to_string(pg.inventory()).unwrap();
    assert!(inventory.contains("\n[clients]\nclient1\n"), "{inventory}");
    std::fs::write(
        pg.inventory(),
        inventory.replace("\n[clients]\nclient1\n", "\n"),
    )
    .unwrap();
    pg.peek("client1", "rm -rf /etc/ceph");

    let text = ok(pg, &["admin", "client1"], seen);
    assert!(text.contains("client1 | ceph -s: works ("), "{text}");
    let modes = pg.peek(
        "client1",
        "stat -c '%a %U:%G %n' /etc/ceph /etc/ceph/ceph.conf /etc/ceph/ceph.client.admin.keyring",
    );
    assert_eq!(
        modes.trim(),
        "755 root:root /etc/ceph\n644 root:root /etc/ceph/ceph.conf\n600 root:root /etc/ceph/ceph.client.admin.keyring"
    );
    let conf = pg.peek("ceph1", "cat /etc/ceph/ceph.conf");
    assert!(conf.contains("fsid = "), "{conf}");

    let again = ok(pg, &["admin", "client1"], seen);
    assert!(again.contains("client1 : ok=2    changed=0"), "{again}");
    assert!(again.contains("/etc/ceph/ceph.conf: unchanged"), "{again}");
    ok(pg, &["admin", "--check", "client1"], seen);

    // A hand-edited conf is kept, its diff shown, replaced only when asked;
    // --check says a run would refuse (7), or with --overwrite-conf that it
    // would change the host (8).
    pg.peek("client1", "echo '# edited by hand' >> /etc/ceph/ceph.conf");
    let out = run(pg, &["admin", "-C", "client1"], seen);
    assert_eq!(out.status.code(), Some(7), "{}", all(&out));
    let text = drift(pg, &["admin", "-C", "--overwrite-conf", "client1"], seen);
    assert!(
        text.contains("/etc/ceph/ceph.conf: would be overwritten (--overwrite-conf)"),
        "{text}"
    );
    let out = run(pg, &["admin", "client1"], seen);
    assert_eq!(out.status.code(), Some(7), "{}", all(&out));
    assert!(
        all(&out).contains("/etc/ceph/ceph.conf differs"),
        "{}",
        all(&out)
    );
    let out = run(pg, &["admin", "--diff", "client1"], seen);
    assert_eq!(out.status.code(), Some(7), "{}", all(&out));
    assert!(all(&out).contains("\n-# edited by hand\n"), "{}", all(&out));
    assert!(
        pg.peek("client1", "cat /etc/ceph/ceph.conf")
            .contains("# edited by hand")
    );
    let text = ok(pg, &["admin", "--overwrite-conf", "client1"], seen);
    assert!(text.contains("overwritten (--overwrite-conf)"), "{text}");
    assert!(
        !pg.peek("client1", "cat /etc/ceph/ceph.conf")
            .contains("edited by hand")
    );
}

/// The disk a udev rule file is about: its `# loop3: ...` comment.
fn osd_disk(rules: &str) -> String {
    rules
        .lines()
        .find_map(|l| l.strip_prefix("# ").and_then(|l| l.split_once(": ")))
        .filter(|(d, _)| !d.contains(' '))
        .map(|(d, _)| d.to_string())
        .unwrap_or_else(|| panic!("no disk in {rules}"))
}

/// `HOST NAME ID` of every container on the Ceph hosts.
fn containers(pg: &Playground) -> Vec<String> {
    (1..=4)
        .flat_map(|k| {
            pg.peek(
                &format!("ceph{k}"),
                "docker ps --no-trunc --format '{{.Names}} {{.ID}}' | sort",
            )
            .lines()
            .map(|l| format!("ceph{k} {l}"))
            .collect::<Vec<_>>()
        })
        .collect()
}

fn tune(pg: &Playground, seen: &mut Vec<String>) {
    for k in 1..=4 {
        let host = format!("ceph{k}");
        // The sysctl file and the live values agree.
        let file = pg.peek(&host, "cat /etc/sysctl.d/90-ceph.conf");
        let settings: Vec<(&str, &str)> = file
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .collect();
        assert!(
            settings.iter().any(|(k, _)| *k == "net.ipv4.tcp_rmem"),
            "{file}"
        );
        for (key, want) in settings {
            let live = pg.peek(&host, &format!("sysctl -n {key}"));
            assert_eq!(
                live.split_whitespace().collect::<Vec<_>>().join(" "),
                want,
                "{host} {key}"
            );
        }
        // The udev rule names the OSD disk with its settings.
        let rules = pg.peek(&host, "cat /etc/udev/rules.d/90-ceph-osd-disks.rules");
        let disk = osd_disk(&rules);
        let label = pg.peek(
            &host,
            &format!("blkid -p -o value -s PART_ENTRY_NAME /dev/{disk}p1"),
        );
        assert!(label.starts_with("KOLLA_CEPH_DATA_BS_"), "{disk}: {label}");
        assert!(
            rules.contains(r#"ATTR{queue/nr_requests}="1024", ATTR{queue/read_ahead_kb}="2048""#),
            "{rules}"
        );
    }
    let debug = pg.peek(
        "ceph1",
        "docker exec ceph_mon ceph config show osd.0 debug_osd",
    );
    assert_eq!(debug.trim(), "0/0");

    // No drift after deploy; the queue values the kernel does not let be
    // written here (read-only /sys in the host containers) are reported.
    let clean = ok(pg, &["tune", "--check"], seen);
    assert!(
        clean.contains("\n0 drifted setting(s) on 0 host(s)"),
        "{clean}"
    );
    for k in 1..=4 {
        let host = format!("ceph{k}");
        let rules = pg.peek(&host, "cat /etc/udev/rules.d/90-ceph-osd-disks.rules");
        let disk = osd_disk(&rules);
        for (attr, want) in [("nr_requests", "1024"), ("read_ahead_kb", "2048")] {
            let live = pg.peek(&host, &format!("cat /sys/block/{disk}/queue/{attr}"));
            if live.trim() != want {
                let line = format!(
                    "{host} | {disk} {attr}: {} (wanted {want}): not writable here",
                    live.trim()
                );
                assert!(clean.contains(&line), "{line}\n{clean}");
            }
        }
    }

    // A manual change on one host is exactly the drift found, then fixed.
    pg.peek(
        "ceph2",
        "sysctl -q -w net.ipv4.tcp_rmem='4096 131072 6291456'",
    );
    let found = drift(pg, &["tune", "--check"], seen);
    let drifted: Vec<&str> = found.lines().filter(|l| l.ends_with("(drift)")).collect();
    assert_eq!(
        drifted,
        ["ceph2 | sysctl net.ipv4.tcp_rmem: 4096 131072 6291456 -> 4096 87380 33554432 (drift)"],
        "{found}"
    );
    assert!(
        found.contains("\n1 drifted setting(s) on 1 host(s)"),
        "{found}"
    );
    let fixed = ok(pg, &["tune"], seen);
    assert!(fixed.contains("(set)"), "{fixed}");
    let live = pg.peek("ceph2", "sysctl -n net.ipv4.tcp_rmem");
    assert_eq!(
        live.split_whitespace().collect::<Vec<_>>(),
        ["4096", "87380", "33554432"]
    );
    let again = ok(pg, &["tune"], seen);
    assert_eq!(again.matches("changed=0 ").count(), 4, "{again}");
    assert!(
        again.contains("\n0 setting(s) applied on 0 host(s)"),
        "{again}"
    );

    // A new TCMalloc size restarts the OSDs only, one at a time.
    let before = containers(pg);
    let bytes = "ceph_tcmalloc_max_total_thread_cache_bytes=268435456";
    let check = drift(pg, &["tune", "--check", "-e", bytes], seen);
    assert_eq!(check.matches("would be recreated").count(), 4, "{check}");
    ok(pg, &["tune", "-e", bytes], seen);
    let after = containers(pg);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.contains(" ceph_osd_") {
            assert_ne!(b, a, "the OSD was not restarted");
        } else {
            assert_eq!(b, a, "only OSDs restart");
        }
    }
    let env = pg.peek(
        "ceph1",
        "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $(docker ps -q --filter name=ceph_osd_)",
    );
    assert!(
        env.contains("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=268435456"),
        "{env}"
    );
}
