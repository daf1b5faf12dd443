#!/bin/sh
# Recipe of the playground's host image: a Debian machine as an operator
# would hand it to cephalo (sshd, sudo, a container engine, disk tools,
# a time daemon). Run as root inside a container of the debootstrap base
# image; the container is then exported and imported as the host image.
# cephalo hashes this file: any change here rebuilds the image.
set -eu
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  openssh-server openssh-client sudo docker.io podman catatonit tini util-linux \
  parted gdisk iproute2 iputils-ping procps chrony ca-certificates less >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/*

# podman without systemd: cgroups by cgroupfs, events to a file.
mkdir -p /etc/containers
cat >/etc/containers/containers.conf <<'CONF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

# The deploy user: key login only, passwordless sudo.
useradd --create-home --shell /bin/bash cephalo
install -d -m 0700 -o cephalo -g cephalo /home/cephalo/.ssh
echo 'cephalo ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/cephalo
chmod 0440 /etc/sudoers.d/cephalo

# sshd: keys only; many parallel logins; no loginuid in containers.
cat >/etc/ssh/sshd_config.d/playground.conf <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 200:30:400
MaxSessions 100
UseDNS no
CONF
sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
# No host keys in the image: every host makes its own at first start.
rm -f /etc/ssh/ssh_host_*

# chrony with no network source: the hosts share this machine's clock, and
# tests and playgrounds must send no traffic beyond this machine (Debian's
# default config asks the public NTP pool).
cat >/etc/chrony/chrony.conf <<'CHRONY'
# cephalo playground: no time source on the network; serve the local clock.
driftfile /var/lib/chrony/chrony.drift
local stratum 10
CHRONY

# The host's boot: host keys, time daemon (never touching the machine's
# clock), the nested container engine, then sshd in the foreground.
cat >/usr/local/sbin/playground-init <<'INIT'
#!/bin/sh
set -u
[ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A >/dev/null
mkdir -p /run/sshd /var/log
chronyd -x >/var/log/chronyd.log 2>&1 || true
# The engine the playground asked for (PLAYGROUND_ENGINE); podman has no daemon.
if [ "${PLAYGROUND_ENGINE:-docker}" = docker ]; then
  dockerd --storage-driver overlay2 >/var/log/dockerd.log 2>&1 &
fi
exec /usr/sbin/sshd -D -e
INIT
chmod 0755 /usr/local/sbin/playground-init
