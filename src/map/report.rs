//! The maps `cephalo map` prints, pure functions of what was read: an RBD
//! image's objects with the PG and OSDs of each, totalled per OSD and per
//! host (`map rbd`), and the images that have objects on one OSD (`map
//! osd`). Reads `rbd info` and `rbd diff` answers; the placement itself is
//! `placement`'s. Nothing here reaches a host.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::placement::{Acting, PgId, Pool};

/// An image as `rbd info --format json` describes it, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub pool: String,
    /// Empty: the default namespace.
    pub namespace: String,
    pub name: String,
    /// `rbd_data.<id>` (`rbd_data.<pool id>.<id>` with a data pool).
    pub prefix: String,
    /// Where its data objects are: its `data_pool`, else its pool.
    pub data_pool: String,
    pub size: u64,
    pub object_size: u64,
    pub stripe_unit: u64,
    pub stripe_count: u64,
}

impl Image {
    /// `POOL/[NS/]IMAGE`.
    pub fn spec(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.pool, self.name)
        } else {
            format!("{}/{}/{}", self.pool, self.namespace, self.name)
        }
    }
}

/// Reads `rbd info --format json` of an image of `pool`/`namespace`.
pub fn image(pool: &str, namespace: &str, info: &serde_json::Value) -> Option<Image> {
    let object_size = info["object_size"]
        .as_u64()
        .or_else(|| info["order"].as_u64().map(|o| 1u64 << o.min(40)))?;
    Some(Image {
        pool: pool.to_string(),
        namespace: namespace.to_string(),
        name: info["name"].as_str()?.to_string(),
        prefix: info["block_name_prefix"].as_str()?.to_string(),
        data_pool: info["data_pool"]
            .as_str()
            .filter(|p| !p.is_empty())
            .unwrap_or(pool)
            .to_string(),
        size: info["size"].as_u64().unwrap_or(0),
        object_size,
        stripe_unit: info["stripe_unit"].as_u64().unwrap_or(object_size),
        stripe_count: info["stripe_count"].as_u64().unwrap_or(1).max(1),
    })
}

/// The object number of a data object's name (`PREFIX.%016x`).
pub fn object_no(prefix: &str, name: &str) -> Option<u64> {
    let n = name.strip_prefix(prefix)?.strip_prefix('.')?;
    u64::from_str_radix(n, 16).ok()
}

/// Bytes of image data in each object, from `rbd diff --format json`'s
/// extents (`{"offset", "length", "exists"}`) and the image's striping
/// (the default: one stripe unit per object, so an object holds
/// `[n * object_size, (n + 1) * object_size)`).
pub fn bytes_per_object(image: &Image, diff: &serde_json::Value) -> BTreeMap<u64, u64> {
    let su = image.stripe_unit.max(1);
    let sc = image.stripe_count.max(1);
    let per_object = (image.object_size / su).max(1);
    let mut out: BTreeMap<u64, u64> = BTreeMap::new();
    for e in diff.as_array().into_iter().flatten() {
        let exists = match &e["exists"] {
            serde_json::Value::String(s) => s == "true",
            serde_json::Value::Bool(b) => *b,
            _ => true,
        };
        let (Some(mut off), Some(len)) = (e["offset"].as_u64(), e["length"].as_u64()) else {
            continue;
        };
        if !exists {
            continue;
        }
        let end = off.saturating_add(len);
        while off < end {
            let block = off / su;
            let piece = (su - off % su).min(end - off);
            let stripe = block / sc;
            let object = stripe / per_object * sc + block % sc;
            *out.entry(object).or_default() += piece;
            off += piece;
        }
    }
    out
}

/// CRUSH_ITEM_NONE: no OSD in that place of an EC PG's set.
const NONE: i64 = 0x7fff_ffff;

/// One data object and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub object: String,
    pub bytes: u64,
    pub pg: String,
    pub up: Vec<i64>,
    pub acting: Vec<i64>,
    pub primary: i64,
}

/// Objects and bytes on one OSD or host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Load {
    /// Objects with a copy (or chunk) there.
    pub objects: u64,
    /// Objects whose primary is there.
    pub primaries: u64,
    /// Bytes of those objects (each copy counted where it is).
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsdLoad {
    pub osd: i64,
    pub host: String,
    #[serde(flatten)]
    pub load: Load,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostLoad {
    pub host: String,
    #[serde(flatten)]
    pub load: Load,
}

/// The OSD with the most of an image, and its share (0..1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MostLoaded {
    pub osd: i64,
    pub share: f64,
}

