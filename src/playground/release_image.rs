//! A second release's Ceph image for a running playground (`playground
//! image --release R`): builds it or reuses its cached archive, so that
//! `cephalo pull` can put it beside the running release on every host and
//! an upgrade can run in place. It never touches the hosts itself and
//! never changes the playground's record, files or running daemons.

use std::path::{Path, PathBuf};

use crate::release::Release;

use super::{PlaygroundError, State, absolute_dir, hosts, images, layout, state};

/// The image a running playground can receive, and where it comes from.
#[derive(Debug, Clone)]
pub struct ReleaseImage {
    /// The playground's folder (absolute).
    pub dir: PathBuf,
    /// The release the playground was made with.
    pub running: String,
    pub release: Release,
    /// `cephalo/ceph:<release>`: the name the playground's globals.yml gives it.
    pub image: String,
    /// The `docker save` archive `pull --image-archive` loads.
    pub archive: PathBuf,
    /// Built now (not in the engine nor the cache).
    pub built: bool,
}

impl ReleaseImage {
    pub fn inventory(&self) -> PathBuf {
        self.dir.join("inventory")
    }
}

/// The release named on the command line, if the playground can build it.
pub fn parse_release(name: &str) -> Result<Release, PlaygroundError> {
    match Release::parse(name) {
        Some(r) if r.info().debian_suite.is_some() => Ok(r),
        Some(r) => Err(PlaygroundError::Usage(format!(
            "--release {r}: Debian no longer serves it, so no image can be built here; the playground runs {}",
            layout::buildable_names()
        ))),
        None => Err(PlaygroundError::Usage(format!(
            "--release `{name}`: unknown; the playground runs {}",
            layout::buildable_names()
        ))),
    }
}

/// Makes sure the image of `release` is built (or loaded from the cache)
/// for the running playground in `dir`; its hosts get it from `pull`.
pub fn ensure(
    dir: &Path,
    release: &str,
    say: &dyn Fn(&str),
) -> Result<ReleaseImage, PlaygroundError> {
    let release = parse_release(release)?;
    let dir = absolute_dir(dir, false)?;
    let Some(state) = State::read(&dir)? else {
        return Err(PlaygroundError::Usage(format!(
            "no playground in {} (no {}); `cephalo playground up --dir {}` makes one",
            dir.display(),
            state::FILE,
            dir.display()
        )));
    };
    let stopped: Vec<&str> = state
        .hosts
        .iter()
        .filter(|h| hosts::container_status(&h.container).as_deref() != Some("running"))
        .map(|h| h.name.as_str())
        .collect();
    if !stopped.is_empty() {
        return Err(PlaygroundError::Usage(format!(
            "the playground in {} is not running ({} not running); `cephalo playground up --dir {}` first",
            dir.display(),
            stopped.join(", "),
            dir.display()
        )));
    }
    super::dockerd::ensure_all(say)?;
    let built = images::ensure(&images::ceph_image(release)?, &images::cache_dir(), say)?;
    Ok(ReleaseImage {
        dir,
        running: state.request.release.clone(),
        release,
        image: built.name,
        archive: built.archive,
        built: built.built,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_releases_debian_serves() {
        assert_eq!(parse_release("reef").unwrap(), Release::Reef);
        assert_eq!(parse_release("Tentacle").unwrap(), Release::Tentacle);
        let e = parse_release("jewel").unwrap_err().to_string();
        assert!(e.contains("Debian no longer serves it"), "{e}");
        let e = parse_release("octopus").unwrap_err().to_string();
        assert!(e.contains("nautilus (Debian bullseye"), "{e}");
        assert!(parse_release("bobtail").is_err());
    }

    #[test]
    fn a_folder_without_a_playground_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = ensure(dir.path(), "reef", &|_| {}).unwrap_err();
        assert!(matches!(e, PlaygroundError::Usage(_)), "{e}");
        assert!(e.to_string().contains("no playground in"), "{e}");
    }
}
