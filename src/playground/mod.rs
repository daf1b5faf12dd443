//! The playground: a real multi-host Ceph test bed on this one machine.
//! `up` makes sure a Docker engine answers, builds (once, cached) a host
//! image and the release's Ceph image from Debian packages, starts N host
//! containers on a private network (sshd, a deploy user, a nested engine,
//! loop-device disks each), and writes the inventory, globals, passwords
//! and known_hosts every other cephalo command takes. `status` shows it;
//! `down` removes it, also when `up` stopped half way.
//!
//! Everything here runs on this machine (docker, losetup, parted); the
//! hosts are reached over SSH only by the other commands (`pull`, `run`).
//! See docs/playground.md.

pub mod dockerd;
pub mod files;
pub mod hosts;
pub mod images;
pub mod layout;
pub mod machine;
pub mod release_image;
pub mod state;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use layout::{Layout, Request};
pub use state::State;

use machine::cmd;

/// Why the playground could not be made, shown or removed.
#[derive(Debug, thiserror::Error)]
pub enum PlaygroundError {
    #[error("`{command}` failed ({status}){}", stderr_block(stderr))]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// This machine could not be set up (engine, images, hosts).
    #[error("{0}")]
    Setup(String),
    /// Bad options, or a playground in the way.
    #[error("{0}")]
    Usage(String),
    /// The generated files were not accepted by cephalo's own model.
    #[error("the playground's files are not valid: {0}")]
    Files(String),
}

fn stderr_block(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(":\n  {}", stderr.replace('\n', "\n  "))
    }
}

impl crate::error::ExitCode for PlaygroundError {
    fn exit_code(&self) -> i32 {
        match self {
            PlaygroundError::Usage(_) => crate::error::exit::BAD_INPUT,
            _ => crate::error::exit::FAILURE,
        }
    }
}

impl From<PlaygroundError> for crate::Error {
    fn from(e: PlaygroundError) -> Self {
        crate::Error::operation(e)
    }
}

