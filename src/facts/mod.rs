//! Facts about a host: what it runs, has and answers, gathered read-only
//! by scripts run over SSH (`gather.sh` for the prechecks, `block.sh` for
//! block devices, `ip -o addr show` for addresses from interfaces in
//! `addresses`) and turned into typed facts by pure parsers. Parsers
//! never fail: what cannot be read stays unknown (None). A layer below
//! every operation: it imports nothing above `script` and changes nothing
//! on a host.

pub mod addresses;
pub mod block;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

pub use block::{BLOCK_SCRIPT, BlockDev, OsdLabel, block_devices, osd_label};

use crate::script::Script;

/// The script gathering every fact in one round trip. Arguments: the
/// inventory name, the engine, the image, the mon peers (`IP`) to probe,
/// then `--` and the OSD devices to inspect (none: every disk).
pub const GATHER: &str = include_str!("gather.sh");

/// The gather script, followed by the block script, for one host: its
/// inventory name, engine command and image, the mon peers it must reach,
/// the images of its custom containers, and its OSD devices (none: every
/// disk). Every value is a positional parameter.
pub fn gather_script<D, S>(
    name: &str,
    engine: &str,
    image: &str,
    peers: &[IpAddr],
    custom_images: &[String],
    devices: D,
) -> Script
where
    D: IntoIterator<Item = S>,
    S: Into<String>,
{
    Script::of(&[GATHER, BLOCK_SCRIPT])
        .arg(name)
        .arg(engine)
        .arg(image)
        .args(peers.iter().map(|p| p.to_string()))
        .arg("--")
        .args(custom_images.iter().cloned())
        .arg("--")
        .args(devices)
}

/// A clock reading: the host's time minus this machine's at the midpoint
/// of the round trip, which bounds the error to half the round trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockSample {
    pub offset: f64,
    pub rtt: f64,
}

