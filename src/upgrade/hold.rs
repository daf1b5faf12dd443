//! Settings the upgrade holds for a while to spare clients a stall: a
//! shorter PG read lease for the OSD phase, primary affinity 0 for the host
//! whose OSDs restart. Each is recorded in the journal before it changes
//! (once: a resumed run keeps the first record) and put back as recorded,
//! by its own step or by the end of a run that stops early.

use std::time::Duration;

use serde_json::Value;

use super::act::{ceph, fail};
use super::exec::Upgrade;
use super::layout::DaemonType;
use super::step::{Hold, READ_LEASE_OPTION};
use crate::ceph::ceph_json;
use crate::transport::{Endpoint, Transport, TransportError};

/// Records what `h` changes, changes it, and for primary affinity waits
/// until the OSDs lead no PG and every PG is active.
pub async fn hold(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
    h: &Hold,
) -> Result<bool, TransportError> {
    match h {
        Hold::ReadLease { ratio } => {
            let name = &h.records()[0];
            let now = osd_config(up, t, READ_LEASE_OPTION).await?;
            record(up, t, ep, name, now.clone()).await?;
            if now.as_deref().is_some_and(|v| same_number(v, ratio)) {
                return Ok(false);
            }
            let before = effective(up, t, READ_LEASE_OPTION).await?.unwrap_or(0.8);
            let grace = effective(up, t, "osd_heartbeat_grace")
                .await?
                .unwrap_or(20.0);
            ceph(up, t, &["config", "set", "osd", READ_LEASE_OPTION, ratio]).await?;
            // PGs led by OSDs that keep leases hold one of the old length
            // until their next renewal: a primary moving before it runs out
            // makes the new one wait for it. Waited out here, once.
            let leased = up.plan.from.has_read_leases()
                || up.plan.skipped.iter().any(|d| d.kind == DaemonType::Osd);
            let shorter = ratio.parse::<f64>().is_ok_and(|r| r < before);
            if leased && shorter {
                // A gate like the others (its pauses in the run log).
                let lease = Duration::from_secs_f64((before * grace).clamp(0.0, 120.0));
                let until = tokio::time::Instant::now() + lease;
                let what = format!("the old read lease ({} s) did not run out", lease.as_secs());
                up.wait(ep, &what, lease + Duration::from_secs(30), || async move {
                    let left = until.saturating_duration_since(tokio::time::Instant::now());
                    Ok(if left.is_zero() {
                        Ok(())
                    } else {
                        Err(format!("{} s of the old lease left", left.as_secs()))
                    })
                })
                .await?;
            }
            Ok(true)
        }
        Hold::PrimaryAffinity { ids, .. } => {
            let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
            let mut changed = false;
            for (id, name) in ids.iter().zip(h.records()) {
                let now = primary_affinity(&dump, *id)
                    .ok_or_else(|| fail(&ep.name, format!("osd.{id} is not in `ceph osd dump`")))?;
                record(up, t, ep, &name, Some(now.clone())).await?;
                if !same_number(&now, "0") {
                    let osd = format!("osd.{id}");
                    ceph(up, t, &["osd", "primary-affinity", &osd, "0"]).await?;
                    changed = true;
                }
            }
            let what = format!("{} still lead PGs, or PGs are not active", names(ids));
            up.wait(ep, &what, up.bounds.pgs_clean, || async {
                let osds = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
                let pgs = ceph_json(&up.cluster, t, &["pg", "dump", "pgs_brief"]).await?;
                Ok(lead_no_pg(&osds, &pgs, ids))
            })
            .await?;
            Ok(changed)
        }
    }
}

/// Puts back what `h` recorded; nothing when it recorded nothing (it never
/// ran, or it was put back already).
pub async fn put_back(up: &Upgrade, t: &dyn Transport, h: &Hold) -> Result<bool, TransportError> {
    put_back_records(up, t, &h.records()).await
}

/// Puts back every setting the journal records as held, whatever the plan
/// of this run is (the end of every run: a run resumed after a kill may
/// have nothing left to restart, and so no put-back step of its own).
pub async fn put_back_all(up: &Upgrade, t: &dyn Transport) -> Result<bool, TransportError> {
    let names: Vec<String> = up.journal(|j| j.held_before.keys().cloned().collect());
    put_back_records(up, t, &names).await
}