/// `map rbd`: an image's objects and their placement, with the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageMap {
    pub image: Image,
    pub objects: Vec<Placed>,
    pub total_objects: u64,
    pub total_bytes: u64,
    pub per_osd: Vec<OsdLoad>,
    pub per_host: Vec<HostLoad>,
    /// The OSD with the most of the image's bytes (objects when no bytes
    /// are known), and the share of the image it holds (0..1).
    pub most_loaded: Option<MostLoaded>,
    /// Objects whose PG the PG table did not list (a map that changed
    /// between reads).
    pub unplaced: Vec<String>,
}

/// Places an image's objects (`names` as `rados ls` listed them) with the
/// data pool, the PG table, the OSD hosts and each object's bytes.
pub fn map_image(
    image: Image,
    data_pool: &Pool,
    names: &[String],
    pgs: &BTreeMap<PgId, Acting>,
    hosts: &BTreeMap<i64, String>,
    bytes: &BTreeMap<u64, u64>,
) -> ImageMap {
    let mut objects = Vec::new();
    let mut unplaced = Vec::new();
    let mut osds: BTreeMap<i64, Load> = BTreeMap::new();
    let mut names: Vec<&String> = names
        .iter()
        .filter(|n| object_no(&image.prefix, n).is_some())
        .collect();
    names.sort_by_key(|n| object_no(&image.prefix, n));
    names.dedup();
    for name in names {
        let b = object_no(&image.prefix, name)
            .and_then(|n| bytes.get(&n).copied())
            .unwrap_or(0);
        let pg = data_pool.pg_of(&image.namespace, name);
        let Some(a) = pgs.get(&pg) else {
            unplaced.push(name.clone());
            continue;
        };
        // An EC PG missing a shard lists CRUSH_ITEM_NONE (2^31 - 1) there.
        for osd in a.acting.iter().filter(|o| (0..NONE).contains(*o)) {
            let l = osds.entry(*osd).or_default();
            l.objects += 1;
            l.bytes += b;
            if *osd == a.primary {
                l.primaries += 1;
            }
        }
        objects.push(Placed {
            object: name.clone(),
            bytes: b,
            pg: pg.to_string(),
            up: a.up.clone(),
            acting: a.acting.clone(),
            primary: a.primary,
        });
    }
    let host_of = |osd: i64| hosts.get(&osd).cloned().unwrap_or_else(|| "?".into());
    let mut per_host: BTreeMap<String, Load> = BTreeMap::new();
    for (osd, l) in &osds {
        let h = per_host.entry(host_of(*osd)).or_default();
        h.objects += l.objects;
        h.primaries += l.primaries;
        h.bytes += l.bytes;
    }
    let total_objects = objects.len() as u64;
    let total_bytes: u64 = objects.iter().map(|o| o.bytes).sum();
    let most_loaded = osds
        .iter()
        .max_by_key(|(osd, l)| (l.bytes, l.objects, -**osd))
        .map(|(osd, l)| {
            let share = if total_bytes > 0 {
                l.bytes as f64 / total_bytes as f64
            } else if total_objects > 0 {
                l.objects as f64 / total_objects as f64
            } else {
                0.0
            };
            MostLoaded { osd: *osd, share }
        });
    ImageMap {
        image,
        objects,
        total_objects,
        total_bytes,
        per_osd: osds
            .into_iter()
            .map(|(osd, load)| OsdLoad {
                osd,
                host: host_of(osd),
                load,
            })
            .collect(),
        per_host: per_host
            .into_iter()
            .map(|(host, load)| HostLoad { host, load })
            .collect(),
        most_loaded,
        unplaced,
    }
}

/// One image's objects on an OSD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnOsd {
    /// `POOL/[NS/]IMAGE`.
    pub image: String,
    /// Its objects with a copy (or chunk) on the OSD.
    pub objects: u64,
    /// Of those, the ones the OSD is primary for.
    pub primary: u64,
    /// All its data objects.
    pub total_objects: u64,
}

/// `map osd`: the images with objects on one OSD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsdMap {
    pub osd: i64,
    pub host: String,
    pub images: Vec<OnOsd>,
    /// The RBD pools looked through.
    pub pools: Vec<String>,
}

