#!/bin/bash
# First deploy wall time of a fresh playground with 3 and with 6 OSD hosts
# (one disk each), same run, and the ratio: issue 13's target is 6 hosts
# within 1.25x of 3 (OSDs created on every host at once). Also says whether
# the OSD creations overlapped in the run log. Prints Markdown rows for
# docs/benchmarks.md. Usage: bash bench/deploy-hosts.sh [SMALL LARGE]
# (host counts, default 3 and 6; bench/smoke.sh runs 1 and 2).
set -euo pipefail
small=${1:-3}
large=${2:-6}
cd "$(dirname "$0")/.."
cargo build -q
bin=$PWD/target/debug/cephalo
dir=$(mktemp -d /tmp/cephalo-bench-hosts-XXXXXX)
cleanup() { "$bin" playground down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
echo "| OSD hosts | first deploy s | OSD creation step s | creations overlapping | steps over 0.5 s (s) |"
echo "|---:|---:|---:|---|---|"
declare -A wall
for n in "$small" "$large"; do
  "$bin" playground down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"/logs
  "$bin" playground up --no-deploy --hosts "$n" --name cephalo-bench-hosts --subnet 10.79.0.0/24 --dir "$dir" >/dev/null
  t0=$(date +%s.%N)
  "$bin" deploy -i "$dir/inventory" --log-dir "$dir/logs" >/dev/null 2>&1
  t1=$(date +%s.%N)
  wall[$n]=$(echo "$t1 - $t0" | bc)
  python3 - "$(ls "$dir"/logs/*.jsonl | tail -1)" "$n" "${wall[$n]}" <<'PY'
import json, sys
log, n, wall = sys.argv[1], sys.argv[2], float(sys.argv[3])
events = [json.loads(l) for l in open(log)]
start = {e["step"]: e["time_ms"] for e in events if e.get("event") == "step_started"}
end = {e["step"]: e["time_ms"] for e in events if e.get("event") == "step_finished"}
step = (end.get("osd creations", 0) - start.get("osd creations", 0)) / 1000
mkfs = sorted((e["start_ms"], e["start_ms"] + e["ms"], e["host"]) for e in events
              if e.get("event") == "command" and "--mkfs" in e.get("command", "") and "ceph-osd" in e.get("command", ""))
overlap = any(a2 < b1 and h1 != h2 for i, (a1, b1, h1) in enumerate(mkfs) for (a2, b2, h2) in mkfs[i + 1:])
steps = ", ".join(f"{k} {(end[k] - start[k]) / 1000:.1f}" for k in start if k in end and end[k] - start[k] >= 500)
print(f"| {n} | {wall:.1f} | {step:.1f} | {'yes' if overlap else 'no'} ({len(mkfs)} mkfs) | {steps} |")
PY
done
echo
echo "$large hosts / $small hosts: $(echo "scale=2; ${wall[$large]} / ${wall[$small]}" | bc)x (target for 6 / 3: at most 1.25x)"
