//! The inventory as the operator wrote it: hosts, groups, children and vars,
//! read from Ansible INI, YAML, `ansible-inventory --list` JSON or an
//! executable inventory script, with the group_vars/ and host_vars/ next to
//! it, one source or several merged. Owns parsing and group resolution;
//! knows nothing about Ceph settings (the model turns groups into roles).

mod executable;
mod hostrange;
mod ini;
mod json;
mod limit;
pub mod name;
mod sources;
mod vars_dirs;
mod yaml;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, Origin, Problems, Result};

pub use executable::SCRIPT_TIMEOUT;
pub use hostrange::expand_host_pattern;
pub use name::{NameKind, check_name};

/// One variable with where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub value: Value,
    pub origin: Origin,
}

pub type Vars = IndexMap<String, Var>;

#[derive(Debug, Clone, PartialEq)]
pub struct HostDecl {
    /// Where the host was first named.
    pub origin: Origin,
    /// Vars set in the inventory source itself.
    pub vars: Vars,
    /// Vars from `host_vars/<host>` next to the inventory (they win over
    /// `vars`, as in Ansible).
    pub file_vars: Vars,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupDecl {
    pub origin: Origin,
    pub hosts: Vec<String>,
    pub children: Vec<(String, Origin)>,
    /// Vars set in the inventory source itself.
    pub vars: Vars,
    /// Vars from `group_vars/<group>` next to the inventory: every group's
    /// files win over every group's `vars`, as in Ansible.
    pub file_vars: Vars,
}

impl GroupDecl {
    fn new(origin: Origin) -> Self {
        GroupDecl {
            origin,
            hosts: Vec::new(),
            children: Vec::new(),
            vars: Vars::new(),
            file_vars: Vars::new(),
        }
    }
}

/// A parsed inventory. Group `all` always exists and holds every host.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The (first) inventory source.
    pub path: PathBuf,
    pub hosts: IndexMap<String, HostDecl>,
    pub groups: IndexMap<String, GroupDecl>,
}

/// Collects declarations while a parser walks a file, and reports
/// conflicts (the same host declared twice with different values for a var).
pub(crate) struct Builder {
    pub path: PathBuf,
    pub hosts: IndexMap<String, HostDecl>,
    pub groups: IndexMap<String, GroupDecl>,
    pub problems: Problems,
}

impl Builder {
    pub fn new(path: &Path) -> Self {
        let mut groups = IndexMap::new();
        groups.insert("all".to_string(), GroupDecl::new(Origin::file(path)));
        groups.insert("ungrouped".to_string(), GroupDecl::new(Origin::file(path)));
        Builder {
            path: path.to_path_buf(),
            hosts: IndexMap::new(),
            groups,
            problems: Problems::default(),
        }
    }

