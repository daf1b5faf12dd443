//! The playground's images, built on this machine from Debian packages
//! (no registry is needed): a debootstrap base per Debian suite, the host
//! image, and one Ceph image per release. Recipes are shell scripts kept as
//! data (`roles/playground/*.sh`); the hash of a recipe and its inputs is
//! the image's `org.cephalo.recipe` label and part of its archive's name,
//! so an image is rebuilt only when it is missing or its recipe changed.
//! Archives (`docker save` output, debootstrap tarballs) are kept in a cache
//! folder outside the repository, so later runs and CI load instead of
//! building.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::PlaygroundError;
use super::machine::cmd;
use crate::release::Release;

const HOST_RECIPE: &str = include_str!("../../roles/playground/host-image.sh");
const CEPH_RECIPE: &str = include_str!("../../roles/playground/ceph-image.sh");

/// The label that carries the recipe hash.
pub const RECIPE_LABEL: &str = "org.cephalo.recipe";
/// Debian's mirror (the one reachable from the project's machines).
pub const MIRROR: &str = "http://deb.debian.org/debian";
/// The host image's Debian suite.
pub const HOST_SUITE: &str = "bookworm";
pub const HOST_IMAGE: &str = "cephalo/playground-host:bookworm";

/// The cache of image archives: `CEPHALO_CACHE_DIR`, else
/// /var/cache/cephalo/images.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("CEPHALO_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/cephalo/images"))
}

/// An image made by running a recipe in a container of a suite's base.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// `repository:tag`.
    pub name: String,
    pub suite: String,
    recipe: &'static str,
    /// Environment of the recipe.
    env: Vec<(String, String)>,
    /// `docker import --change` instructions.
    changes: Vec<String>,
}

/// A built (or loaded) image and the archive that holds it.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub id: String,
    pub archive: PathBuf,
    /// Built now (not found or loaded from the cache).
    pub built: bool,
}

pub fn host_image() -> ImageSpec {
    ImageSpec {
        name: HOST_IMAGE.into(),
        suite: HOST_SUITE.into(),
        recipe: HOST_RECIPE,
        env: Vec::new(),
        changes: vec![
            r#"ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/sbin/playground-init"]"#.into(),
        ],
    }
}

/// `cephalo/ceph:<release>`: the name the playground's globals.yml gives it.
pub fn ceph_image_name(release: Release) -> String {
    format!("cephalo/ceph:{}", release.name())
}

pub fn ceph_image(release: Release) -> Result<ImageSpec, PlaygroundError> {
    let suite = release.info().debian_suite.ok_or_else(|| {
        PlaygroundError::Usage(format!(
            "no Debian suite serves Ceph {release}; the playground runs {}",
            super::layout::buildable_names()
        ))
    })?;
    Ok(ImageSpec {
        name: ceph_image_name(release),
        suite: suite.into(),
        recipe: CEPH_RECIPE,
        env: vec![
            ("RELEASE".into(), release.name().into()),
            ("SUITE".into(), suite.into()),
        ],
        changes: vec![r#"CMD ["/bin/bash"]"#.into(), "ENV LANG=C.UTF-8".into()],
    })
}

/// The debootstrap command line of a suite's base (its hash input too).
fn base_recipe(suite: &str) -> String {
    format!("debootstrap --variant=minbase {suite} ROOTFS {MIRROR}")
}

fn base_name(suite: &str) -> String {
    format!("cephalo/debootstrap:{suite}")
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..16].to_string()
}

impl ImageSpec {
    /// Hash of everything that makes the image: the base, the recipe, its
    /// environment and the import changes.
    pub fn hash(&self) -> String {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut parts = vec![base_recipe(&self.suite), self.recipe.to_string()];
        parts.extend(env);
        parts.extend(self.changes.iter().cloned());
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        short_hash(&refs)
    }

    /// `cephalo/ceph:pacific` -> `cephalo_ceph_pacific`.
    fn slug(&self) -> String {
        slug(&self.name)
    }

    pub fn archive(&self, cache: &Path) -> PathBuf {
        cache.join(format!("{}-{}.tar", self.slug(), self.hash()))
    }
}

fn slug(name: &str) -> String {
    name.replace(['/', ':'], "_")
}

/// The recipe label of a local image, None when the image is missing.
fn label_of(name: &str) -> Option<String> {
    cmd(["docker", "image", "inspect", "--format"])
        .arg(format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}"))
        .arg(name)
        .run()
        .ok()
}

fn image_id(name: &str) -> Result<String, PlaygroundError> {
    cmd(["docker", "image", "inspect", "--format", "{{.Id}}", name]).run()
}

fn create_cache(cache: &Path) -> Result<(), PlaygroundError> {
    std::fs::create_dir_all(cache).map_err(|source| PlaygroundError::Io {
        path: cache.to_path_buf(),
        source,
    })
}

