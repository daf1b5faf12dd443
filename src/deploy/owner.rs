//! The ceph user of a host's Ceph image: the `uid:gid` that owns
//! /var/lib/ceph inside it (64045 in Debian's packages, 167 in the upstream
//! quay.io images), learned from the image as cephadm does, never assumed.
//! Folders and keyrings the daemons read on the host are given to it. Asked
//! once per run, host and image.

use crate::model::{Cluster, Host};
use crate::transport::{Command, Endpoint, Transport, TransportError, checked};

/// `stat` of /var/lib/ceph in a one-off container of `image`, never pulled
/// (a missing image is an error naming `cephalo pull`).
pub fn stat_command(h: &Host, image: &str) -> Command {
    crate::containers::look_into(h, image, "stat", &["-c", "%u:%g", "/var/lib/ceph"])
}

/// `uid:gid` as `stat -c %u:%g` prints it (numbers only).
pub fn parse(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let (u, g) = line.split_once(':')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(u) && numeric(g)).then(|| line.to_string())
}

/// The ceph user (`uid:gid`) of the cluster's image on host `h`.
pub async fn of_host(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
) -> Result<String, TransportError> {
    let image = cluster.image.as_str();
    // Kept with the run's cluster: each host is asked once per run.
    let known = &cluster.learned.ceph_users;
    let key = (h.name.clone(), image.to_string());
    if let Some(o) = known.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(o);
    }
    let cmd = stat_command(h, image);
    let out = match checked(t, &Endpoint::of(h), &cmd).await {
        Ok(out) => out,
        Err(TransportError::Failed { stderr_tail, .. })
            if crate::containers::says_image_missing(&stderr_tail) =>
        {
            return Err(crate::containers::image_missing(&h.name, image));
        }
        Err(e) => return Err(e),
    };
    let owner = parse(&out.stdout_text()).ok_or_else(|| TransportError::Other {
        host: h.name.clone(),
        reason: format!(
            "cannot tell the ceph user of image {image}: `stat /var/lib/ceph` in it printed {:?}",
            out.stdout_text().trim()
        ),
    })?;
    if let Ok(mut m) = known.lock() {
        m.insert(key, owner.clone());
    }
    Ok(owner)
}

/// `of_host` on a host that runs a Ceph daemon; None on one that runs
/// none (a client), which need not hold the image.
pub async fn of_daemon_host(
    cluster: &Cluster,
    h: &Host,
    t: &dyn Transport,
) -> Result<Option<String>, TransportError> {
    if crate::tune::tuned(h).0 {
        of_host(cluster, h, t).await.map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numeric_ids_are_an_owner() {
        assert_eq!(parse("167:167\n"), Some("167:167".into()));
        assert_eq!(parse("\n64045:64045\n"), Some("64045:64045".into()));
        for bad in [
            "",
            "ceph:ceph",
            "167",
            "167:",
            ":167",
            "1 6:7",
            "stat: cannot stat",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
