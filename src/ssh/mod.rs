//! SSH transport: connections to hosts with verified host keys, commands
//! and file transfer over them. Owns nothing about Ceph.

pub mod hosts_file;
pub mod known_hosts;
mod session;

pub use hosts_file::HostsFile;
pub use session::{PASSPHRASE_ENV, SshOptions, SshTransport};