/// Which images have objects on `osd`: `objects` are (image, data pool,
/// object names) for each image.
pub fn map_osd(
    osd: i64,
    images: &[(Image, &Pool, Vec<String>)],
    pgs: &BTreeMap<PgId, Acting>,
    hosts: &BTreeMap<i64, String>,
    pools: Vec<String>,
) -> OsdMap {
    let mut out = Vec::new();
    for (image, pool, names) in images {
        let mut on = OnOsd {
            image: image.spec(),
            objects: 0,
            primary: 0,
            total_objects: 0,
        };
        for name in names
            .iter()
            .filter(|n| object_no(&image.prefix, n).is_some())
        {
            on.total_objects += 1;
            if let Some(a) = pgs.get(&pool.pg_of(&image.namespace, name))
                && a.acting.contains(&osd)
            {
                on.objects += 1;
                if a.primary == osd {
                    on.primary += 1;
                }
            }
        }
        if on.objects > 0 {
            out.push(on);
        }
    }
    out.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.image.cmp(&b.image)));
    OsdMap {
        osd,
        host: hosts.get(&osd).cloned().unwrap_or_else(|| "?".into()),
        images: out,
        pools,
    }
}

/// Bytes for people: `4.0 MiB`.
fn size(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `map rbd` for people: each object, then the totals.
pub fn image_text(m: &ImageMap) -> String {
    let mut t = String::new();
    let i = &m.image;
    let _ = writeln!(
        t,
        "image {} ({}, data in pool {}): {} objects, {} of data",
        i.spec(),
        i.prefix,
        i.data_pool,
        m.total_objects,
        size(m.total_bytes)
    );
    let _ = writeln!(
        t,
        "{:<40} {:>10} {:<8} acting (primary)",
        "object", "bytes", "pg"
    );
    for o in &m.objects {
        let acting: Vec<String> = o.acting.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            t,
            "{:<40} {:>10} {:<8} [{}] ({})",
            o.object,
            o.bytes,
            o.pg,
            acting.join(","),
            o.primary
        );
    }
    let _ = writeln!(
        t,
        "\n{:<8} {:<12} {:>8} {:>10} {:>12}",
        "osd", "host", "objects", "primaries", "bytes"
    );
    for o in &m.per_osd {
        let _ = writeln!(
            t,
            "osd.{:<4} {:<12} {:>8} {:>10} {:>12}",
            o.osd,
            o.host,
            o.load.objects,
            o.load.primaries,
            size(o.load.bytes)
        );
    }
    let _ = writeln!(
        t,
        "\n{:<21} {:>8} {:>10} {:>12}",
        "host", "objects", "primaries", "bytes"
    );
    for h in &m.per_host {
        let _ = writeln!(
            t,
            "{:<21} {:>8} {:>10} {:>12}",
            h.host,
            h.load.objects,
            h.load.primaries,
            size(h.load.bytes)
        );
    }
    if let Some(MostLoaded { osd, share }) = m.most_loaded {
        let _ = writeln!(
            t,
            "\nmost loaded: osd.{osd} holds {:.1}% of the image",
            share * 100.0
        );
    }
    if !m.unplaced.is_empty() {
        let _ = writeln!(
            t,
            "not placed ({} objects; their PG was not in the PG table, run again): {}",
            m.unplaced.len(),
            m.unplaced.join(" ")
        );
    }
    t
}

