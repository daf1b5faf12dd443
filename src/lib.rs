//! cephalo deploys and operates Ceph clusters over SSH from a kolla-style
//! inventory.
//!
//! The way through the program, for `render -i inventory/multinode`:
//!
//! ```text
//! cli (args -> options)
//!   -> inventory  (INI / YAML files -> hosts, groups, vars)
//!   -> settings   (role defaults < globals < group vars < host vars < -e)
//!   -> passwords  (fsid, cephx secrets; genpwd fills them in)
//!   -> model      (one validated Cluster: every problem reported at once)
//!   -> render     (ceph.conf, keyrings, container specs per host)
//! ```
//!
//! `release` holds everything that differs between Ceph releases; `cephx`
//! makes and reads secrets; `error` maps failures to exit codes.

pub mod ceph;
pub mod cephx;
pub mod cli;
pub mod containers;
pub mod deploy;
pub mod disks;
pub mod engine;
pub mod error;
pub mod facts;
pub mod fake;
pub mod files;
pub mod inventory;
pub mod keys;
pub mod local;
pub mod model;
pub mod passwords;
pub mod playground;
pub mod prechecks;
pub mod pull;
pub mod release;
pub mod render;
pub mod script;
pub mod settings;
pub mod ssh;
pub mod transport;
pub mod tune;
pub mod yamlfile;

pub use error::{Error, Result};
