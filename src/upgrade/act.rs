//! What each upgrade step does on the cluster: the read-only checks, the
//! backup, the OSD map flags (set, and restored as the backup recorded
//! them), and the cluster-wide finalising steps. Daemon restarts live in
//! `restart`, the MDS procedure in `mds`. Every `ceph` call goes through
//! any mon in quorum.

use std::path::Path;

use serde_json::Value;

use super::exec::Upgrade;
use super::layout::Flag;
use super::step::Warning;
use crate::ceph::{ceph_bytes, ceph_json, ceph_out};
use crate::release::Release;
use crate::transport::{Endpoint, Transport, TransportError};

/// A refusal or failure of a step, on the host it ran for.
pub fn fail(host: &str, reason: impl Into<String>) -> TransportError {
    TransportError::Other {
        host: host.to_string(),
        reason: reason.into(),
    }
}

/// `ceph ARGS` (no output wanted) through any mon.
pub async fn ceph(up: &Upgrade, t: &dyn Transport, args: &[&str]) -> Result<(), TransportError> {
    ceph_out(&up.cluster, t, args, false).await.map(|_| ())
}

/// The OSD map's flags now.
pub async fn osd_flags(up: &Upgrade, t: &dyn Transport) -> Result<Vec<String>, TransportError> {
    let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
    Ok(flags_of(&dump))
}

/// The flags of an `osd dump` (`flags_set` from Octopus, the `flags`
/// string before).
pub fn flags_of(dump: &Value) -> Vec<String> {
    if let Some(set) = dump["flags_set"].as_array() {
        return set
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
    }
    dump["flags"]
        .as_str()
        .unwrap_or("")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

/// Saves monmap, crushmap, keyrings, config and the flags into a new
/// timestamped folder next to the inventory (0700; keyrings 0600), and
/// records the flags as they are before the upgrade sets any.
pub async fn backup(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
) -> Result<bool, TransportError> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let dir = up
        .inventory_dir
        .join("upgrade")
        .join(format!("backup-{}-{stamp}", up.cluster.name));
    let write = |name: &str, bytes: &[u8], mode: u32| -> Result<(), TransportError> {
        write_private(&dir, name, bytes, mode).map_err(|e| fail(&ep.name, e))
    };
    let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
    write("osd-dump.json", dump.to_string().as_bytes(), 0o600)?;
    write(
        "monmap.bin",
        &ceph_bytes(&up.cluster, t, &["mon", "getmap", "-o", "/dev/stdout"]).await?,
        0o600,
    )?;
    write(
        "crushmap.bin",
        &ceph_bytes(&up.cluster, t, &["osd", "getcrushmap", "-o", "/dev/stdout"]).await?,
        0o600,
    )?;
    let keys = ceph_out(&up.cluster, t, &["auth", "export"], true).await?;
    write("keyrings", keys.as_bytes(), 0o600)?;
    if let Some(h) = crate::ceph::first_mon(&up.cluster) {
        let conf =
            crate::render::ceph_conf(&up.cluster, h).map_err(|e| fail(&ep.name, e.to_string()))?;
        write("ceph.conf", conf.as_bytes(), 0o600)?;
    }
    if up.plan.from.has_config_db()
        && let Ok(cfg) = ceph_json(&up.cluster, t, &["config", "dump"]).await
    {
        write("config-dump.json", cfg.to_string().as_bytes(), 0o600)?;
    }
    let flags = flags_of(&dump);
    up.journal(|j| {
        if j.flags_before.is_empty() {
            for f in [
                Flag::Noout,
                Flag::Noscrub,
                Flag::NodeepScrub,
                Flag::Sortbitwise,
            ] {
                j.flags_before
                    .insert(f.name().to_string(), flags.iter().any(|x| x == f.name()));
            }
        }
        j.backup = Some(dir.clone());
    });
    up.say(&format!("backup: {}", dir.display()));
    Ok(true)
}