/// Removes the archives of older recipes of the same image.
fn drop_stale(cache: &Path, prefix: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p != keep && name.starts_with(prefix) && name.ends_with(".tar") {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Makes sure the image is in the local engine with its recipe's hash, and
/// its archive in the cache: found, loaded from the cache, or built.
pub fn ensure(
    spec: &ImageSpec,
    cache: &Path,
    say: &dyn Fn(&str),
) -> Result<Built, PlaygroundError> {
    create_cache(cache)?;
    // One cephalo at a time builds, loads or saves images (parallel tests
    // and playgrounds share the cache): the others wait, then find the
    // image made. Released when this function returns.
    let lock_path = cache.join(".images.lock");
    let lock = std::fs::File::create(&lock_path)
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|source| PlaygroundError::Io {
            path: lock_path.clone(),
            source,
        })?;
    let result = ensure_locked(spec, cache, say);
    drop(lock);
    result
}

fn ensure_locked(
    spec: &ImageSpec,
    cache: &Path,
    say: &dyn Fn(&str),
) -> Result<Built, PlaygroundError> {
    let hash = spec.hash();
    let archive = spec.archive(cache);
    let mut built = false;
    if label_of(&spec.name).as_deref() == Some(hash.as_str()) {
        // The archive must hold this very image (same id), or hosts loaded
        // from it would differ from this machine's image.
        let same = archive.is_file()
            && crate::pull::read_archive(&archive)
                .is_ok_and(|a| Some(a.image_id) == image_id(&spec.name).ok());
        if !same {
            say(&format!(
                "saving {} to the cache: {}",
                spec.name,
                archive.display()
            ));
            save(&spec.name, &archive)?;
        }
    } else if archive.is_file() {
        say(&format!(
            "loading {} from the cache: {}",
            spec.name,
            archive.display()
        ));
        cmd(["docker", "load", "--quiet", "--input"])
            .arg(archive.display().to_string())
            .run()?;
        if label_of(&spec.name).as_deref() != Some(hash.as_str()) {
            // A damaged or foreign archive: build afresh.
            let _ = std::fs::remove_file(&archive);
            return ensure_locked(spec, cache, say);
        }
    } else {
        say(&format!(
            "building {} (Debian {}; once, then cached)",
            spec.name, spec.suite
        ));
        let started = std::time::Instant::now();
        build(spec, &hash, cache, say)?;
        save(&spec.name, &archive)?;
        say(&format!(
            "built {} in {:.0} s",
            spec.name,
            started.elapsed().as_secs_f64()
        ));
        built = true;
    }
    drop_stale(cache, &format!("{}-", spec.slug()), &archive);
    Ok(Built {
        name: spec.name.clone(),
        id: image_id(&spec.name)?,
        archive,
        built,
    })
}

fn save(name: &str, archive: &Path) -> Result<(), PlaygroundError> {
    let partial = archive.with_extension(format!("partial-{}", std::process::id()));
    let result = cmd(["docker", "save", "--output"])
        .arg(partial.display().to_string())
        .arg(name)
        .run();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, archive).map_err(|source| PlaygroundError::Io {
        path: archive.to_path_buf(),
        source,
    })
}

/// Runs the recipe in a container of the suite's base image, then flattens
/// the container into the image (`docker export | docker import`).
fn build(
    spec: &ImageSpec,
    hash: &str,
    cache: &Path,
    say: &dyn Fn(&str),
) -> Result<(), PlaygroundError> {
    let base = ensure_base(&spec.suite, cache, say)?;
    remove_abandoned_builds();
    let container = format!("cephalo-build-{}-{}", spec.slug(), std::process::id());
    let _ = cmd(["docker", "rm", "-f", &container]).output();
    let mut run = cmd(["docker", "run", "-i", "--name", &container]).args(["--label", BUILD_LABEL]);
    for (k, v) in &spec.env {
        run = run.arg("-e").arg(format!("{k}={v}"));
    }
    let result = run
        .args([base.as_str(), "sh", "-s"])
        .stdin(spec.recipe)
        .run()
        .and_then(|_| {
            let mut import = cmd(["docker", "import"]);
            for c in &spec.changes {
                import = import.arg("--change").arg(c);
            }
            let import = import
                .arg("--change")
                .arg(format!("LABEL {RECIPE_LABEL}={hash}"))
                .args(["-", spec.name.as_str()]);
            cmd(["docker", "export", &container]).pipe(&import)
        });
    let _ = cmd(["docker", "rm", "-f", &container]).output();
    result.map(|_| ())
}

