//! What the key-rotation steps do on the cluster (CVE-2025-30156, Squid
//! 19.2.6 / Tentacle 20.2.4): an entity's key rotated to aes256k and
//! written where it is kept, the monmap's auth settings (`ceph mon set`,
//! each an election), the rotating service keys wiped, passwords.yml kept
//! in step with the cluster, and aes disallowed once nothing needs it.
//! Each step is idempotent: a resumed run finds a key already aes256k and
//! only rewrites what does not hold it yet. Keys never reach a log.

use serde_json::Value;

use super::act::{ceph, fail};
use super::exec::Upgrade;
use super::step::KeyFile;
use crate::ceph::{ceph_json, ceph_out};
use crate::cephx::Secret;
use crate::files::{self, Change, RemoteFile};
use crate::release::Release;
use crate::transport::{Command, Endpoint, Transport, TransportError, run};

/// Ceph's name of the key type the rotation moves to.
pub const AES256K: &str = "aes256k";

/// Whether a key is of type 2 (aes256k), as its first bytes say.
pub fn is_aes256k(key: &str) -> bool {
    Secret::parse(key).is_ok_and(|s| s.kind().type_id() == 2)
}

/// The first object of an `auth ... -f json` answer (`[{"entity", "key",
/// ...}]`, after a blank line).
fn first(v: &Value) -> &Value {
    v.as_array().and_then(|a| a.first()).unwrap_or(v)
}

/// `ceph ARGS -f json`, kept out of the logs (it carries keys).
async fn secret_json(
    up: &Upgrade,
    t: &dyn Transport,
    args: &[&str],
) -> Result<Value, TransportError> {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let text = ceph_out(&up.cluster, t, &a, true).await?;
    serde_json::from_str(text.trim()).map_err(|e| {
        fail(
            "-",
            format!("`ceph {}` printed no JSON: {e}", args.join(" ")),
        )
    })
}

/// The key the entity has now, aes256k from here on: rotated when it is
/// not one yet (through a pending key when `pending`).
async fn new_key(
    up: &Upgrade,
    t: &dyn Transport,
    entity: &str,
    pending: bool,
) -> Result<(String, bool), TransportError> {
    let now = secret_json(up, t, &["auth", "get", entity]).await?;
    let key = first(&now)["key"].as_str().unwrap_or_default().to_string();
    if is_aes256k(&key) {
        return Ok((key, false));
    }
    let (args, field): (Vec<&str>, &str) = if pending {
        (vec!["auth", "get-or-create-pending", entity], "pending_key")
    } else {
        (vec!["auth", "rotate", entity, "--key-type", AES256K], "key")
    };
    let v = secret_json(up, t, &args).await?;
    let key = first(&v)[field].as_str().unwrap_or_default().to_string();
    if !is_aes256k(&key) {
        return Err(fail(
            "-",
            format!("`ceph {}` gave no aes256k key for {entity}", args.join(" ")),
        ));
    }
    Ok((key, true))
}

/// The entities whose keys are aes256k already (`mon.` too): a fresh
/// rotation leaves their daemons alone.
pub async fn rotated(
    cluster: &crate::model::Cluster,
    t: &dyn Transport,
) -> Result<std::collections::BTreeSet<String>, TransportError> {
    let json = |text: String| -> Value { serde_json::from_str(text.trim()).unwrap_or(Value::Null) };
    let ls = json(ceph_out(cluster, t, &["auth", "ls", "-f", "json"], true).await?);
    let mut done: std::collections::BTreeSet<String> = ls["auth_dump"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["key"].as_str().is_some_and(is_aes256k))
        .filter_map(|e| e["entity"].as_str().map(str::to_string))
        .collect();
    let mon = json(ceph_out(cluster, t, &["auth", "get", "mon.", "-f", "json"], true).await?);
    if first(&mon)["key"].as_str().is_some_and(is_aes256k) {
        done.insert("mon.".into());
    }
    Ok(done)
}