fn write_private(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot set the mode of {}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)
        .and_then(|_| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `ceph osd set FLAG`, unless it is set.
pub async fn set_flag(up: &Upgrade, t: &dyn Transport, flag: Flag) -> Result<bool, TransportError> {
    let set = osd_flags(up, t).await?.iter().any(|f| f == flag.name());
    // A plan without a backup step (redeploy) records the flag here, and
    // keeps the record before it changes anything.
    let unrecorded = up.journal(|j| {
        let new = !j.flags_before.contains_key(flag.name());
        if new {
            j.flags_before.insert(flag.name().to_string(), set);
        }
        new
    });
    if unrecorded {
        up.save().map_err(|e| fail("-", e))?;
    }
    if set {
        return Ok(false);
    }
    ceph(up, t, &["osd", "set", flag.name()]).await?;
    Ok(true)
}

/// Puts a flag back as the journal recorded it before the upgrade.
pub async fn restore_flag(
    up: &Upgrade,
    t: &dyn Transport,
    flag: Flag,
) -> Result<bool, TransportError> {
    // Nothing recorded (the backup never ran): nothing was set either.
    let Some(was) = up.journal(|j| j.flags_before.get(flag.name()).copied()) else {
        return Ok(false);
    };
    let is = osd_flags(up, t).await?.iter().any(|f| f == flag.name());
    match (was, is) {
        (false, true) => ceph(up, t, &["osd", "unset", flag.name()])
            .await
            .map(|_| true),
        (true, false) => ceph(up, t, &["osd", "set", flag.name()])
            .await
            .map(|_| true),
        _ => Ok(false),
    }
}

/// `ceph osd require-osd-release R`, unless the OSD map shows it.
pub async fn require_osd_release(
    up: &Upgrade,
    t: &dyn Transport,
    r: Release,
) -> Result<bool, TransportError> {
    let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
    if dump["require_osd_release"].as_str() == Some(r.name()) {
        return Ok(false);
    }
    ceph(
        up,
        t,
        &[
            "osd",
            "require-osd-release",
            r.name(),
            "--yes-i-really-mean-it",
        ],
    )
    .await?;
    Ok(true)
}

/// `ceph mon enable-msgr2`, unless every mon has a v2 address.
pub async fn enable_msgr2(up: &Upgrade, t: &dyn Transport) -> Result<bool, TransportError> {
    let dump = ceph_json(&up.cluster, t, &["mon", "dump"]).await?;
    if mons_have_v2(&dump) {
        return Ok(false);
    }
    ceph(up, t, &["mon", "enable-msgr2"]).await?;
    Ok(true)
}

/// Every mon of a `mon dump` has a v2 address.
pub fn mons_have_v2(dump: &Value) -> bool {
    let mons = dump["mons"].as_array().cloned().unwrap_or_default();
    !mons.is_empty()
        && mons.iter().all(|m| {
            m["public_addrs"]["addrvec"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["type"] == "v2")
        })
}

/// `ceph config set WHO OPTION VALUE`, unless it already holds.
pub async fn set_config(
    up: &Upgrade,
    t: &dyn Transport,
    who: &str,
    option: &str,
    value: &str,
) -> Result<bool, TransportError> {
    let now = ceph_out(&up.cluster, t, &["config", "get", who, option], false)
        .await
        .unwrap_or_default();
    if now.trim() == value {
        return Ok(false);
    }
    ceph(up, t, &["config", "set", who, option, value]).await?;
    Ok(true)
}

/// The health checks now: name -> summary message.
pub async fn health_checks(
    up: &Upgrade,
    t: &dyn Transport,
) -> Result<Vec<(String, String)>, TransportError> {
    let h = ceph_json(&up.cluster, t, &["health", "detail"]).await?;
    Ok(h["checks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let detail: Vec<&str> = v["detail"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["message"].as_str())
                .collect();
            let msg = v["summary"]["message"].as_str().unwrap_or("").to_string();
            (
                k.clone(),
                if detail.is_empty() {
                    msg
                } else {
                    format!("{msg}: {}", detail.join("; "))
                },
            )
        })
        .collect())
}

