//! The `ceph` commands the fake cluster answers, in the JSON shape of the
//! release its mons run: the maps and health cephalo reads, the flags and
//! settings it changes, keys, file systems and the checks it asks first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::ceph::{Daemon, FakeCeph, version_string};
use super::{fail, out};
use crate::release::Release;
use crate::transport::Output;

/// A new key of `kind`, as the mons make them.
fn new_key(kind: crate::release::SecretKind) -> String {
    crate::cephx::Secret::generate(kind)
        .map(|s| s.expose().to_string())
        .unwrap_or_default()
}

impl FakeCeph {
    /// The answer to `ceph ARGS` (without `--cluster` and the like).
    pub fn answer(&mut self, args: &[String]) -> Output {
        // A pending key is committed by its first use: the fake's next
        // command, whoever sends it.
        let committed: Vec<(String, String)> =
            std::mem::take(&mut self.pending).into_iter().collect();
        if !args.iter().any(|a| a == "get-or-create-pending") {
            self.auth.extend(committed);
        } else {
            self.pending.extend(committed);
        }
        let json_out = args.windows(2).any(|w| w[0] == "-f" && w[1] == "json");
        let words: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .take_while(|a| *a != "-f")
            .collect();
        let release = self.release();
        if self.quorum().is_empty() {
            return fail(
                1,
                "[errno 110] RADOS timed out (error connecting to the cluster)",
            );
        }
        let j = |v: Value| out(0, v.to_string());
        match words.as_slice() {
            ["status"] | ["-s"] => {
                let (status, _) = self.health();
                if !json_out {
                    self.settle();
                    return out(0, format!("  cluster:\n    health: {status}\n"));
                }
                let answer = j(json!({
                    "fsid": self.fsid,
                    "health": self.health_json(),
                    "quorum_names": self.quorum(),
                    "osdmap": self.osdmap(),
                    "pgmap": {
                        "pgs_by_state": self.pg_states().iter()
                            .map(|(s, c)| json!({"state_name": s, "count": c})).collect::<Vec<_>>(),
                        "num_pgs": self.pgs,
                    },
                }));
                // Recovery goes on between polls.
                self.settle();
                answer
            }
            ["health"] | ["health", "detail"] => j(self.health_json()),
            ["fsid"] => out(0, format!("{}\n", self.fsid)),
            ["quorum_status"] => j(json!({
                "quorum_names": self.quorum(),
                "quorum_leader_name": self.quorum().first(),
                "monmap": {"mons": self.mons.keys().map(|n| json!({"name": n})).collect::<Vec<_>>()},
            })),
            ["mon", "dump"] => {
                let mut v = json!({
                    "epoch": self.epoch,
                    "fsid": self.fsid,
                    "mons": self.mons.keys().enumerate()
                        .map(|(i, n)| {
                            let mut addrs = vec![json!({"type": "v1", "addr": "10.0.0.1:6789"})];
                            if self.msgr2 && release >= Release::Nautilus {
                                addrs.insert(0, json!({"type": "v2", "addr": "10.0.0.1:3300"}));
                            }
                            json!({"rank": i, "name": n, "public_addrs": {"addrvec": addrs}})
                        }).collect::<Vec<_>>(),
                });
                if release >= Release::Nautilus {
                    let min = self.min_mon_release.unwrap_or(release);
                    v["min_mon_release"] = json!(min.major());
                    v["min_mon_release_name"] = json!(min.name());
                }
                if release.warns_insecure_key_types() {
                    // As 20.2.4 prints them (tests/fixtures/ceph/tentacle).
                    let cipher = |n: &str| json!({"name": n, "value": if n == "aes256k" { 2 } else { 1 }});
                    v["auth_service_cipher"] = cipher(&self.ciphers.0);
                    v["auth_allowed_ciphers"] = json!(self.ciphers.1.iter().map(|c| cipher(c)).collect::<Vec<_>>());
                    v["auth_preferred_cipher"] = cipher(&self.ciphers.2);
                    v["features"] = json!({"persistent": ["luminous", "mimic", "nautilus", "octopus", "pacific", "quincy", "reef", "squid", release.name(), "cephx_auth_aes256k"], "optional": []});
                }
                j(v)
            }
            ["mon", "metadata", id] => match self.mons.get(*id) {
                Some(Daemon {
                    running: Some(r), ..
                }) => j(json!({"name": id, "ceph_version": version_string(*r)})),
                _ => fail(
                    2,
                    format!("Error ENOENT: mon {id} not found or not running"),
                ),
            },
            ["versions"] if release < Release::Luminous => {
                fail(22, "no valid command found; 10 closest matches: ...\nError EINVAL: invalid command")
            }
            ["versions"] => j(self.versions()),
            ["osd", "dump"] => {
                let mut v = json!({
                    "epoch": self.epoch,
                    "fsid": self.fsid,
                    "flags": self.flags_text(),
                    "osds": self.osds.iter().map(|(id, d)| json!({
                        "osd": id,
                        "up": u8::from(d.running.is_some()),
                        "in": 1,
                        "up_from": d.up_from,
                        "primary_affinity": self.affinity(*id),
                        "uuid": self.osd_uuids.get(id).cloned().unwrap_or_else(|| format!("00000000-0000-4000-8000-{id:012}")),
                    })).collect::<Vec<_>>(),
                    "pools": self.pools.iter().map(|p| json!({
                        "pool": self.pool_id(p),
                        "pool_name": p,
                        "pg_num": super::rbd::POOL_PGS,
                        "object_hash": 2,
                        "application_metadata": self.applications.get(p).into_iter().flatten()
                            .map(|a| (a.clone(), json!({}))).collect::<serde_json::Map<_, _>>(),
                    })).collect::<Vec<_>>(),
                });
                if release >= Release::Octopus {
                    v["flags_set"] = json!(self.flags.iter().collect::<Vec<_>>());
                }
                if let Some(r) = self.require_osd_release {
                    v["require_osd_release"] = json!(r.name());
                }
                j(v)
            }
            ["pg", "stat"] => {
                let by_state: Vec<Value> = self
                    .pg_states()
                    .iter()
                    .map(|(s, c)| json!({"name": s, "num": c}))
                    .collect();
                let summary = json!({"num_pg_by_state": by_state, "num_pgs": self.pgs});
                self.settle();
                if release >= Release::Octopus {
                    j(json!({"pg_ready": true, "pg_summary": summary}))
                } else {
                    j(summary)
                }
            }
            ["pg", "dump", "pgs_brief"] => j(self.pgs_brief()),
            ["osd", "pool", "application", "enable", pool, app, ..] => {
                let apps = self.applications.entry(pool.to_string()).or_default();
                if !apps.iter().any(|a| a == app) {
                    apps.push(app.to_string());
                }
                out(0, format!("enabled application '{app}' on pool '{pool}'"))
            }
            ["pg", "dump_stuck", ..] => j(json!({
                "stuck_pg_stats": self.stuck.iter().map(|p| json!({"pgid": p, "state": "active+undersized+degraded"})).collect::<Vec<_>>()
            })),
            ["osd", "set", flag] => {
                self.flags.insert(flag.to_string());
                self.epoch += 1;
                Output {
                    stderr: format!("{flag} is set").into_bytes(),
                    ..out(0, "")
                }
            }
            ["osd", "unset", flag] => {
                self.flags.remove(*flag);
                self.epoch += 1;
                Output {
                    stderr: format!("{flag} is unset").into_bytes(),
                    ..out(0, "")
                }
            }
            ["osd", "require-osd-release", r, ..] => match Release::parse(r) {
                Some(r) => {
                    self.require_osd_release = Some(r);
                    out(0, "")
                }
                None => fail(22, format!("Error EINVAL: unknown release {r}")),
            },
            ["osd", "ok-to-stop", ids @ ..] if release >= Release::Luminous => self.ok_to_stop(ids),
            ["mon", "ok-to-stop", ids @ ..] if release >= Release::Octopus => {
                let left = self.quorum().iter().filter(|m| !ids.contains(&m.as_str())).count();
                if left * 2 > self.mons.len() {
                    out(0, "quorum should be preserved")
                } else {
                    fail(16, format!("Error EBUSY: not enough monitors would be available ({left} of {})", self.mons.len()))
                }
            }
            ["mds", "ok-to-stop", ids @ ..] if release >= Release::Octopus => {
                // The last MDS up is never ok to stop (its file system would
                // have none), as Ceph says of a lone active MDS.
                let up = self.mdss.values().filter(|d| d.running.is_some()).count();
                if up <= ids.len() {
                    fail(16, "Error EBUSY: insufficent standby MDS daemons to stop active gids 64870 and/or standby gids")
                } else {
                    out(0, "")
                }
            }
            ["mgr", "dump"] => {
                let running: Vec<&String> = self
                    .mgrs
                    .iter()
                    .filter(|(_, d)| d.running.is_some())
                    .map(|(n, _)| n)
                    .collect();
                let gid = |n: &str| 4000 + self.mgrs.get(n).map_or(0, |d| d.up_from);
                j(json!({
                    "active_gid": running.first().map_or(0, |n| gid(n)),
                    "active_name": running.first().map_or("", |n| n.as_str()),
                    "available": !running.is_empty(),
                    "standbys": running.iter().skip(1).map(|n| json!({"gid": gid(n), "name": n})).collect::<Vec<_>>(),
                }))
            }
            ["fs", "dump"] => {
                let mds: Vec<Value> = self
                    .mdss
                    .iter()
                    .filter(|(_, d)| d.running.is_some())
                    .map(
                        |(n, d)| json!({"name": n, "gid": 5000 + d.up_from, "state": "up:standby"}),
                    )
                    .collect();
                let (active, standbys) = match (self.filesystems.is_empty(), mds.split_first()) {
                    (false, Some((a, rest))) => (Some(a.clone()), rest.to_vec()),
                    _ => (None, mds.clone()),
                };
                let filesystems: Vec<Value> = self
                    .filesystems
                    .iter()
                    .map(|f| {
                        let mut info = serde_json::Map::new();
                        if let Some(a) = &active {
                            let mut a = a.clone();
                            a["state"] = json!("up:active");
                            info.insert(format!("gid_{}", a["gid"]), a);
                        }
                        let (max_mds, replay) = self.fs_settings.get(f).copied().unwrap_or((1, false));
                        json!({"mdsmap": {
                            "fs_name": f,
                            "max_mds": max_mds,
                            "flags": if replay { 32 + 18 } else { 18 },
                            "flags_state": {"allow_standby_replay": replay},
                            "info": info,
                        }})
                    })
                    .collect();
                j(json!({"epoch": self.epoch, "standbys": standbys, "filesystems": filesystems}))
            }
            ["fs", "status", name] => {
                let active = self.mdss.iter().find(|(_, d)| d.running.is_some());
                if release < Release::Octopus {
                    // Nautilus prints its table whatever the format asked.
                    let rows =
                        active.map_or(String::new(), |(n, _)| format!("|  0   | active | {n} |\n"));
                    return out(
                        0,
                        format!(
                            "{name} - 0 clients\n======\n+------+--------+\n| Rank | State  | MDS |\n{rows}"
                        ),
                    );
                }
                let mdsmap: Vec<Value> = active
                    .filter(|_| self.filesystems.iter().any(|f| f == name))
                    .map(|(n, _)| json!({"rank": 0, "name": n, "state": "active"}))
                    .into_iter()
                    .collect();
                j(json!({"clients": [], "mdsmap": mdsmap, "pools": []}))
            }
            ["fs", "ls"] => j(json!(
                self.filesystems
                    .iter()
                    .map(|n| json!({"name": n}))
                    .collect::<Vec<_>>()
            )),
            ["osd", "pool", "create", name, ..] => {
                if !self.pools.iter().any(|p| p == name) {
                    self.pools.push(name.to_string());
                    self.pgs += 8;
                }
                out(0, "")
            }
            ["fs", "new", name, ..] => {
                if !self.filesystems.iter().any(|f| f == name) {
                    self.filesystems.push(name.to_string());
                }
                out(0, "")
            }
            ["auth", "get-or-create", entity, ..] | ["auth", "get", entity] => {
                // The mons hold `mon.` in their keyrings, not in the database.
                let known = self.auth.contains_key(*entity) || *entity == "mon.";
                if words[1] == "get" && !known {
                    return fail(
                        2,
                        format!("Error ENOENT: failed to find {entity} in keyring"),
                    );
                }
                let kind = self.preferred_kind();
                let key = self.auth.entry(entity.to_string()).or_insert_with(|| new_key(kind)).clone();
                if json_out {
                    return j(json!([{"entity": entity, "key": key, "caps": {}}]));
                }
                out(0, format!("[{entity}]\n\tkey = {key}\n"))
            }
            ["auth", "rotate", entity, "--key-type", "aes256k"] => {
                if !self.auth.contains_key(*entity) && *entity != "mon." {
                    return fail(2, format!("Error ENOENT: no such entity {entity}"));
                }
                let key = new_key(crate::release::SecretKind::Aes256);
                self.auth.insert(entity.to_string(), key.clone());
                j(json!([{"entity": entity, "key": key, "caps": {}}]))
            }
            ["auth", "get-or-create-pending", entity] => {
                let Some(key) = self.auth.get(*entity).cloned() else {
                    return fail(2, format!("Error ENOENT: no such entity {entity}"));
                };
                let kind = self.preferred_kind();
                let pending = self.pending.entry(entity.to_string()).or_insert_with(|| new_key(kind)).clone();
                j(json!([{"entity": entity, "key": key, "pending_key": pending, "caps": {}}]))
            }
            ["auth", "ls"] => j(json!({"auth_dump": self.auth.iter()
                .filter(|(e, _)| *e != "mon.")
                .map(|(e, k)| json!({"entity": e, "key": k, "caps": {}}))
                .collect::<Vec<_>>()})),
            ["auth", "wipe-rotating-service-keys"] => {
                self.rotating_aes = false;
                out(0, "wiped rotating service keys!\n")
            }
            ["mon", "set", name, value] => {
                match *name {
                    "auth_service_cipher" => self.ciphers.0 = value.to_string(),
                    "auth_allowed_ciphers" => {
                        self.ciphers.1 = value.split(',').map(str::to_string).collect()
                    }
                    "auth_preferred_cipher" => self.ciphers.2 = value.to_string(),
                    _ => return fail(22, format!("Error EINVAL: unknown mon setting {name}")),
                }
                // Each change is a new monmap: an election.
                self.changed();
                out(0, "")
            }
            ["auth", "get-key", entity] => match self.auth.get(*entity) {
                Some(key) => out(0, format!("{key}\n")),
                None => fail(2, format!("Error ENOENT: failed to find {entity} in keyring")),
            },
            ["auth", "del", entity] => {
                self.auth.remove(*entity);
                out(0, "")
            }
            ["osd", "new", uuid, ..] => {
                if let Some(id) = self.osd_uuids.iter().find(|(_, u)| u == uuid).map(|(i, _)| *i) {
                    return fail(17, format!("Error EEXIST: uuid {uuid} already in use for osd.{id}"));
                }
                // The lowest free id; down and never up until it starts.
                let id = (0..).find(|i| !self.osds.contains_key(i)).unwrap_or_default();
                self.osd_uuids.insert(id, uuid.to_string());
                let kind = self.preferred_kind();
                self.auth.insert(format!("osd.{id}"), new_key(kind));
                self.osds.insert(id, Daemon { host: String::new(), running: None, up_from: 0 });
                self.changed();
                out(0, format!("{id}\n"))
            }
            ["osd", "down", ids @ ..] => {
                // Octopus's mons know `--definitely-dead`; older ones refuse it.
                if ids.contains(&"--definitely-dead") && release < Release::Octopus {
                    return fail(22, "Invalid command: unused arguments: ['--definitely-dead']\nosd down <ids> [<ids>...] :  set osd(s) <id> [<id>...] down\nError EINVAL: invalid command");
                }
                // A running OSD would say it was wrongly marked down and be
                // up again: the fake keeps it as its container says.
                let said: Vec<String> = ids
                    .iter()
                    .filter(|i| !i.starts_with("--"))
                    .map(|i| format!("marked down osd.{i}. "))
                    .collect();
                out(0, said.concat())
            }
            ["osd", "purge", id, "--yes-i-really-mean-it"] => {
                let Ok(n) = id.parse::<u32>() else {
                    return fail(22, format!("Error EINVAL: invalid osd id {id}"));
                };
                if self.osds.get(&n).is_some_and(|d| d.running.is_some()) {
                    return fail(16, format!("Error EBUSY: osd.{n} is still up; must be down before removal."));
                }
                self.osds.remove(&n);
                self.osd_uuids.remove(&n);
                self.auth.remove(&format!("osd.{n}"));
                self.changed();
                out(0, format!("purged osd.{n}\n"))
            }
            ["config-key", "get", key] => match self.config_keys.get(*key) {
                Some(v) => out(0, v.clone()),
                None => fail(2, format!("Error ENOENT: key '{key}' doesn't exist")),
            },
            ["config-key", "set", key, value] => {
                self.config_keys.insert(key.to_string(), value.to_string());
                out(0, format!("set {key}"))
            }
            ["config-key", "rm", key] | ["config-key", "del", key] => {
                self.config_keys.remove(*key);
                out(0, format!("key deleted: {key}"))
            }
            ["config", "get", who, option] => out(
                0,
                format!(
                    "{}\n",
                    self.config.get(&(who.to_string(), option.to_string())).cloned().unwrap_or_default()
                ),
            ),
            ["config", "set", who, option, value] => {
                self.config.insert((who.to_string(), option.to_string()), value.to_string());
                out(0, "")
            }
            ["config", "rm", who, option] => {
                self.config.remove(&(who.to_string(), option.to_string()));
                out(0, "")
            }
            ["osd", "primary-affinity", who, value] => {
                let id = who.trim_start_matches("osd.").parse::<u32>().ok().filter(|i| self.osds.contains_key(i));
                match (id, value.parse::<f64>()) {
                    (Some(id), Ok(v)) if (0.0..=1.0).contains(&v) => {
                        self.primary_affinity.insert(id, v);
                        self.epoch += 1;
                        out(0, format!("set osd.{id} primary-affinity to {v}"))
                    }
                    (None, _) => fail(2, format!("Error ENOENT: osd.{who} does not exist")),
                    _ => fail(22, format!("Error EINVAL: primary-affinity {value} must be in range [0.0, 1.0]")),
                }
            }
            ["config", "dump"] => j(json!(self.config.iter().map(|((w, o), v)| json!({"section": w, "name": o, "value": v})).collect::<Vec<_>>())),
            ["mgr", "metadata", id] | ["mds", "metadata", id] => {
                let map = if words[0] == "mgr" { &self.mgrs } else { &self.mdss };
                match map.get(*id) {
                    Some(Daemon { running: Some(r), .. }) => j(json!({"name": id, "ceph_version": version_string(*r)})),
                    _ => fail(2, format!("Error ENOENT: {} {id} not found", words[0])),
                }
            }
            ["osd", "tree"] => {
                let mut hosts: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
                for (id, d) in &self.osds {
                    hosts.entry(d.host.as_str()).or_default().push(*id);
                }
                let mut nodes = vec![json!({"id": -1, "name": "default", "type": "root",
                    "children": (0..hosts.len()).map(|i| -2 - i as i64).collect::<Vec<_>>()})];
                for (i, (h, ids)) in hosts.iter().enumerate() {
                    nodes.push(json!({"id": -2 - i as i64, "name": h, "type": "host", "children": ids}));
                }
                for (id, d) in &self.osds {
                    nodes.push(json!({"id": id, "name": format!("osd.{id}"), "type": "osd",
                        "status": if d.running.is_some() { "up" } else { "down" }}));
                }
                j(json!({"nodes": nodes, "stray": []}))
            }
            ["osd", "metadata"] => j(json!(self.osds.iter().filter_map(|(id, d)| {
                d.running.map(|r| json!({"id": id, "hostname": d.host, "ceph_version": version_string(r)}))
            }).collect::<Vec<_>>())),
            ["osd", "metadata", id] => match id.parse::<u32>().ok().and_then(|n| self.osds.get(&n)) {
                Some(Daemon { running: Some(r), host, .. }) => j(json!({"id": id.parse::<u32>().unwrap_or(0), "hostname": host, "ceph_version": version_string(*r)})),
                _ => fail(2, format!("Error ENOENT: osd.{id} does not exist")),
            },
            ["mon", "feature", "ls"] => {
                let names: Vec<&str> = Release::ALL
                    .iter()
                    .filter(|r| **r >= Release::Kraken && **r <= self.mon_release().unwrap_or(release))
                    .map(|r| r.name())
                    .collect();
                j(json!({"all": {"supported": names, "persistent": names}, "monmap": {"persistent": names, "optional": []}}))
            }
            ["features"] => j(json!({
                "mon": [{"release": release.name(), "num": self.quorum().len()}],
                "client": self.clients.iter().map(|(r, n)| json!({"features": "0x3f01cfbb7ffdffff", "release": r.name(), "num": n})).collect::<Vec<_>>(),
            })),
            ["osd", "pool", "ls", "detail"] => j(json!(self.pools.iter().map(|p| json!({
                "pool_name": p,
                "pg_autoscale_mode": if self.autoscale_warn.contains(p) { "warn" } else { "on" },
            })).collect::<Vec<_>>())),
            ["osd", "pool", "set", pool, "pg_autoscale_mode", mode] => {
                if *mode == "warn" {
                    self.autoscale_warn.insert(pool.to_string());
                } else {
                    self.autoscale_warn.remove(*pool);
                }
                out(0, "")
            }
            ["auth", "export"] => out(0, self.auth.iter().map(|(e, k)| format!("[{e}]\n\tkey = {k}\n")).collect::<String>()),
            ["auth", "caps", ..] => out(0, ""),
            ["mon", "getmap", ..] => out(0, format!("monmap e{} (binary)", self.epoch)),
            ["osd", "getcrushmap", ..] => out(0, "crushmap (binary)"),
            ["fs", "set", name, "max_mds", n] => {
                let e = self.fs_settings.entry(name.to_string()).or_insert((1, false));
                e.0 = n.parse().unwrap_or(1);
                out(0, "")
            }
            ["fs", "set", name, "allow_standby_replay", v] => {
                let e = self.fs_settings.entry(name.to_string()).or_insert((1, false));
                e.1 = *v == "true";
                out(0, "")
            }
            ["mon", "enable-msgr2"] => {
                self.msgr2 = true;
                out(0, "")
            }
            ["mgr", "module", ..] => out(0, ""),
            _ => fail(
                22,
                format!(
                    "no valid command found (the fake cluster does not know `ceph {}`)\nError EINVAL: invalid command",
                    words.join(" ")
                ),
            ),
        }
    }

