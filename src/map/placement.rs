//! Where Ceph puts an object, computed here from the cluster's own maps:
//! the object's name (and namespace) hashed as the OSDs hash it (Robert
//! Jenkins' string hash, `ceph_str_hash_rjenkins`), folded onto the pool's
//! placement groups (`ceph_stable_mod`), and the PG's up and acting sets
//! read from `ceph pg dump pgs_brief`. The pools and the PG table are
//! parsed here; nothing here reaches a host.

use std::collections::BTreeMap;

/// One mixing round of the Jenkins hash (lookup2's `mix`).
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 13);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 8);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 13);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 12);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 16);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 5);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 3);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 10);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 15);
}

/// `ceph_str_hash_rjenkins`: the hash of object names in pools whose
/// `object_hash` is rjenkins (every pool made since Argonaut).
pub fn rjenkins(key: &[u8]) -> u32 {
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (mut a, mut b, mut c) = (0x9e37_79b9u32, 0x9e37_79b9u32, 0u32);
    let mut rest = key;
    while rest.len() >= 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    c = c.wrapping_add(key.len() as u32);
    // The last 11 bytes: c's low byte is kept for the length.
    for (i, byte) in rest.iter().enumerate() {
        let v = u32::from(*byte);
        match i {
            0..=3 => a = a.wrapping_add(v << (8 * i)),
            4..=7 => b = b.wrapping_add(v << (8 * (i - 4))),
            _ => c = c.wrapping_add(v << (8 * (i - 7))),
        }
    }
    mix(&mut a, &mut b, &mut c);
    c
}

/// The hash of an object in a namespace: the namespace, byte 037, the
/// name (`pg_pool_t::hash_key`); the name alone in the default one.
pub fn object_hash(namespace: &str, name: &str) -> u32 {
    if namespace.is_empty() {
        return rjenkins(name.as_bytes());
    }
    let mut key = Vec::with_capacity(namespace.len() + 1 + name.len());
    key.extend_from_slice(namespace.as_bytes());
    key.push(0o37);
    key.extend_from_slice(name.as_bytes());
    rjenkins(&key)
}

/// `ceph_stable_mod`: a hash folded onto `b` buckets so that growing `b`
/// moves as few as possible.
pub fn stable_mod(x: u32, b: u32, bmask: u32) -> u32 {
    if x & bmask < b {
        x & bmask
    } else {
        x & (bmask >> 1)
    }
}

/// The smallest all-ones mask covering `pg_num - 1`.
pub fn pg_num_mask(pg_num: u32) -> u32 {
    if pg_num <= 1 {
        return 0;
    }
    u32::MAX >> (pg_num - 1).leading_zeros()
}

/// A pool as the OSD map has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub id: u64,
    pub name: String,
    pub pg_num: u32,
    /// Its applications (`rbd`, `cephfs`, `rgw`).
    pub applications: Vec<String>,
    /// `object_hash`: 2 is rjenkins (the only one computed here).
    pub object_hash: u64,
}

impl Pool {
    /// The PG (`POOL.SEED`, seed in hex) an object of this pool is in.
    pub fn pg_of(&self, namespace: &str, name: &str) -> PgId {
        let seed = stable_mod(
            object_hash(namespace, name),
            self.pg_num,
            pg_num_mask(self.pg_num),
        );
        PgId {
            pool: self.id,
            seed,
        }
    }
}

/// The pools of `ceph osd dump -f json`.
pub fn pools(osd_dump: &serde_json::Value) -> Vec<Pool> {
    osd_dump["pools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(Pool {
                id: p["pool"].as_u64()?,
                name: p["pool_name"].as_str()?.to_string(),
                pg_num: u32::try_from(p["pg_num"].as_u64()?).ok()?,
                applications: p["application_metadata"]
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
                object_hash: p["object_hash"].as_u64().unwrap_or(2),
            })
        })
        .collect()
}

/// A placement group: pool id and seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgId {
    pub pool: u64,
    pub seed: u32,
}

impl std::fmt::Display for PgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:x}", self.pool, self.seed)
    }
}

impl PgId {
    /// `1.2a` -> pool 1, seed 0x2a.
    pub fn parse(text: &str) -> Option<PgId> {
        let (pool, seed) = text.split_once('.')?;
        Some(PgId {
            pool: pool.parse().ok()?,
            seed: u32::from_str_radix(seed, 16).ok()?,
        })
    }
}

