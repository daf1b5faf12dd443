//! `cephalo map`: where an RBD image's objects are (`map rbd`), and which
//! images an OSD holds (`map osd`), computed from the cluster's own maps
//! in a few reads through a mon's container whatever the number of
//! objects: the OSD map's pools, the PG table (`pg dump pgs_brief`), the
//! OSD tree, `rbd info`/`rbd diff`, and the object names from one `rados
//! ls` per pool and namespace (`objects.sh`). Each object's PG is computed
//! here (`placement`), never asked per object. Reads only.

pub mod placement;
pub mod report;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ceph::in_mon_container;
use crate::error::{ExitCode, exit};
use crate::model::Cluster;
use crate::script::Script;
use crate::transport::{Transport, TransportError};

use placement::{Acting, PgId, Pool};
pub use report::{ImageMap, OsdMap};

const OBJECTS: &str = include_str!("objects.sh");
const IMAGES: &str = include_str!("images.sh");

/// Object extent queries `rbd diff` keeps in flight: measured on the
/// playground (23,000 objects), 10 took 1.8 s, 64 took 1.1 s, 128 0.9 s;
/// 64 keeps a read-only query light on a busy cluster.
const DIFF_OPS: &str = "64";

/// Listing a big pool takes a while.
const LIST_TIMEOUT: Duration = Duration::from_secs(900);

/// What went wrong, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The image, pool or OSD asked for is not there (bad input).
    #[error("{0}")]
    NotFound(String),
    /// The cluster could not be asked.
    #[error("{0}")]
    Transport(Box<TransportError>),
    /// An answer cephalo cannot read.
    #[error("{0}")]
    Unreadable(String),
}

impl From<TransportError> for MapError {
    fn from(e: TransportError) -> Self {
        MapError::Transport(Box::new(e))
    }
}

impl ExitCode for MapError {
    fn exit_code(&self) -> i32 {
        match self {
            MapError::NotFound(_) => exit::BAD_INPUT,
            MapError::Transport(e) if e.is_host_key() => exit::HOST_KEY,
            MapError::Transport(e) if e.is_unreachable() => exit::UNREACHABLE,
            MapError::Transport(_) | MapError::Unreadable(_) => exit::HOST_FAILED,
        }
    }
}

/// `POOL/IMAGE` or `POOL/NAMESPACE/IMAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub pool: String,
    pub namespace: String,
    pub image: String,
}

