//! The fake cluster as a `World`: hosts with their container engines, and
//! Ceph whose daemons are whatever daemon containers run (a `ceph_mon`
//! container running a Reef image is a Reef mon in quorum; a stopped
//! `ceph_osd_3` is osd.3 down). `ceph` through a mon's container and the
//! mon's admin socket are answered by `FakeCeph`; shell scripts by the
//! handlers a test registers; anything else is recorded as unknown.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::release::Release;
use crate::transport::{Command, Output, TransportError};

use super::ceph::{Daemon, FakeCeph};
use super::host::FakeHost;
use super::{World, fail, out};

/// Answers a `sh -c` script on a host: (host, script text, its
/// arguments, its input), or None to leave it to the next handler.
pub type ScriptHandler = Box<dyn FnMut(&str, &str, &[String], &[u8]) -> Option<Output> + Send>;

/// Hosts, Ceph and the images' releases.
#[derive(Default)]
pub struct FakeCluster {
    pub hosts: BTreeMap<String, FakeHost>,
    pub ceph: FakeCeph,
    /// Image reference -> the Ceph release inside it.
    pub releases: BTreeMap<String, Release>,
    /// Image reference -> the `ceph --version` line inside it, where it is
    /// not the release's usual one (another point release).
    pub image_versions: BTreeMap<String, String>,
    /// Image reference -> its ceph user's `uid:gid` (Debian's 64045 when
    /// not set).
    pub image_users: BTreeMap<String, String>,
    /// Script handlers, tried in order.
    pub scripts: Vec<ScriptHandler>,
    /// RBD images (answered in a mon's container).
    pub rbd: Vec<super::rbd::FakeImage>,
    /// Commands nothing here knows, as `host: command` (answered with 0).
    pub unknown: Vec<String>,
    /// The newest release each daemon's data was run by ((kind, id) ->
    /// release): a daemon whose image is of an older release crash-loops
    /// (its container restarting, the daemon down), as a Pacific mon on a
    /// store Reef wrote does.
    pub data_releases: BTreeMap<(String, String), Release>,
    /// Commands answered so far.
    pub commands: usize,
    /// The command of this number (1 = the first) fails with "injected
    /// fault", as a lost connection or a crashed tool would.
    pub fail_command: Option<usize>,
    /// From the command of this number on, every host is unreachable (a
    /// cut network, or cephalo killed: nothing more reaches the cluster).
    pub cut_after: Option<usize>,
    /// A started OSD is up this long (tokio time) after its container
    /// starts (zero: at once). The scale simulation's calibration.
    pub osd_up_delay: Duration,
    /// Started OSDs not up yet: id -> (when they will be, the daemon).
    pub pending_up: BTreeMap<u32, (tokio::time::Instant, Daemon)>,
    /// Ceph follows only the containers of the host a command went to
    /// (and `rm -f`), not every host after every command: what keeps the
    /// scale simulation of 10,000 OSDs fast. Off by default, so a test may
    /// change containers directly between commands.
    pub sync_one_host: bool,
}

/// Container name -> daemon (kind, id).
fn daemon_of(container: &str, host: &str) -> Option<(&'static str, String)> {
    match container {
        "ceph_mon" => Some(("mon", host.to_string())),
        "ceph_mgr" => Some(("mgr", host.to_string())),
        "ceph_mds" => Some(("mds", host.to_string())),
        _ => container
            .strip_prefix("ceph_osd_")
            .map(|id| ("osd", id.to_string())),
    }
}

impl FakeCluster {
    /// A healthy cluster already deployed: on every host a mon, a mgr and
    /// `osds_per_host` OSDs, all running `image` (of `release`), with
    /// `pgs` placement groups active+clean.
    pub fn deployed(release: Release, image: &str, hosts: &[&str], osds_per_host: u32) -> Self {
        let mut c = FakeCluster::default();
        c.releases.insert(image.to_string(), release);
        c.ceph.pgs = 33;
        let mut next = 0;
        for h in hosts {
            let mut host = FakeHost::new();
            host.add_container("ceph_mon", image, &[]);
            if release.has_mgr() {
                host.add_container("ceph_mgr", image, &[]);
            }
            for _ in 0..osds_per_host {
                host.add_container(&format!("ceph_osd_{next}"), image, &[]);
                next += 1;
            }
            c.hosts.insert(h.to_string(), host);
        }
        c.ceph.require_osd_release = Some(release);
        if release.warns_insecure_key_types() {
            // A cluster made on such a release starts with aes256k settings.
            c.ceph.ciphers = ("aes256k".into(), vec!["aes256k".into()], "aes256k".into());
            c.ceph.rotating_aes = false;
        }
        c.sync();
        c
    }

