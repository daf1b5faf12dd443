//! `cephalo admin`: a host made able to administer the cluster, as
//! ceph-deploy's `admin` did, safer: `/etc/ceph/<cluster>.conf` (0644) and
//! the client.admin keyring (0600, root-owned) written atomically, a
//! different conf never overwritten without `--overwrite-conf` (its diff
//! shown with `--diff`), then `ceph -s` run there to prove it works.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::{Action, HostOutcome, Node, OnFailure, Plan, Status, Step, StepContext};
use crate::files::{self, Change, Present, RemoteFile};
use crate::model::{Cluster, Host};
use crate::render::{self, Secrets};
use crate::script::Script;
use crate::transport::{BoxFuture, Command, Endpoint, Transport, TransportError, checked, run};

/// What admin found on each host, for the summary after the recap.
#[derive(Debug, Clone, Default)]
pub struct HostNotes {
    /// One line per file or check: `/etc/ceph/ceph.conf: written`.
    pub lines: Vec<String>,
    /// The unified diff of the host's conf against the rendered one.
    pub diff: Option<String>,
    /// The conf differs and was not overwritten.
    pub refused: bool,
}

pub type Notes = Arc<Mutex<BTreeMap<String, HostNotes>>>;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub overwrite_conf: bool,
    pub diff: bool,
    pub check: bool,
}

/// The admin plan: files on every selected host, then `ceph -s` there.
pub fn plan(cluster: &Arc<Cluster>, hosts: Vec<String>, opts: Options, notes: &Notes) -> Plan {
    let mut steps = vec![Node::Step(Step {
        name: "admin files".into(),
        hosts: hosts.clone(),
        batch: None,
        on_failure: OnFailure::Continue,
        action: Arc::new(AdminFiles {
            cluster: cluster.clone(),
            opts,
            notes: notes.clone(),
        }),
    })];
    if !opts.check {
        steps.push(Node::Step(Step {
            name: "ceph -s".into(),
            hosts,
            batch: None,
            on_failure: OnFailure::Continue,
            action: Arc::new(Verify {
                cluster: cluster.clone(),
                notes: notes.clone(),
            }),
        }));
    }
    Plan {
        name: "admin".into(),
        root: Node::Serial("admin".into(), steps),
    }
}

fn note(notes: &Notes, host: &str, f: impl FnOnce(&mut HostNotes)) {
    let mut all = notes.lock().unwrap_or_else(|p| p.into_inner());
    f(all.entry(host.to_string()).or_default());
}

fn host<'a>(cluster: &'a Cluster, ep: &Endpoint) -> Result<&'a Host, TransportError> {
    cluster.host(&ep.name).ok_or_else(|| TransportError::Other {
        host: ep.name.clone(),
        reason: "not a host of the inventory".into(),
    })
}

/// A unified diff of the host's file (`a/`) against the wanted one (`b/`).
pub fn unified_diff(path: &str, on_host: &str, wanted: &str) -> String {
    similar::TextDiff::from_lines(on_host, wanted)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{path} (on the host)"),
            &format!("{path} (rendered)"),
        )
        .to_string()
}

struct AdminFiles {
    cluster: Arc<Cluster>,
    opts: Options,
    notes: Notes,
}

impl Action for AdminFiles {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            match self.files(ep, t).await {
                Ok(changed) => HostOutcome::done(changed),
                Err(Refusal::Transport(e)) => HostOutcome::from_result(Err(e)),
                Err(Refusal::Conf(message)) => HostOutcome::status(Status::Failed {
                    command: String::new(),
                    exit_status: None,
                    stderr_tail: String::new(),
                    message,
                }),
            }
        })
    }
}

enum Refusal {
    Transport(TransportError),
    Conf(String),
}

impl From<TransportError> for Refusal {
    fn from(e: TransportError) -> Self {
        Refusal::Transport(e)
    }
}

