//! The one settings-layering pipeline: role defaults < globals < group vars
//! (inventory vars of every group in Ansible's order, then every group's
//! group_vars/ files) < host vars (inventory, then host_vars/) < `-e`; the
//! cluster-wide settings come from defaults < globals < group `all` < `-e`.
//! Jinja values are evaluated against the same view and ceph-ansible's
//! names are read into cephalo's here. Both the cluster model and the run
//! targets take their per-host values from here. Sorts keys only; the
//! values are checked by resolve and validate.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ceph_ansible;
use super::jinja::{self, WithoutFacts};
use crate::error::{Origin, Problems};
use crate::inventory::{HostDecl, Inventory, Vars};
use crate::settings::{self, Catalog, ClusterSettings, Layer, Scope};

/// Every source of settings, classified once.
pub struct Layers {
    pub catalog: Catalog,
    globals: Layer,
    extra: Layer,
    /// Each group's inventory vars.
    groups: BTreeMap<String, Layer>,
    /// Each group's group_vars/ files.
    group_files: BTreeMap<String, Layer>,
    /// The raw sources, every key (Jinja values may refer to any).
    raw_globals: Vars,
    raw_extra: Vars,
    /// defaults < globals < group `all` < -e: the cluster-wide values with
    /// their origins, Jinja evaluated.
    pub cluster: Layer,
    /// Kolla-ansible, ceph-ansible or Ansible keys read past, in the order
    /// found.
    ignored: Vec<(String, Origin)>,
    /// Sibling-group conflicts already noted: (key, loser, winner).
    siblings_noted: std::collections::BTreeSet<(String, String, String)>,
    /// What a value needing an Ansible fact becomes.
    without_facts: WithoutFacts,
}

impl Layers {
    /// Classifies globals, `-e` and every group's vars (reporting unknown
    /// and misplaced keys), and extracts the cluster-wide settings.
    pub fn new(
        inventory: &Inventory,
        globals: &Vars,
        extra: &Vars,
        without_facts: WithoutFacts,
        problems: &mut Problems,
    ) -> (Layers, Option<ClusterSettings>) {
        let catalog = Catalog::builtin();
        let mut ignored = Vec::new();
        let globals_layer =
            settings::classify_layer(&catalog, globals, true, "globals", problems, &mut ignored);
        let extra_layer =
            settings::classify_layer(&catalog, extra, true, "-e", problems, &mut ignored);
        let mut groups = BTreeMap::new();
        let mut group_files = BTreeMap::new();
        for (name, group) in &inventory.groups {
            // Group `all` is the whole cluster: its vars may set cluster-wide
            // settings (ceph-ansible keeps public_network in group_vars/all).
            let all = name == "all";
            let layer = settings::classify_layer(
                &catalog,
                &group.vars,
                all,
                &format!("the vars of group `{name}`"),
                problems,
                &mut ignored,
            );
            groups.insert(name.clone(), layer);
            let layer = settings::classify_layer(
                &catalog,
                &group.file_vars,
                all,
                &format!("group_vars/{name}"),
                problems,
                &mut ignored,
            );
            group_files.insert(name.clone(), layer);
        }
        let empty = Layer::new();
        let mut cluster = settings::merge(&[
            &catalog.defaults,
            &globals_layer,
            groups.get("all").unwrap_or(&empty),
            group_files.get("all").unwrap_or(&empty),
            &extra_layer,
        ]);
        let mut view = raw(&catalog.defaults, globals);
        if let Some(all) = inventory.groups.get("all") {
            view.extend(all.vars.clone());
            view.extend(all.file_vars.clone());
        }
        view.extend(extra.clone());
        let _ = jinja::evaluate(
            &mut cluster,
            &view,
            Map::new(),
            &catalog.defaults,
            without_facts,
            problems,
        );
        ceph_ansible::cluster_names(&mut cluster, problems);
        let cluster_settings = settings::extract(&catalog, &cluster, Scope::Cluster, problems);
        let layers = Layers {
            catalog,
            globals: globals_layer,
            extra: extra_layer,
            groups,
            group_files,
            raw_globals: globals.clone(),
            raw_extra: extra.clone(),
            cluster,
            ignored,
            siblings_noted: Default::default(),
            without_facts,
        };
        (layers, cluster_settings)
    }