    /// Registers a script handler, tried after those registered before it.
    pub fn on_script(
        &mut self,
        handler: impl FnMut(&str, &str, &[String], &[u8]) -> Option<Output> + Send + 'static,
    ) {
        self.scripts.push(Box::new(handler));
    }

    /// Ceph's view follows the daemon containers: a daemon whose container
    /// started, stopped or changed release makes a new map.
    pub fn sync(&mut self) {
        self.sync_hosts(None);
    }

    /// `sync` after a command to `host`: only that host when
    /// `sync_one_host`, else every host.
    fn sync_after(&mut self, host: &str) {
        if self.sync_one_host {
            self.sync_hosts(Some(host));
        } else {
            self.sync_hosts(None);
        }
    }

    /// A daemon container removed (`rm -f`): its daemon is down.
    fn removed(&mut self, host: &str, container: &str) {
        let Some((kind, id)) = daemon_of(container, host) else {
            return;
        };
        let d = match kind {
            "mon" => self.ceph.mons.get_mut(&id),
            "mgr" => self.ceph.mgrs.get_mut(&id),
            "mds" => self.ceph.mdss.get_mut(&id),
            _ => id
                .parse::<u32>()
                .ok()
                .and_then(|n| self.ceph.osds.get_mut(&n)),
        };
        if let Some(d) = d.filter(|d| d.running.is_some()) {
            d.running = None;
            if let Ok(n) = id.parse::<u32>() {
                self.pending_up.remove(&n);
            }
            self.ceph.changed();
        }
    }

