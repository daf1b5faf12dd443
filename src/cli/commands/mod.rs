//! One module per command (`disks` and `playground` hold their
//! subcommands): each turns its arguments into options, calls the library
//! and prints the result. Commands do not call each other, except
//! `playground up`, which runs `pull` and `deploy` as a user would.

pub mod admin;
pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod disks;
pub mod gatherkeys;
pub mod genpwd;
pub mod inventory;
pub mod man;
pub mod map;
pub mod operation;
pub mod playground;
pub mod prechecks;
pub mod prometheus_targets;
pub mod pull;
pub mod redeploy;
pub mod render;
pub mod rotate_keys;
pub mod run;
pub mod settings;
pub mod status;
pub mod tune;
pub mod upgrade;
