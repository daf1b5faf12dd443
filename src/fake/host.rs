//! One host of the fake cluster: its container engine (containers with
//! their image, labels and state; images present) and the answers to the
//! engine commands cephalo sends (`run`, `inspect`, `ps`, `stop`, `start`,
//! `rm` (refused for a running container without `-f`), `image inspect`,
//! `pull`). `exec` is the cluster's business.

use std::collections::BTreeMap;

use crate::transport::Output;

use super::{fail, out};

/// A container on a fake host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// The image reference it was made from.
    pub image: String,
    /// The image id it runs.
    pub image_id: String,
    pub running: bool,
    /// Crash-looping: the engine restarts it again and again (`inspect`
    /// says running and `restarting`, `exec` is refused), its daemon never
    /// up. The fake cluster sets it for a daemon whose image is of an older
    /// release than its data.
    pub restarting: bool,
    pub labels: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    /// The command after the image.
    pub command: Vec<String>,
    /// Its `-v` mounts, as given.
    pub volumes: Vec<String>,
    /// Times it was (re)started.
    pub starts: u32,
    /// Restarts by the engine's restart policy (a crashing daemon), as
    /// `inspect`'s `.RestartCount` shows them; a test sets it.
    pub restarts: u32,
    /// When it was last started (`.State.StartedAt`).
    pub started_at: String,
}

/// A fake host.
#[derive(Debug, Clone, Default)]
pub struct FakeHost {
    pub containers: BTreeMap<String, Container>,
    /// Image reference -> image id.
    pub images: BTreeMap<String, String>,
    pub reachable: bool,
    /// Its SSH port is blocked: cephalo cannot reach it, but it is up and
    /// its daemons run (unlike a host that is not `reachable` at all).
    pub ssh_blocked: bool,
    /// Paths that exist beside the daemons' data (for `test -e`).
    pub paths: std::collections::BTreeSet<String>,
    next_id: u64,
}

/// When the fake's containers started (docker's RFC 3339 with nanoseconds).
pub const STARTED_AT: &str = "2026-11-30T12:00:00.123456789Z";

/// Options of `run` that take the next word as their value.
const VALUED: &[&str] = &[
    "--name",
    "--label",
    "-l",
    "-e",
    "--env",
    "-v",
    "--volume",
    "--device",
    "--entrypoint",
    "--network",
    "--restart",
    "-w",
    "-u",
    "--user",
];

/// `docker run` words parsed: options, image and command.
#[derive(Debug, Default)]
struct RunArgs {
    name: Option<String>,
    detach: bool,
    labels: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    volumes: Vec<String>,
    image: String,
    command: Vec<String>,
}

fn parse_run(words: &[String]) -> RunArgs {
    let mut r = RunArgs::default();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if !w.starts_with('-') {
            r.image = w.to_string();
            r.command.extend(words[i + 1..].iter().cloned());
            break;
        }
        let (key, value) = match w.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ if VALUED.contains(&w) => {
                i += 1;
                (w, words.get(i).cloned())
            }
            _ => (w, None),
        };
        let value = value.unwrap_or_default();
        let pair = |v: &str| {
            let (k, v) = v.split_once('=').unwrap_or((v, ""));
            (k.to_string(), v.to_string())
        };
        match key {
            "--name" => r.name = Some(value),
            // The program, in front of the arguments after the image.
            "--entrypoint" => r.command = vec![value],
            "-d" | "--detach" => r.detach = true,
            "--label" | "-l" => {
                let (k, v) = pair(&value);
                r.labels.insert(k, v);
            }
            "-e" | "--env" => {
                let (k, v) = pair(&value);
                r.env.insert(k, v);
            }
            "-v" | "--volume" => r.volumes.push(value),
            _ => {}
        }
        i += 1;
    }
    r
}

impl FakeHost {
    pub fn new() -> FakeHost {
        FakeHost {
            reachable: true,
            ..Default::default()
        }
    }

    /// Puts an image on the host (as `pull` or `load` would).
    pub fn add_image(&mut self, reference: &str) {
        let id = format!("sha256:{:064x}", fnv(reference));
        self.images.insert(reference.to_string(), id);
    }

    /// A running container made outside any command (a cluster that
    /// exists before the test).
    pub fn add_container(&mut self, name: &str, image: &str, labels: &[(&str, &str)]) {
        self.add_image(image);
        self.next_id += 1;
        let c = Container {
            id: format!("{:012x}", self.next_id),
            image: image.to_string(),
            image_id: self.images[image].clone(),
            running: true,
            restarting: false,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env: BTreeMap::new(),
            command: Vec::new(),
            volumes: Vec::new(),
            starts: 1,
            restarts: 0,
            started_at: STARTED_AT.into(),
        };
        self.containers.insert(name.to_string(), c);
    }