/// What `up` made.
#[derive(Debug, Clone)]
pub struct UpReport {
    pub layout: Layout,
    pub state: State,
    /// The hosts were already up and kept.
    pub reused: bool,
    /// Images built now (not found and not in the cache).
    pub built: Vec<String>,
    pub timings: Vec<(String, Duration)>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PlaygroundError + '_ {
    move |source| PlaygroundError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The playground folder as an absolute path (created when missing).
pub fn absolute_dir(dir: &Path, create: bool) -> Result<PathBuf, PlaygroundError> {
    if create {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().map_err(io(dir))?.join(dir)
    };
    Ok(abs.canonicalize().unwrap_or(abs))
}

/// Brings the playground up (or keeps the one that is up with the same
/// request), and writes its files. The Ceph image is not on the hosts yet:
/// `cephalo pull` delivers it.
pub fn up(request: Request, dir: &Path, say: &dyn Fn(&str)) -> Result<UpReport, PlaygroundError> {
    let started = Instant::now();
    let mut timings = Vec::new();
    let dir = absolute_dir(dir, true)?;
    let layout = Layout::new(request, &dir)?;
    let previous = State::read(&dir)?;
    let reused = match &previous {
        Some(s) if s.request != layout.request => {
            return Err(PlaygroundError::Usage(format!(
                "a playground made with other options ({}) is in {}; `cephalo playground down --dir {}` first",
                describe(&s.request),
                dir.display(),
                dir.display()
            )));
        }
        Some(s) => {
            let running = s
                .hosts
                .iter()
                .all(|h| hosts::container_status(&h.container).as_deref() == Some("running"));
            if !running {
                return Err(PlaygroundError::Usage(format!(
                    "the playground in {} is half built or stopped; `cephalo playground down --dir {}` first, then up again",
                    dir.display(),
                    dir.display()
                )));
            }
            true
        }
        None => false,
    };

    let t = Instant::now();
    dockerd::ensure_all(say)?;
    timings.push(("engine and tools".to_string(), t.elapsed()));
    if !reused {
        for h in &layout.hosts {
            if hosts::exists("container", &h.container) {
                return Err(PlaygroundError::Usage(format!(
                    "a container named {} exists already (another playground named `{}`?); remove it, or choose another --name",
                    h.container, layout.request.name
                )));
            }
        }
    }

    let cache = images::cache_dir();
    let t = Instant::now();
    let host_image = images::ensure(&images::host_image(), &cache, say)?;
    let ceph_image = images::ensure(&images::ceph_image(layout.release)?, &cache, say)?;
    timings.push(("images".to_string(), t.elapsed()));
    let built: Vec<String> = [&host_image, &ceph_image]
        .iter()
        .filter(|b| b.built)
        .map(|b| b.name.clone())
        .collect();

    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# made by cephalo playground up\n*\n").map_err(io(&ignore))?;
    }
    let key = layout.key();
    if !key.exists() {
        cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("cephalo-playground-{}", layout.request.name))
            .arg("-f")
            .arg(key.display().to_string())
            .run()?;
    }
    let public_key_path = key.with_extension("pub");
    let public_key = std::fs::read_to_string(&public_key_path).map_err(io(&public_key_path))?;

    let mut state = match previous {
        Some(s) if reused => s,
        _ => State::new(&layout, &host_image.name, &ceph_image.name),
    };
    state.ceph_archive = Some(ceph_image.archive.clone());
    state.write()?;

    let t = Instant::now();
    if !reused {
        say(&format!(
            "starting {} host(s) on {} ({})",
            layout.hosts.len(),
            layout.network,
            layout.subnet
        ));
        hosts::ensure_network(&layout)?;
        for h in &layout.hosts {
            for d in &h.disks {
                hosts::make_disk(d, &layout.request.disk_size, &h.name, &mut |disk| {
                    state.loops.push(disk.clone());
                    state.write()
                })?;
            }
            let disks: Vec<&state::LoopDisk> = state.loops_of(&h.name).collect();
            hosts::start_host(&layout, h, &disks, &host_image.name)?;
        }
    }
    let mut keys = Vec::new();
    for h in &layout.hosts {
        let host_key = hosts::wait_ready(h, &layout.request.engine)?;
        hosts::authorize(h, &public_key)?;
        // known_hosts under the name cephalo connects to.
        let known_as = if layout.request.names_only {
            h.name.clone()
        } else {
            h.address.to_string()
        };
        keys.push((known_as, host_key));
    }
    timings.push(("hosts".to_string(), t.elapsed()));

    if !reused {
        set_aside_unfit_passwords(&layout, say)?;
    }
    write_files(&layout, &keys)?;
    timings.push(("up".to_string(), started.elapsed()));
    Ok(UpReport {
        layout,
        state,
        reused,
        built,
        timings,
    })
}

fn describe(r: &Request) -> String {
    format!(
        "--name {} --hosts {} --clients {} --release {} --engine {} --osds-per-host {} --disk-size {}{} --subnet {}{}{}",
        r.name,
        r.hosts,
        r.clients,
        r.release,
        r.engine,
        r.osds_per_host,
        r.disk_size,
        if r.filestore { " --filestore" } else { "" },
        r.subnet,
        if r.names_only { " --names-only" } else { "" },
        if r.ipv6 { " --ipv6" } else { "" },
    )
}

/// A new playground's cluster is new too: a passwords.yml kept from a
/// playground of another release whose keys this release cannot use (type
/// 1 on Tentacle, type 2 before it) is moved to passwords.yml.old, so
/// genpwd makes keys of the right kind.
fn set_aside_unfit_passwords(l: &Layout, say: &dyn Fn(&str)) -> Result<(), PlaygroundError> {
    let passwords = l.dir.join("passwords.yml");
    let unfit = files::unfit_secrets(&passwords, l.release.info().generated_secret);
    if unfit.is_empty() {
        return Ok(());
    }
    let old = l.dir.join("passwords.yml.old");
    std::fs::rename(&passwords, &old).map_err(io(&passwords))?;
    say(&format!(
        "{} holds keys Ceph {} cannot use ({}); moved to {}, new keys follow",
        passwords.display(),
        l.release,
        unfit.join(", "),
        old.display()
    ));
    Ok(())
}

