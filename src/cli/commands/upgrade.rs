//! `cephalo upgrade`: turns its arguments into the target model and the
//! plan's options, then shows the plan (`--plan`), where an upgrade stands
//! (`--status`), stops one (`--abort`), or runs it (resuming an unfinished
//! one) and prints every daemon's old and new version.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use clap::Args;

use crate::cli::args::{ConnectArgs, Target};
use crate::cli::context::{cluster_engine, inventory_dir, load, runtime};
use crate::cli::output::{host_failures, print_warnings};
use crate::error::{Error, Result};
use crate::model::Cluster;
use crate::release::Release;
use crate::upgrade::journal::Journal;
use crate::upgrade::run as up;
use crate::upgrade::{DaemonType, Flag, Layout, PlanOptions, Refused};

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The release to upgrade to (`reef`, or `18`). --status, --abort and
    /// --resume take the unfinished upgrade's when it is not given.
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
    /// The target image (default: the one the target release's settings
    /// name).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Only these daemon types (`mon,mgr,osd,mds,rgw`); the upgrade does
    /// not finalise while other daemons are left.
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub daemon_types: Vec<String>,
    /// Also set these flags while daemons restart (`noscrub`,
    /// `nodeep-scrub`); `noout` is always set. Restored at the end.
    #[arg(long = "flag", value_name = "FLAG")]
    pub flags: Vec<String>,
    /// Print the whole plan and exit (with --json as JSON).
    #[arg(long)]
    pub plan: bool,
    /// The release the cluster runs now: with --plan (only), contacts no
    /// host.
    #[arg(long, value_name = "RELEASE", requires = "plan")]
    pub from: Option<String>,
    /// Run without asking (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Show where an upgrade stands and which daemons run which version.
    #[arg(long, conflicts_with_all = ["plan", "resume", "abort"])]
    pub status: bool,
    /// Resume an unfinished upgrade (what running the command again does).
    #[arg(long, conflicts_with_all = ["plan", "abort"])]
    pub resume: bool,
    /// Stop an unfinished upgrade: restore the flags (and the primary
    /// affinity and read lease the OSD phase held), leave every daemon
    /// as it is (a later `upgrade` finishes it).
    #[arg(long, conflicts_with = "plan")]
    pub abort: bool,
    /// Take the cluster's operation lock from another machine's run.
    #[arg(long)]
    pub break_lock: bool,
    /// Upgrading to Squid 19.2.6 / Tentacle 20.2.4 or later: leave the keys
    /// of type aes as they are (CVE-2025-30156 keeps the cluster in
    /// HEALTH_ERR until `cephalo rotate-keys` runs) instead of rotating
    /// them to aes256k as the upgrade's last phase.
    #[arg(long)]
    pub no_rotate_keys: bool,
}

fn release(s: &str) -> Result<Release> {
    crate::upgrade::parse_release(s).map_err(|e| Error::Usage(e.to_string()))
}

fn refused(e: Refused) -> Error {
    match e {
        Refused::UnknownRelease { .. } => Error::Usage(e.to_string()),
        other => Error::Refused {
            what: other.to_string(),
        },
    }
}

fn options(a: &UpgradeArgs, cluster: &Cluster, selected: &[String]) -> Result<PlanOptions> {
    let mut o = PlanOptions::default();
    // The ratio is checked with the other settings (model::validate).
    let s = &cluster.settings;
    let ratio = s.ceph_upgrade_read_lease_ratio.trim();
    o.read_lease_ratio = (!ratio.is_empty()).then(|| ratio.to_string());
    o.primary_affinity = s.ceph_upgrade_primary_affinity;
    if !a.daemon_types.is_empty() {
        let mut types = BTreeSet::new();
        for t in &a.daemon_types {
            types.insert(DaemonType::parse(t).ok_or_else(|| {
                Error::Usage(format!(
                    "--daemon-types: `{t}` is not one of mon, mgr, osd, mds, rgw"
                ))
            })?);
        }
        o.daemon_types = Some(types);
    }
    if a.target.limit.is_some() {
        o.hosts = Some(selected.iter().cloned().collect());
    }
    for f in &a.flags {
        o.extra_flags.push(Flag::parse_extra(f).ok_or_else(|| {
            Error::Usage(format!("--flag: `{f}` is not noscrub or nodeep-scrub"))
        })?);
    }
    Ok(o)
}