/// Splits the script's output into sections by their `=== name ===` line.
pub fn sections(output: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut body = String::new();
    for line in output.lines() {
        if let Some(name) = line
            .strip_prefix("=== ")
            .and_then(|l| l.strip_suffix(" ==="))
        {
            if let Some(c) = current.take() {
                out.insert(c, std::mem::take(&mut body));
            }
            current = Some(name.to_string());
        } else if current.is_some() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some(c) = current {
        out.insert(c, body);
    }
    out
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    pub kernel: Option<String>,
    pub arch: Option<String>,
    pub os: Option<String>,
    pub cgroup: Option<String>,
    pub hostname: Option<String>,
    /// Addresses the inventory name resolves to on the host.
    pub resolves_to: Vec<String>,
    /// Engine binaries found: name -> path.
    pub engines: BTreeMap<String, String>,
    /// Server version of the configured engine...
    pub engine_version: Option<String>,
    /// ... or why it did not answer.
    pub engine_error: Option<String>,
    pub image_id: Option<String>,
    /// The custom containers' images: image -> present on the host.
    pub custom_images: BTreeMap<String, bool>,
    pub time_sync: Vec<String>,
    pub interfaces: Vec<Interface>,
    pub listeners: Vec<Listener>,
    pub mem_total: Option<u64>,
    pub mem_available: Option<u64>,
    /// Free bytes where /var/lib/ceph is (or would be), and that path.
    pub disk_free: Option<(String, u64)>,
    pub pid_max: Option<u64>,
    pub block: Vec<BlockDev>,
    pub mounts: Vec<String>,
    pub lvm_pvs: Vec<String>,
    /// Mon peers probed from this host: address -> reachable or why not.
    pub peers: BTreeMap<String, Result<(), String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub name: String,
    pub up: bool,
    /// Addresses with their prefix length: `10.0.0.5/24`.
    pub addresses: Vec<String>,
}

impl Interface {
    pub fn networks(&self) -> impl Iterator<Item = ipnet::IpNet> + '_ {
        self.addresses.iter().filter_map(|a| a.parse().ok())
    }

    /// Whether this interface answers for `ip`: one of its addresses, or
    /// any address of a loopback network it has (Linux answers all of
    /// 127.0.0.0/8 on lo).
    pub fn owns(&self, ip: std::net::IpAddr) -> bool {
        self.networks().any(|n| {
            n.addr() == ip || (ip.is_loopback() && n.addr().is_loopback() && n.contains(&ip))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub address: String,
    pub port: u16,
    /// The process holding it, when the facts were gathered as root.
    pub process: Option<String>,
}

pub fn parse(output: &str) -> Facts {
    let s = sections(output);
    let get = |k: &str| s.get(k).map(String::as_str).unwrap_or("");
    let first = |k: &str| {
        get(k)
            .lines()
            .next()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
    };
    let mut f = Facts::default();
    if let Some(u) = first("uname") {
        let parts: Vec<&str> = u.split_whitespace().collect();
        f.kernel = parts.get(1).map(|s| s.to_string());
        f.arch = parts.get(2).map(|s| s.to_string());
    }
    f.os = os_release(get("os"));
    f.cgroup = first("cgroup").map(|c| match c.as_str() {
        "cgroup2fs" => "v2".to_string(),
        "tmpfs" => "v1".to_string(),
        other => other.to_string(),
    });
    f.hostname = first("hostname");
    f.resolves_to = get("resolve")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for line in get("engine").lines() {
        if let Some((name, path)) = line.trim().split_once(' ') {
            f.engines.insert(name.to_string(), path.to_string());
        }
    }
    match rc_section(get("engine_version")) {
        Ok(v) => f.engine_version = Some(v),
        Err(e) => f.engine_error = Some(e),
    }
    f.image_id = rc_section(get("image"))
        .ok()
        .filter(|s| s.starts_with("sha256:"));
    for line in get("custom_images").lines() {
        if let Some((image, id)) = line.trim().rsplit_once(' ') {
            f.custom_images
                .insert(image.to_string(), id.starts_with("sha256:"));
        }
    }
    let procs: Vec<&str> = get("procs").lines().map(str::trim).collect();
    for daemon in ["chronyd", "ntpd", "systemd-timesyncd", "openntpd", "ntpsec"] {
        if procs.contains(&daemon) {
            f.time_sync.push(daemon.to_string());
        }
    }
    f.interfaces = interfaces(get("link"), get("addr"));
    f.listeners = listeners(get("listen"));
    for line in get("meminfo").lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(val)) = (parts.next(), parts.next()) else {
            continue;
        };
        let bytes = val.parse::<u64>().ok().map(|kb| kb * 1024);
        match key {
            "MemTotal:" => f.mem_total = bytes,
            "MemAvailable:" => f.mem_available = bytes,
            _ => {}
        }
    }
    if let Some(line) = first("disk") {
        // df -P: Filesystem 1-blocks Used Available Capacity Mounted-on
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let (Some(avail), Some(mount)) =
            (parts.get(3).and_then(|a| a.parse().ok()), parts.last())
        {
            f.disk_free = Some((mount.to_string(), avail));
        }
    }
    f.pid_max = first("pid_max").and_then(|p| p.parse().ok());
    f.block = block_devices(get("block"));
    f.mounts = block::mounts(get("mounts"));
    f.lvm_pvs = block::lvm_pvs(get("lvm"));
    for line in get("peers").lines() {
        let mut parts = line.splitn(2, ' ');
        let (Some(addr), Some(result)) = (parts.next(), parts.next()) else {
            continue;
        };
        let r = if result == "open" || result.contains("refused") {
            Ok(())
        } else {
            Err(result.to_string())
        };
        f.peers.insert(addr.to_string(), r);
    }
    f
}

/// A section ending in `rc=N`: its text when N is 0, else the text as the
/// reason.
fn rc_section(text: &str) -> Result<String, String> {
    let mut lines: Vec<&str> = text.lines().collect();
    let rc = lines
        .pop()
        .and_then(|l| l.strip_prefix("rc="))
        .and_then(|n| n.trim().parse::<i32>().ok());
    let body = lines.join("\n").trim().to_string();
    match rc {
        Some(0) => Ok(body),
        _ => Err(if body.is_empty() {
            "no answer".to_string()
        } else {
            body
        }),
    }
}

/// `PRETTY_NAME` of /etc/os-release.
pub fn os_release(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// `ip -o link show` and `ip -o addr show`.
pub fn interfaces(link: &str, addr: &str) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    for line in link.lines() {
        // "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... state UP ..."
        let mut parts = line.split_whitespace();
        let (Some(_), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let name = name
            .trim_end_matches(':')
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        let flags = line
            .split('<')
            .nth(1)
            .and_then(|r| r.split('>').next())
            .unwrap_or("");
        let up = flags.split(',').any(|f| f == "UP");
        out.push(Interface {
            name,
            up,
            addresses: Vec::new(),
        });
    }
    for line in addr.lines() {
        // "1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft ..."
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(kind), Some(cidr)) = (parts.get(1), parts.get(2), parts.get(3))
        else {
            continue;
        };
        if *kind != "inet" && *kind != "inet6" {
            continue;
        }
        let ip = cidr.to_string();
        match out.iter_mut().find(|i| i.name == *name) {
            Some(i) => i.addresses.push(ip),
            None => out.push(Interface {
                name: name.to_string(),
                up: true,
                addresses: vec![ip],
            }),
        }
    }
    out
}

/// `ss -Hltnp`: "LISTEN 0 4096 0.0.0.0:6789 0.0.0.0:* users:(("ceph-mon",pid=1,fd=3))".
pub fn listeners(text: &str) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(local) = parts.get(3) else { continue };
        let Some((addr, port)) = local.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.split('%').next().unwrap_or(addr).to_string();
        let process = line
            .split("((\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string);
        out.push(Listener {
            address: addr,
            port,
            process,
        });
    }
    out
}