/// inventory, globals.yml, passwords.yml (genpwd: values kept) and
/// known_hosts, then the check that cephalo's model accepts them.
fn write_files(l: &Layout, keys: &[(String, String)]) -> Result<(), PlaygroundError> {
    let write = |name: &str, text: String| {
        let p = l.dir.join(name);
        std::fs::write(&p, text).map_err(io(&p))
    };
    write("inventory", files::inventory_text(l, &l.key()))?;
    write("globals.yml", files::globals_text(l))?;
    write("known_hosts", files::known_hosts_text(keys)?)?;
    if l.request.names_only {
        write("hosts", files::hosts_text(l))?;
    }
    let passwords = l.dir.join("passwords.yml");
    crate::passwords::genpwd(&passwords, l.release.info().generated_secret)
        .map_err(|e| PlaygroundError::Files(e.to_string()))?;
    let cluster = crate::model::load(&crate::model::Sources {
        inventory: l.inventory(),
        ..Default::default()
    })
    .map_err(|e| PlaygroundError::Files(e.to_string()))?;
    let want = images::ceph_image_name(l.release);
    if cluster.image != want {
        return Err(PlaygroundError::Files(format!(
            "the model's image is {}, the playground built {want}",
            cluster.image
        )));
    }
    Ok(())
}

/// One host as `status` shows it.
#[derive(Debug, Clone)]
pub struct HostStatus {
    pub name: String,
    pub container: String,
    pub address: String,
    /// `running`, `exited`, `missing`.
    pub state: String,
    pub disks: Vec<String>,
    pub images: Vec<String>,
    pub containers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StatusReport {
    pub dir: PathBuf,
    pub state: State,
    pub network: bool,
    pub hosts: Vec<HostStatus>,
}

/// The playground in `dir`: its hosts, their images and daemon containers
/// (asked of each host's nested engine through `docker exec`).
pub fn status(dir: &Path) -> Result<StatusReport, PlaygroundError> {
    let dir = absolute_dir(dir, false)?;
    let Some(state) = State::read(&dir)? else {
        return Err(PlaygroundError::Usage(format!(
            "no playground in {} (no {}); `cephalo playground up --dir {}` makes one",
            dir.display(),
            state::FILE,
            dir.display()
        )));
    };
    if !dockerd::answers() {
        return Err(PlaygroundError::Setup(
            "the Docker engine does not answer (`docker info`); `cephalo playground up` starts it"
                .into(),
        ));
    }
    let lines = |c: machine::Cmd| -> Vec<String> {
        c.run()
            .map(|o| o.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let hosts = state
        .hosts
        .iter()
        .map(|h| {
            let st = hosts::container_status(&h.container).unwrap_or_else(|| "missing".into());
            let (images, containers) = if st == "running" {
                let exec = || cmd(["docker", "exec", h.container.as_str()]);
                let nested = state.request.engine.as_str();
                (
                    lines(exec().args([
                        nested,
                        "image",
                        "ls",
                        "--format",
                        "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
                    ])),
                    lines(exec().args([
                        nested,
                        "ps",
                        "--format",
                        "{{.Names}} {{.Image}} {{.Status}}",
                    ])),
                )
            } else {
                (Vec::new(), Vec::new())
            };
            HostStatus {
                name: h.name.clone(),
                container: h.container.clone(),
                address: h.address.to_string(),
                state: st,
                disks: state
                    .loops_of(&h.name)
                    .map(|d| format!("{} {}", d.partition, d.label))
                    .collect(),
                images,
                containers,
            }
        })
        .collect();
    Ok(StatusReport {
        network: hosts::exists("network", &state.network),
        dir,
        state,
        hosts,
    })
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.state;
        writeln!(
            f,
            "playground `{}` in {}: Ceph {}, {} host(s), network {} {} ({})",
            s.request.name,
            self.dir.display(),
            s.request.release,
            s.hosts.len(),
            s.network,
            s.subnet,
            if self.network { "present" } else { "missing" }
        )?;
        for h in &self.hosts {
            writeln!(
                f,
                "{}  {}  {}  container {}",
                h.name, h.address, h.state, h.container
            )?;
            for d in &h.disks {
                writeln!(f, "    disk       {d}")?;
            }
            for i in &h.images {
                writeln!(f, "    image      {i}")?;
            }
            if h.state == "running" && h.containers.is_empty() {
                writeln!(f, "    daemons    (none running)")?;
            }
            for c in &h.containers {
                writeln!(f, "    daemon     {c}")?;
            }
        }
        Ok(())
    }
}

/// What `down` removed.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub loops: Vec<String>,
    pub files: Vec<PathBuf>,
    pub networks: Vec<String>,
    pub images: Vec<String>,
    /// Images `--purge` could not remove (in use by another playground).
    pub images_kept: Vec<String>,
    /// Steps skipped, with why.
    pub notes: Vec<String>,
}

impl DownReport {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.volumes.is_empty()
            && self.loops.is_empty()
            && self.files.is_empty()
            && self.networks.is_empty()
            && self.images.is_empty()
    }
}

