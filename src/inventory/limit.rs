//! `--limit` host patterns, Ansible style: names of hosts or groups with
//! `*` wildcards, separated by `,` or `:`; `!x` removes, `&x` intersects.

use super::Inventory;

impl Inventory {
    /// The hosts a pattern selects, in inventory order. A part that matches
    /// no host or group is an error naming it.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, String> {
        let parts: Vec<&str> = pattern
            .split([',', ':'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(format!("the limit `{pattern}` names no host or group"));
        }
        let mut selected: Vec<String> = Vec::new();
        let mut any_positive = false;
        let mut removes = Vec::new();
        let mut intersects = Vec::new();
        for part in parts {
            if let Some(p) = part.strip_prefix('!') {
                removes.push(self.match_one(p)?);
            } else if let Some(p) = part.strip_prefix('&') {
                intersects.push(self.match_one(p)?);
            } else {
                any_positive = true;
                for h in self.match_one(part)? {
                    if !selected.contains(&h) {
                        selected.push(h);
                    }
                }
            }
        }
        if !any_positive {
            selected = self.hosts.keys().cloned().collect();
        }
        for set in &intersects {
            selected.retain(|h| set.contains(h));
        }
        for set in &removes {
            selected.retain(|h| !set.contains(h));
        }
        let order: Vec<&String> = self.hosts.keys().collect();
        selected.sort_by_key(|h| order.iter().position(|o| *o == h));
        Ok(selected)
    }

    fn match_one(&self, part: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for g in self.groups.keys().filter(|g| glob(part, g)) {
            for h in self.hosts_of(g) {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        for h in self.hosts.keys().filter(|h| glob(part, h)) {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
        if out.is_empty() {
            Err(format!(
                "`{part}` in --limit matches no host or group of {}",
                self.path.display()
            ))
        } else {
            Ok(out)
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(after) = name.strip_prefix(head) else {
                return false;
            };
            (0..=after.len()).any(|i| after.is_char_boundary(i) && glob(rest, &after[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("ceph*", "ceph1"));
        assert!(glob("*1", "ceph1"));
        assert!(glob("c*p*1", "ceph1"));
        assert!(!glob("ceph", "ceph1"));
    }
}
