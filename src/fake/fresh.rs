//! A fresh fake cluster to deploy on: hosts with the Ceph image and
//! `disks` KOLLA bootstrap disks each, and the host scripts a deploy sends
//! answered (files written and probed, block devices listed with their
//! GPT names, partitions renamed; the rest succeed). Serves the scale
//! tests and the scale simulation (`bench/sim`); the golden test keeps its
//! own, spelled out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::release::Release;

use super::host::FakeHost;
use super::{FakeCluster, out};

/// A file a host was given: its digest, mode and owner ids.
type Stored = (String, String, String);

/// The name of a host's `i`th data disk: vdb, vdc, ...
pub fn disk_name(i: usize) -> String {
    match u8::try_from(i).ok().filter(|i| *i < 25) {
        Some(i) => format!("vd{}", char::from(b'b' + i)),
        None => format!("vdz{i}"),
    }
}

impl FakeCluster {
    /// Fresh hosts (no daemon yet) with `image` (of `release`) and `disks`
    /// bootstrap disks each (one partition labelled
    /// `KOLLA_CEPH_OSD_BOOTSTRAP_BS`).
    pub fn fresh(release: Release, image: &str, hosts: &[String], disks: usize) -> FakeCluster {
        let mut w = FakeCluster::default();
        w.releases.insert(image.into(), release);
        w.ceph.pgs = 1;
        for h in hosts {
            let mut host = FakeHost::new();
            host.add_image(image);
            w.hosts.insert(h.clone(), host);
        }
        let files: Arc<Mutex<HashMap<(String, String), Stored>>> = Default::default();
        w.on_script(move |host, text, args, input| {
            let key = (host.to_string(), args.first()?.clone());
            let mut fs = files.lock().unwrap_or_else(|p| p.into_inner());
            if text.contains("sha256sum <") {
                return Some(match fs.get(&key) {
                    Some((digest, mode, ids)) => {
                        let names = if ids == "0:0" {
                            "root:root"
                        } else {
                            "ceph:ceph"
                        };
                        out(0, format!("{mode} {names} {ids}\n{digest}  -\n"))
                    }
                    None => out(0, "absent\n"),
                });
            }
            if text.contains("mktemp") {
                let owner = args
                    .get(2)
                    .filter(|o| !o.is_empty())
                    .map_or("0:0", |o| o.as_str());
                let mode = args.get(1).cloned().unwrap_or_default();
                let digest = {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(input))
                };
                fs.insert(key, (digest, mode, owner.to_string()));
                return Some(out(0, ""));
            }
            None
        });
        // GPT names by (host, partition).
        let labels: Arc<Mutex<HashMap<(String, String), String>>> = Default::default();
        let l = labels.clone();
        w.on_script(move |host, text, args, _| {
            if !text.contains("parted") {
                return None;
            }
            let (part, name) = (args.first()?, args.get(2)?);
            let mut labels = l.lock().unwrap_or_else(|p| p.into_inner());
            labels.insert((host.to_string(), part.clone()), name.clone());
            Some(out(0, ""))
        });
        w.on_script(move |host, text, _, _| {
            if !text.contains("=== $1 ===") || !text.contains("blkid") {
                return None;
            }
            let labels = labels.lock().unwrap_or_else(|p| p.into_inner());
            let mut listing = String::from("=== block ===\n");
            for i in 0..disks {
                let disk = disk_name(i);
                let part = format!("{disk}1");
                let label = labels
                    .get(&(host.to_string(), part.clone()))
                    .map_or("KOLLA_CEPH_OSD_BOOTSTRAP_BS", String::as_str);
                // A PARTUUID of its own per host and partition.
                let id = {
                    use sha2::Digest;
                    let d = sha2::Sha256::digest(format!("{host}/{part}").as_bytes());
                    uuid::Builder::from_random_bytes(d[..16].try_into().unwrap_or_default()).into_uuid()
                };
                listing += &format!(
                    "dev {disk} 12582912 -\nPTTYPE=gpt\n\ndev {part} 12580864 {disk}\nPART_ENTRY_NAME={label}\nPART_ENTRY_UUID={id}\n\n"
                );
            }
            listing += "=== mounts ===\n=== lvm ===\n";
            Some(out(0, listing))
        });
        // Folders, owners, links, udev, sysctl: nothing the fake models.
        w.on_script(|_, _, _, _| Some(out(0, "")));
        w
    }
}

/// Writes an inventory of `hosts` (mons on the first three, mgrs on the
/// first two, OSDs on all, addresses 10.x.y.z), globals (Pacific, the
/// `disks` OSD devices, then `extra_globals`) and the test passwords into
/// `dir`, for `model::load`.
pub fn write_lab(
    dir: &std::path::Path,
    hosts: &[String],
    disks: usize,
    extra_globals: &str,
) -> std::io::Result<()> {
    let mut inv = String::from("[lab]\n");
    for (i, h) in hosts.iter().enumerate() {
        let a = format!("10.{}.{}.{}", 64 + i / 62500, (i / 250) % 250, i % 250 + 1);
        inv += &format!("{h} ansible_host={a} public_address={a}\n");
    }
    let first = |n: usize| hosts.iter().take(n).cloned().collect::<Vec<_>>().join("\n");
    inv += &format!(
        "[mons]\n{}\n[mgrs]\n{}\n[osds]\n{}\n",
        first(3),
        first(2),
        hosts.join("\n")
    );
    std::fs::write(dir.join("inventory"), inv)?;
    let devices: Vec<String> = (0..disks)
        .map(|i| format!("/dev/{}", disk_name(i)))
        .collect();
    std::fs::write(
        dir.join("globals.yml"),
        format!(
            "ceph_release: pacific\npublic_network: 10.0.0.0/8\nceph_osd_devices: [{}]\n{extra_globals}",
            devices.join(", ")
        ),
    )?;
    let passwords =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/good/passwords.yml");
    std::fs::copy(passwords, dir.join("passwords.yml"))?;
    // As cephalo requires of a secrets file (git checks it out 0644).
    std::fs::set_permissions(
        dir.join("passwords.yml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
}
