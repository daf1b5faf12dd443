//! ceph-ansible's names for what cephalo does, read into cephalo's own:
//! `ceph_docker_registry`/`ceph_docker_image`/`ceph_docker_image_tag` (the
//! image), `devices` (the OSD disks), `containerized_deployment` (always
//! true with cephalo), `osd_crush_location` and `mds_max_mds` (carried in
//! the model). Where cephalo's own setting is set too, it wins and a note
//! says so. The address names are `addresses`' job.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Origin, Problems};
use crate::inventory::{NameKind, Var, check_name};
use crate::settings::{Layer, de};

/// The cluster-wide names, in the cluster layer.
pub(super) fn cluster_names(layer: &mut Layer, problems: &mut Problems) {
    if let Some(v) = layer.get("containerized_deployment") {
        match bool_of(&v.value) {
            Some(true) => {}
            Some(false) => problems.error(
                v.origin.clone(),
                "containerized_deployment is false, but cephalo always runs Ceph in containers; remove it or set it to true",
            ),
            None => problems.error(
                v.origin.clone(),
                format!("containerized_deployment must be true or false, found {}", v.value),
            ),
        }
    }
    if let Some(v) = layer.get("ceph_docker_registry").cloned() {
        adopt(
            layer,
            "ceph_docker_registry",
            "ceph_image_registry",
            v.value,
            problems,
        );
    }
    if let Some(v) = layer.get("ceph_docker_image").cloned() {
        let image = text(&v.value);
        let (namespace, name) = image.rsplit_once('/').unwrap_or(("", image.as_str()));
        adopt(
            layer,
            "ceph_docker_image",
            "ceph_image_namespace",
            namespace.into(),
            problems,
        );
        adopt(
            layer,
            "ceph_docker_image",
            "ceph_image_name",
            name.into(),
            problems,
        );
    }
    if let Some(v) = layer.get("ceph_docker_image_tag").cloned() {
        adopt(
            layer,
            "ceph_docker_image_tag",
            "ceph_image_tag",
            v.value,
            problems,
        );
    }
}

/// The per-host names, in a host's merged layer.
pub(super) fn host_names(layer: &mut Layer, problems: &mut Problems) {
    if let Some(v) = layer.get("devices").cloned() {
        adopt(layer, "devices", "ceph_osd_devices", v.value, problems);
    }
}

/// `osd_crush_location` (`{root: default, rack: r1, host: osd0}`, or
/// `root=default rack=r1` text): the OSD host's CRUSH location, in order.
pub(super) fn crush_location(layer: &Layer, problems: &mut Problems) -> IndexMap<String, String> {
    let Some(v) = layer.get("osd_crush_location") else {
        return IndexMap::new();
    };
    let bad = |problems: &mut Problems, why: String| {
        problems.error(v.origin.clone(), format!("osd_crush_location: {why}"));
        IndexMap::new()
    };
    let pairs: Vec<(String, String)> = match &v.value {
        Value::Object(m) => m.iter().map(|(k, x)| (k.clone(), text(x))).collect(),
        Value::String(s) if s.trim().starts_with('{') => {
            match serde_saphyr::from_str::<Value>(s.trim()) {
                Ok(Value::Object(m)) => m.iter().map(|(k, x)| (k.clone(), text(x))).collect(),
                _ => {
                    return bad(
                        problems,
                        format!(
                            "cannot read `{s}`; expected a mapping like {{root: default, host: osd0}}"
                        ),
                    );
                }
            }
        }
        Value::String(s) => {
            let mut out = Vec::new();
            for word in s.split_whitespace() {
                match word.split_once('=') {
                    Some((k, x)) => out.push((k.to_string(), x.to_string())),
                    None => {
                        return bad(
                            problems,
                            format!("expected `type=name` pairs, found `{word}`"),
                        );
                    }
                }
            }
            out
        }
        other => {
            return bad(
                problems,
                format!(
                    "expected a mapping of CRUSH bucket types to names, found {}",
                    crate::yamlfile::kind(other)
                ),
            );
        }
    };
    let mut out = IndexMap::new();
    for (k, x) in pairs {
        if let Err(msg) =
            check_name(NameKind::DaemonId, &k).and_then(|_| check_name(NameKind::DaemonId, &x))
        {
            return bad(problems, format!("`{k}={x}`: {msg}"));
        }
        out.insert(k, x);
    }
    out
}

/// `mds_max_mds`: the number of active MDS ranks of the file system.
pub(super) fn mds_max_mds(layer: &Layer, problems: &mut Problems) -> Option<u64> {
    let v = layer.get("mds_max_mds")?;
    match text(&v.value).trim().parse::<u64>() {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            problems.error(
                v.origin.clone(),
                format!(
                    "mds_max_mds must be a whole number of 1 or more, found {}",
                    v.value
                ),
            );
            None
        }
    }
}

/// Sets cephalo's `ours` from ceph-ansible's `theirs`, unless the operator
/// set `ours` as well: then it wins, and a note says so.
fn adopt(layer: &mut Layer, theirs: &str, ours: &str, value: Value, problems: &mut Problems) {
    let Some(their) = layer.get(theirs).cloned() else {
        return;
    };
    match layer.get(ours) {
        Some(v) if !is_default(&v.origin) => problems.note(
            their.origin.clone(),
            format!(
                "cephalo's `{ours}` ({}) wins over ceph-ansible's `{theirs}`",
                v.origin
            ),
        ),
        _ => {
            layer.insert(
                ours.to_string(),
                Var {
                    value,
                    origin: their.origin,
                },
            );
        }
    }
}

/// A value that is still the role default.
pub(super) fn is_default(origin: &Origin) -> bool {
    origin.file.starts_with("roles")
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => de::parse_bool(s),
        _ => None,
    }
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
