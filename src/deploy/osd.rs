//! The OSDs of a host: existing `KOLLA_CEPH_DATA_*` partitions get their
//! containers, bootstrap partitions become new OSDs (an id from the
//! cluster, then the store's mkfs in `osd_store`, then the new label).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::cephx::Secret;
use crate::containers::{self, oneoff_argv};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::facts::{self, osd_label};
use crate::model::{Cluster, Host, ObjectStore, Role};
use crate::render::CEPH_OWNER;
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked};

use super::config::{ensure_daemon, spec_of, wanted_hash};
use super::osd_store::{NewOsd, bluestore_mkfs, filestore_mkfs};
use super::waits::{wait_clean, wait_osd_up};
use super::{StepResult, host, on_host, outcome};

/// Every OSD of a host: bootstrap partitions become new OSDs, existing
/// `KOLLA_CEPH_DATA_*` partitions have their containers.
pub struct Osds {
    pub cluster: Arc<Cluster>,
    /// False for `reconfigure`: bootstrap partitions are left as they are.
    pub create: bool,
}

impl Action for Osds {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { outcome(osds(&self.cluster, ep, t, ctx, self.create).await) })
    }
}

async fn osds(
    cluster: &Cluster,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    create: bool,
) -> StepResult {
    let h = host(cluster, ep)?;
    let f = block_facts(h, ep, t).await?;
    // Partitions by label: (name, bluestore) -> data partition and partners.
    let mut changed = false;
    let labelled: Vec<(&facts::BlockDev, facts::OsdLabel)> = f
        .block
        .iter()
        .filter_map(|b| b.part_name.as_deref().and_then(osd_label).map(|l| (b, l)))
        .collect();
    // Existing OSDs: make sure their devices belong to ceph and they run.
    for (b, l) in labelled.iter().filter(|(_, l)| l.existing && l.is_data()) {
        let id = l.name.clone();
        let mut devs = vec!["chown".to_string(), "--".into(), CEPH_OWNER.into()];
        devs.push(format!("/dev/{}", b.name));
        devs.extend(
            labelled
                .iter()
                .filter(|(_, p)| p.existing && p.name == id && p.partner.is_some())
                .map(|(p, _)| format!("/dev/{}", p.name)),
        );
        checked(t, ep, &on_host(h, Command::new(devs))).await?;
        // A restart must be seen (the OSD up again, from a later map)
        // before its PGs are judged, or stale "clean" would pass at once.
        let now = containers::inspect(t, ep, h.engine, &format!("ceph_osd_{id}")).await?;
        let want = wanted_hash(cluster, h, Role::Osd, &id)?;
        let restarts = containers::need(&now, &want) != containers::Need::Nothing;
        let before = if restarts {
            crate::ceph::osd_state(cluster, t, &id).await?.up_from
        } else {
            0
        };
        if ensure_daemon(cluster, h, t, Role::Osd, &id).await? {
            changed = true;
            wait_osd_up(cluster, t, &h.name, &id, before, ctx).await?;
            wait_clean(cluster, t, &h.name, ctx).await?;
        }
    }
    for (b, l) in labelled
        .iter()
        .filter(|(_, l)| create && !l.existing && l.is_data())
    {
        let filestore = h.object_store == ObjectStore::Filestore;
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
        create_osd(cluster, h, ep, t, ctx, b, &partners).await?;
        changed = true;
    }
    Ok(changed)
}

/// Gives the partition `$1` (a name under /sys/class/block) of the disk
/// `$2` the GPT name `$3`.
const RENAME_PARTITION: &str =
    "n=$(cat \"/sys/class/block/$1/partition\") && parted -s \"/dev/$2\" name \"$n\" \"$3\"";

async fn create_osd(
    cluster: &Cluster,
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    ctx: &StepContext,
    data: &facts::BlockDev,
    partners: &BTreeMap<char, &facts::BlockDev>,
) -> Result<(), TransportError> {
    let c = &cluster.name;
    let spec = spec_of(cluster, h, Role::Osd, "new")?;
    let uuid = uuid::Uuid::new_v4().to_string();
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
    let mut renames = vec![(data, format!("{prefix}{id}"))];
    for (p, dev) in partners {
        renames.push((dev, format!("{prefix}{id}_{p}")));
    }
    for (dev, name) in renames {
        let Some(parent) = &dev.parent else { continue };
        let rename = Script::new(RENAME_PARTITION)
            .arg(&dev.name)
            .arg(parent)
            .arg(name);
        checked(t, ep, &on_host(h, rename)).await?;
    }
    ensure_daemon(cluster, h, t, Role::Osd, &id).await?;
    wait_osd_up(cluster, t, &h.name, &id, 0, ctx).await?;
    Ok(())
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
