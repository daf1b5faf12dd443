//! `cephalo playground up|status|image|down`: the multi-host test bed on this
//! machine. `up` then runs `pull` and `deploy` exactly as a user would.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::args::{ConnectArgs, Target};
use crate::error::Result;

use super::deploy::{self, DeployArgs};
use super::pull::{self, PullArgs};

#[derive(Debug, Subcommand)]
pub enum PlaygroundCommand {
    /// Build the images (once, cached), start the host containers, write
    /// inventory, globals.yml, passwords.yml and known_hosts into --dir,
    /// then put the Ceph image on every host (`cephalo pull`).
    Up(PlaygroundUpArgs),
    /// The playground's hosts, addresses, disks, images and daemons.
    Status(PlaygroundDirArgs),
    /// Put another release's Ceph image on every host of the running
    /// playground (built once, cached; loaded by `cephalo pull`), beside the
    /// running one, so an upgrade can run in place.
    Image(PlaygroundImageArgs),
    /// Remove the host containers, their volumes, loop devices, disk files
    /// and the network (also of a half-built playground); images are kept
    /// unless --purge.
    Down(PlaygroundDownArgs),
}

#[derive(Debug, Args)]
pub struct PlaygroundDirArgs {
    /// The playground's folder (its inventory, keys and state).
    #[arg(long, value_name = "DIR", default_value = "playground")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlaygroundUpArgs {
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
    /// Number of hosts (ceph1..cephN): mons on the first 3, mgrs on the
    /// first 2, OSDs on all, the MDS on the last.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub hosts: usize,
    /// Client hosts (client1..clientN) in the `clients` group: no daemons,
    /// a place to try `cephalo admin`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub clients: usize,
    /// Ceph release, from the Debian suite that ships it.
    #[arg(long, value_name = "RELEASE", default_value = "pacific")]
    pub release: String,
    /// Loop-device disks per host, each with one OSD bootstrap partition.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub osds_per_host: usize,
    /// The container engine inside the hosts, for the Ceph daemons: docker
    /// or podman.
    #[arg(long, value_name = "ENGINE", default_value = "docker")]
    pub engine: String,
    /// Filestore OSDs (nautilus, pacific): each disk gets a data partition
    /// and a 1 GiB `_J` journal partition.
    #[arg(long)]
    pub filestore: bool,
    /// Size of each disk (a sparse file).
    #[arg(long, value_name = "SIZE", default_value = "8G")]
    pub disk_size: String,
    /// Prefix of the Docker containers, volumes and network.
    #[arg(long, value_name = "NAME", default_value = "cephalo")]
    pub name: String,
    /// The playground network (hosts from its .11 address on).
    #[arg(long, value_name = "CIDR", default_value = "10.77.0.0/24")]
    pub subnet: String,
    /// Leave the hosts without the Ceph image (`cephalo pull` puts it there).
    /// Implies --no-deploy.
    #[arg(long)]
    pub no_pull: bool,
    /// Stop after the image is on the hosts, without `cephalo deploy`.
    #[arg(long)]
    pub no_deploy: bool,
    /// Write an inventory of host names only, as a kolla multinode lists
    /// them (no ansible_host, no public_address): the addresses come from
    /// `network_interface`, and this machine finds the hosts through the
    /// `hosts` file beside the inventory (the `ssh_hosts_file` setting).
    #[arg(long)]
    pub names_only: bool,
    /// Make the Ceph public network IPv6 (fd00:A:B:C::/64 from --subnet
    /// A.B.C.0, each host the same host number): the daemons bind IPv6
    /// only; this machine still reaches the hosts over IPv4.
    #[arg(long)]
    pub ipv6: bool,
}

#[derive(Debug, Args)]
pub struct PlaygroundImageArgs {
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
    /// The Ceph release whose image the hosts get.
    #[arg(long, value_name = "RELEASE")]
    pub release: String,
}

#[derive(Debug, Args)]
pub struct PlaygroundDownArgs {
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
    /// Also remove the playground's images and generated files (the image
    /// archives in the cache folder stay).
    #[arg(long)]
    pub purge: bool,
}

fn say(text: &str) {
    eprintln!("playground: {text}");
}

