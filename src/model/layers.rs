//! The one settings-layering pipeline: role defaults < globals < group vars
//! (in Ansible's order) < host vars < `-e`. Both the cluster model and the
//! run targets take their per-host values from here. Sorts keys only; the
//! values are checked by resolve and validate.

use std::collections::BTreeMap;

use crate::error::{Origin, Problems};
use crate::inventory::{HostDecl, Inventory, Vars};
use crate::settings::{self, Catalog, ClusterSettings, Layer, Scope};

/// Every source of settings, classified once.
pub struct Layers {
    pub catalog: Catalog,
    globals: Layer,
    extra: Layer,
    groups: BTreeMap<String, Layer>,
    /// defaults < globals < -e: the cluster-wide values with their origins.
    pub cluster: Layer,
    /// Kolla-ansible or Ansible keys read past, in the order found.
    ignored: Vec<(String, Origin)>,
}

impl Layers {
    /// Classifies globals, `-e` and every group's vars (reporting unknown
    /// and misplaced keys), and extracts the cluster-wide settings.
    pub fn new(
        inventory: &Inventory,
        globals: &Vars,
        extra: &Vars,
        problems: &mut Problems,
    ) -> (Layers, Option<ClusterSettings>) {
        let catalog = Catalog::builtin();
        let mut ignored = Vec::new();
        let globals =
            settings::classify_layer(&catalog, globals, true, "globals", problems, &mut ignored);
        let extra = settings::classify_layer(&catalog, extra, true, "-e", problems, &mut ignored);
        let cluster = settings::merge(&[&catalog.defaults, &globals, &extra]);
        let cluster_settings = settings::extract(&catalog, &cluster, Scope::Cluster, problems);
        let mut groups = BTreeMap::new();
        for (name, group) in &inventory.groups {
            let layer = settings::classify_layer(
                &catalog,
                &group.vars,
                false,
                &format!("the vars of group `{name}`"),
                problems,
                &mut ignored,
            );
            groups.insert(name.clone(), layer);
        }
        let layers = Layers {
            catalog,
            globals,
            extra,
            groups,
            cluster,
            ignored,
        };
        (layers, cluster_settings)
    }

    /// Every value that applies to host `name`, each with where it was set.
    pub fn host(
        &mut self,
        inventory: &Inventory,
        name: &str,
        decl: &HostDecl,
        problems: &mut Problems,
    ) -> Layer {
        let host = settings::classify_layer(
            &self.catalog,
            &decl.vars,
            false,
            &format!("the vars of host `{name}`"),
            problems,
            &mut self.ignored,
        );
        let mut layers: Vec<&Layer> = vec![&self.catalog.defaults, &self.globals];
        for g in inventory.groups_of(name) {
            if let Some(l) = self.groups.get(&g) {
                layers.push(l);
            }
        }
        layers.push(&host);
        layers.push(&self.extra);
        settings::merge(&layers)
    }

    /// One note listing the keys cephalo read past, when there were any.
    pub fn note_ignored(&self, problems: &mut Problems) {
        let Some((_, first)) = self.ignored.first() else {
            return;
        };
        let mut names: Vec<&str> = self.ignored.iter().map(|(k, _)| k.as_str()).collect();
        names.dedup();
        let shown: Vec<&str> = names.iter().take(5).copied().collect();
        problems.note(
            first.clone(),
            format!(
                "{} kolla-ansible or Ansible key(s) not used by cephalo were ignored ({}{})",
                names.len(),
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        );
    }
}
