#!/usr/bin/env bash
# Prints what the tests must leave as they found it on the machine that runs
# them, in a stable order, so that two runs compare with diff (tests/run.sh
# does, around `cargo test`):
#   users and groups, /etc/sudoers.d, /etc/chrony (and chrony's state folder),
#   iptables rules, mounts, loop devices, loopback listeners, the kernel
#   settings Ceph's tuning writes, /etc/sysctl.d, and paths earlier versions
#   of the tests created.
# What dockerd manages (its chains and rules, its mounts) is left out: the
# playground tests may start dockerd, which then keeps them.
set -uo pipefail

sec() { printf '=== %s ===\n' "$1"; }
# Path and checksum of every file under a folder, or "absent".
files() {
  if [ -e "$1" ]; then
    find "$1" -xdev \( -type f -o -type l \) -print0 | sort -z | xargs -0r sha256sum
  else
    echo "$1 absent"
  fi
}

sec users; getent passwd | sort
sec groups; getent group | sort
sec sudoers.d; files /etc/sudoers.d
sec chrony; files /etc/chrony
sec chrony-state; ls -A /var/lib/chrony 2>&1
for cmd in iptables-save ip6tables-save; do
  sec "$cmd"
  if command -v "$cmd" >/dev/null; then
    # The rules, each with its table (policies, counters and the comments
    # with the time are left out; dockerd sets the FORWARD policy).
    "$cmd" 2>&1 | awk '/^\*/ { t = $1 } /^-A / { print t, $0 }' |
      grep -Ev 'DOCKER|docker0|br-[0-9a-f]{12}'
  fi
done
sec mounts
# Mount point, type and source; ids and options change on their own.
awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1), $(i + 2) }' /proc/self/mountinfo |
  grep -Ev '^(/var/lib/docker|/run/docker|/var/lib/containers|/run/containers)[/ ]' | sort
sec loop-devices; losetup -n -l -O NAME,BACK-FILE 2>/dev/null | sort
sec loopback-listeners
ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E '^(127\.|\[::1\])' | sort -u
# The kernel settings Ceph's tuning writes that are the machine's own (not
# of a network namespace): a host container with a writable /proc/sys
# shares them with this machine.
sec kernel-settings
for k in kernel/pid_max fs/file-max fs/aio-max-nr vm/swappiness vm/zone_reclaim_mode vm/min_free_kbytes net/core/rmem_max net/core/wmem_max net/core/netdev_max_backlog; do
  echo "$k $(cat /proc/sys/$k 2>/dev/null)"
done
sec sysctl.d; files /etc/sysctl.d
sec paths
for p in /var/lib/ceph /run/cephalo-it /home/cephalo-test /home/cephalo-pw; do
  [ -e "$p" ] && echo "$p exists"
done
ls -A /home
true