impl ImageSpec {
    pub fn parse(text: &str) -> Result<ImageSpec, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let (pool, namespace, image) = match parts.as_slice() {
            [p, i] => (*p, "", *i),
            [p, n, i] => (*p, *n, *i),
            _ => {
                return Err(format!(
                    "`{text}`: expected POOL/IMAGE or POOL/NAMESPACE/IMAGE"
                ));
            }
        };
        if pool.is_empty() || image.is_empty() || (parts.len() == 3 && namespace.is_empty()) {
            return Err(format!(
                "`{text}`: expected POOL/IMAGE or POOL/NAMESPACE/IMAGE"
            ));
        }
        Ok(ImageSpec {
            pool: pool.into(),
            namespace: namespace.into(),
            image: image.into(),
        })
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `rbd --cluster NAME ARGS` in a mon's container; `--namespace` only when
/// there is one.
fn rbd(cluster: &Cluster, args: &[&str], pool: &str, namespace: &str) -> Vec<String> {
    let mut w = words(&["rbd", "--cluster", &cluster.name]);
    w.extend(words(args));
    w.extend(words(&["--pool", pool]));
    if !namespace.is_empty() {
        w.extend(words(&["--namespace", namespace]));
    }
    w
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, MapError> {
    serde_json::from_str(text.trim()).map_err(|e| {
        MapError::Unreadable(format!(
            "`{what}` printed no JSON ({e}): {}",
            text.chars().take(200).collect::<String>()
        ))
    })
}

/// An `rbd` error naming a missing image or pool is bad input.
fn not_found(e: TransportError, what: &str) -> MapError {
    match &e {
        TransportError::Failed { stderr_tail, .. }
            if stderr_tail.contains("No such file or directory") =>
        {
            MapError::NotFound(format!("{what}: {}", stderr_tail.trim()))
        }
        _ => e.into(),
    }
}

/// The cluster's maps every mapping reads: pools, PG table, OSD hosts.
pub struct Maps {
    pub pools: Vec<Pool>,
    pub pgs: BTreeMap<PgId, Acting>,
    pub hosts: BTreeMap<i64, String>,
}

impl Maps {
    pub async fn read(cluster: &Cluster, t: &dyn Transport) -> Result<Maps, MapError> {
        let ceph = |args: &[&str]| {
            let mut w = words(&["ceph", "--cluster", &cluster.name]);
            w.extend(words(args));
            w.extend(words(&["-f", "json"]));
            w
        };
        let read = |w: Vec<String>| async move {
            let text = in_mon_container(cluster, t, &w, LIST_TIMEOUT).await?;
            json(&text, &w[3..w.len() - 2].join(" "))
        };
        // Three reads at once: each is a `ceph` process in the mon's
        // container, whose start dominates.
        let (dump, pgs, tree) = tokio::try_join!(
            read(ceph(&["osd", "dump"])),
            read(ceph(&["pg", "dump", "pgs_brief"])),
            read(ceph(&["osd", "tree"])),
        )?;
        Ok(Maps {
            pools: placement::pools(&dump),
            pgs: placement::pg_table(&pgs),
            hosts: placement::osd_hosts(&tree),
        })
    }

    pub fn pool(&self, name: &str) -> Result<&Pool, MapError> {
        let p = self
            .pools
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| MapError::NotFound(format!("no pool `{name}` in the cluster")))?;
        if p.object_hash != 2 {
            return Err(MapError::Unreadable(format!(
                "pool `{name}` hashes object names with hash {} (only rjenkins, 2, is computed)",
                p.object_hash
            )));
        }
        Ok(p)
    }
}

/// The names of `pool`'s objects in `namespace` that begin with `prefix.`.
async fn object_names(
    cluster: &Cluster,
    t: &dyn Transport,
    pool: &str,
    namespace: &str,
    prefix: &str,
) -> Result<Vec<String>, MapError> {
    let script = Script::new(OBJECTS)
        .arg(cluster.name.clone())
        .arg(pool)
        .arg(namespace)
        .arg(format!("{prefix}."));
    let out = in_mon_container(cluster, t, &script.command().argv, LIST_TIMEOUT)
        .await
        .map_err(|e| not_found(e, &format!("pool {pool}")))?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// An image as `rbd info` describes it.
async fn image_info(
    cluster: &Cluster,
    t: &dyn Transport,
    spec: &ImageSpec,
) -> Result<report::Image, MapError> {
    let mut w = rbd(
        cluster,
        &["info", "--format", "json"],
        &spec.pool,
        &spec.namespace,
    );
    w.extend(words(&["--image", &spec.image]));
    let text = in_mon_container(cluster, t, &w, Duration::from_secs(120))
        .await
        .map_err(|e| not_found(e, &format!("image {}", spec_text(spec))))?;
    report::image(&spec.pool, &spec.namespace, &json(&text, "rbd info")?).ok_or_else(|| {
        MapError::Unreadable(format!(
            "`rbd info` of {} names no block_name_prefix",
            spec_text(spec)
        ))
    })
}

fn spec_text(s: &ImageSpec) -> String {
    if s.namespace.is_empty() {
        format!("{}/{}", s.pool, s.image)
    } else {
        format!("{}/{}/{}", s.pool, s.namespace, s.image)
    }
}

/// `map rbd POOL/[NS/]IMAGE`.
pub async fn map_rbd(
    cluster: &Cluster,
    t: &dyn Transport,
    spec: &ImageSpec,
) -> Result<ImageMap, MapError> {
    // The extents of every object: `rbd diff` asks each object in turn,
    // DIFF_OPS at a time (rbd's default is 10).
    let mut w = rbd(
        cluster,
        &[
            "diff",
            "--format",
            "json",
            "--rbd-concurrent-management-ops",
            DIFF_OPS,
        ],
        &spec.pool,
        &spec.namespace,
    );
    w.extend(words(&["--image", &spec.image]));
    // The maps, and the image with its objects and extents, at once.
    let image_side = async {
        let image = image_info(cluster, t, spec).await?;
        let (names, diff) = tokio::try_join!(
            object_names(
                cluster,
                t,
                &image.data_pool,
                &image.namespace,
                &image.prefix,
            ),
            async {
                json(
                    &in_mon_container(cluster, t, &w, LIST_TIMEOUT).await?,
                    "rbd diff",
                )
            },
        )?;
        Ok::<_, MapError>((image, names, diff))
    };
    let (maps, (image, names, diff)) = tokio::try_join!(Maps::read(cluster, t), image_side)?;
    let data_pool = maps.pool(&image.data_pool)?;
    let bytes = report::bytes_per_object(&image, &diff);
    Ok(report::map_image(
        image.clone(),
        data_pool,
        &names,
        &maps.pgs,
        &maps.hosts,
        &bytes,
    ))
}

/// The namespaces of a pool, the default one first: `rbd namespace ls`
/// prints names (Nautilus) or `{"name": ...}` objects; a release or pool
/// without namespaces has the default one only.
async fn namespaces(cluster: &Cluster, t: &dyn Transport, pool: &str) -> Vec<String> {
    let w = rbd(cluster, &["namespace", "ls", "--format", "json"], pool, "");
    let mut out = vec![String::new()];
    if let Ok(text) = in_mon_container(cluster, t, &w, Duration::from_secs(120)).await
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim())
    {
        for n in v.as_array().into_iter().flatten() {
            if let Some(name) = n.as_str().or_else(|| n["name"].as_str())
                && !name.is_empty()
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// `map osd ID`: every image of every RBD pool (every namespace), with
/// how many of its objects are on the OSD.
pub async fn map_osd(cluster: &Cluster, t: &dyn Transport, osd: i64) -> Result<OsdMap, MapError> {
    let maps = Maps::read(cluster, t).await?;
    if !maps.hosts.contains_key(&osd) {
        return Err(MapError::NotFound(format!(
            "osd.{osd} is not in the OSD tree"
        )));
    }
    let rbd_pools: Vec<&Pool> = maps
        .pools
        .iter()
        .filter(|p| p.applications.iter().any(|a| a == "rbd"))
        .collect();
    let mut images = Vec::new();
    for pool in &rbd_pools {
        for ns in namespaces(cluster, t, &pool.name).await {
            let script = Script::new(IMAGES)
                .arg(cluster.name.clone())
                .arg(pool.name.clone())
                .arg(ns.clone());
            let text = in_mon_container(cluster, t, &script.command().argv, LIST_TIMEOUT).await?;
            for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
                if let Some(i) = serde_json::from_str(line)
                    .ok()
                    .and_then(|v| report::image(&pool.name, &ns, &v))
                {
                    images.push(i);
                }
            }
        }
    }
    // One listing per data pool and namespace serves all its images.
    let mut listed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for i in &images {
        let key = (i.data_pool.clone(), i.namespace.clone());
        if let std::collections::btree_map::Entry::Vacant(v) = listed.entry(key) {
            v.insert(object_names(cluster, t, &i.data_pool, &i.namespace, "rbd_data").await?);
        }
    }
    let mut placed = Vec::new();
    for i in images {
        let pool = maps.pool(&i.data_pool)?;
        let names: Vec<String> = listed
            .get(&(i.data_pool.clone(), i.namespace.clone()))
            .into_iter()
            .flatten()
            .filter(|n| report::object_no(&i.prefix, n).is_some())
            .cloned()
            .collect();
        placed.push((i, pool, names));
    }
    Ok(report::map_osd(
        osd,
        &placed,
        &maps.pgs,
        &maps.hosts,
        rbd_pools.iter().map(|p| p.name.clone()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_specs() {
        let s = ImageSpec::parse("rbd/vm1").unwrap();
        assert_eq!(
            (s.pool.as_str(), s.namespace.as_str(), s.image.as_str()),
            ("rbd", "", "vm1")
        );
        let s = ImageSpec::parse("rbd/tenant/vm1").unwrap();
        assert_eq!(s.namespace, "tenant");
        for bad in ["rbd", "rbd/", "/vm1", "a/b/c/d", "rbd//vm1"] {
            assert!(ImageSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
