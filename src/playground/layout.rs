//! The playground as planned from `up`'s options: names, addresses, disk
//! files and partition labels of every host. Pure: it decides, it does not
//! create anything.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::PlaygroundError;
use crate::release::Release;

/// The first host's address is the network's 11th (`10.77.0.11`).
const FIRST_HOST_OFFSET: u32 = 11;
/// GPT partition names hold at most 36 UTF-16 code units.
const GPT_NAME_MAX: usize = 36;
pub const LABEL_PREFIX: &str = "KOLLA_CEPH_OSD_BOOTSTRAP_BS_";
/// Filestore bootstrap partitions: data, and a `_J` journal beside it.
pub const FILESTORE_PREFIX: &str = "KOLLA_CEPH_OSD_BOOTSTRAP_";
/// Size of a filestore journal partition, at the end of its disk.
pub const JOURNAL_SIZE: &str = "1GiB";

/// What `up` is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Prefix of every Docker object (containers, volumes, network).
    pub name: String,
    pub hosts: usize,
    /// Hosts in the `clients` group only (client1..clientN), for
    /// `cephalo admin`: no daemons, no disks.
    #[serde(default)]
    pub clients: usize,
    pub release: String,
    pub osds_per_host: usize,
    /// Size of each OSD disk file, as `truncate -s` takes it (`8G`).
    pub disk_size: String,
    /// Filestore OSDs: each disk gets a data and a `_J` journal partition.
    #[serde(default)]
    pub filestore: bool,
    /// The container engine inside the hosts: docker or podman.
    #[serde(default = "docker")]
    pub engine: String,
    pub subnet: String,
    /// The inventory names hosts only (no ansible_host, no
    /// public_address): addresses come from `network_interface`, and this
    /// machine finds the hosts through the `hosts` file (`ssh_hosts_file`).
    #[serde(default)]
    pub names_only: bool,
    /// The Ceph public network is IPv6 (`Layout::subnet6`, made from
    /// --subnet); this machine still reaches the hosts over IPv4.
    #[serde(default)]
    pub ipv6: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub request: Request,
    pub release: Release,
    /// The playground folder, absolute.
    pub dir: PathBuf,
    pub network: String,
    pub subnet: Ipv4Net,
    pub hosts: Vec<HostPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    /// Inventory name and hostname: `ceph1`.
    pub name: String,
    /// Docker container name: `<name>-ceph1`.
    pub container: String,
    pub address: Ipv4Addr,
    /// Named volume for the nested engine's /var/lib/docker (overlay2).
    pub volume: String,
    pub disks: Vec<DiskPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskPlan {
    /// The sparse file behind the loop device.
    pub file: PathBuf,
    /// GPT name of its (data) partition, unique across the playground.
    pub label: String,
    /// Filestore: GPT name of its journal partition (`<label>_J`).
    pub journal: Option<String>,
}

/// Labels and resource names are the `docker` object names the playground
/// owns; this prefix is on every one of them.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn docker() -> String {
    "docker".into()
}

fn valid_size(size: &str) -> bool {
    let digits = size.trim_end_matches(['K', 'M', 'G', 'T']);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && size.len() - digits.len() <= 1
        && digits.parse::<u64>().is_ok_and(|n| n > 0)
}

impl Layout {
    /// The IPv6 network beside the IPv4 one (`--ipv6`): unique per
    /// `--subnet`, `fd00:A:B:C::/64` for A.B.C.0.
    pub fn subnet6(&self) -> Option<ipnet::Ipv6Net> {
        if !self.request.ipv6 {
            return None;
        }
        let [a, b, c, _] = self.subnet.network().octets();
        let net = std::net::Ipv6Addr::new(0xfd00, a.into(), b.into(), c.into(), 0, 0, 0, 0);
        ipnet::Ipv6Net::new(net, 64).ok()
    }

    /// A host's IPv6 address on `subnet6`: the same host number.
    pub fn address6(&self, h: &HostPlan) -> Option<std::net::Ipv6Addr> {
        let net = self.subnet6()?;
        let host = u32::from(h.address) - u32::from(self.subnet.network());
        Some(std::net::Ipv6Addr::from(
            u128::from(net.network()) + u128::from(host),
        ))
    }

    /// The address Ceph uses on a host: its IPv6 one with `--ipv6`.
    pub fn public_address(&self, h: &HostPlan) -> std::net::IpAddr {
        match self.address6(h) {
            Some(v6) => v6.into(),
            None => h.address.into(),
        }
    }

    /// The Ceph public network.
    pub fn public_network(&self) -> String {
        match self.subnet6() {
            Some(v6) => v6.to_string(),
            None => self.subnet.to_string(),
        }
    }