    /// The key type new keys get: aes256k once the monmap prefers it.
    fn preferred_kind(&self) -> crate::release::SecretKind {
        if self.ciphers.2 == "aes256k" {
            crate::release::SecretKind::Aes256
        } else {
            crate::release::SecretKind::Aes
        }
    }

    fn ok_to_stop(&mut self, ids: &[&str]) -> Output {
        if self.refuse_ok_to_stop > 0 {
            self.refuse_ok_to_stop -= 1;
            return fail(
                16,
                "Error EBUSY: unsafe to stop osd(s) at this time (1 PGs are or would become offline)",
            );
        }
        let asked: BTreeSet<u32> = ids.iter().filter_map(|i| i.parse().ok()).collect();
        let down: BTreeSet<u32> = self.osds_down().into_iter().collect();
        // Size 3, min_size 2 pools: at most one OSD (or one host's) may be
        // out of service at a time.
        if asked.union(&down).count() > 1
            && !asked.is_empty()
            && down.iter().any(|d| !asked.contains(d))
        {
            return fail(
                16,
                format!(
                    "Error EBUSY: unsafe to stop osd(s) at this time ({} PGs are or would become offline)",
                    self.pgs.max(1)
                ),
            );
        }
        out(
            0,
            format!(
                "OSD(s) {} are ok to stop without reducing availability or risking data, provided there are no other concurrent failures or interventions.\n",
                ids.join(",")
            ),
        )
    }
}
