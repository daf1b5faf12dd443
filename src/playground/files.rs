//! The files a playground hands to every other cephalo command: the
//! kolla-style inventory, globals.yml and known_hosts (and, with
//! `--names-only`, the `hosts` file this machine finds the hosts by), as
//! text made from the layout (pure), and the check that cephalo's own
//! model accepts them.

use std::path::Path;

use crate::cephx::SecretKind;

use super::PlaygroundError;
use super::layout::{HostPlan, Layout};

/// The kolla-style INI inventory: connection vars once per host in
/// `[playground]`, the Ceph groups listing names only.
pub fn inventory_text(l: &Layout, key: &Path) -> String {
    let key = key.display().to_string();
    let key = if key.contains(char::is_whitespace) {
        format!("\"{key}\"")
    } else {
        key
    };
    let mut out = format!(
        "# cephalo playground `{}`: {} host(s) (containers on this machine) on {}, Ceph {}.\n\
         # Written by `cephalo playground up`; every `up` rewrites it.\n\n[playground]\n",
        l.request.name,
        l.hosts.len(),
        l.subnet,
        l.release.name()
    );
    if l.request.names_only {
        // Names only, as a kolla multinode lists them: the addresses come
        // from network_interface, and the names resolve through `hosts`.
        for h in &l.hosts {
            out.push_str(&format!("{}\n", h.name));
        }
        out.push_str(&format!(
            "\n[playground:vars]\nansible_user=cephalo\nansible_become=yes\nansible_ssh_private_key_file={key}\n"
        ));
    }
    for h in l.hosts.iter().filter(|_| !l.request.names_only) {
        out.push_str(&format!(
            "{} ansible_host={addr} ansible_user=cephalo ansible_become=yes ansible_ssh_private_key_file={key} public_address={public}\n",
            h.name,
            addr = h.address,
            public = l.public_address(h)
        ));
    }
    let group = |out: &mut String, name: &str, hosts: &[HostPlan]| {
        out.push_str(&format!("\n[{name}]\n"));
        for h in hosts {
            out.push_str(&h.name);
            out.push('\n');
        }
    };
    group(&mut out, "mons", l.mons());
    group(&mut out, "mgrs", l.mgrs());
    group(&mut out, "osds", l.ceph_hosts());
    group(&mut out, "mdss", std::slice::from_ref(l.mds()));
    if !l.clients().is_empty() {
        group(&mut out, "clients", l.clients());
    }
    out
}

/// globals.yml: the release, the playground network, and the settings a
/// cluster needs on this kind of machine (see docs/playground.md).
pub fn globals_text(l: &Layout) -> String {
    let size = l.pool_size();
    let min_size = size - size / 2;
    format!(
        r#"# cephalo playground `{name}`. Written by `cephalo playground up`; every
# `up` rewrites it.
ceph_release: {release}
# The playground's own images, built from Debian's packages by `playground
# up` (cephalo's default is the upstream quay.io/ceph/ceph:v<major>).
ceph_image_registry: ""
ceph_image_namespace: cephalo
ceph_image_name: ceph
ceph_image_tag: {release}
public_network: {subnet}
# Each host container has one interface, on the playground network.
network_interface: eth0
{hosts_file}container_engine: {engine}
enable_ceph_mds: "yes"

# Small test OSDs; pools no wider than the hosts.
ceph_osd_store_type: {store}
osd_memory_target: 1073741824
osd_pool_default_size: {size}
osd_pool_default_min_size: {min_size}

# The host containers cannot start privileged containers (the machine's
# capability bounding set lacks CAP_SYS_RESOURCE): OSDs get every other
# capability and the block devices instead.
ceph_osd_container_privileges:
  privileged: false
  cap_add: [ALL]
  cap_drop: [SYS_RESOURCE]
  security_opt: [seccomp=unconfined]
  device_cgroup_rules: ["b *:* rwm"]
# A standby ceph-mgr ignores SIGTERM as PID 1: an init process stops it.
ceph_mgr_container_privileges:
  init: yes

# The hosts share this machine's kernel: tune only the settings each host
# container has for itself (its network namespace), so that the playground
# never changes the machine's own kernel settings.
ceph_sysctl:
  net.ipv4.tcp_rmem: "4096 87380 33554432"
  net.ipv4.tcp_wmem: "4096 87380 33554432"

ceph_conf_overrides:
  global:
    # The hosts share this machine's disk, often fuller than a mon likes
    # (below the critical share a mon stops itself).
    mon_data_avail_warn: 1
    mon_data_avail_crit: 1
{no_redundancy}"#,
        no_redundancy = if size == 1 {
            "    # One host: pools of one copy, chosen (POOL_NO_REDUNDANCY otherwise).\n    mon_warn_on_pool_no_redundancy: false\n"
        } else {
            ""
        },
        name = l.request.name,
        release = l.release.name(),
        subnet = l.public_network(),
        engine = l.request.engine,
        hosts_file = if l.request.names_only {
            format!(
                "# The inventory names the hosts only: this machine finds them here.\nssh_hosts_file: '{}'\n",
                l.hosts_file().display().to_string().replace('\'', "''")
            )
        } else {
            String::new()
        },
        store = if l.request.filestore {
            "filestore"
        } else {
            "bluestore"
        },
    )
}