/// What a rotation would still change (`rotate-keys --check`): every key
/// of type aes (`mon.` too) and every monmap auth setting not aes256k.
/// Reads only.
pub async fn left_to_rotate(
    cluster: &crate::model::Cluster,
    t: &dyn Transport,
) -> Result<Vec<String>, TransportError> {
    let json = |text: String| -> Value { serde_json::from_str(text.trim()).unwrap_or(Value::Null) };
    let ls = json(ceph_out(cluster, t, &["auth", "ls", "-f", "json"], true).await?);
    let mut left: Vec<String> = ls["auth_dump"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !e["key"].as_str().is_some_and(is_aes256k))
        .filter_map(|e| {
            e["entity"]
                .as_str()
                .map(|n| format!("{n}: key of type aes"))
        })
        .collect();
    let mon = json(ceph_out(cluster, t, &["auth", "get", "mon.", "-f", "json"], true).await?);
    if !first(&mon)["key"].as_str().is_some_and(is_aes256k) {
        left.push("mon.: key of type aes".into());
    }
    let dump = ceph_json(cluster, t, &["mon", "dump"]).await?;
    for name in [
        "auth_preferred_cipher",
        "auth_service_cipher",
        "auth_allowed_ciphers",
    ] {
        let now = mon_setting(&dump, name).unwrap_or_default();
        if now != AES256K {
            left.push(format!("{name}: {now} (would be aes256k)"));
        }
    }
    Ok(left)
}

/// A keyring's text: the entity, its key, its caps.
pub fn keyring_text(entity: &str, key: &str, caps: &[(String, String)]) -> String {
    let mut text = format!("[{entity}]\n\tkey = {key}\n");
    for (k, v) in caps {
        text += &format!("\tcaps {k} = \"{v}\"\n");
    }
    text
}

/// Rotates one entity's key and writes it into its keyring files.
pub async fn rotate_key(
    up: &Upgrade,
    t: &dyn Transport,
    entity: &str,
    keyrings: &[KeyFile],
    pending: bool,
) -> Result<bool, TransportError> {
    // An entity the cluster does not have (rbd-mirror's bootstrap on a
    // cluster that never made it) has no key to rotate.
    match ceph_out(&up.cluster, t, &["auth", "get", entity], true).await {
        Err(TransportError::Failed { stderr_tail, .. }) if stderr_tail.contains("ENOENT") => {
            return Ok(false);
        }
        _ => {}
    }
    let (key, mut changed) = new_key(up, t, entity, pending).await?;
    for f in keyrings {
        let h = up
            .cluster
            .host(&f.host)
            .ok_or_else(|| fail(&f.host, "not a host of the inventory"))?;
        let ep = Endpoint::of(h);
        let root = h.connection.become_root;
        if f.only_if_there {
            let there = run(
                t,
                &ep,
                &Command::new(["test", "-e", &f.path]).become_root(root),
            )
            .await?;
            if !there.success() {
                continue;
            }
        }
        let owner = if f.ceph_owned {
            Some(crate::deploy::owner::of_host(&up.cluster, h, t).await?)
        } else {
            Some("0:0".to_string())
        };
        let text = keyring_text(entity, &key, &f.caps);
        let put = files::put(
            t,
            &ep,
            &RemoteFile {
                path: &f.path,
                content: text.as_bytes(),
                mode: 0o600,
                owner: owner.as_deref(),
            },
            root,
        )
        .await?;
        changed |= put == Change::Changed;
    }
    Ok(changed)
}

/// `ceph mon set NAME VALUE` unless the monmap has it, then waits until
/// every inventory mon is in quorum again (the change is an election).
pub async fn mon_set(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
    name: &str,
    value: &str,
) -> Result<bool, TransportError> {
    if mon_setting(&ceph_json(&up.cluster, t, &["mon", "dump"]).await?, name)
        == Some(value.to_string())
    {
        return Ok(false);
    }
    ceph(up, t, &["mon", "set", name, value]).await?;
    let mons = up.cluster.hosts_with(crate::model::Role::Mon).count();
    let what = format!("the mons did not all return to quorum after `ceph mon set {name} {value}`");
    up.wait(ep, &what, up.bounds.daemon_up, || async {
        // An election in progress answers nothing for a moment.
        let Ok(q) = crate::ceph::quorum(&up.cluster, t).await else {
            return Ok(Err("no quorum yet".to_string()));
        };
        let dump = ceph_json(&up.cluster, t, &["mon", "dump"]).await?;
        Ok(
            if q.len() == mons && mon_setting(&dump, name).as_deref() == Some(value) {
                Ok(())
            } else {
                Err(format!("quorum {}", q.join(", ")))
            },
        )
    })
    .await?;
    Ok(true)
}

/// A monmap auth setting as `ceph mon dump -f json` shows it: a cipher
/// object (`{"name": "aes256k"}`) or a list of them (joined by `,`).
pub fn mon_setting(dump: &Value, name: &str) -> Option<String> {
    let v = &dump[name];
    let one = |c: &Value| c["name"].as_str().or(c.as_str()).map(str::to_string);
    match v {
        Value::Array(a) => Some(a.iter().filter_map(one).collect::<Vec<_>>().join(",")),
        Value::Null => None,
        other => one(other),
    }
}

