//! The section names of `ceph_conf_overrides`: each must be a section Ceph
//! reads (`global`, a daemon type, `client`, or one daemon or client such
//! as `osd.3`, `mon.ceph1`, `client.rgw.x`), so that a misspelt `osdd:` is
//! an error with a "did you mean" instead of an `[osdd]` Ceph ignores.
//! Reports problems only.

use crate::error::{Origin, Problems};
use crate::inventory::did_you_mean;
use crate::settings::ClusterSettings;

/// The sections that stand alone, and the types a `<type>.<id>` may have.
const TYPES: &[&str] = &["global", "mon", "mgr", "osd", "mds", "client"];

/// Every section of `ceph_conf_overrides` Ceph would not read is an error
/// at the setting, naming the section.
pub(super) fn check_sections(
    c: &ClusterSettings,
    origin_of: &dyn Fn(&str) -> Origin,
    problems: &mut Problems,
) {
    for section in c.ceph_conf_overrides.keys() {
        if section.trim().is_empty() {
            continue; // reported by validate as an empty name
        }
        if let Err(why) = check_section(section) {
            problems.error(
                origin_of("ceph_conf_overrides"),
                format!("ceph_conf_overrides: {why}"),
            );
        }
    }
}

/// Ok for a section Ceph reads, else why not (with a "did you mean").
pub fn check_section(section: &str) -> Result<(), String> {
    let (kind, id) = match section.split_once('.') {
        Some((k, id)) => (k, Some(id)),
        None => (section, None),
    };
    let kind_ok = TYPES.contains(&kind) && !(kind == "global" && id.is_some());
    let id_ok = match (kind, id) {
        (_, None) => true,
        ("osd", Some(id)) => !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        (_, Some(id)) => {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        }
    };
    if kind_ok && id_ok {
        return Ok(());
    }
    let hint = if kind_ok {
        None
    } else {
        did_you_mean(kind, TYPES.iter().copied())
            .filter(|k| !(*k == "global" && id.is_some()))
            .map(|k| match id {
                Some(id) => format!("{k}.{id}"),
                None => k.to_string(),
            })
    };
    Err(format!(
        "unknown section `{section}`{}; Ceph reads global, mon, mgr, osd, mds, client, and \
         one daemon's or client's section such as osd.3, mon.ceph1, client.rgw.gw1 or client.admin",
        hint.map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_ceph_reads_pass_and_others_get_a_hint() {
        for ok in [
            "global",
            "mon",
            "mgr",
            "osd",
            "mds",
            "client",
            "osd.3",
            "mon.ceph1",
            "mgr.ceph-1",
            "mds.a",
            "client.rgw.gw1",
            "client.admin",
            "client.bootstrap-osd",
        ] {
            assert_eq!(check_section(ok), Ok(()), "{ok}");
        }
        let e = check_section("osdd").unwrap_err();
        assert!(
            e.starts_with("unknown section `osdd` (did you mean `osd`?)"),
            "{e}"
        );
        let e = check_section("globl").unwrap_err();
        assert!(e.contains("(did you mean `global`?)"), "{e}");
        let e = check_section("osdd.3").unwrap_err();
        assert!(e.contains("(did you mean `osd.3`?)"), "{e}");
        for bad in ["osd.x", "osd.", "global.x", "rgw", "mon.a b", "[osd]"] {
            assert!(check_section(bad).is_err(), "{bad}");
        }
    }
}
