//! New OSDs of a host: bootstrap partitions become OSDs (an id from the
//! cluster, then the store's mkfs in `osd_store`, then the new label and
//! the container), several at once (`ceph_osd_creations_per_host`), on
//! every OSD host at once. New OSDs hold no data, so nothing waits here:
//! the plan waits once for all of them (`waits::WaitNewOsds`). Restarts of
//! existing OSDs are `osd_restart`'s business.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::ceph;
use crate::cephx::Secret;
use crate::containers::oneoff_argv;
use crate::engine::{Action, HostOutcome, StepContext};
use crate::facts::{self, osd_label};
use crate::model::{Cluster, Host, ObjectStore, Role};
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked};

use super::config::{ensure_daemon, spec_of};
use super::osd_leftover;
use super::osd_store::{NewOsd, bluestore_mkfs, filestore_mkfs};
use super::waits::{Created, wait_osds_up};
use super::{StepResult, host, on_host, outcome};

/// The partitions of a host that carry an OSD label, with the label read.
pub(super) type Labelled<'f> = Vec<(&'f facts::BlockDev, facts::OsdLabel)>;

/// The labelled partitions among the host's block devices.
pub(super) fn labelled(f: &facts::Facts) -> Labelled<'_> {
    f.block
        .iter()
        .filter_map(|b| b.part_name.as_deref().and_then(osd_label).map(|l| (b, l)))
        .collect()
}

/// Every bootstrap partition of a host becomes a new OSD.
pub struct CreateOsds {
    pub cluster: Arc<Cluster>,
    /// The ids made, for the one wait after the step.
    pub created: Created,
    /// Wait for each new OSD before the next (the plan before OSDs were
    /// created in parallel: `ceph_osd_create_hosts_at_once: 1`).
    pub wait_each: bool,
    /// `ceph osd dump`, read once for every host's leftover check.
    pub dump: tokio::sync::OnceCell<serde_json::Value>,
}

impl Action for CreateOsds {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { outcome(create_osds(self, ep, t, ctx).await) })
    }
}

/// One bootstrap data partition and its partners (`_B`, `_W`, `_D`, `_J`).
struct Bootstrap<'f> {
    data: &'f facts::BlockDev,
    partners: BTreeMap<char, &'f facts::BlockDev>,
}

/// The host's bootstrap partitions, checked against its object store.
fn bootstraps<'f>(h: &Host, labelled: &Labelled<'f>) -> Result<Vec<Bootstrap<'f>>, TransportError> {
    let filestore = h.object_store == ObjectStore::Filestore;
    let mut found = Vec::new();
    for (b, l) in labelled.iter().filter(|(_, l)| !l.existing && l.is_data()) {
        let label = b.part_name.as_deref().unwrap_or_default();
        if l.bluestore == filestore {
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: format!(
                    "/dev/{} ({label}) is a {} bootstrap partition, but ceph_osd_store_type of {} is {}: relabel it or change the setting",
                    b.name,
                    if l.bluestore {
                        "bluestore"
                    } else {
                        "filestore"
                    },
                    h.name,
                    if filestore { "filestore" } else { "bluestore" }
                ),
            });
        }
        let partners: BTreeMap<char, &facts::BlockDev> = labelled
            .iter()
            .filter(|(_, p)| {
                !p.existing && p.bluestore == l.bluestore && p.name == l.name && p.partner.is_some()
            })
            .filter_map(|(p, pl)| pl.partner.map(|c| (c, *p)))
            .collect();
        if filestore && !partners.contains_key(&'J') {
            // kolla skipped such an OSD without a word.
            return Err(TransportError::Other {
                host: h.name.clone(),
                reason: format!(
                    "/dev/{} ({label}) has no journal partition {label}_J: label one (cephalo does not split a disk for a co-located journal)",
                    b.name
                ),
            });
        }
        found.push(Bootstrap { data: b, partners });
    }
    Ok(found)
}