/// `ceph auth wipe-rotating-service-keys`, then waits until the health
/// no longer names rotating keys of type aes.
pub async fn wipe_rotating(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
) -> Result<bool, TransportError> {
    ceph(up, t, &["auth", "wipe-rotating-service-keys"]).await?;
    let what = "AUTH_INSECURE_ROTATING_SERVICE_KEY_TYPE did not clear";
    up.wait(ep, what, up.bounds.daemon_up, || async {
        let h = ceph_json(&up.cluster, t, &["health"]).await?;
        Ok(
            if h["checks"]["AUTH_INSECURE_ROTATING_SERVICE_KEY_TYPE"].is_null() {
                Ok(())
            } else {
                Err("rotating service keys still of type aes".to_string())
            },
        )
    })
    .await?;
    Ok(true)
}

/// Writes the keys passwords.yml holds as the cluster has them now.
pub async fn save_passwords(up: &Upgrade, t: &dyn Transport) -> Result<bool, TransportError> {
    let path = up.cluster.files.passwords.clone();
    let mut now = Vec::new();
    for (name, entity) in crate::passwords::IDENTITIES {
        let Ok(v) = secret_json(up, t, &["auth", "get", entity]).await else {
            continue;
        };
        let key = first(&v)["key"].as_str().unwrap_or_default().to_string();
        if !key.is_empty() {
            now.push((name.to_string(), key));
        }
    }
    let saved = crate::passwords::replace(&path, &now).map_err(|e| fail("-", e.to_string()))?;
    // And on the hosts, what deploy writes from it (the admin, bootstrap
    // and mkfs keyrings): the next deploy finds them as it would write them.
    let mut updated = (*up.cluster).clone();
    for (name, key) in &now {
        let entity = crate::passwords::IDENTITIES
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, e)| *e);
        if let (Some(e), Ok(secret)) = (entity, Secret::parse(key)) {
            updated.secrets.insert(e.to_string(), secret);
        }
    }
    for h in &updated.hosts {
        crate::deploy::push_config(&updated, &Endpoint::of(h), t).await?;
    }
    if let Some(backup) = &saved {
        up.say(&format!(
            "{}: the rotated keys written (the one before kept as {})",
            path.display(),
            backup.display()
        ));
    }
    Ok(saved.is_some())
}

/// Disallows aes once every key is aes256k and no client older than the
/// release is connected; else says what is left and leaves aes allowed.
pub async fn disallow_aes(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
) -> Result<bool, TransportError> {
    let ls = secret_json(up, t, &["auth", "ls"]).await?;
    let mut left: Vec<String> = ls["auth_dump"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !e["key"].as_str().is_some_and(is_aes256k))
        .filter_map(|e| e["entity"].as_str().map(str::to_string))
        .collect();
    let mon = secret_json(up, t, &["auth", "get", "mon."]).await?;
    if !first(&mon)["key"].as_str().is_some_and(is_aes256k) {
        left.push("mon.".into());
    }
    // Clients that cannot use aes256k keys: those older than Squid (a Reef
    // client cannot read one). `ceph features` names Tentacle's `squid` (no
    // new feature bits), so nothing finer can be told from it.
    let features = ceph_json(&up.cluster, t, &["features"]).await?;
    let older = super::checks::older_clients(&features, Release::Squid.min(up.plan.to));
    if !left.is_empty() || !older.is_empty() {
        let mut why = Vec::new();
        if !left.is_empty() {
            why.push(format!(
                "keys still of type aes, which cephalo does not manage: {} (rotate each with `ceph auth rotate ENTITY --key-type aes256k` and give its holder the new keyring, Tentacle and later clients only)",
                left.join(", ")
            ));
        }
        if !older.is_empty() {
            why.push(format!(
                "clients older than {} are connected ({}): they cannot use aes256k keys",
                Release::Squid.min(up.plan.to),
                older.join(", ")
            ));
        }
        up.say(&format!(
            "aes stays allowed (AUTH_INSECURE_KEYS_ALLOWED and _CREATABLE stay): {}; then `ceph mon set auth_allowed_ciphers aes256k`",
            why.join("; ")
        ));
        return Ok(false);
    }
    mon_set(up, t, ep, "auth_allowed_ciphers", AES256K).await
}