    /// Checks the request and names everything; every problem at once.
    pub fn new(request: Request, dir: &Path) -> Result<Layout, PlaygroundError> {
        let mut problems = Vec::new();
        if !valid_name(&request.name) {
            problems.push(format!(
                "--name `{}`: use letters, digits, `-`, `_` and `.` (at most 40, starting with a letter or digit)",
                request.name
            ));
        }
        if !(1..=99).contains(&request.hosts) {
            problems.push(format!("--hosts {}: give 1 to 99", request.hosts));
        }
        if request.engine != "docker" && request.engine != "podman" {
            problems.push(format!(
                "--engine `{}`: give docker or podman",
                request.engine
            ));
        }
        if request.clients > 9 {
            problems.push(format!("--clients {}: give 0 to 9", request.clients));
        }
        if !(1..=9).contains(&request.osds_per_host) {
            problems.push(format!(
                "--osds-per-host {}: give 1 to 9",
                request.osds_per_host
            ));
        }
        if !valid_size(&request.disk_size) {
            problems.push(format!(
                "--disk-size `{}`: give a size such as 8G, 512M or 10737418240",
                request.disk_size
            ));
        }
        let release = match super::release_image::parse_release(&request.release) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        let subnet = match request.subnet.parse::<Ipv4Net>() {
            Ok(net) if net.trunc() != net => {
                problems.push(format!(
                    "--subnet {net}: host bits are set; did you mean {}?",
                    net.trunc()
                ));
                None
            }
            Ok(net) => {
                let room = net.hosts().count() as u64;
                let wanted = request.hosts + request.clients;
                if room < FIRST_HOST_OFFSET as u64 + wanted as u64 {
                    problems.push(format!(
                        "--subnet {net}: too small for {wanted} hosts from its .{FIRST_HOST_OFFSET} address on"
                    ));
                    None
                } else {
                    Some(net)
                }
            }
            Err(_) => {
                problems.push(format!(
                    "--subnet `{}`: give an IPv4 network such as 10.77.0.0/24",
                    request.subnet
                ));
                None
            }
        };
        if let Some(r) = release
            && request.filestore
            && !r.supports_filestore()
        {
            problems.push(format!(
                "--filestore: {r} has no filestore (removed in reef); use nautilus or pacific"
            ));
        }
        let (Some(release), Some(subnet), true) = (release, subnet, problems.is_empty()) else {
            return Err(PlaygroundError::Usage(problems.join("\n")));
        };
        let base = u32::from(subnet.network());
        let hosts = (1..=request.hosts)
            .map(|k| {
                let name = format!("ceph{k}");
                let disks = (1..=request.osds_per_host)
                    .map(|n| {
                        let prefix = if request.filestore {
                            FILESTORE_PREFIX
                        } else {
                            LABEL_PREFIX
                        };
                        let label = format!("{prefix}{}_{n}", name.to_ascii_uppercase());
                        DiskPlan {
                            file: dir.join("disks").join(format!("{name}-{n}.img")),
                            journal: request.filestore.then(|| format!("{label}_J")),
                            label,
                        }
                    })
                    .collect();
                HostPlan {
                    container: format!("{}-{name}", request.name),
                    address: Ipv4Addr::from(base + FIRST_HOST_OFFSET - 1 + k as u32),
                    volume: format!("{}-{name}-docker", request.name),
                    name,
                    disks,
                }
            })
            .collect::<Vec<HostPlan>>();
        let mut hosts = hosts;
        for k in 1..=request.clients {
            let name = format!("client{k}");
            hosts.push(HostPlan {
                container: format!("{}-{name}", request.name),
                address: Ipv4Addr::from(base + FIRST_HOST_OFFSET - 1 + (request.hosts + k) as u32),
                volume: format!("{}-{name}-docker", request.name),
                name,
                disks: Vec::new(),
            });
        }
        debug_assert!(
            hosts
                .iter()
                .flat_map(|h| &h.disks)
                .all(|d| d.label.len() <= GPT_NAME_MAX)
        );
        Ok(Layout {
            network: format!("{}-net", request.name),
            request,
            release,
            dir: dir.to_path_buf(),
            subnet,
            hosts,
        })
    }

    /// The hosts that run Ceph daemons (every OSD host): ceph1..cephN.
    pub fn ceph_hosts(&self) -> &[HostPlan] {
        &self.hosts[..self.request.hosts]
    }

    /// The client hosts: client1..clientN.
    pub fn clients(&self) -> &[HostPlan] {
        &self.hosts[self.request.hosts..]
    }

    pub fn mons(&self) -> &[HostPlan] {
        let h = self.ceph_hosts();
        &h[..h.len().min(3)]
    }

    pub fn mgrs(&self) -> &[HostPlan] {
        let h = self.ceph_hosts();
        &h[..h.len().min(2)]
    }