async fn create_osds(
    a: &CreateOsds,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
) -> StepResult {
    let cluster = &a.cluster;
    let h = host(cluster, ep)?;
    let f = block_facts(h, ep, t).await?;
    let labelled = labelled(&f);
    let todo = bootstraps(h, &labelled)?;
    if todo.is_empty() {
        return Ok(false);
    }
    // What a stopped creation left: purged, then made again.
    let data: Vec<&facts::BlockDev> = todo.iter().map(|b| b.data).collect();
    let uuids = osd_leftover::uuids(&h.name, &data);
    if uuids.iter().any(|(_, u)| u.is_some()) {
        let dump = a
            .dump
            .get_or_try_init(|| ceph::ceph_json(cluster, t, &["osd", "dump"]))
            .await?;
        let found =
            osd_leftover::leftovers(dump, &uuids).map_err(|reason| TransportError::Other {
                host: h.name.clone(),
                reason,
            })?;
        for l in &found {
            ctx.reporter.output_line(
                &ctx.step,
                &h.name,
                crate::transport::Stream::Stdout,
                &format!(
                    "osd.{} of /dev/{} never came up (its creation was stopped): purged, made again",
                    l.id, l.partition
                ),
            );
            osd_leftover::purge(cluster, h, ep, t, l).await?;
        }
    }
    // Partition names of one disk are rewritten one at a time (one GPT).
    let renames = tokio::sync::Mutex::new(());
    let at_once = usize::try_from(h.settings.ceph_osd_creations_per_host)
        .unwrap_or(usize::MAX)
        .max(1);
    for group in todo.chunks(at_once) {
        let made = futures::future::join_all(group.iter().map(|b| {
            let uuid = uuids
                .iter()
                .find(|(p, _)| *p == b.data.name)
                .and_then(|(_, u)| u.as_deref());
            create_osd(cluster, h, ep, t, ctx, (b, uuid), &renames)
        }))
        .await;
        // Every creation of the group has ended; the ids made are kept
        // even when one failed (they are waited for on the next run).
        let mut ids = Vec::new();
        let mut first_error = None;
        for r in made {
            match r {
                Ok(id) => ids.push(id),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if let Ok(mut c) = a.created.lock() {
            c.extend(ids.iter().cloned());
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if a.wait_each {
            let after: Vec<(String, u64)> = ids.into_iter().map(|i| (i, 0)).collect();
            wait_osds_up(cluster, t, &h.name, &after, Duration::from_secs(300), ctx).await?;
        }
    }
    Ok(true)
}

/// Gives the partition `$1` (a name under /sys/class/block) of the disk
/// `$2` the GPT name `$3`.
const RENAME_PARTITION: &str =
    "n=$(cat \"/sys/class/block/$1/partition\") && parted -s \"/dev/$2\" name \"$n\" \"$3\"";

/// Makes one new OSD and starts it; its id.
async fn create_osd(
    cluster: &Cluster,
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    (b, uuid): (&Bootstrap<'_>, Option<&str>),
    renames: &tokio::sync::Mutex<()>,
) -> Result<String, TransportError> {
    let (data, partners) = (b.data, &b.partners);
    let c = &cluster.name;
    let spec = spec_of(cluster, h, Role::Osd, "new")?;
    // Derived from the partition (see osd_leftover), else random.
    let uuid = uuid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let secret = Secret::generate(cluster.release.info().generated_secret).map_err(|e| {
        TransportError::Other {
            host: h.name.clone(),
            reason: format!("no random bytes: {e}"),
        }
    })?;
    // The id, from the cluster, with the bootstrap-osd key.
    let bootstrap = format!("/var/lib/ceph/bootstrap-osd/{c}.keyring");
    let new = [
        "ceph",
        "--cluster",
        c,
        "--name",
        "client.bootstrap-osd",
        "--keyring",
        &bootstrap,
        "osd",
        "new",
        &uuid,
        "-i",
        "-",
    ];
    let cmd = Command::new(oneoff_argv(h.engine, &spec, &new))
        .become_root(ep.connection.become_root)
        .stdin(format!("{{\"cephx_secret\": \"{}\"}}", secret.expose()))
        .secret()
        .timeout(Duration::from_secs(120));
    let id = checked(t, ep, &cmd).await?.stdout_text().trim().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(TransportError::Other {
            host: h.name.clone(),
            reason: format!("`ceph osd new` gave no OSD id (printed {id:?})"),
        });
    }
    ctx.reporter.output_line(
        &ctx.step,
        &h.name,
        crate::transport::Stream::Stdout,
        &format!("osd.{id} on /dev/{}", data.name),
    );
    let new = NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id: &id,
        uuid: &uuid,
        secret: &secret,
    };
    if let Some(journal) = partners.get(&'J') {
        filestore_mkfs(&new, data, journal).await?;
    } else {
        bluestore_mkfs(&new, data, partners).await?;
    }
    // Renamed, so that the next run does not see a bootstrap label again.
    let prefix = if partners.contains_key(&'J') {
        "KOLLA_CEPH_DATA_"
    } else {
        "KOLLA_CEPH_DATA_BS_"
    };
    let mut names = vec![(data, format!("{prefix}{id}"))];
    for (p, dev) in partners {
        names.push((dev, format!("{prefix}{id}_{p}")));
    }
    {
        let _one_at_a_time = renames.lock().await;
        for (dev, name) in names {
            let Some(parent) = &dev.parent else { continue };
            let rename = Script::new(RENAME_PARTITION)
                .arg(&dev.name)
                .arg(parent)
                .arg(name);
            checked(t, ep, &on_host(h, rename)).await?;
        }
    }
    ensure_daemon(cluster, h, t, Role::Osd, &id).await?;
    Ok(id)
}

/// The host's block devices with their GPT names (the OSD devices it lists,
/// or every disk), read from the GPT, not udev.
pub async fn block_facts(
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
) -> Result<facts::Facts, TransportError> {
    let cmd = facts::block::script(h.settings.ceph_osd_devices.iter().cloned())
        .command()
        .become_root(h.connection.become_root);
    let out = checked(t, ep, &cmd).await?;
    Ok(facts::parse(&out.stdout_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_partition_names_are_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = Script::new(RENAME_PARTITION)
                .arg(*v)
                .arg(*v)
                .arg(*v)
                .command();
            assert_eq!(cmd.argv[2], RENAME_PARTITION);
            assert_eq!(crate::script::words_seen_by_sh(&cmd), [*v, *v, *v]);
        }
    }
}
