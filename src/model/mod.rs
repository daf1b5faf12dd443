//! The one typed, validated cluster model: inventory + globals + passwords +
//! role defaults + `-e`, resolved per host. Every problem is reported at
//! once, with its file and line or key. Below transport and render: nothing
//! here touches the network, runs async code or names those layers.
//!
//! - `types`: the model's data (Cluster, Host, Role, Connection, ...)
//! - `load`: files -> parsed sources
//! - `layers`: the one settings-layering pipeline
//! - `resolve`: sources -> the model
//! - `jinja`: Jinja values evaluated against a host's view
//! - `ceph_ansible`: ceph-ansible's names read into cephalo's
//! - `addresses`: where each host's addresses come from; facts fill in
//!   interfaces (`resolve_addresses`)
//! - `validate`: cross-checks, including the one name rule's uses
//! - `conf`: ceph.conf as data (override files are part of the model)
//! - `custom`: the custom containers declared beside Ceph
//! - `image`: the image tag a release needs
//! - `networks`: public and cluster network of one address family
//! - `overrides`: the sections of ceph_conf_overrides

mod addresses;
mod ceph_ansible;
pub mod conf;
pub mod custom;
pub mod image;
mod jinja;
mod layers;
mod load;
mod networks;
mod overrides;
mod resolve;
mod types;
mod validate;

pub use addresses::{resolve_addresses, resolve_host_addresses};
pub use conf::CephConf;
pub use load::{find_file, load, load_targets, load_view, parse_extra_vars, read_globals};
pub use resolve::{Inputs, image_name, resolve, secret_kind};
pub use types::{
    AddressFrom, AddressSource, Cluster, ConfOverrides, Connection, Engine, Files, Host, JumpHost,
    Learned, ObjectStore, Password, Reach, Role, Sources, Target, Targets,
};
