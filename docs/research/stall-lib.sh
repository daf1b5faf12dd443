# Sourced by the stall research scripts here: a 3-host playground with one
# client host, deployed, the client given the admin files, and the helpers
# `on HOST COMMAND` (a command on a host, its output only) and `ceph ARGS`
# (through ceph1's mon), `client_loop RELEASE`. Set `bin`, `dir`, `rel` and
# `name` before.
"$bin" playground down --dir "$dir" >/dev/null 2>&1 || true
rm -rf "$dir"
"$bin" playground up --no-deploy --release "$rel" --clients 1 --name "$name" --subnet 10.92.0.0/24 --dir "$dir" >/dev/null
"$bin" deploy -i "$dir/inventory" --log-dir "$dir/logs" >/dev/null
"$bin" admin -i "$dir/inventory" --log-dir "$dir/logs" client1 >/dev/null
on() { "$bin" run -b --limit "$1" -i "$dir/inventory" --log-dir "$dir/logs" -- sh -c "$2" 2>/dev/null | sed -n '/>>$/,/^RECAP$/p' | sed '1d;$d'; }
ceph() { on ceph1 "docker exec ceph_mon ceph $*"; }
# A client on client1 with RELEASE's `rados`, putting and getting 4 KiB
# objects in pool `io` until /root/io/stop exists; every gap over 1.5 s
# between two successful round trips goes to /root/io/stalls as "end_ms
# gap_ms put_ms get_ms".
client_loop() {
on client1 'mkdir -p /root/io && rm -f /root/io/*; docker run -d --name io --network=host -v /etc/ceph:/etc/ceph:ro -v /root/io:/io cephalo/ceph:'"$1"' sh -c '"'"'
i=0; last=$(date +%s%N)
while [ ! -e /io/stop ]; do
  i=$((i+1)); o=io-$((i % 64)); head -c 4096 /dev/urandom >/tmp/w
  t0=$(date +%s%N)
  if timeout 60 rados -p io put "$o" /tmp/w && t1=$(date +%s%N) && timeout 60 rados -p io get "$o" /tmp/r; then
    now=$(date +%s%N); gap=$(( (now - last) / 1000000 )); last=$now
    [ "$gap" -gt 1500 ] && echo "$((now / 1000000)) $gap $(( (t1 - t0) / 1000000 )) $(( (now - t1) / 1000000 ))" >>/io/stalls
  fi
done'"'"' >/dev/null'
}
