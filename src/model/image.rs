//! The Ceph image a cluster runs: an empty `ceph_image_tag` means the
//! release's upstream tag (`v<major>`, `release::upstream_tag`); a release
//! without one (before Nautilus) must name its image. Reports problems
//! only; `resolve::image_name` builds the reference.

use crate::error::{Origin, Problems};
use crate::release::Release;
use crate::settings::ClusterSettings;

/// An empty tag on a release that has no upstream image is an error at the
/// key that chose the release.
pub(super) fn check_tag(
    c: &ClusterSettings,
    release: Release,
    origin_of: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) {
    if c.ceph_image_tag.trim().is_empty() && release.upstream_tag().is_none() {
        problems.error(
            origin_of("ceph_release"),
            format!(
                "Ceph {release} has no upstream container image (quay.io/ceph/ceph has v14 \
                 (nautilus) and later); set ceph_image_tag, with ceph_image_registry, \
                 ceph_image_namespace and ceph_image_name, to a {release} image your hosts can pull"
            ),
        );
    }
}

/// The tag an upgrade to `to` runs when `tag` (the configured
/// `ceph_image_tag`) names another release: a release name (`pacific`, as
/// the playground's images are tagged) or a series tag (`v16`) follows the
/// upgrade in the same form; a pinned point release of another series
/// (`v16.2.15`) cannot, and is an error saying what to give instead. None:
/// the tag stays as it is (empty, already the target's, or the operator's
/// own naming).
pub fn tag_for_upgrade(tag: &str, to: Release) -> Result<Option<String>, String> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Ok(None);
    }
    for r in Release::ALL {
        if r == to {
            continue;
        }
        if tag == r.name() {
            return Ok(Some(to.name().to_string()));
        }
        let series = format!("v{}", r.major());
        if tag == series {
            return Ok(to.upstream_tag());
        }
        if tag.starts_with(&format!("{series}.")) {
            return Err(format!(
                "ceph_image_tag `{tag}` is a {r} image; give the {to} image with --image IMAGE \
                 or -e ceph_image_tag=TAG (for example v{}.x.y)",
                to.major()
            ));
        }
    }
    Ok(None)
}

/// The settings keys, with their values, that make the model name `image`
/// on `release`, given the configured settings `c`: none when they already
/// do; the tag alone when only it differs; else each part of the reference
/// (`registry/namespace/name:tag`) that differs. What an upgrade tells the
/// operator to write into globals.yml.
pub fn keys_for(c: &ClusterSettings, release: Release, image: &str) -> Vec<(&'static str, String)> {
    if super::resolve::image_name(c, release) == image {
        return Vec::new();
    }
    let (path, tag) = match image.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (image, ""),
    };
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    // The first part names a registry when it looks like a host.
    let registry = match parts.first() {
        Some(first) if first.contains('.') || first.contains(':') || *first == "localhost" => {
            parts.remove(0)
        }
        _ => "",
    };
    let namespace = parts.join("/");
    let mut keys: Vec<(&'static str, String)> = [
        ("ceph_image_registry", registry, &c.ceph_image_registry),
        (
            "ceph_image_namespace",
            namespace.as_str(),
            &c.ceph_image_namespace,
        ),
        ("ceph_image_name", name, &c.ceph_image_name),
    ]
    .into_iter()
    .filter(|(_, want, have)| want != have)
    .map(|(k, want, _)| (k, want.to_string()))
    .collect();
    // An empty tag already means the release's upstream one.
    let default_tag = c.ceph_image_tag.is_empty() && release.upstream_tag().as_deref() == Some(tag);
    if !default_tag && tag != c.ceph_image_tag {
        keys.push(("ceph_image_tag", tag.to_string()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_moves_a_release_tag_and_refuses_a_pinned_one() {
        let to = Release::Reef;
        assert_eq!(tag_for_upgrade("", to), Ok(None));
        assert_eq!(tag_for_upgrade("reef", to), Ok(None));
        assert_eq!(tag_for_upgrade("v18.2.7", to), Ok(None));
        assert_eq!(tag_for_upgrade("pacific", to), Ok(Some("reef".into())));
        assert_eq!(tag_for_upgrade("v16", to), Ok(Some("v18".into())));
        assert_eq!(tag_for_upgrade("my-build-7", to), Ok(None));
        let e = tag_for_upgrade("v16.2.15", to).unwrap_err();
        assert!(e.contains("`v16.2.15` is a pacific image"), "{e}");
        assert!(e.contains("-e ceph_image_tag="), "{e}");
    }
}