fn add_unique(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for i in items {
        if !list.contains(&i) {
            list.push(i);
        }
    }
}

/// Removes the playground in `dir`: host containers (and what runs in
/// them), their volumes, loop devices, disk files and the network; with
/// `purge`, also the playground's images and generated files. Every step
/// takes "already gone" for done, so a half-built playground goes too.
pub fn down(dir: &Path, purge: bool, say: &dyn Fn(&str)) -> Result<DownReport, PlaygroundError> {
    let dir = absolute_dir(dir, false)?;
    let state = State::read(&dir)?;
    let mut report = DownReport::default();
    let docker = dockerd::answers()
        || (state.is_some()
            && (machine::on_path("dockerd") || Path::new("/usr/sbin/dockerd").exists())
            && dockerd::ensure_engine(say).is_ok());

    let mut containers: Vec<String> = Vec::new();
    let mut volumes: Vec<String> = Vec::new();
    let mut networks: Vec<String> = Vec::new();
    if let Some(s) = &state {
        add_unique(&mut containers, s.hosts.iter().map(|h| h.container.clone()));
        add_unique(&mut volumes, s.hosts.iter().map(|h| h.volume.clone()));
        networks.push(s.network.clone());
    }
    if docker {
        add_unique(&mut containers, hosts::labelled("container", &dir));
        add_unique(&mut volumes, hosts::labelled("volume", &dir));
        add_unique(&mut networks, hosts::labelled("network", &dir));
        // In parallel: removing a nested engine's volume takes seconds.
        for (c, removed) in in_parallel(&containers, hosts::remove_container)? {
            if removed {
                report.containers.push(c);
            }
        }
        for (v, removed) in in_parallel(&volumes, |v| {
            if !hosts::exists("volume", v) {
                return Ok(false);
            }
            hosts::remove(&["volume", "rm", "--force", v])
        })? {
            if removed {
                report.volumes.push(v);
            }
        }
    } else if !containers.is_empty() {
        report.notes.push(
            "the Docker engine does not answer: containers, volumes and the network were left"
                .into(),
        );
    }

    if let Some(s) = &state {
        for d in &s.loops {
            if hosts::detach_recorded(d)? {
                report.loops.push(d.device.clone());
            }
        }
        for h in &s.hosts {
            for d in &h.disks {
                add_unique(&mut report.loops, hosts::detach_file(&d.file)?);
                if d.file.exists() {
                    std::fs::remove_file(&d.file).map_err(io(&d.file))?;
                    report.files.push(d.file.clone());
                }
            }
        }
        let _ = std::fs::remove_dir(dir.join("disks"));
    }

    if docker {
        for n in &networks {
            if hosts::remove(&["network", "rm", n])? {
                report.networks.push(n.clone());
            }
        }
    }

    let mut generated = vec![state::FILE, "known_hosts", "hosts"];
    if purge {
        generated.extend([
            "inventory",
            "globals.yml",
            "passwords.yml",
            "id_ed25519",
            "id_ed25519.pub",
            ".gitignore",
        ]);
    }
    for name in generated {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
            report.files.push(p);
        }
    }
    if purge {
        if docker && let Some(s) = &state {
            // This playground's images and the build bases; an image another
            // playground's host containers use stays.
            let mut list = vec![s.ceph_image.clone(), s.host_image.clone()];
            add_unique(&mut list, images::base_images());
            for image in list {
                match hosts::remove(&["image", "rm", &image]) {
                    Ok(true) => report.images.push(image),
                    Ok(false) => {}
                    Err(_) => report.images_kept.push(image),
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir.join("logs"));
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(report)
}

/// Runs `f` on every item at once; the results in the items' order, or the
/// first error.
fn in_parallel<F>(items: &[String], f: F) -> Result<Vec<(String, bool)>, PlaygroundError>
where
    F: Fn(&str) -> Result<bool, PlaygroundError> + Sync,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                let f = &f;
                scope.spawn(move || f(item).map(|r| (item.clone(), r)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PlaygroundError::Setup("a removal thread panicked".into()))
                })
            })
            .collect()
    })
}
