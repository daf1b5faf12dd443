# cephalo prechecks: every fact about a host in one round trip.
# Arguments: NAME ENGINE IMAGE PEER... -- CUSTOM_IMAGE... -- DEVICE...
# Each section starts with `=== name ===` (their order does not matter); a
# missing tool leaves a section empty. block.sh follows this script
# (sections block, mounts, lvm) and reads the devices left in "$@".
name=$1 engine=$2 image=$3
shift 3
sec() { echo "=== $1 ==="; }
# The mon ports of each peer: open, refused (reachable too) or why not.
sec peers
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  for port in 3300 6789; do
    r=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' bash "$1" "$port" 2>&1) && r=open || { [ -z "$r" ] && r=timeout; }
    echo "$1:$port $(echo "$r" | tail -n 1)"
  done
  shift
done
[ "${1:-}" = "--" ] && shift
# The images of the custom containers: the image id, or `missing`.
sec custom_images
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  id=$("$engine" image inspect --format '{{.Id}}' "$1" 2>/dev/null) || id=missing
  echo "$1 ${id:-missing}"
  shift
done
[ "${1:-}" = "--" ] && shift
sec uname; uname -srm
sec os; cat /etc/os-release 2>/dev/null
sec cgroup; stat -fc %T /sys/fs/cgroup 2>/dev/null
sec hostname; hostname -s 2>/dev/null || hostname 2>/dev/null || cat /proc/sys/kernel/hostname
sec resolve; getent ahostsv4 "$name" 2>/dev/null | awk '{print $1}' | sort -u
sec engine; for e in docker podman; do p=$(command -v "$e" 2>/dev/null) && echo "$e $p"; done
sec engine_version
if command -v "$engine" >/dev/null 2>&1; then
  if [ "$engine" = podman ]; then podman version --format '{{.Version}}' 2>&1; else docker version --format '{{.Server.Version}}' 2>&1; fi
  echo "rc=$?"
else
  echo "$engine: command not found"; echo "rc=127"
fi
sec image; "$engine" image inspect --format '{{.Id}}' "$image" 2>&1; echo "rc=$?"
# Processes of this host only: a container host must not count the
# daemons of the containers it runs (other pid namespaces).
sec procs
me=$(readlink /proc/self/ns/pid)
for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$me" ] && cat "$p/comm" 2>/dev/null; done | sort -u
sec link; ip -o link show 2>/dev/null
sec addr; ip -o addr show 2>/dev/null
sec listen; ss -Hltnp 2>/dev/null
sec meminfo; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
sec disk; d=/var/lib/ceph; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; df -PB1 "$d" 2>/dev/null | tail -n 1
sec pid_max; cat /proc/sys/kernel/pid_max