    /// Started OSDs whose time has come are up (one new map for all).
    fn promote_due(&mut self) {
        if self.pending_up.is_empty() {
            return;
        }
        let now = tokio::time::Instant::now();
        let due: Vec<u32> = self
            .pending_up
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(n, _)| *n)
            .collect();
        if due.is_empty() {
            return;
        }
        let epoch = self.ceph.epoch + 1;
        for n in due {
            if let Some((_, d)) = self.pending_up.remove(&n) {
                self.ceph.osds.insert(
                    n,
                    Daemon {
                        up_from: epoch,
                        ..d
                    },
                );
            }
        }
        self.ceph.changed();
    }

    /// Marks the daemon containers of `only` (or every host) restarting
    /// whose image is of an older release than their data, and records the
    /// release that runs each daemon's data.
    fn crash_loops(&mut self, only: Option<&str>) {
        for (hname, h) in self.hosts.iter_mut() {
            if only.is_some_and(|o| o != hname) {
                continue;
            }
            for (cname, c) in h.containers.iter_mut() {
                let Some((kind, id)) = daemon_of(cname, hname) else {
                    continue;
                };
                let key = (kind.to_string(), id);
                let image = self.releases.get(&c.image).copied();
                let data = self.data_releases.get(&key).copied();
                c.restarting = c.running && matches!((image, data), (Some(i), Some(d)) if i < d);
                if c.running
                    && !c.restarting
                    && let Some(i) = image
                {
                    self.data_releases.insert(key, data.map_or(i, |d| d.max(i)));
                }
            }
        }
    }

    fn sync_hosts(&mut self, only: Option<&str>) {
        self.crash_loops(only);
        let mut changed = false;
        let mut seen: BTreeMap<(&'static str, String), Daemon> = BTreeMap::new();
        let hosts: Vec<(&String, &FakeHost)> = match only {
            Some(name) => self.hosts.get_key_value(name).into_iter().collect(),
            None => self.hosts.iter().collect(),
        };
        for (hname, h) in hosts {
            for (cname, c) in &h.containers {
                let Some(key) = daemon_of(cname, hname) else {
                    continue;
                };
                let running = if c.running && !c.restarting && h.reachable {
                    self.releases.get(&c.image).copied()
                } else {
                    None
                };
                seen.insert(
                    key,
                    Daemon {
                        host: hname.clone(),
                        running,
                        up_from: 0,
                    },
                );
            }
        }
        let epoch = self.ceph.epoch + 1;
        for ((kind, id), d) in seen {
            let map: &mut BTreeMap<String, Daemon> = match kind {
                "mon" => &mut self.ceph.mons,
                "mgr" => &mut self.ceph.mgrs,
                "mds" => &mut self.ceph.mdss,
                _ => {
                    let Ok(n) = id.parse::<u32>() else { continue };
                    let old = self.ceph.osds.get(&n);
                    if d.running.is_none() {
                        self.pending_up.remove(&n);
                    }
                    if old.map(|o| o.running) != Some(d.running)
                        && d.running.is_some()
                        && !self.osd_up_delay.is_zero()
                    {
                        // Started: up after the delay, down until then.
                        if !self.pending_up.contains_key(&n) {
                            let at = tokio::time::Instant::now() + self.osd_up_delay;
                            self.pending_up.insert(n, (at, d.clone()));
                            if old.is_none() {
                                changed = true;
                                let down = Daemon {
                                    running: None,
                                    up_from: 0,
                                    ..d
                                };
                                self.ceph.osds.insert(n, down);
                            }
                        }
                        continue;
                    }
                    if old.map(|o| o.running) != Some(d.running) {
                        changed = true;
                        self.ceph.osds.insert(
                            n,
                            Daemon {
                                up_from: epoch,
                                ..d
                            },
                        );
                    }
                    continue;
                }
            };
            if map.get(&id).map(|o| o.running) != Some(d.running) {
                changed = true;
                map.insert(
                    id,
                    Daemon {
                        up_from: epoch,
                        ..d
                    },
                );
            }
        }
        if changed {
            self.ceph.changed();
        }
    }

    fn exec(&mut self, host: &str, container: &str, rest: &[String]) -> Output {
        let c = self
            .hosts
            .get(host)
            .and_then(|h| h.containers.get(container));
        if let Some(c) = c.filter(|c| c.running && c.restarting) {
            return fail(
                1,
                format!(
                    "Error response from daemon: Container {} is restarting, wait until the container is running",
                    c.id
                ),
            );
        }
        let running = c.is_some_and(|c| c.running);
        if !running {
            return fail(
                1,
                format!("Error response from daemon: container {container} is not running"),
            );
        }
        match rest.first().map(String::as_str) {
            // The version of the image the container runs.
            Some("ceph") if rest.get(1).map(String::as_str) == Some("--version") => {
                let image = self.hosts[host].containers[container].image.clone();
                self.version_in(&image)
            }
            Some("ceph") if rest.iter().any(|a| a == "--admin-daemon") => {
                let in_quorum = self.ceph.quorum().iter().any(|m| m == host);
                out(
                    0,
                    json!({
                        "name": host,
                        "state": if in_quorum { "leader" } else { "probing" },
                        "quorum": if in_quorum { vec![0] } else { vec![] },
                        "monmap": {"epoch": self.ceph.monmap_epoch()},
                    })
                    .to_string(),
                )
            }
            Some("ceph") => self.ceph_client(&rest[1..]),
            // The mon's own keyring (gatherkeys reads `mon.` there).
            Some("cat")
                if container == "ceph_mon"
                    && rest.get(1).is_some_and(|p| {
                        p.starts_with("/var/lib/ceph/mon/") && p.ends_with("/keyring")
                    }) =>
            {
                let key = self
                    .ceph
                    .auth
                    .entry("mon.".into())
                    .or_insert_with(|| {
                        crate::cephx::Secret::generate(crate::release::SecretKind::Aes)
                            .map(|s| s.expose().to_string())
                            .unwrap_or_default()
                    })
                    .clone();
                out(
                    0,
                    format!("[mon.]\n\tkey = {key}\n\tcaps mon = \"allow *\"\n"),
                )
            }
            Some("rbd" | "sh") if container == "ceph_mon" => {
                match self.ceph.tool(&self.rbd, rest) {
                    Some(o) => o,
                    None => {
                        self.unknown
                            .push(format!("{host}: exec {container} {}", rest.join(" ")));
                        out(0, "")
                    }
                }
            }
            _ => {
                self.unknown
                    .push(format!("{host}: exec {container} {}", rest.join(" ")));
                out(0, "")
            }
        }
    }
}

impl FakeCluster {
    /// `ceph --version` in a container of `image`.
    fn version_in(&self, image: &str) -> Output {
        match (self.image_versions.get(image), self.releases.get(image)) {
            (Some(v), _) => out(0, format!("{v}\n")),
            (None, Some(r)) => out(0, format!("{}\n", super::ceph::version_string(*r))),
            (None, None) => fail(127, "exec: \"ceph\": executable file not found in $PATH"),
        }
    }

