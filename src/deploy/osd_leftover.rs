//! What a stopped OSD creation leaves behind, and its removal. A new OSD's
//! uuid is derived from its host and its bootstrap partition's PARTUUID,
//! so when a creation is killed or fails after `ceph osd new` (the
//! partition still carries its bootstrap label), the next run finds the id
//! the cluster gave it; one that never came up holds no data and is purged
//! before the partition is made an OSD again. Without this every stopped
//! creation left a ghost OSD (down, in the map for good), and a bluestore
//! label left on the partition made the next mkfs fail.

use crate::ceph;
use crate::facts::BlockDev;
use crate::model::{Cluster, Host};
use crate::release::Release;
use crate::script::Script;
use crate::transport::{Endpoint, Transport, TransportError, checked};

use super::on_host;

/// The uuid a new OSD on `host`'s partition with `part_uuid` gets: the
/// same on every run, different on every host (cloned disks share
/// PARTUUIDs).
pub(super) fn osd_uuid(host: &str, part_uuid: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("cephalo osd\0{host}\0{part_uuid}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Version 4 and variant bits set, as `ceph osd new` expects a uuid.
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The uuid for each bootstrap data partition of a host (by partition
/// name): derived when the partition has a PARTUUID no other of the
/// host's bootstrap partitions shares, else None (a random one is used).
pub(super) fn uuids(host: &str, data: &[&BlockDev]) -> Vec<(String, Option<String>)> {
    data.iter()
        .map(|b| {
            let unique = b.part_uuid.as_deref().filter(|u| {
                data.iter()
                    .filter(|o| o.part_uuid.as_deref() == Some(u))
                    .count()
                    == 1
            });
            (b.name.clone(), unique.map(|u| osd_uuid(host, u)))
        })
        .collect()
}

/// An OSD of the cluster made for one of the host's bootstrap partitions.
#[derive(Debug, PartialEq, Eq)]
pub struct Leftover {
    pub id: u64,
    pub partition: String,
}

/// The OSDs of `ceph osd dump` whose uuid is one of `wanted` (partition,
/// uuid) pairs. One that has been up is an error: its partition still
/// says "make me an OSD" though an OSD has run from it, and nothing is
/// done to it.
pub fn leftovers(
    dump: &serde_json::Value,
    wanted: &[(String, Option<String>)],
) -> Result<Vec<Leftover>, String> {
    let mut found = Vec::new();
    for o in dump["osds"].as_array().into_iter().flatten() {
        let (Some(id), Some(uuid)) = (o["osd"].as_u64(), o["uuid"].as_str()) else {
            continue;
        };
        let Some((partition, _)) = wanted
            .iter()
            .find(|(_, u)| u.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(uuid)))
        else {
            continue;
        };
        if o["up_from"].as_u64().unwrap_or(0) > 0 || o["up"].as_u64() == Some(1) {
            return Err(format!(
                "/dev/{partition} is labelled for a new OSD, but osd.{id} was made from it and has run: \
                 give the partition its OSD's name (KOLLA_CEPH_DATA_BS_{id}) or remove osd.{id} first"
            ));
        }
        found.push(Leftover {
            id,
            partition: partition.clone(),
        });
    }
    Ok(found)
}

/// Removes a folder `$1` unless something is mounted on it.
const REMOVE_FOLDER: &str = "if mountpoint -q -- \"$1\"; then echo \"$1 is a mount point\" >&2; exit 1; fi; rm -rf -- \"$1\"";

/// Takes a leftover OSD out of the cluster and its folder off the host.
pub(super) async fn purge(
    cluster: &Cluster,
    h: &Host,
    ep: &Endpoint,
    t: &dyn Transport,
    l: &Leftover,
) -> Result<(), TransportError> {
    let id = l.id.to_string();
    let name = format!("osd.{id}");
    if cluster.release >= Release::Luminous {
        ceph::ceph_out(
            cluster,
            t,
            &["osd", "purge", &id, "--yes-i-really-mean-it"],
            false,
        )
        .await?;
    } else {
        for args in [
            &["osd", "crush", "remove", &name][..],
            &["auth", "del", &name],
            &["osd", "rm", &id],
        ] {
            ceph::ceph_out(cluster, t, args, false).await?;
        }
    }
    let dir = format!("/var/lib/ceph/osd/{}-{id}", cluster.name);
    checked(t, ep, &on_host(h, Script::new(REMOVE_FOLDER).arg(&dir))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dev(name: &str, uuid: Option<&str>) -> BlockDev {
        BlockDev {
            name: name.into(),
            size: 1 << 30,
            parent: Some("vdb".into()),
            part_name: Some("KOLLA_CEPH_OSD_BOOTSTRAP_BS".into()),
            signature: None,
            part_uuid: uuid.map(str::to_string),
        }
    }

    #[test]
    fn the_uuid_is_the_same_every_run_and_differs_per_host_and_partition() {
        let a = osd_uuid("ceph1", "0b1e");
        assert_eq!(a, osd_uuid("ceph1", "0b1e"));
        assert_ne!(a, osd_uuid("ceph2", "0b1e"));
        assert_ne!(a, osd_uuid("ceph1", "0b1f"));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn shared_or_missing_partuuids_get_no_derived_uuid() {
        let (a, b, c, d) = (
            dev("vdb1", Some("u1")),
            dev("vdc1", Some("u1")),
            dev("vdd1", None),
            dev("vde1", Some("u2")),
        );
        let u = uuids("ceph1", &[&a, &b, &c, &d]);
        assert_eq!(u[0].1, None);
        assert_eq!(u[1].1, None);
        assert_eq!(u[2].1, None);
        assert_eq!(u[3].1.as_deref(), Some(osd_uuid("ceph1", "u2").as_str()));
    }

    #[test]
    fn a_never_up_osd_of_a_bootstrap_partition_is_a_leftover() {
        let wanted = vec![
            ("vdb1".to_string(), Some("AAA".to_string())),
            ("vdc1".to_string(), None),
        ];
        let dump = json!({"osds": [
            {"osd": 0, "uuid": "bbb", "up": 1, "up_from": 5},
            {"osd": 3, "uuid": "aaa", "up": 0, "up_from": 0},
        ]});
        assert_eq!(
            leftovers(&dump, &wanted).unwrap(),
            [Leftover {
                id: 3,
                partition: "vdb1".into()
            }]
        );
        // Made and run: the label is wrong, nothing is purged.
        let ran = json!({"osds": [{"osd": 3, "uuid": "aaa", "up": 0, "up_from": 9}]});
        let e = leftovers(&ran, &wanted).unwrap_err();
        assert!(e.contains("/dev/vdb1") && e.contains("osd.3"), "{e}");
        assert!(leftovers(&json!({}), &wanted).unwrap().is_empty());
    }

    #[test]
    fn a_hostile_folder_is_one_word() {
        use crate::script::{HOSTILE, words_seen_by_sh};
        for v in HOSTILE {
            let cmd = Script::new(REMOVE_FOLDER).arg(*v).command();
            assert_eq!(words_seen_by_sh(&cmd), [*v]);
        }
    }
}
