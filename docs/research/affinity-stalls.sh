#!/bin/bash
# What a client waits for when a PG's primary changes with every OSD alive
# (primary affinity of one OSD flipped 0 <-> 1 every 20 s), on a 3-host
# playground of release $1 (default pacific): a client puts and gets 4 KiB
# objects, each `rados` run with --debug-objecter 10 logging to a file kept
# only when the round trip took over 3 s. Prints the slow round trips and
# the Objecter lines of each. Run from the repository root after `cargo
# build`. Session 6: no round trip over 3 s in 16 flips on Pacific with
# the default lease (docs/benchmarks.md).
set -euo pipefail
rel=${1:-pacific}
bin=${CEPHALO:-$PWD/target/debug/cephalo}
dir=/tmp/affstall-$rel
name=cephalo-affstall
# shellcheck source=docs/research/stall-lib.sh
. "$(dirname "$0")/stall-lib.sh"
# CLIENT=R: the client runs release R's `rados` (its image put on the hosts).
client=${CLIENT:-$rel}
[ "$client" = "$rel" ] || "$bin" playground image --dir "$dir" --release "$client" >/dev/null
ceph osd pool create io 16 >/dev/null; ceph osd pool application enable io rados >/dev/null
on client1 'mkdir -p /root/io && rm -rf /root/io/*; docker run -d --name io --network=host -v /etc/ceph:/etc/ceph:ro -v /root/io:/io cephalo/ceph:'"$client"' sh -c '"'"'
i=0
while [ ! -e /io/stop ]; do
  i=$((i+1)); o=io-$((i % 64)); head -c 4096 /dev/urandom >/tmp/w
  t0=$(date +%s%N)
  timeout 60 rados --debug-objecter 10 --debug-monc 10 --log-file /tmp/put.log -p io put "$o" /tmp/w
  t1=$(date +%s%N)
  timeout 60 rados --debug-objecter 10 --debug-monc 10 --log-file /tmp/get.log -p io get "$o" /tmp/r
  t2=$(date +%s%N)
  p=$(( (t1 - t0) / 1000000 )); g=$(( (t2 - t1) / 1000000 ))
  [ "$p" -gt 3000 ] && cp /tmp/put.log "/io/slow-$((t0 / 1000000))-put-$p.log"
  [ "$g" -gt 3000 ] && cp /tmp/get.log "/io/slow-$((t1 / 1000000))-get-$g.log"
  rm -f /tmp/put.log /tmp/get.log
done'"'"' >/dev/null'
# LEASE=R: the OSDs' read lease ratio R during the flips (as an upgrade's
# OSD phase holds it).
[ -z "${LEASE:-}" ] || ceph config set osd osd_pool_default_read_lease_ratio "$LEASE" >/dev/null
sleep 10
for k in $(seq "${ROUNDS:-8}"); do
  ceph osd primary-affinity osd.0 0 >/dev/null; echo "$(date +%s%3N) osd.0 affinity 0"; sleep 20
  ceph osd primary-affinity osd.0 1 >/dev/null; echo "$(date +%s%3N) osd.0 affinity 1"; sleep 20
done
on client1 "touch /root/io/stop"
on client1 'for f in /root/io/slow-*; do [ -e "$f" ] || continue; echo "== $f"; grep -E "send_op|handle_osd_op_reply|handle_osd_map|_maybe_request_map|laggy|resend|_scan_requests|ms_handle_reset|op_submit|calc_target|tick" "$f" | cut -c1-220 | head -60; done'
[ -n "${KEEP:-}" ] || "$bin" playground down --dir "$dir" >/dev/null
