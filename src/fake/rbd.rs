//! RBD on the fake cluster: images (in a pool and namespace, with or
//! without a separate data pool) and the extents written to them, and the
//! answers, in a mon's container, of `rbd info`, `rbd diff`, `rbd namespace
//! ls`, and the two listing scripts of `cephalo map` (`rados ls` by prefix,
//! `rbd info` of a namespace's images), which are told apart by what they
//! run. Placement of PGs on OSDs is `FakeCeph`'s (`pg dump pgs_brief`).

use serde_json::{Value, json};

use super::ceph::FakeCeph;
use super::{fail, out};
use crate::release::Release;
use crate::transport::Output;

/// An image and what was written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeImage {
    pub pool: String,
    pub namespace: String,
    pub name: String,
    pub id: String,
    pub data_pool: Option<String>,
    pub size: u64,
    pub object_size: u64,
    /// (offset, length) written, in order.
    pub written: Vec<(u64, u64)>,
}

impl FakeImage {
    pub fn new(pool: &str, namespace: &str, name: &str, id: &str, size: u64) -> FakeImage {
        FakeImage {
            pool: pool.into(),
            namespace: namespace.into(),
            name: name.into(),
            id: id.into(),
            data_pool: None,
            size,
            object_size: 4 << 20,
            written: Vec::new(),
        }
    }

    /// `rbd_data.ID`, or `rbd_data.POOLID.ID` with a data pool.
    pub fn prefix(&self, ceph: &FakeCeph) -> String {
        match &self.data_pool {
            Some(_) => format!("rbd_data.{}.{}", ceph.pool_id(&self.pool), self.id),
            None => format!("rbd_data.{}", self.id),
        }
    }

    /// Bytes written in each object (the default layout).
    pub fn objects(&self) -> std::collections::BTreeMap<u64, u64> {
        let mut per = std::collections::BTreeMap::new();
        for (off, len) in &self.written {
            let (mut at, end) = (*off, off + len);
            while at < end {
                let n = at / self.object_size;
                let piece = ((n + 1) * self.object_size).min(end) - at;
                *per.entry(n).or_insert(0) += piece;
                at += piece;
            }
        }
        per
    }

    fn info(&self, ceph: &FakeCeph) -> Value {
        let mut v = json!({
            "name": self.name,
            "id": self.id,
            "size": self.size,
            "objects": self.size.div_ceil(self.object_size),
            "order": self.object_size.trailing_zeros(),
            "object_size": self.object_size,
            "block_name_prefix": self.prefix(ceph),
            "format": 2,
            "features": ["layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten"],
        });
        if let Some(d) = &self.data_pool {
            v["data_pool"] = json!(d);
        }
        v
    }
}

/// The value of `--NAME` among the words.
fn opt<'a>(words: &'a [String], name: &str) -> &'a str {
    words
        .windows(2)
        .find(|w| w[0] == name)
        .map_or("", |w| w[1].as_str())
}

impl FakeCeph {
    /// A pool's id: its place in the list, from 1.
    pub fn pool_id(&self, name: &str) -> u64 {
        self.pools
            .iter()
            .position(|p| p == name)
            .map_or(0, |i| i as u64 + 1)
    }

