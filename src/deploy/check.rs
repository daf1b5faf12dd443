//! `deploy --check` (and `reconfigure`/`tune --check`): what a run would
//! change on each host, found with the same facts and decisions the steps
//! use (`containers::need` for containers) and changing nothing: files
//! that differ (with `--diff`, their differences; keyrings never shown),
//! daemon and custom containers that would be created, recreated or
//! started (or could not be, their image missing), and OSDs that would be
//! made from bootstrap partitions.

use std::sync::Arc;

use crate::containers::{self, Need};
use crate::engine::{Action, HostOutcome, StepContext};
use crate::facts::osd_label;
use crate::files::{self, Present};
use crate::model::{Cluster, Role};
use crate::render::{self, Secrets};
use crate::transport::{BoxFuture, Endpoint, Transport, TransportError};
use crate::tune::{Notes, note};

use super::host;

/// The config files a deploy would write on a host.
pub struct FilesPreview {
    pub cluster: Arc<Cluster>,
    pub diff: bool,
    pub notes: Notes,
}

impl Action for FilesPreview {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { HostOutcome::from_result(self.preview(ep, t).await.map(|_| false)) })
    }
}

impl FilesPreview {
    async fn preview(&self, ep: &Endpoint, t: &dyn Transport) -> Result<(), TransportError> {
        let h = host(&self.cluster, ep)?;
        let root = h.connection.become_root;
        let rendered = render::render_host(&self.cluster, h, Secrets::Include).map_err(|e| {
            TransportError::Other {
                host: h.name.clone(),
                reason: e.to_string(),
            }
        })?;
        // The image's ceph user, when the image is there to ask (without
        // it, the daemons' check says so and owners are not compared).
        let ceph = super::owner::of_daemon_host(&self.cluster, h, t)
            .await
            .ok()
            .flatten();
        for f in &rendered.files {
            let want = files::sha256_hex(f.content.as_bytes());
            let why = match files::probe(t, ep, &f.path, root).await? {
                Present::Absent => "would be written (new)".to_string(),
                Present::File { sha256, .. } if sha256 != want => {
                    if f.secret {
                        "would be written (its content differs; keyrings are not shown)".into()
                    } else {
                        if self.diff {
                            let there = files::get(t, ep, &f.path, root).await?;
                            let diff = crate::keys::admin::unified_diff(
                                &f.path,
                                &String::from_utf8_lossy(&there),
                                &f.content,
                            );
                            for line in diff.lines() {
                                note(&self.notes, &h.name, format!("  {line}"), false);
                            }
                        }
                        "would be written (its content differs)".into()
                    }
                }
                Present::File {
                    mode,
                    owner_names,
                    owner_ids,
                    ..
                } => {
                    let owner_ok = match f.owner.as_deref() {
                        None => true,
                        Some(render::CEPH_USER) => ceph.as_deref().is_none_or(|o| o == owner_ids),
                        Some(o) => o == owner_names || o == owner_ids,
                    };
                    if mode == f.mode && owner_ok {
                        continue;
                    }
                    format!(
                        "would get mode {:o}{}",
                        f.mode,
                        if owner_ok { "" } else { " and its owner" }
                    )
                }
            };
            note(&self.notes, &h.name, format!("{}: {why}", f.path), true);
        }
        Ok(())
    }
}

/// Daemon containers that differ from the wanted ones; with `missing`,
/// also the ones that do not exist or do not run yet, and the OSDs that
/// bootstrap partitions would become.
pub struct Daemons {
    pub cluster: Arc<Cluster>,
    pub missing: bool,
    /// Also say, field by field, how a daemon to recreate differs.
    pub diff: bool,
    pub notes: Notes,
}

impl Action for Daemons {
    fn run<'a>(
        &'a self,
        ep: &'a Endpoint,
        t: &'a dyn Transport,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move { HostOutcome::from_result(self.preview(ep, t).await.map(|_| false)) })
    }
}