/// `map osd` for people.
pub fn osd_text(m: &OsdMap) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "osd.{} on {}: {} image(s) with objects on it (RBD pools: {})",
        m.osd,
        m.host,
        m.images.len(),
        if m.pools.is_empty() {
            "none".to_string()
        } else {
            m.pools.join(", ")
        }
    );
    if !m.images.is_empty() {
        let _ = writeln!(
            t,
            "{:<40} {:>8} {:>8} {:>8}",
            "image", "objects", "primary", "of"
        );
    }
    for i in &m.images {
        let _ = writeln!(
            t,
            "{:<40} {:>8} {:>8} {:>8}",
            i.image, i.objects, i.primary, i.total_objects
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn img(stripe_unit: u64, stripe_count: u64) -> Image {
        Image {
            pool: "rbd".into(),
            namespace: String::new(),
            name: "vm1".into(),
            prefix: "rbd_data.abc".into(),
            data_pool: "rbd".into(),
            size: 64 << 20,
            object_size: 4 << 20,
            stripe_unit,
            stripe_count,
        }
    }

    #[test]
    fn extents_become_bytes_per_object() {
        let diff = json!([
            {"offset": 0, "length": 4194304, "exists": "true"},
            {"offset": 6291456, "length": 4194304, "exists": "true"},
            {"offset": 20971520, "length": 4096, "exists": "false"},
        ]);
        let b = bytes_per_object(&img(4 << 20, 1), &diff);
        assert_eq!(
            b,
            BTreeMap::from([(0, 4 << 20), (1, 2 << 20), (2, 2 << 20)])
        );
        // Fancy striping: 1 MiB units over 2 objects; the first 4 MiB
        // land in objects 0, 1, 0, 1.
        let b = bytes_per_object(
            &img(1 << 20, 2),
            &json!([{"offset": 0, "length": 4194304, "exists": "true"}]),
        );
        assert_eq!(b, BTreeMap::from([(0, 2 << 20), (1, 2 << 20)]));
        // Past the object set: 4 objects of 1 MiB units... 2 x 4 = 8 MiB per set.
        let b = bytes_per_object(
            &img(1 << 20, 2),
            &json!([{"offset": 8388608, "length": 1048576, "exists": "true"}]),
        );
        assert_eq!(b, BTreeMap::from([(2, 1 << 20)]));
    }

    #[test]
    fn info_of_an_image_with_a_data_pool() {
        let info = json!({"name": "vm1", "size": 67108864, "objects": 16, "order": 22,
            "object_size": 4194304, "block_name_prefix": "rbd_data.3.abc", "data_pool": "ec",
            "format": 2});
        let i = image("rbd", "tenant", &info).unwrap();
        assert_eq!(i.data_pool, "ec");
        assert_eq!(i.spec(), "rbd/tenant/vm1");
        assert_eq!(
            object_no(&i.prefix, "rbd_data.3.abc.000000000000000f"),
            Some(15)
        );
        assert_eq!(
            object_no(&i.prefix, "rbd_data.3.abcd.0000000000000001"),
            None
        );
        assert_eq!(object_no(&i.prefix, "rbd_header.abc"), None);
        let plain = image(
            "rbd",
            "",
            &json!({"name": "x", "order": 22, "block_name_prefix": "rbd_data.1"}),
        )
        .unwrap();
        assert_eq!(
            (plain.object_size, plain.data_pool.as_str()),
            (4 << 20, "rbd")
        );
        assert!(image("rbd", "", &json!({"name": "x"})).is_none());
    }

    #[test]
    fn totals_add_up_per_osd_and_host() {
        let pool = Pool {
            id: 1,
            name: "rbd".into(),
            pg_num: 1,
            applications: vec!["rbd".into()],
            object_hash: 2,
        };
        let pgs = BTreeMap::from([(
            PgId { pool: 1, seed: 0 },
            Acting {
                up: vec![2, 0, 1],
                acting: vec![2, 0, 1],
                primary: 2,
                state: "active+clean".into(),
            },
        )]);
        let hosts = BTreeMap::from([(0, "a".to_string()), (1, "b".into()), (2, "b".into())]);
        let names: Vec<String> = (0..3).map(|n| format!("rbd_data.abc.{n:016x}")).collect();
        let bytes = BTreeMap::from([(0, 100), (1, 200), (2, 300)]);
        let m = map_image(img(4 << 20, 1), &pool, &names, &pgs, &hosts, &bytes);
        assert_eq!((m.total_objects, m.total_bytes), (3, 600));
        assert_eq!(m.per_osd.len(), 3);
        assert!(
            m.per_osd
                .iter()
                .all(|o| o.load.objects == 3 && o.load.bytes == 600)
        );
        assert_eq!(m.per_osd.iter().map(|o| o.load.primaries).sum::<u64>(), 3);
        let b = m.per_host.iter().find(|h| h.host == "b").unwrap();
        assert_eq!((b.load.objects, b.load.primaries), (6, 3));
        assert_eq!(m.most_loaded, Some(MostLoaded { osd: 0, share: 1.0 }));
        let on = map_osd(
            2,
            &[(m.image.clone(), &pool, names.clone())],
            &pgs,
            &hosts,
            vec!["rbd".into()],
        );
        assert_eq!(on.images[0].objects, 3);
        assert_eq!(on.images[0].primary, 3);
        assert!(
            map_osd(
                7,
                &[(m.image.clone(), &pool, names.clone())],
                &pgs,
                &hosts,
                vec![]
            )
            .images
            .is_empty()
        );
        assert!(image_text(&m).contains("most loaded: osd.0 holds 100.0% of the image"));
        // An EC PG without its second shard: no OSD counted in its place.
        let mut degraded = pgs.clone();
        for a in degraded.values_mut() {
            a.acting = vec![2, NONE, 1];
        }
        let m = map_image(img(4 << 20, 1), &pool, &names, &degraded, &hosts, &bytes);
        let osds: Vec<i64> = m.per_osd.iter().map(|o| o.osd).collect();
        assert_eq!(osds, [1, 2]);
    }
}
