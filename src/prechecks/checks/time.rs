//! Host checks on time: a time sync daemon runs, and the clock is within
//! what the mons tolerate of this machine's.

use super::{CheckResult, HostCheck, HostView, Level};
use crate::facts::ClockSample;

/// Clock offset the mons tolerate (mon_clock_drift_allowed).
pub const MAX_CLOCK_OFFSET: f64 = 0.05;

pub const CHECKS: &[HostCheck] = &[
    HostCheck {
        id: "time.sync",
        judges: "chronyd, ntpd or another time sync daemon runs on the host",
        run: sync,
    },
    HostCheck {
        id: "time.offset",
        judges: "the measured clock offset, within its error, is below 0.05 s",
        run: offset,
    },
];

fn sync(v: &HostView) -> Vec<CheckResult> {
    let f = v.facts;
    vec![if f.time_sync.is_empty() {
        v.result(
            "time.sync",
            Level::Fail,
            "no chronyd, ntpd or systemd-timesyncd running",
            "install and start chrony (cephalo prechecks --fix starts an installed one)",
        )
    } else {
        v.result("time.sync", Level::Pass, f.time_sync.join(", "), "")
    }]
}

fn offset(v: &HostView) -> Vec<CheckResult> {
    let Some(ClockSample { offset: o, rtt }) = v.clock else {
        return Vec::new();
    };
    // The true offset lies within o +- rtt/2: fail only when all of that
    // interval is beyond the limit, warn when part of it is.
    let (low, high) = (o.abs() - rtt / 2.0, o.abs() + rtt / 2.0);
    vec![v.result(
        "time.offset",
        if high <= MAX_CLOCK_OFFSET {
            Level::Pass
        } else if low > MAX_CLOCK_OFFSET {
            Level::Fail
        } else {
            Level::Warn
        },
        format!("{o:+.3} s (+-{:.3} s) from this machine", rtt / 2.0),
        "mons refuse clock skew above 0.05 s: fix time sync",
    )]
}
