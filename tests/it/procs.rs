//! What the test harness reads of this machine's processes and TCP sockets
//! (from /proc) and how it signals processes: for the sshd fleet, which
//! only ever signals processes it started.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// pid -> parent pid, for every process.
pub fn processes() -> HashMap<u32, u32> {
    let mut table = HashMap::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            table.insert(pid, ppid);
        }
    }
    table
}

pub fn children_of(table: &HashMap<u32, u32>, parent: u32) -> Vec<u32> {
    table
        .iter()
        .filter(|&(_, &ppid)| ppid == parent)
        .map(|(&pid, _)| pid)
        .collect()
}

/// `root` and all its descendants, `root` first.
pub fn subtree(table: &HashMap<u32, u32>, root: u32) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        out.extend(children_of(table, out[i]));
        i += 1;
    }
    out
}

/// Inodes of the TCP connections (not listeners) whose local end is
/// addr:port, from `tcp` (a /proc/PID/net/tcp).
pub fn connection_sockets(tcp: &Path, addr: Ipv4Addr, port: u16) -> HashSet<u64> {
    tcp_entries(tcp)
        .into_iter()
        .filter(|e| !e.listening && e.local == (addr, port))
        .map(|e| e.inode)
        .collect()
}

/// The local ends of the listening TCP sockets.
pub fn listening_sockets(tcp: &Path) -> HashSet<(Ipv4Addr, u16)> {
    tcp_entries(tcp)
        .into_iter()
        .filter(|e| e.listening)
        .map(|e| e.local)
        .collect()
}

struct TcpEntry {
    local: (Ipv4Addr, u16),
    listening: bool,
    inode: u64,
}

/// The lines of a /proc/net/tcp.
fn tcp_entries(tcp: &Path) -> Vec<TcpEntry> {
    const LISTEN: &str = "0A";
    let text = fs::read_to_string(tcp).unwrap_or_else(|e| panic!("read {}: {e}", tcp.display()));
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        // "0100007F:08AE": the address as the kernel stores it (network
        // order read as a native u32), the port in hex.
        let Some((a, p)) = f[1].split_once(':') else {
            continue;
        };
        let (Ok(a), Ok(p)) = (u32::from_str_radix(a, 16), u16::from_str_radix(p, 16)) else {
            continue;
        };
        let Ok(inode) = f[9].parse() else {
            continue;
        };
        out.push(TcpEntry {
            local: (Ipv4Addr::from(a.to_ne_bytes()), p),
            listening: f[3] == LISTEN,
            inode,
        });
    }
    out
}

pub fn holds_socket(pid: u32, sockets: &HashSet<u64>) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path()).is_ok_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
                .is_some_and(|inode: u64| sockets.contains(&inode))
        })
    })
}

/// `kill SIGNAL PID...` (the shell's, as minimal images lack procps);
/// processes already gone are fine.
pub fn kill(pids: &[u32], signal: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("sh")
        .args(["-c", "kill \"$@\"", "sh", signal])
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
}

/// Waits (up to 5 s) until the processes are gone or zombies, so that their
/// sockets are closed when the caller goes on.
pub fn wait_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let alive = |pid: &u32| {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| !matches!(r.trim_start().chars().next(), Some('Z' | 'X') | None))
            })
            .unwrap_or(false)
    };
    while pids.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}
