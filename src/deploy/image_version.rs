//! The Ceph version inside a host's Ceph image, known before any daemon is
//! made from it: `ceph --version` in a one-off container of the image
//! (never pulled, no network), read once per run, host and image id and
//! kept with the run's cluster (`Cluster.learned.image_versions`). Reads
//! only; a missing image is the usual error naming `cephalo pull`.

use crate::ceph::{CephVersion, parse_version};
use crate::containers;
use crate::model::{Cluster, Host};
use crate::transport::{Command, Endpoint, Transport, TransportError, checked};

/// `ceph --version` in a one-off container of `image`.
pub fn version_command(h: &Host, image: &str) -> Command {
    containers::look_into(h, image, "ceph", &["--version"])
}

/// What the host holds under an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageOnHost {
    /// The host has no image under that reference.
    Missing,
    /// Its id, and the Ceph version inside it.
    Holds { id: String, version: CephVersion },
}

/// The Ceph version inside `image` on host `h` (the cluster's image, or
/// the one an operation is about to run).
pub async fn of_image(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
    image: &str,
) -> Result<ImageOnHost, TransportError> {
    let ep = Endpoint::of(h);
    let Some(id) = containers::image_id(t, &ep, h.engine, image).await? else {
        return Ok(ImageOnHost::Missing);
    };
    let known = &cluster.learned.image_versions;
    let key = (h.name.clone(), id.clone());
    let text = match known.lock().ok().and_then(|m| m.get(&key).cloned()) {
        Some(text) => text,
        None => {
            let text = checked(t, &ep, &version_command(h, image))
                .await?
                .stdout_text();
            if let Ok(mut m) = known.lock() {
                m.insert(key, text.clone());
            }
            text
        }
    };
    let version = parse_version(&text).ok_or_else(|| TransportError::Other {
        host: h.name.clone(),
        reason: format!(
            "cannot tell the Ceph version inside image {image}: `ceph --version` in it printed {:?}",
            text.trim()
        ),
    })?;
    Ok(ImageOnHost::Holds { id, version })
}
