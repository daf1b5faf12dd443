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
//! and for `deploy`, on from the model:
//!
//! ```text
//!   -> deploy::plan (pure: named steps, serial or in parallel, per host)
//!   -> engine       (runs each step on its hosts through a Transport:
//!                    ssh for real hosts, fake for the fast tests)
//!   -> recap        (per host ok/changed/failed; the exit code)
//! ```
//!
//! Layers, lowest first (tests/fast/layers.rs keeps them): values
//! (`error`, `release`, `cephx`, `yamlfile`) < the model (`inventory`,
//! `settings`, `passwords`, `model`, `render`; no tokio, no SSH) < reaching
//! hosts (`transport`, `script`, `ssh`, `local`, `engine`, `fake`) <
//! operations (`deploy`, `prechecks`, `disks`, `keys`, `tune`, `pull`,
//! `containers`, `custom`, `ceph`, `facts`, `files`, `upgrade`, `status`,
//! `map`, `prometheus`,
//! `playground`) <
//! `cli`.

pub mod ceph;
pub mod cephx;
pub mod cli;
pub mod containers;
pub mod custom;
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
pub mod map;
pub mod model;
pub mod passwords;
pub mod playground;
pub mod prechecks;
pub mod prometheus;
pub mod pull;
pub mod release;
pub mod render;
pub mod script;
pub mod settings;
pub mod ssh;
pub mod status;
pub mod transport;
pub mod tune;
pub mod upgrade;
pub mod yamlfile;

pub use error::{Error, Result};