/// `hosts` (/etc/hosts format): each host's name at its address, for
/// cephalo on this machine (`ssh_hosts_file`); the hosts themselves find
/// each other by name through the Docker network's aliases.
pub fn hosts_text(l: &Layout) -> String {
    let mut out = format!(
        "# cephalo playground `{}`: the hosts' names on this machine (ssh_hosts_file).\n",
        l.request.name
    );
    for h in &l.hosts {
        out.push_str(&format!("{} {}\n", h.address, h.name));
    }
    out
}

/// The kinds of cephx secret in an existing passwords.yml that `kind` (the
/// kind the playground's release makes) does not match, as `entity kind`.
/// A fresh Tentacle monmap allows aes256k keys only, so its mons refuse an
/// aes (type 1) client.admin ("handle_auth_bad_method ... Permission
/// denied"), and releases before Tentacle cannot read aes256k keys: a
/// passwords.yml kept from a playground of another release fits neither.
pub fn unfit_secrets(path: &Path, kind: SecretKind) -> Vec<String> {
    let mut problems = crate::error::Problems::default();
    let Ok(p) = crate::passwords::Passwords::load(path, &mut problems) else {
        return Vec::new();
    };
    p.keys
        .iter()
        .filter(|(_, (secret, _))| secret.kind() != kind)
        .map(|(entity, (secret, _))| format!("{entity} {}", secret.kind().name()))
        .collect()
}