/// The layout without asking any host (`--plan --from`): OSD ids are
/// numbered as a first deploy would number them, one per listed device.
fn offline_layout(cluster: &Cluster) -> Layout {
    let mut ids = BTreeMap::new();
    let mut next = 0;
    for h in cluster
        .hosts
        .iter()
        .filter(|h| h.has(crate::model::Role::Osd))
    {
        let n = h.settings.ceph_osd_devices.len().max(1) as u32;
        ids.insert(h.name.clone(), (next..next + n).collect());
        next += n;
    }
    Layout::from_cluster(cluster, &ids)
}

pub fn exec(mut a: UpgradeArgs, verbose: u8) -> Result<()> {
    let to = match &a.to {
        Some(t) => release(t)?,
        None if a.status || a.abort || a.resume => match unfinished_target(&a, verbose)? {
            Unfinished::To(to) => to,
            Unfinished::Shown => return Ok(()),
            Unfinished::None => {
                return Err(Error::Usage(format!(
                    "no upgrade of the cluster of {} is in progress: give the release to upgrade to with --to",
                    a.target.primary_inventory().display()
                )));
            }
        },
        None => {
            return Err(Error::Usage(
                "--to RELEASE is needed: the release to upgrade to (`--status`, `--abort` and `--resume` take the unfinished upgrade's)".into(),
            ));
        }
    };
    a.target
        .extra_vars
        .push(format!("ceph_release={}", to.name()));
    let (mut cluster, selected) = load(&a.target)?;
    // As the files have it, before the target's image is chosen: what the
    // end of the run tells the operator to change.
    let configured = cluster.settings.clone();
    if let Some(image) = &a.image {
        cluster.image = image.clone();
    } else if let Some(tag) =
        crate::model::image::tag_for_upgrade(&cluster.settings.ceph_image_tag, to)
            .map_err(Error::Usage)?
    {
        cluster.settings.ceph_image_tag = tag;
        cluster.image = crate::model::image_name(&cluster.settings, to);
    }
    print_warnings(&cluster, verbose);
    let options = options(&a, &cluster, &selected)?;
    let dir = inventory_dir(&cluster).to_path_buf();

    if let (true, Some(from)) = (a.plan, &a.from) {
        let plan = crate::upgrade::plan(release(from)?, to, &offline_layout(&cluster), &options)
            .map_err(refused)?;
        print_plan(&plan, a.connect.json);
        if !a.connect.json {
            println!("(without --from the versions and OSD ids are read from the cluster)");
        }
        return Ok(());
    }

    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let engine = cluster_engine(&cluster, &all, &a.connect, verbose)?;
    let rt = runtime()?;
    crate::cli::context::resolve_addresses(&rt, &mut cluster, &all, &engine, a.connect.json)?;
    let cluster = Arc::new(cluster);
    let t = engine.transport.clone();
    let journal = rt
        .block_on(up::unfinished(&cluster, Some(t.as_ref()), &dir))
        .map_err(Error::Usage)?;
    let live = rt.block_on(up::live(&cluster, &engine));
    // Hosts not read are unknown: refused among those acted on, left out
    // (and the upgrade unfinished) outside --limit.
    let acted_on = if a.target.limit.is_some() {
        selected.clone()
    } else {
        all.clone()
    };
    let notes = up::unreached(&live, &acted_on, a.target.primary_inventory());

    if a.status {
        let remote = match &journal {
            Some(_) => None,
            None => rt.block_on(up::remote_journal_unknown(&cluster, t.as_ref())),
        };
        print_status(&cluster, journal.as_ref(), remote, &live);
        return notes.map(|_| ()).map_err(|what| Error::NotReached { what });
    }
    for note in notes.map_err(|what| Error::NotReached { what })? {
        eprintln!("{note}");
    }
    if let Some(j) = &journal
        && j.to != to
    {
        return Err(Error::Refused {
            what: format!(
                "{}; finish it with --to {}, or --abort it first",
                j.summary(None),
                j.to
            ),
        });
    }
    let from = match &journal {
        Some(j) => j.from,
        None => up::source_release(&live.daemons).ok_or_else(|| Error::Refused {
            what: "no Ceph daemon runs on the inventory's hosts: nothing to upgrade (deploy first)"
                .into(),
        })?,
    };
    // "Nothing to do" only from what every host said.
    if journal.is_none()
        && !a.abort
        && live.unknown.is_empty()
        && live.daemons.iter().all(|d| d.release == Some(to))
    {
        println!("every daemon runs {to}: nothing to do");
        return Ok(());
    }
    let mut plan = crate::upgrade::plan(from, to, &live.layout, &options).map_err(refused)?;
    // To a release that flags keys of type aes: the rotation is the last
    // phase, once every daemon was upgraded (a resumed run lets its
    // journal skip what is done).
    if !a.no_rotate_keys && to.warns_insecure_key_types() {
        let rotated = match &journal {
            Some(_) => Default::default(),
            None => rt
                .block_on(crate::upgrade::keys::rotated(&cluster, t.as_ref()))
                .unwrap_or_default(),
        };
        crate::upgrade::rotate::append_to_upgrade(&mut plan, &cluster, &live.layout, &rotated);
    }
    if a.plan {
        print_plan(&plan, a.connect.json);
        return Ok(());
    }
    if a.abort {
        let Some(j) = journal else {
            return Err(Error::Usage(format!(
                "no upgrade of `{}` is in progress: nothing to abort",
                cluster.name
            )));
        };
        let upgrade = up::upgrade(cluster.clone(), plan, j, &dir, engine.reporter.clone());
        let recap = rt.block_on(up::abort(upgrade.clone(), &engine));
        host_failures(&recap)?;
        println!("{}", upgrade.journal(|j| j.summary(None)));
        println!(
            "flags restored; daemons left as they are; `cephalo upgrade -i {} --to {to}` finishes it later",
            a.target.primary_inventory().display()
        );
        return Ok(());
    }
    if !a.yes {
        confirm(&plan, a.connect.json)?;
    }
    if let Some(broken) = rt
        .block_on(up::take_lock(&cluster, t.as_ref(), "upgrade", a.break_lock))
        .map_err(|what| Error::Refused { what })?
    {
        eprintln!("lock broken: it was {}", broken.describe());
    }
    let resuming = journal.is_some();
    let mut j =
        journal.unwrap_or_else(|| Journal::new(&cluster.name, &cluster.fsid.to_string(), from, to));
    j.image = Some(cluster.image.clone());
    if resuming {
        println!("resuming: {}", j.summary(None));
    }
    let upgrade = up::upgrade(cluster.clone(), plan, j, &dir, engine.reporter.clone());
    let outcome = rt.block_on(up::execute(upgrade, &engine));
    report(&outcome, &a, to, &cluster, &configured)
}