/// A warning that never clears by itself, handled as its step says.
pub async fn warning(up: &Upgrade, t: &dyn Transport, w: Warning) -> Result<bool, TransportError> {
    let checks = health_checks(up, t).await?;
    let has = |name: &str| {
        checks
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, m)| m.clone())
    };
    match w {
        Warning::InsecureGlobalIdReclaim => {
            if let Some(clients) = has("AUTH_INSECURE_GLOBAL_ID_RECLAIM") {
                up.say(&format!(
                    "left: clients still reclaim global_id insecurely ({clients}); upgrade them, then `ceph config set mon auth_allow_insecure_global_id_reclaim false`"
                ));
                return Ok(false);
            }
            if up.plan.to.has_config_db() {
                return set_config(
                    up,
                    t,
                    "mon",
                    "auth_allow_insecure_global_id_reclaim",
                    "false",
                )
                .await;
            }
            Ok(false)
        }
        Warning::InsecureKeyTypes => {
            let insecure: Vec<String> = checks
                .iter()
                .filter(|(k, _)| {
                    k.starts_with("AUTH_INSECURE_") && !k.starts_with("AUTH_INSECURE_GLOBAL_ID")
                })
                .map(|(k, m)| format!("{k} ({m})"))
                .collect();
            if !insecure.is_empty() {
                up.say(&format!(
                    "left: keys of type aes (CVE-2025-30156): {}. `cephalo rotate-keys -i {} --yes` rotates them to aes256k, one daemon at a time (the upgrade does it as its last phase unless --no-rotate-keys)",
                    insecure.join("; "),
                    up.cluster.files.inventory.display()
                ));
            }
            Ok(false)
        }
        Warning::PerPoolOmap => {
            if let Some(osds) = has("BLUESTORE_NO_PER_POOL_OMAP") {
                up.say(&format!(
                    "left: OSDs not yet converted to per-pool omap: {osds}"
                ));
                return Ok(false);
            }
            let now = ceph_out(
                &up.cluster,
                t,
                &["config", "get", "osd", "bluestore_fsck_quick_fix_on_mount"],
                false,
            )
            .await
            .unwrap_or_default();
            if now.trim() == "true" {
                ceph(
                    up,
                    t,
                    &["config", "rm", "osd", "bluestore_fsck_quick_fix_on_mount"],
                )
                .await?;
                return Ok(true);
            }
            Ok(false)
        }
        Warning::PoolAutoscaleWarn => {
            let pools = ceph_json(&up.cluster, t, &["osd", "pool", "ls", "detail"]).await?;
            let mut changed = false;
            for p in pools.as_array().into_iter().flatten() {
                if p["pg_autoscale_mode"] == "warn"
                    && let Some(name) = p["pool_name"].as_str()
                {
                    ceph(
                        up,
                        t,
                        &["osd", "pool", "set", name, "pg_autoscale_mode", "on"],
                    )
                    .await?;
                    up.say(&format!("pool {name}: pg_autoscale_mode warn -> on"));
                    changed = true;
                }
            }
            Ok(changed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upgrade::checks::older_clients;
    use serde_json::json;

    #[test]
    fn flags_are_read_from_either_release_shape() {
        assert_eq!(
            flags_of(&json!({"flags": "noout,sortbitwise"})),
            ["noout", "sortbitwise"]
        );
        assert_eq!(
            flags_of(&json!({"flags": "", "flags_set": ["noout"]})),
            ["noout"]
        );
        assert!(flags_of(&json!({"flags": ""})).is_empty());
    }

    #[test]
    fn older_clients_are_named_with_their_count() {
        let f = json!({"client": [
            {"features": "0x3f", "release": "luminous", "num": 2},
            {"features": "0x3f", "release": "pacific", "num": 5}
        ]});
        assert_eq!(older_clients(&f, Release::Pacific), ["2 on luminous"]);
        assert!(older_clients(&f, Release::Luminous).is_empty());
    }

    #[test]
    fn v2_addresses_are_found_per_mon() {
        let both =
            json!({"mons": [{"public_addrs": {"addrvec": [{"type": "v2"}, {"type": "v1"}]}}]});
        let v1 = json!({"mons": [{"public_addrs": {"addrvec": [{"type": "v1"}]}}]});
        assert!(mons_have_v2(&both));
        assert!(!mons_have_v2(&v1));
        assert!(!mons_have_v2(&json!({})));
    }
}
