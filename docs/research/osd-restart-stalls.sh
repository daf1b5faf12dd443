#!/bin/bash
# Client stalls of one OSD restart, on a 3-host playground of release $1
# (default pacific) with a client putting and getting 4 KiB objects (gaps
# over 1.5 s recorded): each OSD stopped the way an upgrade stops it and
# started again ("plain"), with its primary affinity 0 first ("affinity"),
# and with a shorter read lease ("lease02"). Run from the repository root
# after `cargo build`; prints one line per restart. Session 5 ran the
# "plain" rounds (docs/benchmarks.md).
set -euo pipefail
rel=${1:-pacific}
bin=$PWD/target/debug/cephalo
dir=/tmp/stall-$rel
name=cephalo-stall
# shellcheck source=docs/research/stall-lib.sh
. "$(dirname "$0")/stall-lib.sh"
ceph osd pool create io 16 >/dev/null; ceph osd pool application enable io rados >/dev/null
ceph osd set noscrub >/dev/null
client_loop "$rel"
wait_clean() { for _ in $(seq 120); do s=$(ceph pg stat 2>/dev/null); n=$(echo "$s" | sed -n 's/^\([0-9]*\) pgs: \([0-9]*\) active+clean;.*/\1 \2/p'); set -- $n; [ -n "${1:-}" ] && [ "$1" = "$2" ] && return; sleep 1; done; echo "not clean: $s"; }
now_ms() { date +%s%3N; }
host_of() { echo "ceph$(( $1 + 1 ))"; }
trial() {
  local way=$1 id=$2 h
  h=$(on ceph1 "docker exec ceph_mon ceph osd find $id -f json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["host"])')
  wait_clean; sleep 5
  local t0; t0=$(now_ms)
  case $way in
    affinity)
      ceph osd primary-affinity "$id" 0 >/dev/null
      for _ in $(seq 30); do n=$(ceph pg ls-by-primary "osd.$id" -f json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("pg_stats",d) if isinstance(d,dict) else d; print(len(d))'); [ "$n" = 0 ] && break; sleep 0.5; done
      wait_clean;;
  esac
  local ts; ts=$(now_ms)
  on "$h" "docker stop -t 120 ceph_osd_$id >/dev/null"
  ceph osd down "$id" --definitely-dead >/dev/null 2>&1 || ceph osd down "$id" >/dev/null
  sleep 2
  on "$h" "docker start ceph_osd_$id >/dev/null"
  for _ in $(seq 60); do ceph osd dump -f json | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if [o for o in d['osds'] if o['osd']==$id and o['up']] else 1)" && break; sleep 1; done
  wait_clean
  [ "$way" = affinity ] && { ceph osd primary-affinity "$id" 1 >/dev/null; wait_clean; }
  sleep 8
  local t1; t1=$(now_ms)
  worst=$(on client1 "cat /root/io/stalls 2>/dev/null; true" | awk -v a="$t0" -v b="$t1" '$1>=a && $1<=b+2000 {print $2" (put "$3", get "$4")"}' | sort -n | tail -1)
  echo "$way osd.$id on $h: worst stall ${worst:-none over 1.5 s} (stopped at +$((ts - t0)) ms)"
}
for round in 1 2; do
  for id in 0 1 2; do trial plain "$id"; done
  for id in 0 1 2; do trial affinity "$id"; done
done
ceph config set global osd_pool_default_read_lease_ratio 0.2 >/dev/null
for id in 0 1 2; do trial lease02 "$id"; done
on client1 "touch /root/io/stop"
"$bin" playground down --dir "$dir" >/dev/null