pub fn up(a: PlaygroundUpArgs, verbose: u8) -> Result<()> {
    let request = crate::playground::Request {
        name: a.name,
        hosts: a.hosts,
        clients: a.clients,
        release: a.release,
        osds_per_host: a.osds_per_host,
        disk_size: a.disk_size,
        filestore: a.filestore,
        engine: a.engine,
        subnet: a.subnet,
        names_only: a.names_only,
        ipv6: a.ipv6,
    };
    let report = crate::playground::up(request, &a.dir.dir, &say)?;
    let l = &report.layout;
    let archive = report.state.ceph_archive.clone();
    println!(
        "playground `{}` {}: {} host(s) on {} ({}), Ceph {}",
        l.request.name,
        if report.reused { "already up" } else { "up" },
        l.hosts.len(),
        l.network,
        l.subnet,
        l.release
    );
    for h in &l.hosts {
        println!("  {}  {}  container {}", h.name, h.address, h.container);
    }
    if let Some(archive) = &archive {
        println!("image archive: {}", archive.display());
    }
    for (what, took) in &report.timings {
        println!("time: {what} {:.1} s", took.as_secs_f64());
    }
    let inventory = l.inventory();
    if !a.no_pull
        && let Some(archive) = archive
    {
        say("putting the Ceph image on every host (cephalo pull)");
        pull::exec(
            PullArgs {
                target: Target::of(inventory.clone()),
                connect: ConnectArgs::logging_to(l.dir.join("logs")),
                image_archive: Some(archive),
            },
            verbose,
        )?;
    }
    if !a.no_pull && !a.no_deploy {
        // The same deploy a production user runs; it prints `ceph -s`.
        say("deploying the cluster (cephalo deploy)");
        deploy::deploy(
            DeployArgs {
                target: Target::of(inventory.clone()),
                connect: ConnectArgs::logging_to(l.dir.join("logs")),
                skip_prechecks: false,
                no_wait: false,
                check: false,
                diff: false,
            },
            verbose,
        )?;
    }
    let inv = inventory.display();
    let first = &l.hosts[0];
    println!(
        "\nfiles: {inv}, globals.yml, passwords.yml, known_hosts, id_ed25519 in {}",
        l.dir.display()
    );
    println!("next:  cephalo deploy -i {inv}   (again: changes nothing)");
    println!("       cephalo prechecks -i {inv}");
    println!("       cephalo run -i {inv} -- hostname");
    println!(
        "reach: ssh -i {} -o UserKnownHostsFile={} cephalo@{}",
        l.key().display(),
        l.known_hosts().display(),
        first.address
    );
    println!("       docker exec -it {} bash", first.container);
    println!("down:  cephalo playground down --dir {}", l.dir.display());
    Ok(())
}

/// Builds or reuses the release's image archive, then `cephalo pull` with
/// `ceph_image_tag` set to it, as `up` does for the playground's own release.
pub fn image(a: PlaygroundImageArgs, verbose: u8) -> Result<()> {
    let r = crate::playground::release_image::ensure(&a.dir.dir, &a.release, &say)?;
    println!(
        "{} for the playground in {} (running {}): {}",
        r.image,
        r.dir.display(),
        r.running,
        if r.built { "built now" } else { "cached" }
    );
    println!("image archive: {}", r.archive.display());
    say(&format!("putting {} on every host (cephalo pull)", r.image));
    // The image's tag, not `ceph_release`: the model stays the running
    // cluster's (its keys may be of a kind the other release cannot read),
    // only the image to put on the hosts changes.
    let mut target = Target::of(r.inventory());
    target
        .extra_vars
        .push(format!("ceph_image_tag={}", r.release.name()));
    pull::exec(
        PullArgs {
            target,
            connect: ConnectArgs::logging_to(r.dir.join("logs")),
            image_archive: Some(r.archive.clone()),
        },
        verbose,
    )?;
    println!(
        "every host holds {} beside the running {} image; the daemons were not touched",
        r.image, r.running
    );
    Ok(())
}

pub fn status(a: PlaygroundDirArgs) -> Result<()> {
    let report = crate::playground::status(&a.dir)?;
    print!("{report}");
    Ok(())
}

pub fn down(a: PlaygroundDownArgs) -> Result<()> {
    let r = crate::playground::down(&a.dir.dir, a.purge, &say)?;
    for n in &r.notes {
        eprintln!("warning: {n}");
    }
    if r.is_empty() {
        println!("nothing to remove in {}", a.dir.dir.display());
        return Ok(());
    }
    let list = |what: &str, items: &[String]| {
        if !items.is_empty() {
            println!("removed {what}: {}", items.join(", "));
        }
    };
    list("containers", &r.containers);
    list("volumes", &r.volumes);
    list("loop devices", &r.loops);
    list("networks", &r.networks);
    list("images", &r.images);
    let files: Vec<String> = r.files.iter().map(|p| p.display().to_string()).collect();
    list("files", &files);
    if !r.images_kept.is_empty() {
        println!("kept images in use: {}", r.images_kept.join(", "));
    }
    if !a.purge {
        println!(
            "images kept (--purge removes them); image archives stay in {}",
            crate::playground::images::cache_dir().display()
        );
    }
    Ok(())
}