    /// Answers an engine command (`docker ...` without `exec`), or None
    /// when the words are not one.
    pub fn engine(&mut self, words: &[String]) -> Option<Output> {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let no_such = |n: &str| fail(1, format!("Error: No such container: {n}"));
        Some(match w.as_slice() {
            ["inspect", rest @ ..] | ["container", "inspect", rest @ ..] => {
                let (format, name) = format_and_name(rest);
                if rest.contains(&"image") {
                    return Some(match self.images.get(name) {
                        Some(id) => out(0, format!("{id}\n")),
                        None => fail(1, format!("Error: No such image: {name}")),
                    });
                }
                // Several names: a line for each found, exit 1 (and the
                // error) for any missing, as docker does.
                let names = names_of(rest);
                let mut lines = String::new();
                let mut missing = Vec::new();
                for n in &names {
                    match self.containers.get(*n) {
                        Some(c) => lines += &format!("{}\n", render(format, n, c)),
                        None => missing.push(*n),
                    }
                }
                match missing.first() {
                    None => out(0, lines),
                    Some(n) => Output {
                        stdout: lines.into_bytes(),
                        ..no_such(n)
                    },
                }
            }
            ["image", "inspect", rest @ ..] => {
                let (_, name) = format_and_name(rest);
                match self.images.get(name) {
                    Some(id) => out(0, format!("{id}\n")),
                    None => fail(1, format!("Error: No such image: {name}")),
                }
            }
            ["run", ..] => return Some(self.run(&words[1..])),
            ["rm", "-f", name] => {
                self.containers.remove(*name);
                out(0, format!("{name}\n"))
            }
            // Without -f a running container stays, as with docker.
            ["rm", name] => match self.containers.get(*name) {
                Some(c) if c.running => fail(
                    1,
                    format!(
                        "Error response from daemon: You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                        c.id
                    ),
                ),
                Some(_) => {
                    self.containers.remove(*name);
                    out(0, format!("{name}\n"))
                }
                None => no_such(name),
            },
            ["stop", .., name] => match self.containers.get_mut(*name) {
                Some(c) => {
                    c.running = false;
                    c.restarting = false;
                    out(0, format!("{name}\n"))
                }
                None => no_such(name),
            },
            ["start", name] | ["restart", name] => match self.containers.get_mut(*name) {
                Some(c) => {
                    c.running = true;
                    c.starts += 1;
                    out(0, format!("{name}\n"))
                }
                None => no_such(name),
            },
            ["ps", rest @ ..] => {
                let (format, _) = format_and_name(rest);
                let all = rest.contains(&"-a") || rest.contains(&"--all");
                let lines: Vec<String> = self
                    .containers
                    .iter()
                    .filter(|(_, c)| all || c.running)
                    .map(|(n, c)| render(format, n, c))
                    .collect();
                out(
                    0,
                    lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
                )
            }
            ["pull", reference] => {
                self.add_image(reference);
                out(0, "")
            }
            _ => return None,
        })
    }

    fn run(&mut self, words: &[String]) -> Output {
        let r = parse_run(words);
        let Some(image_id) = self.images.get(&r.image).cloned() else {
            return fail(125, format!("Unable to find image '{}' locally", r.image));
        };
        if !r.detach {
            // A one-off tool run (monmaptool, ceph-osd --mkfs ...): done.
            return out(0, "");
        }
        let name = r.name.unwrap_or_else(|| format!("c{}", self.next_id));
        if self.containers.contains_key(&name) {
            return fail(
                125,
                format!("Conflict. The container name \"/{name}\" is already in use"),
            );
        }
        self.next_id += 1;
        let c = Container {
            id: format!("{:012x}", self.next_id),
            image: r.image,
            image_id,
            running: true,
            restarting: false,
            labels: r.labels,
            env: r.env,
            command: r.command,
            volumes: r.volumes,
            starts: 1,
            restarts: 0,
            started_at: STARTED_AT.into(),
        };
        let id = c.id.clone();
        self.containers.insert(name, c);
        out(0, format!("{id}\n"))
    }
}