    /// `ceph ARGS` as a client: the options before the command are read past.
    fn ceph_client(&mut self, mut args: &[String]) -> Output {
        const VALUED: &[&str] = &[
            "--cluster",
            "--connect-timeout",
            "-n",
            "--name",
            "-k",
            "--keyring",
        ];
        while let [flag, _value, tail @ ..] = args {
            if VALUED.contains(&flag.as_str()) {
                args = tail;
            } else {
                break;
            }
        }
        self.promote_due();
        let o = self.ceph.answer(args);
        if !self.sync_one_host {
            self.sync();
        }
        o
    }

    /// `test -e PATH` / `test -s PATH`: a daemon's data exists once its
    /// container was made (`/var/lib/ceph/<type>/<cluster>-<id>/...`).
    fn test_path(&self, host: &str, path: &str) -> Output {
        let h = &self.hosts[host];
        let exists = h.paths.contains(path)
            || path
                .strip_prefix("/var/lib/ceph/")
                .and_then(|p| p.split_once('/'))
                .and_then(|(kind, rest)| {
                    let id = rest.split('/').next()?.split_once('-')?.1;
                    let container = match kind {
                        "osd" => format!("ceph_osd_{id}"),
                        k => format!("ceph_{k}"),
                    };
                    Some(h.containers.contains_key(&container))
                })
                .unwrap_or(false);
        out(u32::from(!exists), "")
    }
}

