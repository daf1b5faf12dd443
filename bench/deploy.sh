#!/bin/bash
# Deploy on a fresh Pacific playground (3 hosts unless HOSTS), then again on the healthy
# cluster: wall time of each, and the share of it spent outside remote
# commands (wall time during which no command ran on any host), from the
# `command` events of cephalo's run log. Prints Markdown rows for
# docs/benchmarks.md. Usage: bash bench/deploy.sh [RUNS] [HOSTS]
# (bench/smoke.sh runs 1 1).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
hosts=${2:-3}
cargo build -q
bin=$PWD/target/debug/cephalo
dir=$(mktemp -d /tmp/cephalo-bench-deploy-XXXXXX)
cleanup() { "$bin" playground down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

share() { # LOG WALL_S
  python3 - "$1" "$2" <<'PY'
import json, sys
log, wall = sys.argv[1], float(sys.argv[2])
def union(spans):
    total, start, end = 0, None, None
    for a, b in sorted(spans):
        if end is None or a > end:
            if end is not None:
                total += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None:
        total += end - start
    return total / 1000.0
commands, waits = [], []
for line in open(log):
    e = json.loads(line)
    span = (e.get("start_ms", 0), e.get("start_ms", 0) + e.get("ms", 0))
    if e.get("event") == "command":
        commands.append(span)
    elif e.get("event") == "wait":
        waits.append(span)
c = union(commands)
cw = union(commands + waits)
print(f"{wall:.1f}|{len(commands)}|{c:.1f}|{100 * (wall - c) / wall:.1f}|{100 * (wall - cw) / wall:.1f}")
PY
}

echo "| run | wall s | remote commands | s with a command running | % outside remote commands | % outside commands and 1 s poll pauses |"
echo "|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$runs"); do
  "$bin" playground down --dir "$dir" >/dev/null 2>&1 || true
  "$bin" playground up --no-deploy --hosts "$hosts" --name cephalo-bench --subnet 10.78.0.0/24 --dir "$dir" >/dev/null
  for what in first second; do
    rm -rf "$dir/logs"
    t0=$(date +%s.%N)
    "$bin" deploy -i "$dir/inventory" --log-dir "$dir/logs" >/dev/null 2>&1
    t1=$(date +%s.%N)
    wall=$(echo "$t1 - $t0" | bc)
    IFS='|' read -r w n c p q <<<"$(share "$(ls "$dir"/logs/*.jsonl)" "$wall")"
    echo "| $what deploy ($r) | $w | $n | $c | $p | $q |"
  done
done