/// `--format F` (or `-f F`) and the last word, of an inspect or ps.
fn format_and_name<'a>(words: &[&'a str]) -> (&'a str, &'a str) {
    let format = words
        .windows(2)
        .find(|w| w[0] == "--format" || w[0] == "-f")
        .map_or("{{.ID}}", |w| w[1]);
    (format, words.last().copied().unwrap_or_default())
}

/// The container names of an `inspect`: the words after its options.
fn names_of<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "--format" | "-f" | "--type" => i += 2,
            w if w.starts_with('-') => i += 1,
            w => {
                names.push(w);
                i += 1;
            }
        }
    }
    names
}

/// The Go template subset cephalo's formats use (`.Name` as docker
/// prints it, with a `/`).
fn render(format: &str, name: &str, c: &Container) -> String {
    let json = |v: serde_json::Value| v.to_string();
    let (entry, args) = match c.command.split_first() {
        Some((e, a)) => (serde_json::json!([e]), serde_json::json!(a)),
        None => (serde_json::Value::Null, serde_json::json!([])),
    };
    let mut s = format
        .replace("{{json .Config.Image}}", &json(serde_json::json!(c.image)))
        .replace(
            "{{json .Config.Env}}",
            &json(serde_json::json!(
                c.env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
            )),
        )
        .replace("{{json .Config.Entrypoint}}", &json(entry))
        .replace("{{json .Config.Cmd}}", &json(args))
        .replace(
            "{{json .HostConfig.Binds}}",
            &json(serde_json::json!(c.volumes)),
        )
        .replace("{{.Names}}", name)
        .replace("{{.Name}}", &format!("/{name}"))
        .replace("{{.State.StartedAt}}", &c.started_at)
        .replace("{{.RestartCount}}", &c.restarts.to_string())
        .replace(
            "{{.State.Running}}",
            if c.running { "true" } else { "false" },
        )
        .replace("{{.State.Status}}", state(c))
        .replace("{{.Image}}", &c.image_id)
        .replace("{{.Config.Image}}", &c.image)
        .replace("{{.ID}}", &c.id)
        .replace("{{.Id}}", &c.id)
        .replace(
            "{{.Status}}",
            match state(c) {
                "running" => "Up 2 minutes",
                "restarting" => "Restarting (1) 3 seconds ago",
                _ => "Exited (0) 1 minute ago",
            },
        )
        .replace("{{.State}}", state(c));
    // {{index .Config.Labels "K"}} and {{.Label "K"}}
    for open in ["{{index .Config.Labels \"", "{{.Label \""] {
        while let Some(i) = s.find(open) {
            let rest = &s[i + open.len()..];
            let Some(end) = rest.find("\"}}") else { break };
            let key = &rest[..end];
            let value = c
                .labels
                .get(key)
                .cloned()
                .unwrap_or_else(|| "<no value>".into());
            s = format!("{}{}{}", &s[..i], value, &rest[end + 3..]);
        }
    }
    s
}

/// The engine's word for a container's state.
fn state(c: &Container) -> &'static str {
    match (c.running, c.restarting) {
        (true, true) => "restarting",
        (true, false) => "running",
        _ => "exited",
    }
}

/// A stable made-up digest for an image reference.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_container_is_run_inspected_stopped_and_removed() {
        let mut h = FakeHost::new();
        let run = words(&[
            "run",
            "-d",
            "--name",
            "ceph_mon",
            "--network=host",
            "--label",
            "cephalo.spec=abc",
            "-e",
            "A=1",
            "img:1",
            "ceph-mon",
            "-f",
        ]);
        assert_eq!(h.engine(&run).unwrap().status, 125, "image missing");
        h.add_image("img:1");
        assert_eq!(h.engine(&run).unwrap().status, 0);
        assert_eq!(h.engine(&run).unwrap().status, 125, "name in use");
        let c = &h.containers["ceph_mon"];
        assert_eq!(c.command, ["ceph-mon", "-f"]);
        assert_eq!(c.env["A"], "1");
        let inspect = words(&[
            "inspect",
            "--type",
            "container",
            "--format",
            "{{.State.Running}} {{index .Config.Labels \"cephalo.spec\"}}",
            "ceph_mon",
        ]);
        assert_eq!(h.engine(&inspect).unwrap().stdout, b"true abc\n");
        h.engine(&words(&["stop", "-t", "30", "ceph_mon"]));
        assert_eq!(h.engine(&inspect).unwrap().stdout, b"false abc\n");
        h.engine(&words(&["rm", "-f", "ceph_mon"]));
        assert_eq!(h.engine(&inspect).unwrap().status, 1);
        assert!(h.engine(&words(&["exec", "x", "true"])).is_none());
    }
}
