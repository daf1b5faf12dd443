#!/usr/bin/env bash
# Runs every test of cephalo on a machine of the project's kind (Debian,
# root, Rust toolchain). Installs what the tests need when it is missing:
#   - ceph-common (ceph-authtool proves generated keys are accepted by Ceph)
#   - openssh-server, openssh-client, sudo (the SSH tests start real sshd
#     servers on loopback addresses, with their own users and sudo rules)
#   - docker.io, debootstrap (the playground test builds its images
#     from Debian packages and starts host containers with loop-device
#     disks; `cephalo playground up` also installs them and starts dockerd
#     when they are missing)
#   - chrony, faketime, parted, iptables (prechecks tests seed real time
#     daemons, skewed clocks, labelled loop disks and dropped ports)
# then checks formatting and lints, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ceph-authtool >/dev/null || need+=(ceph-common)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v sudo >/dev/null || need+=(sudo)
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v chronyd >/dev/null || need+=(chrony)
command -v faketime >/dev/null || need+=(faketime)
command -v parted >/dev/null || need+=(parted)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
INSTA_UPDATE=no cargo test --quiet 2>&1