impl AdminFiles {
    async fn files(&self, ep: &Endpoint, t: &dyn Transport) -> Result<bool, Refusal> {
        let cluster = &self.cluster;
        let h = host(cluster, ep)?;
        let root = h.connection.become_root;
        let would = if self.opts.check { "would be " } else { "" };
        let say = |line: String| note(&self.notes, &h.name, |n| n.lines.push(line));
        let conf = render::ceph_conf(cluster, h).map_err(|e| TransportError::Other {
            host: h.name.clone(),
            reason: e.to_string(),
        })?;
        let keyring =
            render::keyring_of(cluster, "client.admin", Secrets::Include).map_err(|e| {
                TransportError::Other {
                    host: h.name.clone(),
                    reason: e.to_string(),
                }
            })?;
        let conf_path = format!("/etc/ceph/{}.conf", cluster.name);
        let keyring_path = format!("/etc/ceph/{}.client.admin.keyring", cluster.name);
        let mut changed = false;

        // /etc/ceph, 0755, when missing.
        let probe = Script::new("if [ -d /etc/ceph ]; then echo present; else echo absent; fi")
            .command()
            .become_root(root);
        let made_dir = checked(t, ep, &probe).await?.stdout_text().trim() == "absent";
        if made_dir {
            if !self.opts.check {
                let mk = Command::new([
                    "install",
                    "-d",
                    "-m",
                    "0755",
                    "-o",
                    "root",
                    "-g",
                    "root",
                    "/etc/ceph",
                ])
                .become_root(root);
                checked(t, ep, &mk).await?;
            }
            say(format!("/etc/ceph: {would}made (0755)"));
            changed = true;
        }

        // The conf: written when absent or when only mode and owner
        // differ; a different content only with --overwrite-conf.
        let present = if made_dir {
            Present::Absent
        } else {
            files::probe(t, ep, &conf_path, root).await?
        };
        let differs = matches!(&present, Present::File { sha256, .. } if *sha256 != files::sha256_hex(conf.as_bytes()));
        if differs && self.opts.diff {
            let there = files::get(t, ep, &conf_path, root).await?;
            let diff = unified_diff(&conf_path, &String::from_utf8_lossy(&there), &conf);
            note(&self.notes, &h.name, |n| n.diff = Some(diff));
        }
        if differs && !self.opts.overwrite_conf {
            note(&self.notes, &h.name, |n| n.refused = true);
            say(format!("{conf_path}: differs from the rendered conf; kept"));
            return Err(Refusal::Conf(format!(
                "{}: {conf_path} differs from the one cephalo renders; not overwritten (see the difference with --diff; replace it with --overwrite-conf)",
                h.name
            )));
        }
        let files = [
            (conf_path.as_str(), conf.as_bytes(), 0o644),
            (keyring_path.as_str(), keyring.as_bytes(), 0o600),
        ];
        for (path, content, mode) in files {
            let rf = RemoteFile {
                path,
                content,
                mode,
                owner: Some("0:0"),
            };
            let state = if self.opts.check {
                files::would_put(t, ep, &rf, root).await?
            } else {
                files::put(t, ep, &rf, root).await?
            };
            let what = match (state, path == conf_path && differs) {
                (Change::Unchanged, _) => "unchanged".to_string(),
                (Change::Changed, true) => format!("{would}overwritten (--overwrite-conf)"),
                (Change::Changed, false) => format!("{would}written ({mode:o}, root)"),
            };
            changed |= state == Change::Changed;
            say(format!("{path}: {what}"));
        }
        Ok(changed)
    }
}

/// `ceph -s` on the host: its own ceph CLI, else the Ceph image through
/// the host's container engine.
struct Verify {
    cluster: Arc<Cluster>,
    notes: Notes,
}

/// Exit status of the verify script when the host has neither.
const NO_CEPH: u32 = 42;

const VERIFY: &str = include_str!("verify.sh");

/// `ceph -s -f json` through the host's ceph CLI or the image.
fn verify_command(engine: &str, image: &str, cluster: &str) -> Command {
    Script::new(VERIFY)
        .args([engine, image, cluster])
        .arg(NO_CEPH.to_string())
        .command()
}

impl Action for Verify {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let cluster = &self.cluster;
            let h = match host(cluster, ep) {
                Ok(h) => h,
                Err(e) => return HostOutcome::from_result(Err(e)),
            };
            let cmd = verify_command(h.engine.command(), &cluster.image, &cluster.name)
                .become_root(h.connection.become_root)
                .timeout(Duration::from_secs(120));
            let out = match run(t, ep, &cmd).await {
                Ok(o) => o,
                Err(e) => return HostOutcome::error(&cmd.display(), e),
            };
            if out.status == NO_CEPH {
                let message = format!(
                    "{}: cannot run `ceph -s`: no ceph CLI and no {} image there (install ceph-common, or put the host in the clients group and run `cephalo pull`)",
                    h.name, cluster.image
                );
                note(&self.notes, &h.name, |n| n.lines.push(message.clone()));
                return HostOutcome::exited(ep, &cmd, out, message);
            }
            let via = out
                .stderr_text()
                .lines()
                .find_map(|l| l.strip_prefix("via: ").map(str::to_string))
                .unwrap_or_default();
            let status: Option<serde_json::Value> = serde_json::from_str(&out.stdout_text()).ok();
            match status {
                Some(s) if out.success() => {
                    let health = s["health"]["status"].as_str().unwrap_or("?").to_string();
                    let quorum = s["quorum_names"].as_array().map_or(0, |q| q.len());
                    note(&self.notes, &h.name, |n| {
                        n.lines.push(format!(
                            "ceph -s: works ({health}, {quorum} mons in quorum; via {via})"
                        ))
                    });
                    HostOutcome::done(false)
                }
                _ => {
                    let message = format!(
                        "{}: `ceph -s` does not work there (via {via}): {}",
                        h.name,
                        out.stderr_tail(3).trim()
                    );
                    note(&self.notes, &h.name, |n| n.lines.push(message.clone()));
                    HostOutcome::exited(ep, &cmd, out, message)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_the_file_and_the_changed_lines() {
        let d = unified_diff(
            "/etc/ceph/ceph.conf",
            "[global]\nfsid = a\nmon host = 1\n",
            "[global]\nfsid = a\nmon host = 2\n",
        );
        assert!(d.contains("--- /etc/ceph/ceph.conf (on the host)"), "{d}");
        assert!(d.contains("+++ /etc/ceph/ceph.conf (rendered)"), "{d}");
        assert!(d.contains("-mon host = 1\n+mon host = 2\n"), "{d}");
        assert_eq!(unified_diff("x", "same\n", "same\n"), "");
    }

    #[test]
    fn hostile_image_and_cluster_names_are_one_word() {
        for v in crate::script::HOSTILE {
            let cmd = verify_command("podman", v, v);
            assert_eq!(cmd.argv[2], VERIFY);
            assert_eq!(
                crate::script::words_seen_by_sh(&cmd),
                ["podman", *v, *v, "42"]
            );
        }
    }
}