/// What the modes that need no --to found.
enum Unfinished {
    /// An upgrade to this release is unfinished.
    To(Release),
    /// None is; `--status` showed the daemons as they are.
    Shown,
    None,
}

/// The release of the unfinished upgrade, if there is one (read from the
/// journal here, or the mons' copy), for the modes that need no --to;
/// `--status` with none shows the daemons as the configured model has
/// them.
fn unfinished_target(a: &UpgradeArgs, verbose: u8) -> Result<Unfinished> {
    let (mut cluster, selected) = load(&a.target)?;
    let all: Vec<String> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let engine = cluster_engine(&cluster, &all, &a.connect, verbose)?;
    let rt = runtime()?;
    let j = rt
        .block_on(up::unfinished(
            &cluster,
            Some(engine.transport.as_ref()),
            inventory_dir(&cluster),
        ))
        .map_err(Error::Usage)?;
    match j {
        Some(j) => return Ok(Unfinished::To(j.to)),
        None if !a.status => return Ok(Unfinished::None),
        None => {}
    }
    print_warnings(&cluster, verbose);
    crate::cli::context::resolve_addresses(&rt, &mut cluster, &all, &engine, a.connect.json)?;
    let live = rt.block_on(up::live(&cluster, &engine));
    let remote = rt.block_on(up::remote_journal_unknown(
        &cluster,
        engine.transport.as_ref(),
    ));
    print_status(&cluster, None, remote, &live);
    let acted_on = if a.target.limit.is_some() {
        selected
    } else {
        all
    };
    up::unreached(&live, &acted_on, a.target.primary_inventory())
        .map_err(|what| Error::NotReached { what })?;
    Ok(Unfinished::Shown)
}