    /// The one MDS host: the last Ceph host, away from the first mon.
    pub fn mds(&self) -> &HostPlan {
        let h = self.ceph_hosts();
        &h[h.len() - 1]
    }

    /// Replicas per pool: 3, or fewer with fewer hosts.
    pub fn pool_size(&self) -> usize {
        self.ceph_hosts().len().min(3)
    }

    pub fn inventory(&self) -> PathBuf {
        self.dir.join("inventory")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The names this machine resolves the hosts by (`--names-only`).
    pub fn hosts_file(&self) -> PathBuf {
        self.dir.join("hosts")
    }
}

/// Releases the playground can build, for messages.
pub fn buildable_names() -> String {
    Release::ALL
        .iter()
        .filter_map(|r| {
            r.info().debian_suite.map(|s| {
                format!(
                    "{} (Debian {s}, {})",
                    r.name(),
                    r.info().debian_version.unwrap_or("?")
                )
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            name: "cephalo".into(),
            hosts: 3,
            clients: 0,
            release: "pacific".into(),
            osds_per_host: 2,
            disk_size: "8G".into(),
            filestore: false,
            engine: "docker".into(),
            subnet: "10.77.0.0/24".into(),
            names_only: false,
            ipv6: false,
        }
    }

    #[test]
    fn names_addresses_and_labels() {
        let l = Layout::new(request(), Path::new("/pg")).unwrap();
        assert_eq!(l.network, "cephalo-net");
        let h: Vec<(&str, &str, String, &str)> = l
            .hosts
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.container.as_str(),
                    h.address.to_string(),
                    h.volume.as_str(),
                )
            })
            .collect();
        assert_eq!(
            h,
            vec![
                (
                    "ceph1",
                    "cephalo-ceph1",
                    "10.77.0.11".into(),
                    "cephalo-ceph1-docker"
                ),
                (
                    "ceph2",
                    "cephalo-ceph2",
                    "10.77.0.12".into(),
                    "cephalo-ceph2-docker"
                ),
                (
                    "ceph3",
                    "cephalo-ceph3",
                    "10.77.0.13".into(),
                    "cephalo-ceph3-docker"
                ),
            ]
        );
        let labels: Vec<&str> = l
            .hosts
            .iter()
            .flat_map(|h| h.disks.iter().map(|d| d.label.as_str()))
            .collect();
        assert_eq!(labels[0], "KOLLA_CEPH_OSD_BOOTSTRAP_BS_CEPH1_1");
        assert_eq!(labels[5], "KOLLA_CEPH_OSD_BOOTSTRAP_BS_CEPH3_2");
        assert_eq!(
            l.hosts[1].disks[0].file,
            PathBuf::from("/pg/disks/ceph2-1.img")
        );
        assert_eq!(l.mons().len(), 3);
        assert_eq!(l.mgrs().len(), 2);
        assert_eq!(l.mds().name, "ceph3");
    }

    #[test]
    fn the_longest_label_fits_a_gpt_name() {
        let mut r = request();
        r.hosts = 99;
        r.osds_per_host = 9;
        let l = Layout::new(r, Path::new("/pg")).unwrap();
        let longest = l.hosts[98].disks[8].label.clone();
        assert_eq!(longest, "KOLLA_CEPH_OSD_BOOTSTRAP_BS_CEPH99_9");
        assert!(longest.len() <= GPT_NAME_MAX);
        assert_eq!(l.hosts[98].address.to_string(), "10.77.0.109");
    }

    #[test]
    fn every_problem_at_once() {
        let r = Request {
            name: "-bad".into(),
            hosts: 0,
            clients: 0,
            release: "luminous".into(),
            osds_per_host: 10,
            disk_size: "8X".into(),
            filestore: false,
            engine: "docker".into(),
            subnet: "10.77.0.1/24".into(),
            names_only: false,
            ipv6: false,
        };
        let e = Layout::new(r, Path::new("/pg")).unwrap_err().to_string();
        for part in [
            "--name `-bad`",
            "--hosts 0",
            "--osds-per-host 10",
            "--disk-size `8X`",
            "--release luminous: Debian no longer serves it",
            "did you mean 10.77.0.0/24",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
        let mut small = request();
        small.subnet = "10.77.0.0/29".into();
        assert!(Layout::new(small, Path::new("/pg")).is_err());
    }

    #[test]
    fn sizes() {
        for ok in ["8G", "512M", "10737418240", "1T"] {
            assert!(valid_size(ok), "{ok}");
        }
        for bad in ["", "G", "8GG", "-1G", "0", "8.5G", "8g"] {
            assert!(!valid_size(bad), "{bad}");
        }
    }
}
