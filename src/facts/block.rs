//! Block devices of a host: the script that lists them (`block.sh`, read
//! from the GPT, never udev), its pure parser, and what kolla's OSD
//! partition names mean. A fact, not an operation: it changes nothing and
//! imports nothing above `script`.

use serde::Serialize;

use crate::script::Script;

/// Lists block devices, mounts and LVM physical volumes (sections `block`,
/// `mounts`, `lvm`). Arguments: the devices to look at (none: every disk).
/// Used alone (disks, deploy) and after the prechecks' gather script.
pub const BLOCK_SCRIPT: &str = include_str!("block.sh");

/// The block script for these devices (none: every disk); its output
/// parses with `facts::parse`.
pub fn script<I, S>(devices: I) -> Script
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Script::new(BLOCK_SCRIPT).args(devices)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDev {
    pub name: String,
    pub size: u64,
    /// The disk a partition belongs to.
    pub parent: Option<String>,
    /// GPT partition name, read from the partition table (not udev).
    pub part_name: Option<String>,
    /// Filesystem or other signature found on it (xfs, LVM2_member ...).
    pub signature: Option<String>,
    /// The GPT partition's unique id (PARTUUID), lower case.
    pub part_uuid: Option<String>,
}

/// Lines `NAME SIZE PARENT` then `KEY=VALUE` lines of `blkid -p -o export`
/// until a blank line.
pub fn block_devices(text: &str) -> Vec<BlockDev> {
    let mut out: Vec<BlockDev> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("dev ") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let Some(name) = parts.first() else { continue };
            out.push(BlockDev {
                name: name.to_string(),
                size: parts
                    .get(1)
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
                    * 512,
                parent: parts.get(2).filter(|p| **p != "-").map(|p| p.to_string()),
                part_name: None,
                signature: None,
                part_uuid: None,
            });
        } else if let Some((k, v)) = line.split_once('=')
            && let Some(dev) = out.last_mut()
        {
            match k {
                "PART_ENTRY_NAME" => dev.part_name = Some(unescape_blkid(v)),
                "PART_ENTRY_UUID" => dev.part_uuid = Some(v.to_ascii_lowercase()),
                "TYPE" => dev.signature = Some(v.to_string()),
                "PTTYPE" if dev.signature.is_none() => {
                    dev.signature = Some(format!("partition table {v}"))
                }
                _ => {}
            }
        }
    }
    out
}