fn print_status(
    cluster: &Cluster,
    journal: Option<&Journal>,
    remote_unknown: Option<String>,
    live: &up::Live,
) {
    match (journal, remote_unknown) {
        (Some(j), _) => println!("{}", j.summary(None)),
        (None, None) => println!("no upgrade in progress for `{}`", cluster.name),
        (None, Some(why)) => println!(
            "whether an upgrade of `{}` is in progress is not known: none is recorded here, and the mons' copy could not be read ({why})",
            cluster.name
        ),
    }
    println!("daemons:\n{}", up::versions_table(&live.daemons));
    for (h, e) in &live.unknown {
        println!("  {h}: not read ({})", crate::ceph::reach::why(e));
    }
}

pub(super) fn print_plan(plan: &crate::upgrade::UpgradePlan, json: bool) {
    if json {
        println!("{}", plan.to_json());
    } else {
        print!("{}", plan.to_text());
    }
}

/// Shows the plan and asks; with no terminal, refuses.
pub(super) fn confirm(plan: &crate::upgrade::UpgradePlan, json: bool) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "not on a terminal: review the plan with --plan, then run again with --yes".into(),
        ));
    }
    print_plan(plan, json);
    print!("{} as above? [y/N] ", plan.title());
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::Usage("not confirmed: nothing was changed".into()))
    }
}

fn report(
    o: &up::Outcome,
    a: &UpgradeArgs,
    to: Release,
    cluster: &Cluster,
    configured: &crate::settings::ClusterSettings,
) -> Result<()> {
    let u = &o.upgrade;
    for line in u.said.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("{line}");
    }
    let rows = u.upgraded.lock().map(|r| r.clone()).unwrap_or_default();
    if !rows.is_empty() {
        println!(
            "{:<12} {:<10} {:<10} {:<10} {:>6}",
            "daemon", "host", "before", "after", "time"
        );
        for r in &rows {
            println!(
                "{:<12} {:<10} {:<10} {:<10} {:>5}s",
                r.daemon, r.host, r.old, r.new, r.seconds
            );
        }
    }
    if o.restored.is_some() {
        let last = u.journal(|j| j.errors.last().cloned()).unwrap_or_default();
        return Err(Error::Refused {
            what: format!(
                "the upgrade stopped: {last}\nthe flags were restored; run the same command again to resume (`cephalo upgrade -i {} --to {to}`), or --abort",
                a.target.primary_inventory().display()
            ),
        });
    }
    host_failures(&o.recap)?;
    println!("{}", u.journal(|j| j.summary(None)));
    for line in globals_to_set(cluster, configured, to) {
        println!("{line}");
    }
    Ok(())
}

/// The globals keys, with their exact values, that make deploy,
/// reconfigure and tune keep the cluster on `to` and its image: each with
/// where globals.yml has it now (or that it is to be added).
fn globals_to_set(
    cluster: &Cluster,
    configured: &crate::settings::ClusterSettings,
    to: Release,
) -> Vec<String> {
    let file = &cluster.files.globals;
    let globals = crate::model::read_globals(file).unwrap_or_default();
    let release_written = globals
        .get("ceph_release")
        .and_then(|v| v.value.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut keys: Vec<(&str, String)> = Vec::new();
    if Release::parse(&release_written) != Some(to) {
        keys.push(("ceph_release", to.name().to_string()));
    }
    keys.extend(crate::model::image::keys_for(
        configured,
        to,
        &cluster.image,
    ));
    if keys.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "set these in {} so that deploy, reconfigure and tune keep the cluster on {to} ({}):",
        file.display(),
        cluster.image
    )];
    for (key, value) in keys {
        let shown = if value.is_empty() {
            "\"\"".to_string()
        } else {
            value
        };
        let now = match globals.get(key) {
            Some(v) => format!(
                "line {}, now {}",
                v.origin.line.unwrap_or(0),
                v.value
                    .as_str()
                    .map(|s| if s.is_empty() {
                        "\"\"".to_string()
                    } else {
                        s.to_string()
                    })
                    .unwrap_or_else(|| v.value.to_string())
            ),
            None => "not in the file: add it".to_string(),
        };
        lines.push(format!("  {key}: {shown}    ({now})"));
    }
    lines
}