    /// Every value that applies to host `name`, each with where it was set,
    /// Jinja evaluated and ceph-ansible's names read; and the values that
    /// need an Ansible fact, as written (with `WithoutFacts::Note`; their
    /// keys take the role default in the first).
    pub fn host(
        &mut self,
        inventory: &Inventory,
        name: &str,
        decl: &HostDecl,
        problems: &mut Problems,
    ) -> (Layer, Layer) {
        let host = settings::classify_layer(
            &self.catalog,
            &decl.vars,
            false,
            &format!("the vars of host `{name}`"),
            problems,
            &mut self.ignored,
        );
        let host_files = settings::classify_layer(
            &self.catalog,
            &decl.file_vars,
            false,
            &format!("host_vars/{name}"),
            problems,
            &mut self.ignored,
        );
        let groups = inventory.groups_of(name);
        let mut layers: Vec<&Layer> = vec![&self.catalog.defaults, &self.globals];
        layers.extend(groups.iter().filter_map(|g| self.groups.get(g)));
        layers.extend(groups.iter().filter_map(|g| self.group_files.get(g)));
        layers.push(&host);
        layers.push(&host_files);
        layers.push(&self.extra);
        let mut merged = settings::merge(&layers);
        self.note_siblings(inventory, name, &merged, problems);
        let mut as_written = Layer::new();
        if merged.values().any(|v| jinja::has_template(&v.value)) {
            let view = self.host_view(inventory, name);
            let magic = magic_vars(inventory, name, &groups);
            as_written = jinja::evaluate(
                &mut merged,
                &view,
                magic,
                &self.catalog.defaults,
                self.without_facts,
                problems,
            );
        }
        ceph_ansible::host_names(&mut merged, problems);
        (merged, as_written)
    }

    /// A value that reaches host `name` from a group while a sibling group
    /// (same depth from `all`) sets it otherwise: a note naming both and
    /// the winner, once per key and pair (Ansible's rule: groups of one
    /// depth apply by name, the later wins; `ansible_group_priority` is
    /// not read).
    fn note_siblings(
        &mut self,
        inventory: &Inventory,
        name: &str,
        merged: &Layer,
        problems: &mut Problems,
    ) {
        let groups = inventory.groups_by_depth(name);
        for source in [&self.groups, &self.group_files] {
            for (key, won) in merged {
                let Some((depth, winner)) = groups.iter().find(|(_, g)| {
                    source
                        .get(g)
                        .and_then(|l| l.get(key))
                        .is_some_and(|v| v.origin == won.origin)
                }) else {
                    continue;
                };
                for (_, loser) in groups.iter().filter(|(d, g)| d == depth && g != winner) {
                    let Some(lost) = source.get(loser).and_then(|l| l.get(key)) else {
                        continue;
                    };
                    let noted = (key.clone(), loser.clone(), winner.clone());
                    if lost.value == won.value || self.siblings_noted.contains(&noted) {
                        continue;
                    }
                    self.siblings_noted.insert(noted);
                    problems.note(
                        won.origin.clone(),
                        format!(
                            "`{key}` differs between sibling groups `{loser}` ({}) and `{winner}`; host `{name}` is in both and gets `{winner}`'s (groups of one depth apply by name, the later wins, as in Ansible)",
                            lost.origin
                        ),
                    );
                }
            }
        }
    }

    /// Every raw var that applies to host `name`, in the same order.
    fn host_view(&self, inventory: &Inventory, name: &str) -> Vars {
        let mut view = raw(&self.catalog.defaults, &self.raw_globals);
        view.extend(inventory.host_vars(name));
        view.extend(self.raw_extra.clone());
        view
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
                "{} kolla-ansible, ceph-ansible or Ansible key(s) not used by cephalo were ignored ({}{})",
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

/// Ansible's magic variables a Jinja value may use: `inventory_hostname`,
/// `inventory_hostname_short`, `group_names` and `groups`.
fn magic_vars(inventory: &Inventory, name: &str, groups: &[String]) -> Map<String, Value> {
    let all_groups: Map<String, Value> = inventory
        .groups
        .keys()
        .map(|g| (g.clone(), json!(inventory.hosts_of(g))))
        .collect();
    let own: Vec<&String> = groups
        .iter()
        .filter(|g| *g != "all" && *g != "ungrouped")
        .collect();
    let mut m = Map::new();
    m.insert("inventory_hostname".into(), json!(name));
    m.insert(
        "inventory_hostname_short".into(),
        json!(name.split('.').next().unwrap_or(name)),
    );
    m.insert("group_names".into(), json!(own));
    m.insert("groups".into(), Value::Object(all_groups));
    m
}

/// The role defaults and `vars` as one view of raw values.
fn raw(defaults: &Layer, vars: &Vars) -> Vars {
    let mut out: Vars = defaults.clone();
    out.extend(vars.clone());
    out
}
