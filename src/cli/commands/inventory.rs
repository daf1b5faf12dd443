//! `cephalo inventory`: the resolved hosts, roles and effective variables as
//! ansible-inventory style JSON (secrets redacted), or the group tree. Reads
//! no passwords.yml and needs no globals.yml (a view shows no secrets).

use clap::Args;
use serde_json::{Map, Value, json};

use crate::cli::args::Target;
use crate::cli::context::load_with_inventory;
use crate::cli::output::{is_secret_var, print_warnings};
use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::model::Role;
use crate::render;

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub target: Target,
    /// JSON of groups, hosts, roles and variables (the default).
    #[arg(long, conflicts_with = "graph")]
    pub list: bool,
    /// The group tree.
    #[arg(long)]
    pub graph: bool,
}

pub fn exec(a: InventoryArgs) -> Result<()> {
    let (cluster, inv, selected) = load_with_inventory(&a.target)?;
    print_warnings(&cluster, 0);
    if a.graph {
        print!("{}", graph(&inv, "all", 0, &selected));
        return Ok(());
    }
    let mut hostvars = Map::new();
    for h in cluster.hosts.iter().filter(|h| selected.contains(&h.name)) {
        let mut vars = Map::new();
        for (k, v) in &h.vars {
            let value = if is_secret_var(k) {
                Value::String(render::REDACTED.into())
            } else {
                v.value.clone()
            };
            vars.insert(k.clone(), value);
        }
        vars.insert(
            "cephalo_roles".into(),
            json!(h.roles.iter().map(|r| r.name()).collect::<Vec<_>>()),
        );
        vars.insert(
            "cephalo_connection".into(),
            serde_json::to_value(&h.connection).unwrap_or(Value::Null),
        );
        // Where the public address comes from: an address, or the interface
        // or network whose address the host's facts give.
        if let Some(src) = &h.address_from {
            vars.insert("cephalo_public_address".into(), json!(src.describe()));
        }
        if !h.crush_location.is_empty() {
            vars.insert("cephalo_crush_location".into(), json!(h.crush_location));
        }
        hostvars.insert(h.name.clone(), Value::Object(vars));
    }
    let mut out = Map::new();
    out.insert("_meta".into(), json!({ "hostvars": hostvars }));
    for (name, g) in &inv.groups {
        let hosts: Vec<&String> = g.hosts.iter().filter(|h| selected.contains(h)).collect();
        let children: Vec<&String> = g.children.iter().map(|(c, _)| c).collect();
        let mut entry = Map::new();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), json!(hosts));
        }
        if !children.is_empty() {
            entry.insert("children".into(), json!(children));
        }
        if !entry.is_empty() || name == "all" {
            out.insert(name.clone(), Value::Object(entry));
        }
    }
    let mut roles = Map::new();
    for role in Role::ALL {
        let hosts: Vec<&str> = cluster
            .hosts_with(role)
            .filter(|h| selected.contains(&h.name))
            .map(|h| h.name.as_str())
            .collect();
        roles.insert(role.name().into(), json!(hosts));
    }
    out.insert(
        "cephalo".into(),
        json!({
            "cluster": cluster.name,
            "release": cluster.release.name(),
            "image": cluster.image,
            "public_network": (!cluster.settings.public_network.trim().is_empty())
                .then(|| cluster.public_network.to_string()),
            "roles": roles,
        }),
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(out))
            .map_err(|e| Error::Usage(e.to_string()))?
    );
    Ok(())
}

/// The group tree below `group`, as `ansible-inventory --graph` draws it,
/// with only the selected hosts.
fn graph(inv: &Inventory, group: &str, depth: usize, selected: &[String]) -> String {
    let indent = "  |".repeat(depth);
    let mut out = if depth == 0 {
        format!("@{group}:\n")
    } else {
        format!("{indent}--@{group}:\n")
    };
    let Some(g) = inv.groups.get(group) else {
        return out;
    };
    let mut children: Vec<&str> = g.children.iter().map(|(c, _)| c.as_str()).collect();
    if group == "all" {
        // Top-level groups are the children of all, as ansible-inventory shows.
        // (`ansible-inventory --list` JSON lists them under `all` as well.)
        let nested: Vec<&str> = inv
            .groups
            .iter()
            .filter(|(n, _)| *n != "all")
            .flat_map(|(_, g)| g.children.iter().map(|(c, _)| c.as_str()))
            .collect();
        children = inv
            .groups
            .keys()
            .map(String::as_str)
            .filter(|n| *n != "all" && !nested.contains(n))
            .filter(|n| !inv.hosts_of(n).is_empty() || inv.groups[*n].children.is_empty())
            .collect();
        children.retain(|n| !inv.hosts_of(n).is_empty());
    }
    for c in children {
        if inv.hosts_of(c).iter().any(|h| selected.contains(h)) {
            out.push_str(&graph(inv, c, depth + 1, selected));
        }
    }
    if group != "all" {
        for h in g.hosts.iter().filter(|h| selected.contains(h)) {
            out.push_str(&format!("{}  |--{h}\n", indent));
        }
    }
    out
}
