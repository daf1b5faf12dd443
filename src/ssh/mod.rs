//! SSH transport: connections to hosts with verified host keys, commands
//! and file transfer over them. Owns nothing about Ceph.

pub mod known_hosts;
mod session;

pub use session::{PASSPHRASE_ENV, SshOptions, SshTransport};