impl World for FakeCluster {
    fn answer(&mut self, host: &str, cmd: &Command) -> Result<Output, TransportError> {
        let reachable = self.hosts.get(host).is_some_and(|h| h.reachable);
        if !reachable {
            return Err(TransportError::Unreachable {
                host: host.to_string(),
                target: format!("{host}:22"),
                reason: "connection refused (fake host down)".into(),
            });
        }
        if self.hosts.get(host).is_some_and(|h| h.ssh_blocked) {
            return Err(TransportError::Unreachable {
                host: host.to_string(),
                target: format!("{host}:22"),
                reason: "connection timed out (fake SSH port blocked)".into(),
            });
        }
        self.commands += 1;
        if self.cut_after.is_some_and(|n| self.commands >= n) {
            return Err(TransportError::Unreachable {
                host: host.to_string(),
                target: format!("{host}:22"),
                reason: "connection timed out (cut)".into(),
            });
        }
        if self.fail_command == Some(self.commands) {
            return Ok(fail(1, "injected fault"));
        }
        let argv = &cmd.argv;
        let engine = matches!(argv.first().map(String::as_str), Some("docker" | "podman"));
        if engine && argv.get(1).map(String::as_str) == Some("exec") {
            let mut i = 2;
            while argv.get(i).is_some_and(|a| a.starts_with('-')) {
                i += 1;
            }
            let container = argv.get(i).cloned().unwrap_or_default();
            return Ok(self.exec(host, &container, &argv[i + 1..]));
        }
        if engine
            && argv.get(1).map(String::as_str) == Some("run")
            && !argv.iter().any(|a| a == "-d")
        {
            // The image's ceph user (`stat -c %u:%g /var/lib/ceph` in it).
            if argv.iter().any(|a| a == "--entrypoint=stat") {
                let images = &self.hosts[host].images;
                return Ok(match argv.iter().find(|a| images.contains_key(*a)) {
                    Some(image) => out(
                        0,
                        format!(
                            "{}\n",
                            self.image_users
                                .get(image)
                                .map_or("64045:64045", String::as_str)
                        ),
                    ),
                    None => fail(
                        125,
                        "Error response from daemon: No such image: (not on the host)",
                    ),
                });
            }
            // A new cluster's first monmap: the mons in it must meet.
            if argv.iter().any(|a| a == "--entrypoint=monmaptool")
                && argv.iter().any(|a| a == "--create")
                && self.ceph.mons.is_empty()
            {
                let mons = argv.iter().filter(|a| *a == "--addv" || *a == "--add");
                self.ceph.initial_monmap = Some(mons.count());
            }
            // A one-off `ceph ...` in the image (as client.bootstrap-osd),
            // or `ceph --version`: the release the image holds.
            let images = &self.hosts[host].images;
            if let Some(i) = argv.iter().position(|a| images.contains_key(a))
                && argv.iter().any(|a| a == "--entrypoint=ceph")
            {
                if argv[i + 1..] == ["--version"] {
                    return Ok(self.version_in(&argv[i]));
                }
                return Ok(self.ceph_client(&argv[i + 1..]));
            }
        }
        if let [test, flag, path] = argv.as_slice()
            && test == "test"
            && (flag == "-e" || flag == "-s")
        {
            return Ok(self.test_path(host, path));
        }
        if engine {
            let answer = self.hosts.get_mut(host).and_then(|h| h.engine(&argv[1..]));
            if let Some(o) = answer {
                if let [_, rm, f, name] = argv.as_slice()
                    && rm == "rm"
                    && f == "-f"
                {
                    self.removed(host, name);
                }
                self.sync_after(host);
                return Ok(o);
            }
        }
        if let [sh, c, text, _name, args @ ..] = argv.as_slice()
            && sh == "sh"
            && c == "-c"
        {
            let input: &[u8] = match &cmd.stdin {
                Some(crate::transport::Input::Bytes(b)) => b,
                _ => &[],
            };
            for handler in self.scripts.iter_mut() {
                if let Some(o) = handler(host, text, args, input) {
                    self.sync_after(host);
                    return Ok(o);
                }
            }
        }
        self.unknown.push(format!("{host}: {}", cmd.display()));
        Ok(out(0, ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeTransport, endpoint as ep};
    use crate::transport::Transport;

    fn ceph(args: &[&str]) -> Command {
        let mut argv = vec![
            "docker",
            "exec",
            "ceph_mon",
            "ceph",
            "--cluster",
            "ceph",
            "--connect-timeout",
            "15",
        ];
        argv.extend(args);
        Command::new(argv)
    }

    #[tokio::test]
    async fn daemons_follow_their_containers() {
        let image = "cephalo/ceph:pacific";
        let world = FakeCluster::deployed(Release::Pacific, image, &["ceph1", "ceph2", "ceph3"], 1);
        let t = FakeTransport::new(world);
        let q = t
            .run(&ep("ceph2"), &ceph(&["quorum_status", "-f", "json"]))
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
        assert_eq!(v["quorum_names"], json!(["ceph1", "ceph2", "ceph3"]));

        // Stop ceph1's mon and osd.0: out of quorum, down, PGs degraded.
        t.run(
            &ep("ceph1"),
            &Command::new(["docker", "stop", "-t", "30", "ceph_mon"]),
        )
        .await
        .unwrap();
        t.run(
            &ep("ceph1"),
            &Command::new(["docker", "stop", "ceph_osd_0"]),
        )
        .await
        .unwrap();
        let s = t
            .run(&ep("ceph2"), &ceph(&["status", "-f", "json"]))
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
        assert_eq!(v["quorum_names"], json!(["ceph2", "ceph3"]));
        assert!(v["health"]["checks"]["OSD_DOWN"].is_object());
        // ceph through the stopped mon's container fails as it would.
        let down = t.run(&ep("ceph1"), &ceph(&["status"])).await.unwrap();
        assert_ne!(down.status, 0);

        // A Reef image in its place: a Reef mon, later map.
        t.world(|w| {
            w.releases.insert("cephalo/ceph:reef".into(), Release::Reef);
            w.hosts
                .get_mut("ceph1")
                .unwrap()
                .add_image("cephalo/ceph:reef");
        });
        t.run(
            &ep("ceph1"),
            &Command::new(["docker", "rm", "-f", "ceph_mon"]),
        )
        .await
        .unwrap();
        let run = Command::new([
            "docker",
            "run",
            "-d",
            "--name",
            "ceph_mon",
            "cephalo/ceph:reef",
            "ceph-mon",
        ]);
        assert_eq!(t.run(&ep("ceph1"), &run).await.unwrap().status, 0);
        let m = t
            .run(
                &ep("ceph2"),
                &ceph(&["mon", "metadata", "ceph1", "-f", "json"]),
            )
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&m.stdout).contains("18.2.7"));
        assert!(
            t.world(|w| w.unknown.is_empty()),
            "{:?}",
            t.world(|w| w.unknown.clone())
        );
    }

    #[tokio::test]
    async fn an_unreachable_host_is_an_error_like_ssh_gives() {
        let mut world = FakeCluster::deployed(Release::Reef, "img", &["ceph1"], 1);
        world.hosts.get_mut("ceph1").unwrap().reachable = false;
        let t = FakeTransport::new(world);
        let e = t
            .run(&ep("ceph1"), &Command::new(["true"]))
            .await
            .unwrap_err();
        assert!(e.is_unreachable());
    }
}