    pub fn group(&mut self, name: &str, origin: &Origin) -> &mut GroupDecl {
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| GroupDecl::new(origin.clone()))
    }

    pub fn add_host(&mut self, group: &str, host: &str, vars: Vars, origin: &Origin) {
        let g = self.group(group, origin);
        if !g.hosts.iter().any(|h| h == host) {
            g.hosts.push(host.to_string());
        }
        match self.hosts.get_mut(host) {
            None => {
                self.hosts.insert(
                    host.to_string(),
                    HostDecl {
                        origin: origin.clone(),
                        vars,
                        file_vars: Vars::new(),
                    },
                );
            }
            Some(existing) => {
                for (key, var) in vars {
                    match existing.vars.get(&key) {
                        Some(prev) if prev.value != var.value => {
                            self.problems.error(
                                var.origin.clone(),
                                format!(
                                    "host `{host}` is declared again with {key}={} but {} set {key}={}; \
                                     give a host's vars in one place",
                                    show(&var.value),
                                    prev.origin,
                                    show(&prev.value)
                                ),
                            );
                        }
                        Some(_) => {}
                        None => {
                            existing.vars.insert(key, var);
                        }
                    }
                }
            }
        }
    }

    /// Checks children (they must exist, no cycles), files ungrouped hosts,
    /// and returns the inventory or every problem found.
    pub fn finish(mut self) -> Result<Inventory> {
        // Every child must be a group declared somewhere in the file.
        let names: BTreeSet<String> = self.groups.keys().cloned().collect();
        for (gname, g) in &self.groups {
            for (child, origin) in &g.children {
                if !names.contains(child) {
                    let hint = did_you_mean(child, names.iter().map(String::as_str))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    self.problems.error(
                        origin.clone(),
                        format!(
                            "group `{gname}` lists child group `{child}`, which is not defined in this inventory{hint}"
                        ),
                    );
                }
                if child == "all" {
                    self.problems.error(
                        origin.clone(),
                        format!("group `{gname}` cannot have `all` as a child"),
                    );
                }
            }
        }
        if let Some(cycle) = find_cycle(&self.groups) {
            let origin = self.groups[&cycle[0]]
                .children
                .iter()
                .find(|(c, _)| *c == cycle[1])
                .map(|(_, o)| o.clone())
                .unwrap_or_else(|| Origin::file(&self.path));
            self.problems.error(
                origin,
                format!("groups form a cycle: {}", cycle.join(" -> ")),
            );
        }
        if self.hosts.is_empty() && !self.problems.has_errors() {
            self.problems
                .error(Origin::file(&self.path), "the inventory declares no host");
        }
        if self.problems.has_errors() {
            return Err(Error::Invalid {
                problems: self.problems,
            });
        }
        let mut inv = Inventory {
            path: self.path,
            hosts: self.hosts,
            groups: self.groups,
        };
        inv.file_ungrouped();
        Ok(inv)
    }
}