/// A PG's OSDs now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acting {
    pub up: Vec<i64>,
    pub acting: Vec<i64>,
    pub primary: i64,
    pub state: String,
}

/// The PGs of `ceph pg dump pgs_brief -f json` (`ceph::pgs_brief`).
pub fn pg_table(dump: &serde_json::Value) -> BTreeMap<PgId, Acting> {
    let list = crate::ceph::pgs_brief(dump);
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_i64())
            .collect()
    };
    list.into_iter()
        .flatten()
        .filter_map(|p| {
            let id = PgId::parse(p["pgid"].as_str()?)?;
            Some((
                id,
                Acting {
                    up: ids(&p["up"]),
                    acting: ids(&p["acting"]),
                    primary: p["acting_primary"].as_i64().unwrap_or(-1),
                    state: p["state"].as_str().unwrap_or("").to_string(),
                },
            ))
        })
        .collect()
}

/// The host of each OSD, from `ceph osd tree -f json`.
pub fn osd_hosts(tree: &serde_json::Value) -> BTreeMap<i64, String> {
    crate::upgrade::run::osds_by_host(tree)
        .into_iter()
        .flat_map(|(host, ids)| ids.into_iter().map(move |id| (i64::from(id), host.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ceph osd map POOL NAME` outputs of real clusters: `-> pg
    /// POOL.HASH (POOL.SEED)`, the raw hash before the fold.
    #[test]
    fn names_hash_as_ceph_osd_map_prints_them() {
        for (name, hash) in [
            ("test-object-1", 0x74dc_35e2),
            ("msg1", 0xc833_d430),
            ("10000000619.00000000", 0x38fb_abae),
            ("rbd_data.38d61c80322b.0000000000000460", 0x7a59_6a69),
            ("rbd_data.f3516d238e1f29.00000000000001fe", 0xf645_4000),
            ("test", 0x40e8_aab5),
            ("disk", 0xeec5_673a),
        ] {
            assert_eq!(rjenkins(name.as_bytes()), hash, "{name}");
            assert_eq!(object_hash("", name), hash, "{name}");
        }
        // In a namespace the key is `NS\037NAME`.
        assert_eq!(object_hash("ns", "obj"), rjenkins(b"ns\x1fobj"));
        assert_ne!(object_hash("ns", "obj"), object_hash("", "obj"));
    }

    #[test]
    fn hashes_fold_onto_the_pools_pgs() {
        // The same outputs' `(POOL.SEED)`: 1024, 32, 64 PGs.
        let pool = |pg_num| Pool {
            id: 2,
            name: "p".into(),
            pg_num,
            applications: vec![],
            object_hash: 2,
        };
        assert_eq!(
            pool(1024).pg_of("", "10000000619.00000000").to_string(),
            "2.3ae"
        );
        assert_eq!(pool(32).pg_of("", "msg1").to_string(), "2.10");
        assert_eq!(
            pool(64)
                .pg_of("", "rbd_data.38d61c80322b.0000000000000460")
                .to_string(),
            "2.29"
        );
        assert_eq!(pool(128).pg_of("", "test-object-1").to_string(), "2.62");
        // Not a power of two: past pg_num the mask loses its top bit.
        assert_eq!(pg_num_mask(12), 15);
        assert_eq!(stable_mod(14, 12, 15), 6);
        assert_eq!(stable_mod(11, 12, 15), 11);
        assert_eq!(pg_num_mask(1), 0);
        assert_eq!(pg_num_mask(64), 63);
        assert_eq!(pg_num_mask(65), 127);
        assert_eq!(
            PgId::parse("3.1f"),
            Some(PgId {
                pool: 3,
                seed: 0x1f
            })
        );
        assert_eq!(PgId::parse("x"), None);
    }

    #[test]
    fn pg_dump_in_both_shapes() {
        let pg = serde_json::json!({"pgid": "1.a", "state": "active+clean",
            "up": [2, 0, 1], "acting": [2, 0, 1], "up_primary": 2, "acting_primary": 2});
        let older = serde_json::json!([pg.clone()]);
        let nautilus_on = serde_json::json!({"pg_ready": true, "pg_stats": [pg]});
        for d in [older, nautilus_on] {
            let t = pg_table(&d);
            let a = &t[&PgId { pool: 1, seed: 10 }];
            assert_eq!(a.acting, [2, 0, 1]);
            assert_eq!(a.primary, 2);
        }
    }
}
