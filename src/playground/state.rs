//! The record of what a playground made (`state.json` in its folder), so
//! `status` can find it and `down` can remove it, also after a failed `up`:
//! the whole plan is written before anything is created, and each loop
//! device as soon as it is attached.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::PlaygroundError;
use super::layout::{HostPlan, Layout, Request};

pub const FILE: &str = "state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub request: Request,
    pub dir: PathBuf,
    pub network: String,
    pub subnet: String,
    pub hosts: Vec<HostPlan>,
    /// Loop devices attached for the disks.
    #[serde(default)]
    pub loops: Vec<LoopDisk>,
    pub host_image: String,
    pub ceph_image: String,
    /// The Ceph image's `docker save` archive (what `pull` loads).
    #[serde(default)]
    pub ceph_archive: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopDisk {
    pub file: PathBuf,
    /// `/dev/loopN`.
    pub device: String,
    /// `/dev/loopNp1`, labelled for an OSD.
    pub partition: String,
    /// `/dev/loopNp2`, the filestore journal partition.
    #[serde(default)]
    pub journal: Option<String>,
    pub label: String,
    /// The host the device is given to.
    pub host: String,
}

impl State {
    pub fn new(l: &Layout, host_image: &str, ceph_image: &str) -> State {
        State {
            request: l.request.clone(),
            dir: l.dir.clone(),
            network: l.network.clone(),
            subnet: l.subnet.to_string(),
            hosts: l.hosts.clone(),
            loops: Vec::new(),
            host_image: host_image.into(),
            ceph_image: ceph_image.into(),
            ceph_archive: None,
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// The state in `dir`, None when there is no playground there.
    pub fn read(dir: &Path) -> Result<Option<State>, PlaygroundError> {
        let path = State::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PlaygroundError::Io { path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            PlaygroundError::Usage(format!(
                "{} is not a playground record ({e}); remove it if the playground is gone",
                path.display()
            ))
        })
    }

    /// Writes the record atomically.
    pub fn write(&self) -> Result<(), PlaygroundError> {
        let path = State::path(&self.dir);
        let io = |source| PlaygroundError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text + "\n").map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)
    }

    pub fn loops_of(&self, host: &str) -> impl Iterator<Item = &LoopDisk> {
        self.loops.iter().filter(move |d| d.host == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::new(
            Request {
                name: "pg".into(),
                hosts: 2,
                clients: 0,
                release: "pacific".into(),
                osds_per_host: 1,
                disk_size: "8G".into(),
                filestore: false,
                engine: "docker".into(),
                subnet: "10.77.0.0/24".into(),
                names_only: false,
                ipv6: false,
            },
            dir.path(),
        )
        .unwrap();
        assert_eq!(State::read(dir.path()).unwrap(), None);
        let mut s = State::new(&l, "host:x", "ceph:y");
        s.loops.push(LoopDisk {
            file: l.hosts[0].disks[0].file.clone(),
            device: "/dev/loop7".into(),
            partition: "/dev/loop7p1".into(),
            journal: None,
            label: l.hosts[0].disks[0].label.clone(),
            host: "ceph1".into(),
        });
        s.write().unwrap();
        assert_eq!(State::read(dir.path()).unwrap(), Some(s.clone()));
        assert_eq!(s.loops_of("ceph1").count(), 1);
        assert_eq!(s.loops_of("ceph2").count(), 0);
        std::fs::write(State::path(dir.path()), "{").unwrap();
        assert!(State::read(dir.path()).is_err());
    }
}