impl Inventory {
    /// Hosts in no group other than all go to `ungrouped`, as in Ansible,
    /// and `all` holds every host.
    fn file_ungrouped(&mut self) {
        let grouped: BTreeSet<&String> = self
            .groups
            .iter()
            .filter(|(n, _)| *n != "all" && *n != "ungrouped")
            .flat_map(|(_, g)| g.hosts.iter())
            .collect();
        let ungrouped: Vec<String> = self
            .hosts
            .keys()
            .filter(|h| !grouped.contains(h))
            .cloned()
            .collect();
        if let Some(g) = self.groups.get_mut("ungrouped") {
            g.hosts = ungrouped;
        }
        let all_hosts: Vec<String> = self.hosts.keys().cloned().collect();
        if let Some(all) = self.groups.get_mut("all") {
            all.hosts = all_hosts;
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A cycle in the children graph, as the list of group names walked.
fn find_cycle(groups: &IndexMap<String, GroupDecl>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        name: &str,
        groups: &IndexMap<String, GroupDecl>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Active => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].to_vec();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(name.to_string(), Mark::Active);
        stack.push(name.to_string());
        if let Some(g) = groups.get(name) {
            for (child, _) in &g.children {
                if let Some(c) = visit(child, groups, marks, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        marks.insert(name.to_string(), Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    for name in groups.keys() {
        let mut stack = Vec::new();
        if let Some(c) = visit(name, groups, &mut marks, &mut stack) {
            return Some(c);
        }
    }
    None
}

/// The closest known name to `wanted`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(wanted: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::jaro_winkler(wanted, k), k))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl Inventory {
    /// Reads one inventory source with the group_vars/ and host_vars/ next
    /// to it: an executable script is run (`--list`), other files are
    /// parsed by content (`parse`).
    pub fn load(path: &Path) -> Result<Inventory> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut inv = if executable::is_script(path, &bytes) {
            executable::load(path)?
        } else {
            Self::parse(path, &bytes)?
        };
        vars_dirs::read(&mut inv)?;
        Ok(inv)
    }

    /// Parses inventory text: `ansible-inventory --list` JSON when it is a
    /// JSON object in that shape; YAML when the file name ends in
    /// .yml/.yaml/.json or the content starts like a YAML mapping of
    /// groups; INI otherwise (as Ansible's auto detection does).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Inventory> {
        let text = decode_text(path, bytes)?;
        if let Some(doc) = json::list_output(&text) {
            return json::parse(path, &doc, &mut |_| Ok(None));
        }
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml" | "json")
        ) || looks_like_yaml(&text);
        if is_yaml {
            yaml::parse(path, &text)
        } else {
            ini::parse(path, &text)
        }
    }

    /// Every variable that applies to `host` from the inventory, in
    /// Ansible's order, later winning: each group's inventory vars (`all`
    /// first, then parents before children), then each group's
    /// group_vars/ files in the same order, then the host's inventory vars,
    /// then its host_vars/ files.
    pub fn host_vars(&self, host: &str) -> Vars {
        let groups = self.groups_of(host);
        let mut out = Vars::new();
        for g in &groups {
            out.extend(self.groups[g].vars.clone());
        }
        for g in &groups {
            out.extend(self.groups[g].file_vars.clone());
        }
        if let Some(h) = self.hosts.get(host) {
            out.extend(h.vars.clone());
            out.extend(h.file_vars.clone());
        }
        out
    }

    /// All hosts of a group, through its children, in declaration order.
    pub fn hosts_of(&self, group: &str) -> Vec<String> {
        let mut out: IndexMap<String, ()> = IndexMap::new();
        let mut seen = BTreeSet::new();
        self.collect_hosts(group, &mut out, &mut seen);
        out.into_keys().collect()
    }

    fn collect_hosts(
        &self,
        group: &str,
        out: &mut IndexMap<String, ()>,
        seen: &mut BTreeSet<String>,
    ) {
        if !seen.insert(group.to_string()) {
            return;
        }
        if let Some(g) = self.groups.get(group) {
            for h in &g.hosts {
                out.insert(h.clone(), ());
            }
            for (c, _) in &g.children {
                self.collect_hosts(c, out, seen);
            }
        }
    }

    /// The groups a host belongs to (directly or through children), ordered
    /// the way Ansible applies group vars: `all` first, then by depth from
    /// `all`, then by name; later groups win.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        self.groups_by_depth(host)
            .into_iter()
            .map(|(_, g)| g)
            .collect()
    }

    /// `groups_of`, each with its depth from `all` (groups of one depth
    /// are siblings: Ansible applies them by name).
    pub fn groups_by_depth(&self, host: &str) -> Vec<(usize, String)> {
        let mut found: Vec<(usize, String)> = self
            .groups
            .keys()
            .filter(|g| self.hosts_of(g).iter().any(|h| h == host))
            .map(|g| (self.depth(g), g.clone()))
            .collect();
        found.sort();
        found
    }

    /// Longest chain of parents from `all` down to this group.
    fn depth(&self, group: &str) -> usize {
        if group == "all" {
            return 0;
        }
        let parents: Vec<&String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.children.iter().any(|(c, _)| c == group))
            .map(|(n, _)| n)
            .collect();
        1 + parents.iter().map(|p| self.depth(p)).max().unwrap_or(0)
    }
}

/// Inventory text as UTF-8, with a leading byte order mark dropped and CRLF
/// line ends accepted; other bytes that are not UTF-8 are an error with the
/// line they are on.
pub fn decode_text(path: &Path, bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.replace("\r\n", "\n")),
        Err(e) => {
            let upto = e.valid_up_to();
            let line = bytes[..upto].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            Err(Error::invalid(
                Origin::at_line(path, line),
                format!(
                    "the file is not valid UTF-8 (byte 0x{:02x} at offset {upto}); save it as UTF-8",
                    bytes[upto]
                ),
            ))
        }
    }
}

fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    match first {
        Some(l) => l == "---" || l.starts_with('{') || (l.ends_with(':') && !l.starts_with('[')),
        None => false,
    }
}
