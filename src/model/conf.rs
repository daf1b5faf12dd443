//! ceph.conf as data: parsing (the rendered template and operators'
//! override files), merging kolla-style (later wins per key, keys keep
//! their section), and writing it back out. Pure text: no files, no network.

use std::path::Path;

use crate::error::{Origin, Problems};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CephConf {
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// Ceph reads `osd memory target`, `osd_memory_target` and
/// `osd-memory-target` as one option.
pub fn normalize_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut last_sep = false;
    for c in key.trim().chars() {
        if c == ' ' || c == '_' || c == '-' || c == '\t' {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

impl CephConf {
    /// Parses INI text; problems are reported with the file and line.
    pub fn parse(path: &Path, text: &str, problems: &mut Problems) -> CephConf {
        let mut conf = CephConf::default();
        let mut current: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let origin = Origin::at_line(path, i as u64 + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                match rest.strip_suffix(']') {
                    Some(name) if !name.trim().is_empty() => {
                        current = Some(conf.section_index(name.trim()));
                    }
                    _ => problems.error(
                        origin,
                        format!("section header `{line}` must look like `[global]`"),
                    ),
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                problems.error(origin, format!("expected `option = value`, found `{line}`"));
                continue;
            };
            let key = key.trim();
            if key.is_empty() {
                problems.error(origin, "an option name is missing before `=`");
                continue;
            }
            let Some(idx) = current else {
                problems.error(
                    origin,
                    format!("option `{key}` comes before any section; put it under [global]"),
                );
                continue;
            };
            let value = strip_comment(value.trim());
            conf.sections[idx].set(key, &value);
        }
        conf
    }

    fn section_index(&mut self, name: &str) -> usize {
        match self.sections.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    options: Vec::new(),
                });
                self.sections.len() - 1
            }
        }
    }

    /// Sets one option; the same option spelled differently replaces it.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let idx = self.section_index(section);
        self.sections[idx].set(key, value);
    }

    /// Merges `other` over this one: its values win, its new sections and
    /// options are added at the end of their section.
    pub fn merge(&mut self, other: &CephConf) {
        for s in &other.sections {
            for (k, v) in &s.options {
                self.set(&s.name, k, v);
            }
        }
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let want = normalize_key(key);
        self.sections
            .iter()
            .find(|s| s.name == section)?
            .options
            .iter()
            .find(|(k, _)| normalize_key(k) == want)
            .map(|(_, v)| v.as_str())
    }

    pub fn to_text(&self, header: &str) -> String {
        let mut out = String::from(header);
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 || !header.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{}]\n", s.name));
            for (k, v) in &s.options {
                out.push_str(&format!("{k} = {v}\n"));
            }
        }
        out
    }
}

impl Section {
    fn set(&mut self, key: &str, value: &str) {
        let want = normalize_key(key);
        match self
            .options
            .iter_mut()
            .find(|(k, _)| normalize_key(k) == want)
        {
            Some(slot) => *slot = (key.to_string(), value.to_string()),
            None => self.options.push((key.to_string(), value.to_string())),
        }
    }
}

/// Drops a trailing ` # comment` or ` ; comment` (Ceph allows them).
fn strip_comment(value: &str) -> String {
    let cut = [" #", " ;", "\t#", "\t;"]
        .iter()
        .filter_map(|m| value.find(m))
        .min()
        .unwrap_or(value.len());
    value[..cut].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_are_one_key() {
        let mut p = Problems::default();
        let mut a = CephConf::parse(
            Path::new("a"),
            "[osd]\nosd_memory_target = 1\n[global]\nx = 1\n",
            &mut p,
        );
        let b = CephConf::parse(
            Path::new("b"),
            "[osd]\nosd memory target = 2 # two\n[mon]\ny-z = 3\n",
            &mut p,
        );
        assert!(p.is_empty());
        a.merge(&b);
        assert_eq!(a.get("osd", "osd-memory-target"), Some("2"));
        assert_eq!(a.sections[0].options.len(), 1);
        assert_eq!(a.get("mon", "y_z"), Some("3"));
        assert_eq!(a.get("global", "x"), Some("1"));
    }

    #[test]
    fn errors_name_the_line() {
        let mut p = Problems::default();
        CephConf::parse(
            Path::new("c.conf"),
            "x = 1\n[global\n[global]\nnovalue\n",
            &mut p,
        );
        let text = p.to_string();
        assert!(
            text.contains("c.conf:1: option `x` comes before any section"),
            "{text}"
        );
        assert!(text.contains("c.conf:2: section header"), "{text}");
        assert!(
            text.contains("c.conf:4: expected `option = value`"),
            "{text}"
        );
    }
}