/// Clock offset of a host from `date +%s.%N` and the local times before
/// and after asking: remote - midpoint, in seconds.
pub fn clock_offset(remote: &str, before: f64, after: f64) -> Option<f64> {
    let r: f64 = remote.trim().parse().ok()?;
    Some(r - (before + after) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of gather.sh captured on a Debian 12 machine, with a loop disk
    /// holding two kolla partitions.
    const BOOKWORM: &str = include_str!("../../tests/fixtures/prechecks/gather-bookworm.txt");

    #[test]
    fn parses_a_real_gather() {
        let f = parse(BOOKWORM);
        assert_eq!(f.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(f.arch.as_deref(), Some("x86_64"));
        assert_eq!(f.cgroup.as_deref(), Some("v1"));
        assert_eq!(f.hostname.as_deref(), Some("vm"));
        assert_eq!(f.engine_version.as_deref(), Some("20.10.24+dfsg1"));
        assert!(f.engines.contains_key("docker"));
        assert_eq!(f.image_id, None);
        assert!(f.mem_total.unwrap() > 1 << 30);
        assert!(f.pid_max.unwrap() >= 32768);
        let lo = f.interfaces.iter().find(|i| i.name == "lo").unwrap();
        assert!(lo.up && lo.addresses.contains(&"127.0.0.1/8".to_string()));
        assert!(lo.owns("127.9.9.9".parse().unwrap()));
        assert!(
            f.listeners
                .iter()
                .any(|l| l.port == 2222 && l.process.as_deref() == Some("sshd"))
        );
        let names: Vec<(&str, Option<&str>)> = f
            .block
            .iter()
            .map(|b| (b.name.as_str(), b.part_name.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("loop9", None),
                ("loop9p1", Some("KOLLA_CEPH_OSD_BOOTSTRAP_BS_FX1")),
                ("loop9p2", Some("KOLLA_CEPH_OSD_BOOTSTRAP_BS_FX1_W"))
            ]
        );
        assert_eq!(f.block[1].parent.as_deref(), Some("loop9"));
        assert_eq!(f.block[0].signature.as_deref(), Some("partition table gpt"));
        assert_eq!(f.peers.len(), 2);
        assert!(
            f.peers.values().all(|r| r.is_ok()),
            "refused means reachable: {:?}",
            f.peers
        );
    }

    #[test]
    fn parsers_of_single_sections() {
        let l = listeners(
            "LISTEN 0 4096 [::]:6789 [::]:* users:((\"ceph-mon\",pid=7,fd=3))\nLISTEN 0 5 10.0.0.5%eth0:3300 0.0.0.0:*\n",
        );
        assert_eq!(
            (l[0].address.as_str(), l[0].port, l[0].process.as_deref()),
            ("::", 6789, Some("ceph-mon"))
        );
        assert_eq!(
            (l[1].address.as_str(), l[1].process.as_deref()),
            ("10.0.0.5", None)
        );
        let i = interfaces(
            "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n3: eth1: <BROADCAST,MULTICAST> mtu 1500 state DOWN\n",
            "2: eth0    inet 10.77.0.11/24 brd 10.77.0.255 scope global eth0\\       valid_lft forever\n",
        );
        assert_eq!(i[0].name, "eth0");
        assert!(i[0].up && !i[1].up);
        assert!(i[0].owns("10.77.0.11".parse().unwrap()));
        assert!(!i[0].owns("10.77.0.12".parse().unwrap()));
        assert_eq!(rc_section("oops\nrc=1\n"), Err("oops".into()));
        assert!((clock_offset("100.5", 100.0, 100.2).unwrap() - 0.4).abs() < 1e-9);
    }

    #[test]
    fn gather_values_are_positional_parameters() {
        let hostile = "a b;$(id)`id`'\"\n-x";
        let peers = ["10.0.0.2".parse().unwrap(), "::1".parse().unwrap()];
        let custom = [hostile.to_string()];
        let cmd =
            gather_script(hostile, "docker", hostile, &peers, &custom, [hostile, "-n"]).command();
        assert_eq!(cmd.argv[2], format!("{GATHER}\n{BLOCK_SCRIPT}"));
        assert_eq!(
            cmd.argv[4..],
            [
                hostile, "docker", hostile, "10.0.0.2", "::1", "--", hostile, "--", hostile, "-n"
            ]
        );
    }
}
