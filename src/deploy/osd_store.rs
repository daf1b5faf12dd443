//! The mkfs of a new OSD for each object store: bluestore (links to the
//! partitions, keyring, `ceph-osd --mkfs`) and filestore (an XFS file
//! system with a journal link, made in a one-off container).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cephx::Secret;
use crate::containers::oneoff_argv;
use crate::engine::StepContext;
use crate::files::{self, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::prechecks::facts;
use crate::render::CEPH_OWNER;
use crate::transport::{Command, Endpoint, Transport, TransportError, checked};

use super::config::spec_of;
use super::sh;

/// An OSD that `ceph osd new` just gave an id, before its mkfs.
pub(super) struct NewOsd<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) h: &'a Host,
    pub(super) ep: &'a Endpoint,
    pub(super) t: &'a dyn Transport,
    pub(super) ctx: &'a StepContext,
    pub(super) id: &'a str,
    pub(super) uuid: &'a str,
    pub(super) secret: &'a Secret,
}

impl NewOsd<'_> {
    /// The OSD's data folder: `/var/lib/ceph/osd/<cluster>-<id>`.
    fn dir(&self) -> String {
        format!("/var/lib/ceph/osd/{}-{}", self.cluster.name, self.id)
    }
}

/// A bluestore OSD's folder: `block` (and `block.wal`/`block.db`) linked
/// to the partitions, its keyring, then `ceph-osd --mkfs`.
pub(super) async fn bluestore_mkfs(
    new: &NewOsd<'_>,
    data: &facts::BlockDev,
    partners: &BTreeMap<char, &facts::BlockDev>,
) -> Result<(), TransportError> {
    let NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id,
        uuid,
        secret,
    } = *new;
    let c = &cluster.name;
    let dir = new.dir();
    // block = the _B partner when there is one, else the bootstrap partition.
    let block = partners.get(&'B').copied().unwrap_or(data);
    let mut links = vec![format!("ln -sfn /dev/{} {dir}/block", block.name)];
    let mut devs = vec![
        format!("/dev/{}", data.name),
        format!("/dev/{}", block.name),
    ];
    for (c_, link) in [('W', "block.wal"), ('D', "block.db")] {
        if let Some(p) = partners.get(&c_) {
            links.push(format!("ln -sfn /dev/{} {dir}/{link}", p.name));
            devs.push(format!("/dev/{}", p.name));
        }
    }
    checked(t, ep, &sh(h, format!("mkdir -p {dir} && {} && chown -h {CEPH_OWNER} {dir} {dir}/block* && chown {CEPH_OWNER} {}", links.join(" && "), devs.join(" ")))).await?;
    let keyring = format!("[osd.{id}]\n\tkey = {}\n", secret.expose());
    let kpath = format!("{dir}/keyring");
    files::put(
        t,
        ep,
        &RemoteFile {
            path: &kpath,
            content: keyring.as_bytes(),
            mode: 0o600,
            owner: Some(CEPH_OWNER),
        },
        ep.connection.become_root,
    )
    .await?;
    let mkfs = [
        "ceph-osd",
        "--cluster",
        c,
        "-i",
        id,
        "--mkfs",
        "--osd-uuid",
        uuid,
        "--osd-objectstore",
        "bluestore",
        "--setuser",
        "ceph",
        "--setgroup",
        "ceph",
    ];
    let spec_id = spec_of(cluster, h, Role::Osd, id)?;
    let cmd = Command::new(oneoff_argv(h.engine, &spec_id, &mkfs))
        .become_root(ep.connection.become_root)
        .timeout(Duration::from_secs(600))
        .on_line(ctx.output_to_log(&h.name));
    checked(t, ep, &cmd).await?;
    Ok(())
}

/// A filestore OSD: an XFS file system on the data partition, mounted in
/// a one-off container of the Ceph image, with the keyring and a `journal`
/// link to the `_J` partition, then `ceph-osd --mkfs`. The OSD container
/// mounts it again at every start (roles/osd/container.yml).
pub(super) async fn filestore_mkfs(
    new: &NewOsd<'_>,
    data: &facts::BlockDev,
    journal: &facts::BlockDev,
) -> Result<(), TransportError> {
    let NewOsd {
        cluster,
        h,
        ep,
        t,
        ctx,
        id,
        uuid,
        secret,
    } = *new;
    let c = &cluster.name;
    let dir = new.dir();
    let script = format!(
        "set -e; d={dir}; mkfs.xfs -f -q /dev/{data}; mkdir -p $d; \
         mount -o noatime,inode64 /dev/{data} $d; trap 'umount $d' EXIT; \
         cat > $d/keyring; chmod 600 $d/keyring; ln -sfn /dev/{journal} $d/journal; \
         chown -R {CEPH_OWNER} $d; chown {CEPH_OWNER} /dev/{data} /dev/{journal}; \
         ceph-osd --cluster {c} -i {id} --mkfs --osd-uuid {uuid} --osd-objectstore filestore \
           --osd-data $d --osd-journal $d/journal --setuser ceph --setgroup ceph",
        data = data.name,
        journal = journal.name,
    );
    let spec = spec_of(cluster, h, Role::Osd, id)?;
    let cmd = Command::new(oneoff_argv(h.engine, &spec, &["sh", "-c", &script]))
        .become_root(ep.connection.become_root)
        .stdin(format!("[osd.{id}]\n\tkey = {}\n", secret.expose()))
        .secret()
        .timeout(Duration::from_secs(600))
        .on_line(ctx.output_to_log(&h.name));
    checked(t, ep, &cmd).await?;
    Ok(())
}
