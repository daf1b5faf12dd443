//! `cephalo upgrade`'s plan: release-aware, pure (no tokio, no transport).
//! From the source and target releases, the cluster's layout and the
//! operator's options to phases of named steps with a gate after each;
//! the executor (elsewhere) runs them, journaling by step id.
//!
//! ```text
//! layout + options -> refuse (jump, downgrade, filestore, mixed versions)
//!                  -> plan   (preflight, backup, before, flags, mons, mgrs,
//!                             between, osds, mds, rgws, finalise)
//!                  -> render (text for people, JSON for --json)
//! ```

mod act;
pub mod checks;
pub mod exec;
pub mod hold;
pub mod journal;
pub mod keys;
pub mod layout;
mod mds;
pub mod plan;
pub mod redeploy;
pub mod refuse;
mod release_steps;
pub mod render;
mod restart;
pub mod rotate;
pub mod run;
pub mod step;

pub use layout::{Daemon, DaemonRef, DaemonType, Flag, HostLayout, Layout, Osd, PlanOptions};
pub use plan::plan;
pub use refuse::{Refused, parse_release, way};
pub use step::{
    Check, Gate, Hold, KeyFile, MdsAction, Phase, StepKind, UpgradePlan, UpgradeStep, Warning,
};
