#!/usr/bin/env bash
# Runs every test of cephalo on a machine of the project's kind (Debian,
# root, Rust toolchain). Installs what the tests need when it is missing:
#   - ceph-common (ceph-authtool proves generated keys are accepted by Ceph)
#   - openssh-server, openssh-client, sudo, util-linux (the SSH tests start
#     real sshd servers on loopback addresses, in namespaces of their own
#     where their users and sudo rules exist)
#   - docker.io, debootstrap (the playground test builds its images
#     from Debian packages and starts host containers with loop-device
#     disks; `cephalo playground up` also installs them and starts dockerd
#     when they are missing)
#   - chrony, faketime, parted, iptables (prechecks tests seed real time
#     daemons, skewed clocks, labelled loop disks and dropped ports, inside
#     those namespaces)
# then checks formatting and lints, runs the whole test suite (every
# benchmark at its smallest size among it: tests/it/bench.rs). The suite
# must leave the machine as it found it: tests/machine-state.sh before and
# after (users, sudo rules, chrony, iptables, mounts, ...) must not differ.
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
command -v nsenter >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
before=$(mktemp)
trap 'rm -f "$before"' EXIT
tests/machine-state.sh >"$before"
status=0
INSTA_UPDATE=no cargo test --quiet 2>&1 || status=$?
if ! changed=$(tests/machine-state.sh | diff -u --label before --label after "$before" -); then
  echo "the tests changed this machine (tests/machine-state.sh, before and after):" >&2
  echo "$changed" >&2
  exit 1
fi
exit "$status"