impl Daemons {
    /// How a Ceph daemon's container differs from its spec, field by
    /// field; an image change with both Ceph versions and what the release
    /// guard makes of it.
    async fn field_diff(
        &self,
        ep: &Endpoint,
        t: &dyn Transport,
        name: &str,
        spec: &crate::render::ContainerSpec,
    ) -> Result<Vec<String>, TransportError> {
        let h = host(&self.cluster, ep)?;
        let Some(made) = containers::made_with(t, ep, h.engine, name).await? else {
            return Ok(Vec::new());
        };
        let mut lines = containers::spec_diff(spec, &made, true);
        if made.image != spec.image
            && let Some(first) = lines.first_mut()
        {
            let old = containers::running_version(t, ep, h.engine, name)
                .await
                .ok()
                .and_then(|v| crate::ceph::parse_version(&v));
            let new = match super::image_version::of_image(&self.cluster, h, t, &spec.image).await {
                Ok(super::image_version::ImageOnHost::Holds { version, .. }) => Some(version),
                _ => None,
            };
            let shown = |v: Option<crate::ceph::CephVersion>| {
                v.map_or("?".to_string(), |v| {
                    format!("{}.{}.{}", v.major, v.minor, v.patch)
                })
            };
            let verdict = match (old, new) {
                (Some(o), Some(n)) if n < o => ": a downgrade, refused",
                (_, Some(n)) if n.release() != Some(self.cluster.release) => {
                    ": not ceph_release, refused"
                }
                _ => "",
            };
            *first += &format!(" ({} -> {}{verdict})", shown(old), shown(new));
        }
        Ok(lines)
    }

    async fn preview(&self, ep: &Endpoint, t: &dyn Transport) -> Result<(), TransportError> {
        let cluster = &self.cluster;
        let h = host(cluster, ep)?;
        let say = |text: String| note(&self.notes, &h.name, text, true);
        // The daemons the host should have: keyed ones by host name, OSDs
        // by the ids of their data partitions.
        let mut wanted: Vec<(Role, String)> = Vec::new();
        for (role, on) in [
            (Role::Mon, true),
            (Role::Mgr, cluster.release.has_mgr()),
            (Role::Mds, cluster.settings.enable_ceph_mds),
            (Role::Rgw, cluster.settings.enable_ceph_rgw),
        ] {
            if on && h.has(role) {
                wanted.push((role, h.name.clone()));
            }
        }
        if h.has(Role::Osd) {
            let f = super::osd::block_facts(h, ep, t).await?;
            for b in &f.block {
                let Some(l) = b.part_name.as_deref().and_then(osd_label) else {
                    continue;
                };
                if !l.is_data() {
                    continue;
                }
                if l.existing {
                    wanted.push((Role::Osd, l.name.clone()));
                } else if self.missing {
                    say(format!(
                        "/dev/{} ({}): would become a new OSD",
                        b.name,
                        b.part_name.as_deref().unwrap_or_default()
                    ));
                }
            }
        }
        // (container, wanted spec label, image, the Ceph daemon's spec):
        // the Ceph daemons, then the custom containers, judged alike.
        let mut containers = Vec::new();
        for (role, id) in wanted {
            let name = if role == Role::Osd {
                format!("ceph_osd_{id}")
            } else {
                format!("ceph_{}", role.name())
            };
            let want = super::config::wanted_hash(cluster, h, role, &id)?;
            let spec = super::config::spec_of(cluster, h, role, &id)?;
            containers.push((name, want, spec.image.clone(), Some(spec)));
        }
        for c in &h.custom {
            let want = crate::custom::wanted_hash(h, c);
            containers.push((c.container(), want, c.image.clone(), None));
        }
        for (name, want, image, spec) in containers {
            let found = containers::inspect(t, ep, h.engine, &name).await?;
            let need = containers::need(&found, &want);
            // A container to make needs its image on the host: the run
            // would stop there, changing nothing.
            let makes =
                matches!(need, Need::Recreate { .. }) || (self.missing && need == Need::Create);
            if makes
                && containers::image_id(t, ep, h.engine, &image)
                    .await?
                    .is_none()
            {
                say(format!(
                    "{name}: image {image} is not on the host: run `cephalo pull -i {}` first",
                    cluster.files.inventory.display()
                ));
                continue;
            }
            match need {
                Need::Nothing => {}
                Need::Create if self.missing => say(format!("{name}: would be created")),
                Need::Recreate { reason } => {
                    say(format!("{name}: {reason}: would be recreated"));
                    if let (true, Some(spec)) = (self.diff, &spec) {
                        for line in self.field_diff(ep, t, &name, spec).await? {
                            note(&self.notes, &h.name, format!("  {name}: {line}"), false);
                        }
                    }
                }
                Need::Start { state } if self.missing => {
                    say(format!("{name}: {state}: would be started"))
                }
                Need::Create | Need::Start { .. } => {}
            }
        }
        Ok(())
    }
}
