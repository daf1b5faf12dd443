#!/bin/bash
# `cephalo map rbd` on a Reef playground (3 hosts unless HOSTS): a thin 100 GiB image
# whose objects are made by `rbd bench` random 4 KiB writes (so tens of
# thousands of objects without tens of GiB of data), then `map rbd` (and
# `map osd`) timed; objects mapped per second = objects / wall time of the
# whole command (SSH, `rbd info`, `rados ls`, `rbd diff`, the maps, the
# local hashing). The issue's target is 10,000 objects/s. Prints Markdown
# rows for docs/benchmarks.md.
# Usage: bash bench/map.sh [WRITES] [RUNS] [HOSTS]   (WRITES 4 KiB writes,
# default 60000; bench/smoke.sh runs 200 1 1)
set -euo pipefail
cd "$(dirname "$0")/.."
writes=${1:-60000}
runs=${2:-3}
hosts=${3:-3}
cargo build -q
bin=$PWD/target/debug/cephalo
dir=$(mktemp -d /tmp/cephalo-bench-map-XXXXXX)
cleanup() { "$bin" playground down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
# BENCH_KEEP=1 keeps the playground (and says where) to look into a run.
if [ -n "${BENCH_KEEP:-}" ]; then echo "kept: $dir" >&2; else trap cleanup EXIT; fi

"$bin" playground up --no-deploy --hosts "$hosts" --release reef --name cephalo-bench-map --subnet 10.77.0.0/24 --dir "$dir" >/dev/null
"$bin" deploy -i "$dir/inventory" --log-dir "$dir/logs" >/dev/null
in_mon() {
  "$bin" run -b --limit ceph1 -i "$dir/inventory" --log-dir "$dir/logs" -- \
    docker exec ceph_mon sh -c "$1" >/dev/null
}
in_mon "set -e; ceph osd pool create rbd 64 >/dev/null 2>&1; rbd pool init rbd; rbd create --size 100G rbd/big; \
  rbd bench --io-type write --io-size 4K --io-pattern rand --io-threads 32 --io-total $((writes * 4))K rbd/big >/dev/null"

echo "| run | objects | wall s (map rbd) | objects/s | wall s (map osd 0) |"
echo "|---|---:|---:|---:|---:|"
for r in $(seq 1 "$runs"); do
  t0=$(date +%s.%N)
  "$bin" map rbd rbd/big -i "$dir/inventory" --log-dir "$dir/logs" --json >"$dir/map.json"
  t1=$(date +%s.%N)
  "$bin" map osd 0 -i "$dir/inventory" --log-dir "$dir/logs" --json >/dev/null
  t2=$(date +%s.%N)
  objects=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_objects"])' "$dir/map.json")
  python3 - "$r" "$objects" "$t0" "$t1" "$t2" <<'PY'
import sys
r, n, t0, t1, t2 = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
print(f"| {r} | {n} | {t1 - t0:.2f} | {n / (t1 - t0):.0f} | {t2 - t1:.2f} |")
PY
done
