//! Several inventory sources (`-i a -i b`) as one, merged as Ansible
//! merges them: groups and their members united, a later source's vars
//! winning over an earlier one's.

use std::path::PathBuf;

use super::{Inventory, Vars};
use crate::error::{Error, Origin, Problems, Result};

impl Inventory {
    /// Loads every source (each with its group_vars/ and host_vars/) and
    /// merges them in order; the problems of all of them are reported.
    pub fn load_all(paths: &[PathBuf]) -> Result<Inventory> {
        let mut problems = Problems::default();
        let mut merged: Option<Inventory> = None;
        for p in paths {
            match Inventory::load(p) {
                Ok(inv) => match merged.as_mut() {
                    None => merged = Some(inv),
                    Some(m) => m.merge(inv),
                },
                Err(Error::Invalid { problems: p }) => problems.extend(p),
                Err(e) => return Err(e),
            }
        }
        if problems.has_errors() {
            return Err(Error::Invalid { problems });
        }
        merged.ok_or_else(|| {
            Error::invalid(Origin::default(), "no inventory given; use -i INVENTORY")
        })
    }

    /// Adds a later source: new hosts and groups are appended, members and
    /// children united, and its vars replace the same vars of earlier ones.
    pub fn merge(&mut self, later: Inventory) {
        for (name, h) in later.hosts {
            match self.hosts.get_mut(&name) {
                None => {
                    self.hosts.insert(name, h);
                }
                Some(existing) => {
                    overlay(&mut existing.vars, h.vars);
                    overlay(&mut existing.file_vars, h.file_vars);
                }
            }
        }
        for (name, g) in later.groups {
            match self.groups.get_mut(&name) {
                None => {
                    self.groups.insert(name, g);
                }
                Some(existing) => {
                    for h in g.hosts {
                        if !existing.hosts.contains(&h) {
                            existing.hosts.push(h);
                        }
                    }
                    for (c, o) in g.children {
                        if !existing.children.iter().any(|(x, _)| *x == c) {
                            existing.children.push((c, o));
                        }
                    }
                    overlay(&mut existing.vars, g.vars);
                    overlay(&mut existing.file_vars, g.file_vars);
                }
            }
        }
        self.file_ungrouped();
    }
}

fn overlay(into: &mut Vars, later: Vars) {
    for (k, v) in later {
        into.insert(k, v);
    }
}
