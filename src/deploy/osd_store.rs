//! The mkfs of a new OSD for each object store: bluestore (links to the
//! partitions, keyring, `ceph-osd --mkfs`) and filestore (an XFS file
//! system with a journal link, made in a one-off container).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cephx::Secret;
use crate::containers::oneoff_argv;
use crate::engine::StepContext;
use crate::facts;
use crate::files::{self, RemoteFile};
use crate::model::{Cluster, Host, Role};
use crate::script::Script;
use crate::transport::{Command, Endpoint, Transport, TransportError, checked};

use super::config::spec_of;
use super::on_host;

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

const BLUESTORE_LINKS: &str = include_str!("bluestore_links.sh");
const FILESTORE_MKFS: &str = include_str!("filestore_mkfs.sh");

/// The script that makes a bluestore OSD's folder `dir` with `links`
/// (pairs of link name and device), giving it and `data` to `owner` (the
/// image's ceph user).
fn bluestore_links(dir: &str, owner: &str, data: &str, links: Vec<String>) -> Script {
    Script::new(BLUESTORE_LINKS)
        .arg(dir)
        .arg(owner)
        .arg(data)
        .args(links)
}

/// The script that makes a filestore OSD in a one-off container (where
/// the image's own `ceph` user is known by name).
fn filestore_mkfs_script(
    dir: &str,
    data: &str,
    journal: &str,
    cluster: &str,
    id: &str,
    uuid: &str,
) -> Script {
    Script::new(FILESTORE_MKFS).args([dir, data, journal, "ceph:ceph", cluster, id, uuid])
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
    let owner = super::owner::of_host(cluster, h, t).await?;
    let mut links = vec!["block".to_string(), format!("/dev/{}", block.name)];
    for (c_, link) in [('W', "block.wal"), ('D', "block.db")] {
        if let Some(p) = partners.get(&c_) {
            links.extend([link.to_string(), format!("/dev/{}", p.name)]);
        }
    }
    checked(
        t,
        ep,
        &on_host(
            h,
            bluestore_links(&dir, &owner, &format!("/dev/{}", data.name), links),
        ),
    )
    .await?;
    let keyring = format!("[osd.{id}]\n\tkey = {}\n", secret.expose());
    let kpath = format!("{dir}/keyring");
    files::put(
        t,
        ep,
        &RemoteFile {
            path: &kpath,
            content: keyring.as_bytes(),
            mode: 0o600,
            owner: Some(&owner),
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
    let mkfs = filestore_mkfs_script(
        &dir,
        &format!("/dev/{}", data.name),
        &format!("/dev/{}", journal.name),
        c,
        id,
        uuid,
    )
    .command();
    let argv: Vec<&str> = mkfs.argv.iter().map(String::as_str).collect();
    let spec = spec_of(cluster, h, Role::Osd, id)?;
    let cmd = Command::new(oneoff_argv(h.engine, &spec, &argv))
        .become_root(ep.connection.become_root)
        .stdin(format!("[osd.{id}]\n\tkey = {}\n", secret.expose()))
        .secret()
        .timeout(Duration::from_secs(600))
        .on_line(ctx.output_to_log(&h.name));
    checked(t, ep, &cmd).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{HOSTILE, words_seen_by_sh};

    #[test]
    fn hostile_values_are_one_word_in_the_osd_scripts() {
        for v in HOSTILE {
            let cmd = bluestore_links(v, v, v, vec!["block".into(), v.to_string()]).command();
            assert_eq!(cmd.argv[2], BLUESTORE_LINKS);
            assert_eq!(words_seen_by_sh(&cmd), [*v, *v, *v, "block", *v]);
            let cmd = filestore_mkfs_script(v, v, v, v, v, v).command();
            assert_eq!(cmd.argv[2], FILESTORE_MKFS);
            assert_eq!(
                words_seen_by_sh(&cmd),
                [*v, *v, *v, "ceph:ceph", *v, *v, *v]
            );
        }
    }

    #[test]
    fn the_bluestore_folder_gets_its_links() {
        // Run for real in a scratch folder, owned by whoever runs the test.
        let base = std::env::temp_dir().join(format!("cephalo-bs-{}", std::process::id()));
        let dir = base.join("ceph-0 x");
        let dev = base.join("dev;id");
        std::fs::create_dir_all(&base).unwrap();
        // What a stopped creation left: zeroed.
        std::fs::write(&dev, vec![0xffu8; 3 << 20]).unwrap();
        let id = |f: &str| {
            let out = std::process::Command::new("id").arg(f).output().unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let me = format!("{}:{}", id("-u"), id("-g"));
        let script = bluestore_links(
            dir.to_str().unwrap(),
            &me,
            dev.to_str().unwrap(),
            vec!["block".into(), dev.to_str().unwrap().into()],
        )
        .command();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.line())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read_link(dir.join("block")).unwrap(), dev);
        let left = std::fs::read(&dev).unwrap();
        assert_eq!(left.len(), 3 << 20);
        assert!(left.iter().all(|b| *b == 0), "the device was not zeroed");
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 2);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