/// The debootstrap base of a suite as a local image: found, imported from
/// the cached tarball, or made with debootstrap.
fn ensure_base(suite: &str, cache: &Path, say: &dyn Fn(&str)) -> Result<String, PlaygroundError> {
    let name = base_name(suite);
    let recipe = base_recipe(suite);
    let hash = short_hash(&[&recipe]);
    if label_of(&name).as_deref() == Some(hash.as_str()) {
        return Ok(name);
    }
    let tarball = cache.join(format!("debootstrap-{suite}-{hash}.tar"));
    if !tarball.is_file() {
        super::dockerd::ensure_tools(&[("debootstrap", "debootstrap")], say)?;
        say(&format!("debootstrap {suite} (minbase) from {MIRROR}"));
        remove_abandoned_trees(cache)?;
        let work = cache.join(format!(".debootstrap-{suite}-{}", std::process::id()));
        let rootfs = work.join("rootfs");
        let result = cmd(["debootstrap", "--variant=minbase", suite])
            .arg(rootfs.display().to_string())
            .arg(MIRROR)
            .run()
            .and_then(|_| {
                let partial = tarball.with_extension("partial");
                cmd(["tar", "--numeric-owner", "-C"])
                    .arg(rootfs.display().to_string())
                    .arg("-cf")
                    .arg(partial.display().to_string())
                    .arg(".")
                    .run()?;
                std::fs::rename(&partial, &tarball).map_err(|source| PlaygroundError::Io {
                    path: tarball.clone(),
                    source,
                })
            });
        remove_tree(&work)?;
        result?;
        drop_stale(cache, &format!("debootstrap-{suite}-"), &tarball);
    }
    cmd(["docker", "import", "--change"])
        .arg(format!("LABEL {RECIPE_LABEL}={hash}"))
        .arg(tarball.display().to_string())
        .arg(&name)
        .run()?;
    Ok(name)
}

/// Label of the containers recipes run in.
const BUILD_LABEL: &str = "org.cephalo.build=1";

/// Build containers left by a cephalo that was stopped mid-build (exited;
/// a running one belongs to a build going on now).
fn remove_abandoned_builds() {
    let Ok(ids) = cmd(["docker", "ps", "--all", "--quiet"])
        .args(["--filter", &format!("label={BUILD_LABEL}")])
        .args(["--filter", "status=exited", "--filter", "status=created"])
        .run()
    else {
        return;
    };
    for id in ids.lines() {
        let _ = cmd(["docker", "rm", "--force", id]).output();
    }
}

/// debootstrap trees of cephalo processes that are gone (`.debootstrap-
/// <suite>-<pid>`).
fn remove_abandoned_trees(cache: &Path) -> Result<(), PlaygroundError> {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(".debootstrap-")
            .and_then(|rest| rest.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_tree(&e.path())?;
        }
    }
    Ok(())
}

/// Removes a debootstrap tree; first unmounts whatever debootstrap left
/// mounted inside it (a failed run can leave /proc or /sys there), and
/// refuses to descend into a mount it could not undo.
fn remove_tree(dir: &Path) -> Result<(), PlaygroundError> {
    if !dir.exists() {
        return Ok(());
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut under: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    under.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in &under {
        let _ = cmd(["umount", "-l", m]).output();
    }
    let still = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if still
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|m| m.starts_with(&prefix))
    {
        return Err(PlaygroundError::Setup(format!(
            "{} still has file systems mounted inside; unmount them and remove it by hand",
            dir.display()
        )));
    }
    std::fs::remove_dir_all(dir).map_err(|source| PlaygroundError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// The debootstrap bases in the local engine (build intermediates), for
/// `down --purge`.
pub fn base_images() -> Vec<String> {
    cmd([
        "docker",
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "cephalo/debootstrap",
    ])
    .run()
    .map(|out| out.lines().map(str::to_string).collect())
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_follow_the_recipe_and_release() {
        let p = ceph_image(Release::Pacific).unwrap();
        let r = ceph_image(Release::Reef).unwrap();
        assert_eq!(p.name, "cephalo/ceph:pacific");
        assert_eq!(p.suite, "bookworm");
        assert_eq!(r.suite, "trixie");
        assert_ne!(p.hash(), r.hash());
        assert_eq!(p.hash(), ceph_image(Release::Pacific).unwrap().hash());
        let mut changed = p.clone();
        changed.recipe = "echo other";
        assert_ne!(changed.hash(), p.hash());
        assert_ne!(host_image().hash(), p.hash());
        let a = p.archive(Path::new("/cache"));
        assert_eq!(
            a,
            PathBuf::from(format!("/cache/cephalo_ceph_pacific-{}.tar", p.hash()))
        );
        assert!(ceph_image(Release::Luminous).is_err());
    }

    #[test]
    fn abandoned_debootstrap_trees_go() {
        let cache = tempfile::tempdir().unwrap();
        let dead = cache.path().join(".debootstrap-sid-999999999");
        let alive = cache
            .path()
            .join(format!(".debootstrap-sid-{}", std::process::id()));
        std::fs::create_dir_all(dead.join("rootfs/etc")).unwrap();
        std::fs::create_dir_all(&alive).unwrap();
        std::fs::write(cache.path().join("keep.tar"), "x").unwrap();
        remove_abandoned_trees(cache.path()).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists());
        assert!(cache.path().join("keep.tar").exists());
    }

    #[test]
    fn cache_dir_from_the_environment() {
        // Read only: the variable is not set by the test suite.
        if std::env::var_os("CEPHALO_CACHE_DIR").is_none() {
            assert_eq!(cache_dir(), PathBuf::from("/var/cache/cephalo/images"));
        }
    }
}