    /// The answer to `rbd ...` or a `sh -c` listing script in a mon's
    /// container, None for anything else.
    pub fn tool(&self, images: &[FakeImage], words: &[String]) -> Option<Output> {
        let pool = opt(words, "--pool");
        let ns = opt(words, "--namespace");
        let image = || {
            images
                .iter()
                .find(|i| i.pool == pool && i.namespace == ns && i.name == opt(words, "--image"))
        };
        let no_image = || {
            fail(
                2,
                format!(
                    "rbd: error opening image {}: (2) No such file or directory",
                    opt(words, "--image")
                ),
            )
        };
        let verb: Vec<&str> = words.iter().skip(3).take(2).map(String::as_str).collect();
        match (words.first().map(String::as_str), verb.as_slice()) {
            (Some("rbd"), ["info", ..]) => Some(match image() {
                Some(i) => out(0, format!("{}\n", i.info(self))),
                None => no_image(),
            }),
            (Some("rbd"), ["diff", ..]) => Some(match image() {
                Some(i) => {
                    let extents: Vec<Value> = i
                        .written
                        .iter()
                        .map(|(o, l)| json!({"offset": o, "length": l, "exists": "true"}))
                        .collect();
                    out(0, json!(extents).to_string())
                }
                None => no_image(),
            }),
            (Some("rbd"), ["namespace", "ls"]) => {
                let mut names: Vec<&str> = images
                    .iter()
                    .filter(|i| i.pool == pool && !i.namespace.is_empty())
                    .map(|i| i.namespace.as_str())
                    .collect();
                names.sort();
                names.dedup();
                // Nautilus lists names, later releases objects.
                let v: Vec<Value> = if self.release() < Release::Octopus {
                    names.iter().map(|n| json!(n)).collect()
                } else {
                    names.iter().map(|n| json!({"name": n})).collect()
                };
                Some(out(0, json!(v).to_string()))
            }
            (Some("sh"), _) => {
                let text = words.get(2)?;
                let args = words.get(4..).unwrap_or_default();
                if text.contains("rados --cluster") {
                    Some(self.listing(images, args))
                } else if text.contains("info --format json") {
                    let (pool, ns) = (args.get(1)?, args.get(2)?);
                    let lines: String = images
                        .iter()
                        .filter(|i| &i.pool == pool && &i.namespace == ns)
                        .map(|i| format!("{}\n\n", i.info(self)))
                        .collect();
                    Some(out(0, lines))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// `objects.sh CLUSTER POOL NS PREFIX`: the data objects that exist
    /// there, with the headers beside them.
    fn listing(&self, images: &[FakeImage], args: &[String]) -> Output {
        let [_, pool, ns, prefix] = args else {
            return fail(2, "objects.sh: 4 arguments");
        };
        if self.pool_id(pool) == 0 {
            return fail(
                2,
                format!("error opening pool {pool}: (2) No such file or directory"),
            );
        }
        let mut names = Vec::new();
        for i in images.iter().filter(|i| &i.namespace == ns) {
            if &i.pool == pool {
                names.push(format!("rbd_header.{}", i.id));
                names.push(format!("rbd_id.{}", i.name));
            }
            if i.data_pool.as_ref().unwrap_or(&i.pool) == pool {
                let p = i.prefix(self);
                names.extend(i.objects().keys().map(|n| format!("{p}.{n:016x}")));
            }
        }
        let text: String = names
            .iter()
            .filter(|n| n.contains(prefix.as_str()))
            .map(|n| format!("{n}\n"))
            .collect();
        out(0, text)
    }

    /// An OSD's primary affinity (1 unless set).
    pub fn affinity(&self, id: u32) -> f64 {
        self.primary_affinity.get(&id).copied().unwrap_or(1.0)
    }

    /// `pg dump pgs_brief`: each pool's PGs (8 a pool), on three OSDs
    /// chosen by pool and seed; a stopped OSD is left out of the acting set.
    pub fn pgs_brief(&self) -> Value {
        let ids: Vec<u32> = self.osds.keys().copied().collect();
        let mut pgs = Vec::new();
        for p in &self.pools {
            let pool = self.pool_id(p);
            for seed in 0..POOL_PGS {
                let up: Vec<u32> = (0..ids.len().min(3))
                    .map(|k| ids[(pool as usize * 5 + seed as usize + k) % ids.len()])
                    .collect();
                let acting: Vec<u32> = up
                    .iter()
                    .copied()
                    .filter(|o| self.osds[o].running.is_some())
                    .collect();
                // Ceph's choice: the first with a primary affinity above 0,
                // else the first.
                let primary = |set: &[u32]| {
                    set.iter()
                        .find(|o| self.affinity(**o) > 0.0)
                        .or(set.first())
                        .map_or(-1, |a| i64::from(*a))
                };
                pgs.push(json!({
                    "pgid": format!("{pool}.{seed:x}"),
                    "state": if acting.len() == up.len() { "active+clean" } else { "active+undersized+degraded" },
                    "up": up, "up_primary": primary(&up),
                    "acting": acting, "acting_primary": primary(&acting),
                }));
            }
        }
        // Nautilus answers `pg_stats` too (tests/fixtures/ceph/nautilus).
        if self.release() < Release::Nautilus {
            json!(pgs)
        } else {
            json!({"pg_ready": true, "pg_stats": pgs})
        }
    }
}

/// The PGs of each fake pool.
pub const POOL_PGS: u32 = 8;