/// blkid's export format escapes unsafe characters as `\xNN`.
fn unescape_blkid(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 4).unwrap_or("");
        match u8::from_str_radix(hex, 16) {
            Ok(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            Err(_) => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `/proc/mounts`: the mounted sources.
pub fn mounts(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `pvs --noheadings -o pv_name`: the LVM physical volumes.
pub fn lvm_pvs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A kolla OSD partition name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsdLabel {
    pub bluestore: bool,
    /// The suffix naming the OSD (`FOO1` in `..._BS_FOO1`), empty for the
    /// bare bootstrap label.
    pub name: String,
    /// `J`, `B`, `W`, `D` for a partner partition; None for the data one.
    pub partner: Option<char>,
    /// An OSD already made (`KOLLA_CEPH_DATA_*`).
    pub existing: bool,
}

impl OsdLabel {
    pub fn is_data(&self) -> bool {
        self.partner.is_none()
    }
}

/// Reads `KOLLA_CEPH_OSD_BOOTSTRAP[_BS][_X][_J|_B|_W|_D]` and
/// `KOLLA_CEPH_DATA[_BS]_<id>[...]`.
pub fn osd_label(name: &str) -> Option<OsdLabel> {
    let (existing, rest) = if let Some(r) = name.strip_prefix("KOLLA_CEPH_OSD_BOOTSTRAP") {
        (false, r)
    } else if let Some(r) = name.strip_prefix("KOLLA_CEPH_DATA") {
        (true, r)
    } else {
        return None;
    };
    let (bluestore, rest) = match rest.strip_prefix("_BS") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if !rest.is_empty() && !rest.starts_with('_') {
        return None;
    }
    let rest = rest.trim_start_matches('_');
    let partners: &[char] = if bluestore { &['B', 'W', 'D'] } else { &['J'] };
    let (name, partner) = match rest.rsplit_once('_') {
        Some((n, p)) if p.len() == 1 && partners.contains(&p.chars().next().unwrap_or(' ')) => {
            (n.to_string(), p.chars().next())
        }
        _ if rest.len() == 1 && partners.contains(&rest.chars().next().unwrap_or(' ')) => {
            (String::new(), rest.chars().next())
        }
        _ => (rest.to_string(), None),
    };
    Some(OsdLabel {
        bluestore,
        name,
        partner,
        existing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolla_labels() {
        let l = |s: &str| osd_label(s).unwrap();
        assert_eq!(l("KOLLA_CEPH_OSD_BOOTSTRAP_BS").name, "");
        assert!(l("KOLLA_CEPH_OSD_BOOTSTRAP_BS").bluestore);
        assert_eq!(l("KOLLA_CEPH_OSD_BOOTSTRAP_BS_FOO1").name, "FOO1");
        assert_eq!(l("KOLLA_CEPH_OSD_BOOTSTRAP_BS_FOO1_W").partner, Some('W'));
        assert_eq!(l("KOLLA_CEPH_OSD_BOOTSTRAP_FOO_J").partner, Some('J'));
        assert!(!l("KOLLA_CEPH_OSD_BOOTSTRAP_FOO_J").bluestore);
        assert_eq!(l("KOLLA_CEPH_OSD_BOOTSTRAP").partner, None);
        assert!(l("KOLLA_CEPH_DATA_BS_3").existing);
        assert_eq!(l("KOLLA_CEPH_DATA_BS_3_D").partner, Some('D'));
        assert!(osd_label("KOLLA_CEPH_OSD_BOOTSTRAPX").is_none());
        assert!(osd_label("ceph data").is_none());
    }

    #[test]
    fn a_partition_carries_its_gpt_name_and_partuuid() {
        let devs = block_devices(
            "dev vdb 2048 -\nPTTYPE=gpt\n\ndev vdb1 1024 vdb\nPART_ENTRY_NAME=KOLLA_CEPH_OSD_BOOTSTRAP_BS\nPART_ENTRY_UUID=0B1E2C3D-AAAA-4BBB-8CCC-000000000001\n\n",
        );
        assert_eq!(
            devs[1].part_name.as_deref(),
            Some("KOLLA_CEPH_OSD_BOOTSTRAP_BS")
        );
        assert_eq!(
            devs[1].part_uuid.as_deref(),
            Some("0b1e2c3d-aaaa-4bbb-8ccc-000000000001")
        );
        assert_eq!(devs[0].part_uuid, None);
    }

    #[test]
    fn blkid_escapes() {
        assert_eq!(unescape_blkid("KOLLA\\x20X"), "KOLLA X");
        assert_eq!(unescape_blkid("a\\xZZb"), "a\\xZZb");
    }

    #[test]
    fn a_hostile_device_reaches_the_script_as_one_word() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("INJECTED");
        let hostile = "/dev/loop x;touch INJECTED $(touch INJECTED) `touch INJECTED` 'q\" \nz";
        let cmd = script([hostile, "-n"]).command();
        assert_eq!(cmd.argv[4..], [hostile, "-n"]);
        // What the remote side runs: the transport's quoted line, in a
        // real shell. It reads /sys and /proc only.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.line())
            .current_dir(dir.path())
            .output()
            .expect("run sh");
        let text = String::from_utf8_lossy(&out.stdout);
        let base = hostile.rsplit('/').next().unwrap_or_default();
        assert!(
            text.contains(&format!("dev {base} 0 - missing\n")),
            "{text}"
        );
        assert!(!marker.exists(), "the device name ran as shell");
    }
}
