//! The one typed, validated cluster model: inventory + globals + passwords +
//! role defaults + `-e`, resolved per host. Every problem is reported at
//! once, with its file and line or key. Below transport and render: nothing
//! here touches the network, runs async code or names those layers.
//!
//! - `types`: the model's data (Cluster, Host, Role, Connection, ...)
//! - `load`: files -> parsed sources
//! - `layers`: the one settings-layering pipeline
//! - `resolve`: sources -> the model
//! - `validate`: cross-checks, including the one name rule's uses
//! - `conf`: ceph.conf as data (override files are part of the model)
//! - `image`: the image tag a release needs
//! - `networks`: public and cluster network of one address family
//! - `overrides`: the sections of ceph_conf_overrides

pub mod conf;
pub mod image;
mod layers;
mod load;
mod networks;
mod overrides;
mod resolve;
mod types;
mod validate;

pub use conf::CephConf;
pub use load::{find_file, load, load_targets, parse_extra_vars, read_globals};
pub use resolve::{Inputs, image_name, resolve, secret_kind};
pub use types::{
    Cluster, ConfOverrides, Connection, Engine, Files, Host, JumpHost, ObjectStore, Password, Role,
    Sources, Target, Targets,
};
