#!/usr/bin/env bash
# Every benchmark at its smallest size, so that none can rot: the test
# suite runs this (tests/it/bench.rs, beside the other tests); the upgrade
# e2e runs bench/upgrade.sh --from the figures it wrote. The figures go to a
# copy of docs/benchmarks.md that is thrown away (the real runs, at their
# sizes, write the file):
#   - bench/sim.sh 10 on the debug build `cargo test` made;
#   - bench/deploy.sh 1 1, bench/deploy-hosts.sh 1 2, bench/map.sh 200 1 1 on
#     one-host playgrounds of their own (images from the cache the tests filled);
#   - bench/fanout.sh 2 1 with the debug binary, inside mount and network
#     namespaces of its own: its account exists only in copies of the
#     account files bind-mounted there, its sshd and fleet live on a private
#     loopback and a private /run, so the machine is left as it was.
# Usage: bash bench/smoke.sh (as root, like the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/cephalo-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
doc=$work/benchmarks.md
cp docs/benchmarks.md "$doc"
step() { echo "== bench smoke ($(date +%T)): $*" >&2; }
# Runs a benchmark (its output kept whole: no pipe to cut it short) and
# checks that it printed WANT.
bench() { # WANT COMMAND...
  local want=$1 out
  shift
  out=$("$@")
  printf '%s\n' "$out"
  if ! grep -qF -- "$want" <<<"$out"; then
    echo "bench smoke: \`$*\` printed no \"$want\"" >&2
    return 1
  fi
}

step "sim.sh 10"
bench '| 10 x 10 |' env BENCH_DOC="$doc" BENCH_PROFILE=dev bash bench/sim.sh 10

step "deploy.sh 1 1"
bench '|' bash bench/deploy.sh 1 1
step "deploy-hosts.sh 1 2"
bench '2 hosts / 1 hosts' bash bench/deploy-hosts.sh 1 2
step "map.sh 200 1 1"
bench '|' bash bench/map.sh 200 1 1

step "fanout.sh 2 1"
# What fanout.sh installs, outside the namespaces (they have no network).
need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x bench/.venv/bin/ansible ] || [ ! -x bench/.venv/bin/pyinfra ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet ansible-core pyinfra
fi
cargo build -q
# The account, in copies of the account files only.
mkdir "$work/etc"
for f in passwd shadow group gshadow; do
  if [ -e "/etc/$f" ]; then cp -p "/etc/$f" "$work/etc/$f"; fi
done
id=$(awk -F: 'BEGIN { m = 60000 } $3 >= m { m = $3 + 1 } END { print m }' /etc/passwd)
mkdir -p "$work/home/cephalo-test"
chown "$id:$id" "$work/home/cephalo-test"
echo "cephalo-test:x:$id:$id::$work/home/cephalo-test:/bin/sh" >>"$work/etc/passwd"
echo "cephalo-test:*:20000:0:99999:7:::" >>"$work/etc/shadow"
echo "cephalo-test:x:$id:" >>"$work/etc/group"
if [ -e "$work/etc/gshadow" ]; then echo "cephalo-test:!::" >>"$work/etc/gshadow"; fi
BENCH_DOC=$doc BENCH_BIN=$PWD/target/debug/cephalo unshare --mount --net --propagation private \
  bash -c '
    set -eu
    for f in passwd shadow group gshadow; do
      if [ -e "$1/etc/$f" ]; then mount --bind "$1/etc/$f" "/etc/$f"; fi
    done
    mount -t tmpfs -o mode=755 cephalo-smoke /run
    ip link set lo up
    bash bench/fanout.sh 2 1
  ' smoke "$work"
grep -q 'fanout:N=2:end' "$doc" || { echo "bench smoke: fanout.sh wrote no section for 2 hosts" >&2; exit 1; }
step "done"
