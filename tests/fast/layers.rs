//! The architecture, checked: every top-level module of src/ sits in one
//! layer, imports only from its own layer or those below, and no modules
//! import each other in a cycle. A new module must be given its layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module may use `crate::x` only for x in its own layer
/// (without a cycle) or a lower one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "values and errors",
        &["error", "release", "cephx", "yamlfile"],
    ),
    (
        "files in, one model (no tokio, no SSH)",
        &["inventory", "settings", "passwords", "model", "render"],
    ),
    (
        "reaching hosts",
        &["transport", "script", "local", "ssh", "engine", "fake"],
    ),
    (
        "operations",
        &[
            "files",
            "facts",
            "ceph",
            "containers",
            "custom",
            "prometheus",
            "prechecks",
            "disks",
            "pull",
            "deploy",
            "keys",
            "tune",
            "upgrade",
            "status",
            "map",
            "playground",
        ],
    ),
    ("command line", &["cli"]),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn top_module(p: &Path) -> String {
    let rel = p.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The code of a file before its first `#[cfg(test)]`: tests may reach
/// anywhere.
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or("")
}

/// The `crate::x` names a piece of code uses, also in `use crate::{x, y}`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// module -> modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rs_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|p| top_module(p)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let me = top_module(&f);
        if me == "lib" || me == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read file");
        let uses = g.entry(me.clone()).or_default();
        for n in crate_refs(non_test(&text)) {
            if n != me && modules.contains(&n) && n != "lib" {
                uses.insert(n);
            }
        }
    }
    g
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

#[test]
fn every_module_imports_only_its_own_layer_or_below() {
    let mut wrong = Vec::new();
    for (m, uses) in graph() {
        let Some(mine) = layer_of(&m) else {
            wrong.push(format!(
                "`{m}` has no layer: add it to LAYERS in tests/fast/layers.rs"
            ));
            continue;
        };
        for u in uses {
            match layer_of(&u) {
                Some(theirs) if theirs <= mine => {}
                Some(theirs) => wrong.push(format!(
                    "`{m}` ({}) uses `{u}` ({}), a layer above it",
                    LAYERS[mine].0, LAYERS[theirs].0
                )),
                None => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    let g = graph();
    // Tarjan's strongly connected components.
    struct State<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("low");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("low");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.cycles.push(comp);
            }
        }
    }
    let mut s = State {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    assert!(
        s.cycles.is_empty(),
        "modules importing each other in a cycle: {:?}",
        s.cycles
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_imports() {
    let code = "use crate::{model::Cluster, transport};\nfn f() { crate::deploy::plan(); }";
    let refs = crate_refs(code);
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["deploy", "model", "transport"]
    );
    assert_eq!(non_test("a\n#[cfg(test)]\nuse crate::cli;"), "a\n");
}

/// About a screen: a file holds one concept.
const MAX_LINES: usize = 600;

#[test]
fn every_source_file_stays_screen_sized() {
    let mut files = Vec::new();
    rs_files(&src(), &mut files);
    let mut big = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let lines = non_test(&text)
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with("//"))
            .count();
        if lines > MAX_LINES {
            big.push(format!("{} ({lines} lines)", f.display()));
        }
    }
    assert!(
        big.is_empty(),
        "files over {MAX_LINES} lines of non-test code: {}",
        big.join(", ")
    );
}
