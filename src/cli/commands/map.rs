//! `cephalo map rbd POOL/[NS/]IMAGE` and `cephalo map osd ID`: where an
//! image's objects are, and which images an OSD holds, as a table or JSON.

use clap::{Args, Subcommand};

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, load, runtime};
use crate::cli::output::print_warnings;
use crate::error::{Error, Result};
use crate::map::ImageSpec;
use crate::model::Role;

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// An RBD image's data objects: the PG and acting OSDs of each, then
    /// objects and bytes per OSD and per host, primaries per OSD and the
    /// share of the image on the most loaded OSD.
    Rbd(MapRbdArgs),
    /// The RBD images (every RBD pool and namespace) with objects on an
    /// OSD, as primary or in the acting set, and how many.
    Osd(MapOsdArgs),
}

#[derive(Debug, Args)]
pub struct MapRbdArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The image: POOL/IMAGE or POOL/NAMESPACE/IMAGE.
    #[arg(value_name = "POOL/IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct MapOsdArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The OSD's id (`3` or `osd.3`).
    #[arg(value_name = "ID")]
    pub id: String,
}

/// The engine over the inventory's mons (the maps are read through them).
fn mons(
    target: &Target,
    connect: &ConnectArgs,
    verbose: u8,
) -> Result<(crate::model::Cluster, crate::engine::Engine)> {
    let (cluster, _) = load(target)?;
    print_warnings(&cluster, verbose);
    let mons: Vec<String> = cluster
        .hosts_with(Role::Mon)
        .map(|h| h.name.clone())
        .collect();
    let engine = cluster_engine(&cluster, &mons, connect, verbose)?;
    Ok((cluster, engine))
}

fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        print!("{}", text(value));
    }
}

pub fn rbd(a: MapRbdArgs, verbose: u8) -> Result<()> {
    let spec = ImageSpec::parse(&a.image).map_err(Error::Usage)?;
    let (cluster, engine) = mons(&a.target, &a.connect, verbose)?;
    let m = runtime()?
        .block_on(crate::map::map_rbd(
            &cluster,
            engine.transport.as_ref(),
            &spec,
        ))
        .map_err(Error::operation)?;
    print(a.connect.json, &m, crate::map::report::image_text);
    Ok(())
}

pub fn osd(a: MapOsdArgs, verbose: u8) -> Result<()> {
    let id: i64 =
        a.id.trim_start_matches("osd.")
            .parse()
            .ok()
            .filter(|i| *i >= 0)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "`{}`: an OSD id is a number (`3` or `osd.3`)",
                    a.id
                ))
            })?;
    let (cluster, engine) = mons(&a.target, &a.connect, verbose)?;
    let m = runtime()?
        .block_on(crate::map::map_osd(&cluster, engine.transport.as_ref(), id))
        .map_err(Error::operation)?;
    print(a.connect.json, &m, crate::map::report::osd_text);
    Ok(())
}
