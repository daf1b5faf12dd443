# The first process of a test fleet's namespaces (tests/it/sandbox.rs): puts
# the fleet's copies of the account, sudo and chrony files over the machine's,
# in this private mount namespace only, then waits until its stdin closes.
# Arguments: FLEET_DIR NET PID_MAX. NET is "net" when the namespaces have
# their own network, whose loopback is then brought up; PID_MAX is the
# machine's kernel.pid_max.
set -eu
dir=$1 net=$2 pid_max=$3
for f in passwd shadow group gshadow; do
  if [ -e "/etc/$f" ]; then mount --bind "$dir/etc/$f" "/etc/$f"; fi
done
mount --bind "$dir/etc/sudoers.d" /etc/sudoers.d
if [ -d /etc/chrony ]; then mount --bind "$dir/etc/chrony" /etc/chrony; fi
# A session's systemctl must not reach the machine's systemd (prechecks
# --fix would start the machine's own chrony): no /run/systemd in here.
if [ -d /run/systemd ]; then mount -t tmpfs -o size=1M,mode=755 cephalo-it /run/systemd; fi
# A chronyd started through the sshd never steers the machine's clock: in
# here `chronyd` is the real one with -x. Its own tmpfs, since /run may be
# mounted noexec.
chronyd=$(command -v chronyd 2>/dev/null || true)
if [ -n "$chronyd" ]; then
  chronyd=$(readlink -f "$chronyd")
  mount -t tmpfs -o size=1M,mode=755 cephalo-it "$dir/exec"
  mkdir "$dir/exec/real"
  : > "$dir/exec/real/chronyd"
  mount --bind "$chronyd" "$dir/exec/real/chronyd"
  printf '#!/bin/sh\nexec %s/exec/real/chronyd -x "$@"\n' "$dir" > "$dir/exec/chronyd"
  chmod 755 "$dir/exec/chronyd"
  mount --bind "$dir/exec/chronyd" "$chronyd"
fi
if [ "$net" = net ]; then ip link set lo up; fi
# A new pid namespace of Linux 6.14 and later has its own pid_max, at the
# maximum: the machine's, as hosts would have it. (Where pid_max is one for
# the whole machine, the two are equal and nothing is written.)
if [ "$(cat /proc/sys/kernel/pid_max)" != "$pid_max" ]; then
  echo "$pid_max" > /proc/sys/kernel/pid_max
fi
echo ready
read -r _ || true
