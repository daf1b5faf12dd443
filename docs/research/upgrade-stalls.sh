#!/bin/bash
# Client stalls of an OSD host's upgrade, per way of restarting it: on a
# 3-host playground of release $1 (default nautilus), upgraded to $2
# (default pacific), with a client putting and getting 4 KiB objects (gaps
# over 1.5 s recorded) and the PG states not active+clean sampled every
# second on ceph1. Mons and mgrs are upgraded first by cephalo; then each
# OSD host is upgraded by `cephalo upgrade --daemon-types osd --limit HOST`
# with or without the holds that spare clients a stall ($3, default "plain
# lease affinity+lease": one way per host, in host order):
#   plain     neither (ceph_upgrade_primary_affinity false,
#             ceph_upgrade_read_lease_ratio empty);
#   lease     the OSD phase's shorter read lease (0.2) only;
#   affinity  primary affinity 0 for the host's OSDs while they restart only;
#   affinity+lease  both (cephalo's defaults).
# Run from the repository root after `cargo build`; prints one line per host
# and the PG states seen during its worst stall.
set -euo pipefail
from=${1:-nautilus}
to=${2:-pacific}
read -r -a ways <<<"${3:-plain lease affinity+lease}"
bin=${CEPHALO:-$PWD/target/debug/cephalo}
dir=/tmp/upstall-$from
rel=$from
name=cephalo-upstall
# shellcheck source=docs/research/stall-lib.sh
. "$(dirname "$0")/stall-lib.sh"
"$bin" playground image --dir "$dir" --release "$to" >/dev/null
up() { "$bin" upgrade -i "$dir/inventory" --log-dir "$dir/logs" --to "$to" --yes "$@" >>"$dir/upgrade.out" 2>&1; }
ceph osd pool create io 16 >/dev/null; ceph osd pool application enable io rados >/dev/null
client_loop "$from"
# PG states other than active+clean, once a second, through the mon of ceph1
# (the sampler follows the mon container across its restart).
sampler=$(base64 -w0 <<'EOF2'
while [ ! -e /root/pgstop ]; do
  s=$(docker exec ceph_mon ceph pg dump pgs_brief 2>/dev/null | awk '$1 ~ /^[0-9]+\./ && $2 != "active+clean" {print $1"="$2}' | tr '\n' ' ')
  [ -n "$s" ] && echo "$(date +%s%3N) $s" >>/root/pgstates
  sleep 1
done
EOF2
)
on ceph1 "rm -f /root/pgstates /root/pgstop; echo $sampler | base64 -d >/root/sampler.sh; nohup sh /root/sampler.sh >/dev/null 2>&1 &"
sleep 10
up --daemon-types mon,mgr
window() { # from to: the worst stall and the PG states during it
  local a=$1 b=$2 worst
  worst=$(on client1 "cat /root/io/stalls 2>/dev/null; true" | awk -v a="$a" -v b="$b" '$1>=a && $1<=b {print $1, $2, $3, $4}' | sort -k2 -n | tail -1)
  if [ -z "$worst" ]; then echo "  worst stall: none over 1.5 s"; return; fi
  set -- $worst
  echo "  worst stall: $2 ms (put $3, get $4), ended at +$(( $1 - a )) ms"
  on ceph1 "cat /root/pgstates" | awk -v s="$(( $1 - $2 ))" -v e="$1" '$1>=s-1000 && $1<=e {printf "    +%d ms:", $1 - s; $1=""; print}'
}
n=0
for h in ceph1 ceph2 ceph3; do
  way=${ways[$n]}; n=$((n + 1))
  ids=$(ceph osd ls-tree "$h")
  case $way in
    plain) opts=(-e ceph_upgrade_primary_affinity=false -e ceph_upgrade_read_lease_ratio=);;
    lease) opts=(-e ceph_upgrade_primary_affinity=false);;
    affinity) opts=(-e ceph_upgrade_read_lease_ratio=);;
    affinity+lease) opts=();;
  esac
  sleep 5
  t0=$(date +%s%3N)
  up --daemon-types osd --limit "$h" "${opts[@]}"
  t1=$(date +%s%3N)
  sleep 10
  t2=$(date +%s%3N)
  echo "$way $h (osd $ids): upgrade $(( (t1 - t0) / 1000 )) s"
  window "$t0" "$t2"
done
on client1 "touch /root/io/stop"
on ceph1 "touch /root/pgstop"
[ -n "${KEEP:-}" ] || "$bin" playground down --dir "$dir" >/dev/null