/// known_hosts: each host's real ed25519 key, as `ADDR ssh-ed25519 ...`.
pub fn known_hosts_text(keys: &[(String, String)]) -> Result<String, PlaygroundError> {
    let mut out = String::new();
    for (address, public) in keys {
        let key = russh::keys::ssh_key::PublicKey::from_openssh(public.trim()).map_err(|e| {
            PlaygroundError::Setup(format!(
                "the host key of {address} cannot be read ({e}): `{}`",
                public.trim()
            ))
        })?;
        out.push_str(&crate::ssh::known_hosts::line_for(address, 22, &key));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playground::layout::Request;

    fn layout(hosts: usize, dir: &Path) -> Layout {
        Layout::new(
            Request {
                name: "pg".into(),
                hosts,
                clients: 0,
                release: "pacific".into(),
                osds_per_host: 1,
                disk_size: "8G".into(),
                filestore: false,
                engine: "docker".into(),
                subnet: "10.77.0.0/24".into(),
                names_only: false,
                ipv6: false,
            },
            dir,
        )
        .unwrap()
    }

    /// The playground's inventory, globals and passwords written into
    /// `dir`, then loaded as any inventory.
    fn load_written(l: &Layout, dir: &Path) -> crate::error::Result<crate::model::Cluster> {
        std::fs::write(l.inventory(), inventory_text(l, &l.key())).unwrap();
        std::fs::write(dir.join("globals.yml"), globals_text(l)).unwrap();
        crate::passwords::genpwd(
            &dir.join("passwords.yml"),
            l.release.info().generated_secret,
        )
        .unwrap();
        crate::model::load(&crate::model::Sources {
            inventory: l.inventory(),
            ..Default::default()
        })
    }

    #[test]
    fn the_model_accepts_the_files() {
        for hosts in [1, 3, 5] {
            let dir = tempfile::tempdir().unwrap();
            let l = layout(hosts, dir.path());
            let c = load_written(&l, dir.path()).unwrap_or_else(|e| panic!("{hosts} hosts: {e}"));
            assert_eq!(c.hosts.len(), hosts);
            assert_eq!(c.image, "cephalo/ceph:pacific");
            assert_eq!(c.public_network.to_string(), "10.77.0.0/24");
            let first = &c.hosts[0];
            assert_eq!(first.connection.address, "10.77.0.11");
            assert_eq!(first.connection.user.as_deref(), Some("cephalo"));
            assert!(first.connection.become_root);
            assert_eq!(
                first.connection.private_key_file.as_deref(),
                Some(l.key().as_path())
            );
            assert_eq!(c.hosts_with(crate::model::Role::Mon).count(), hosts.min(3));
            assert_eq!(c.hosts_with(crate::model::Role::Osd).count(), hosts);
            assert_eq!(c.hosts_with(crate::model::Role::Mds).count(), 1);
            let s = &first.settings;
            assert!(!s.ceph_osd_container_privileges.privileged);
            assert_eq!(s.ceph_osd_container_privileges.cap_drop, ["SYS_RESOURCE"]);
            assert!(s.ceph_mgr_container_privileges.init);
            assert_eq!(s.osd_memory_target, 1 << 30);
            assert_eq!(s.network_interface, "eth0");
            assert_eq!(c.settings.osd_pool_default_size, hosts.min(3) as u64);
        }
    }

    #[test]
    fn an_ipv6_playground_puts_ceph_on_its_ipv6_network_and_ssh_on_ipv4() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = layout(3, dir.path());
        l.request.ipv6 = true;
        // 10.77.0.0/24: fd00:A:B:C::/64 with A.B.C = 10.77.0, in hex.
        assert_eq!(l.subnet6().unwrap().to_string(), "fd00:a:4d::/64");
        let c = load_written(&l, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.public_network.to_string(), "fd00:a:4d::/64");
        let first = &c.hosts[0];
        assert_eq!(first.connection.address, "10.77.0.11");
        assert_eq!(
            first.public_address,
            Some("fd00:a:4d::b".parse().unwrap()),
            "host number 11, in hex"
        );
        let conf = crate::render::ceph_conf(&c, first).unwrap();
        assert!(conf.contains("ms_bind_ipv6 = true"), "{conf}");
        assert!(conf.contains("ms_bind_ipv4 = false"), "{conf}");
        assert!(
            conf.contains("[v2:[fd00:a:4d::b]:3300,v1:[fd00:a:4d::b]:6789]"),
            "{conf}"
        );
    }

    #[test]
    fn names_only_files_name_the_hosts_and_this_machine_finds_them_in_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = layout(3, dir.path());
        l.request.names_only = true;
        let inventory = inventory_text(&l, &l.key());
        assert!(!inventory.contains("ansible_host") && !inventory.contains("public_address"));
        std::fs::write(l.inventory(), inventory).unwrap();
        std::fs::write(dir.path().join("globals.yml"), globals_text(&l)).unwrap();
        std::fs::write(l.hosts_file(), hosts_text(&l)).unwrap();
        crate::passwords::genpwd(
            &dir.path().join("passwords.yml"),
            l.release.info().generated_secret,
        )
        .unwrap();
        let c = crate::model::load(&crate::model::Sources {
            inventory: l.inventory(),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let hosts = crate::ssh::HostsFile::load(std::path::Path::new(&c.settings.ssh_hosts_file))
            .unwrap_or_else(|e| panic!("{e:?}"));
        for (h, plan) in c.hosts.iter().zip(&l.hosts) {
            // SSH to the name, found in `hosts`; the address from eth0.
            assert_eq!(h.connection.address, plan.name);
            assert_eq!(h.connection.user.as_deref(), Some("cephalo"));
            assert!(h.connection.become_root);
            assert_eq!(hosts.lookup(&plan.name), Some(plan.address.into()));
            assert_eq!(h.public_address, None);
            assert_eq!(
                h.address_from.as_ref().map(|a| a.describe()).as_deref(),
                Some("from interface eth0 (network_interface)")
            );
        }
        assert_eq!(c.unresolved_addresses().len(), 3);
    }

    #[test]
    fn known_hosts_lines() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@x";
        let text = known_hosts_text(&[("10.77.0.11".into(), key.into())]).unwrap();
        assert_eq!(
            text,
            "10.77.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        );
        assert!(known_hosts_text(&[("10.77.0.11".into(), "garbage".into())]).is_err());
    }

    #[test]
    fn passwords_of_another_release_are_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwords.yml");
        assert!(unfit_secrets(&path, SecretKind::Aes256).is_empty());
        crate::passwords::genpwd(&path, SecretKind::Aes).unwrap();
        assert!(unfit_secrets(&path, SecretKind::Aes).is_empty());
        let unfit = unfit_secrets(&path, SecretKind::Aes256);
        assert_eq!(unfit.len(), 6, "{unfit:?}");
        assert!(
            unfit.contains(&"client.admin aes (type 1)".to_string()),
            "{unfit:?}"
        );
    }
}