async fn put_back_records(
    up: &Upgrade,
    t: &dyn Transport,
    names: &[String],
) -> Result<bool, TransportError> {
    let mut changed = false;
    for name in names {
        let Some(was) = recorded(up, name) else {
            continue;
        };
        changed |= match Held::parse(name) {
            Some(Held::OsdConfig(option)) => {
                let now = osd_config(up, t, &option).await?;
                match (&was, &now) {
                    (None, Some(_)) => {
                        ceph(up, t, &["config", "rm", "osd", &option]).await?;
                        true
                    }
                    (Some(v), now) if !now.as_deref().is_some_and(|n| same_number(n, v)) => {
                        ceph(up, t, &["config", "set", "osd", &option, v]).await?;
                        true
                    }
                    _ => false,
                }
            }
            Some(Held::PrimaryAffinity(id)) => {
                let dump = ceph_json(&up.cluster, t, &["osd", "dump"]).await?;
                let was = was.unwrap_or_else(|| "1".into());
                if primary_affinity(&dump, id).is_some_and(|now| same_number(&now, &was)) {
                    false
                } else {
                    let osd = format!("osd.{id}");
                    ceph(up, t, &["osd", "primary-affinity", &osd, &was]).await?;
                    true
                }
            }
            // A name this cephalo does not know (a newer one's journal):
            // kept, for the cephalo that wrote it.
            None => continue,
        };
        forget(up, name);
    }
    Ok(changed)
}

/// A setting named in the journal's `held_before` (`Hold::records`).
enum Held {
    OsdConfig(String),
    PrimaryAffinity(u32),
}

impl Held {
    fn parse(name: &str) -> Option<Held> {
        if let Some(option) = name.strip_prefix("config osd/") {
            return Some(Held::OsdConfig(option.to_string()));
        }
        name.strip_prefix("primary-affinity osd.")
            .and_then(|id| id.parse().ok())
            .map(Held::PrimaryAffinity)
    }
}

/// Keeps the first record of a setting (a resumed run must not record the
/// value its own earlier run set), saved and mirrored before the setting
/// changes: a run killed right after the change still knows what to put
/// back.
async fn record(
    up: &Upgrade,
    t: &dyn Transport,
    ep: &Endpoint,
    name: &str,
    value: Option<String>,
) -> Result<(), TransportError> {
    let new = up.journal(|j| {
        let new = !j.held_before.contains_key(name);
        j.held_before.entry(name.to_string()).or_insert(value);
        new
    });
    if new {
        up.save().map_err(|e| fail(&ep.name, e))?;
        super::exec::mirror(up, t).await;
    }
    Ok(())
}

fn recorded(up: &Upgrade, name: &str) -> Option<Option<String>> {
    up.journal(|j| j.held_before.get(name).cloned())
}

fn forget(up: &Upgrade, name: &str) {
    up.journal(|j| j.held_before.remove(name));
}

/// The value an option has for the OSDs (`ceph config get osd`: the
/// database's, else the default), as a number.
async fn effective(
    up: &Upgrade,
    t: &dyn Transport,
    option: &str,
) -> Result<Option<f64>, TransportError> {
    let out =
        crate::ceph::ceph_out(&up.cluster, t, &["config", "get", "osd", option], false).await?;
    Ok(out.trim().parse().ok())
}

/// The OSD-level value of an option in the mons' configuration database
/// (`ceph config dump`), None when it is not set there.
async fn osd_config(
    up: &Upgrade,
    t: &dyn Transport,
    option: &str,
) -> Result<Option<String>, TransportError> {
    let dump = ceph_json(&up.cluster, t, &["config", "dump"]).await?;
    Ok(config_value(&dump, "osd", option))
}

/// One entry of a `ceph config dump`: the value set for `section`.
pub fn config_value(dump: &Value, section: &str, option: &str) -> Option<String> {
    dump.as_array()?
        .iter()
        .find(|e| e["section"] == section && e["name"] == option)
        .and_then(|e| e["value"].as_str().map(str::to_string))
}

/// An OSD's primary affinity in an `osd dump`, as Ceph wrote the number.
pub fn primary_affinity(dump: &Value, id: u32) -> Option<String> {
    dump["osds"]
        .as_array()?
        .iter()
        .find(|o| o["osd"].as_u64() == Some(u64::from(id)))
        .map(|o| match &o["primary_affinity"] {
            Value::Null => "1".to_string(),
            v => v.to_string(),
        })
}

