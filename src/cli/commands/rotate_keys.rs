//! `cephalo rotate-keys`: every key cephalo manages rotated to aes256k
//! (CVE-2025-30156, Squid 19.2.6 and Tentacle 20.2.4 on), one daemon at a
//! time behind the restart's gates, then the service cipher, the rotating
//! keys, the clients' keys, passwords.yml and the allowed ciphers, through
//! the upgrade's plan, journal, gates and lock (`upgrade::rotate`).
//! `--check` says what a run would change (exit 8) and changes nothing.

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::drift::{Outcome, checked};
use crate::error::{Error, Result};
use crate::upgrade::run as up;

use super::operation::{Operation, OperationArgs, connected, journal_of, run};

#[derive(Debug, Args)]
pub struct RotateKeysArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Change nothing; name every key of type aes and every monmap auth
    /// setting a run would change. Exit code 8 when something would change,
    /// 0 when nothing would.
    #[arg(short = 'C', long)]
    pub check: bool,
    #[command(flatten)]
    pub op: OperationArgs,
}

pub fn exec(a: RotateKeysArgs, verbose: u8) -> Result<Outcome> {
    let (rt, cluster, engine) = connected(&a.target, &a.connect, verbose)?;
    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    if a.check {
        let left = rt
            .block_on(crate::upgrade::keys::left_to_rotate(
                &cluster,
                engine.transport.as_ref(),
            ))
            .map_err(Error::operation)?;
        for l in &left {
            println!("{l}");
        }
        println!("{} change(s) a rotation would make", left.len());
        return checked(Ok(()), left.len());
    }
    let journal = journal_of(&rt, &cluster, &engine, "rotate-keys")?;
    let live = rt.block_on(up::live(&cluster, &engine));
    // Every daemon's key is rotated: every host must answer.
    up::unreached(&live, &all, a.target.primary_inventory())
        .map_err(|what| Error::NotReached { what })?;
    // A fresh run leaves the daemons whose keys are aes256k already; a
    // resumed one lets its journal skip what is done.
    let rotated = match &journal {
        Some(_) => Default::default(),
        None => rt
            .block_on(crate::upgrade::keys::rotated(
                &cluster,
                engine.transport.as_ref(),
            ))
            .map_err(Error::operation)?,
    };
    let plan = crate::upgrade::rotate::plan(&cluster, &live.layout, cluster.release, &rotated);
    let op = Operation {
        name: "rotate-keys",
        resume: format!(
            "cephalo rotate-keys -i {} --yes",
            a.target.primary_inventory().display()
        ),
        plan,
        json: a.connect.json,
    };
    run(&rt, cluster, &engine, journal, &a.op, op)?;
    Ok(Outcome::Done)
}