/// Two numbers as Ceph writes them (`0.2`, `0.200000`) are the same.
fn same_number(a: &str, b: &str) -> bool {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() < 1e-6,
        _ => a.trim() == b.trim(),
    }
}

fn names(ids: &[u32]) -> String {
    ids.iter()
        .map(|i| format!("osd.{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ok when every PG of a `pg dump pgs_brief` (`ceph::pgs_brief`) is active (serving I/O; not "clean": a run
/// resumed after a failure may find this host's OSDs stopped) and none is
/// led by one of `ids`, except PGs whose every acting OSD has primary
/// affinity 0 (Ceph must pick one of them); else what is left.
pub fn lead_no_pg(osds: &Value, pgs: &Value, ids: &[u32]) -> Result<(), String> {
    let zero = |id: u64| {
        u32::try_from(id)
            .ok()
            .and_then(|i| primary_affinity(osds, i))
            .is_some_and(|a| same_number(&a, "0"))
    };
    let Some(list) = crate::ceph::pgs_brief(pgs) else {
        return Err("`ceph pg dump pgs_brief` listed no PG".into());
    };
    let mut led = Vec::new();
    let mut inactive = 0;
    for pg in list {
        let state = pg["state"].as_str().unwrap_or("");
        if !state.split('+').any(|p| p == "active") {
            inactive += 1;
        }
        let primary = pg["acting_primary"].as_u64();
        let acting: Vec<u64> = pg["acting"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let avoidable = !acting.iter().all(|&a| zero(a));
        if let Some(p) = primary
            && ids.iter().any(|&i| u64::from(i) == p)
            && avoidable
        {
            led.push(pg["pgid"].as_str().unwrap_or("?").to_string());
        }
    }
    match (led.len(), inactive) {
        (0, 0) => Ok(()),
        (n, u) => Err(format!(
            "{n} PGs led by {}{}, {u} not active",
            names(ids),
            if led.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    led.iter().take(5).cloned().collect::<Vec<_>>().join(" "),
                    if led.len() > 5 { " ..." } else { "" }
                )
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_a_hold_makes_can_be_put_back_by_name() {
        // The end of a run puts back by the journal's names alone.
        let holds = [
            Hold::ReadLease {
                ratio: "0.2".into(),
            },
            Hold::PrimaryAffinity {
                host: "ceph1".into(),
                ids: vec![0, 12],
            },
        ];
        let parsed: Vec<String> = holds
            .iter()
            .flat_map(Hold::records)
            .map(|n| match Held::parse(&n) {
                Some(Held::OsdConfig(o)) => format!("config {o}"),
                Some(Held::PrimaryAffinity(id)) => format!("affinity {id}"),
                None => format!("unparsed {n}"),
            })
            .collect();
        assert_eq!(
            parsed,
            [
                "config osd_pool_default_read_lease_ratio",
                "affinity 0",
                "affinity 12"
            ]
        );
    }

    #[test]
    fn the_osd_level_value_is_read_from_config_dump() {
        // Pacific's answer during an upgrade's OSD phase (the playground's
        // own dump is empty: tests/fixtures/ceph/*/config-dump.json).
        let dump: Value = serde_json::from_str(
            r#"[{"section":"global","name":"osd_pool_default_read_lease_ratio","value":"0.200000","level":"dev","can_update_at_runtime":true,"mask":""},{"section":"osd","name":"bluestore_fsck_quick_fix_on_mount","value":"true","level":"dev","can_update_at_runtime":true,"mask":""}]"#,
        )
        .unwrap();
        assert_eq!(config_value(&dump, "osd", READ_LEASE_OPTION), None);
        assert_eq!(
            config_value(&dump, "global", READ_LEASE_OPTION).as_deref(),
            Some("0.200000")
        );
        assert_eq!(
            config_value(&dump, "osd", "bluestore_fsck_quick_fix_on_mount").as_deref(),
            Some("true")
        );
        assert_eq!(
            config_value(&serde_json::json!([]), "osd", READ_LEASE_OPTION),
            None
        );
    }

    #[test]
    fn numbers_compare_as_ceph_writes_them() {
        assert!(same_number("0.200000", "0.2"));
        assert!(same_number("1", "1.0"));
        assert!(!same_number("0.5", "1"));
    }
}
