#!/bin/bash
# The real upgrades of tests/it/upgrade.rs (Nautilus -> Pacific -> Reef on
# the 3-host playground, a client writing and reading throughout), measured
# from cephalo's run logs: per upgrade and phase the wall time, cephalo's
# own share of it (wall time with no remote command running and no gate
# poll pause), the client's longest stall between two successful round
# trips, and how long PGs were not active+clean (the time the OSD gates
# waited for clean PGs). Prints Markdown for docs/benchmarks.md.
# Usage: bash bench/upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/cephalo-bench-upgrade-XXXXXX)
trap 'rm -rf "$out"' EXIT
CEPHALO_UPGRADE_FIGURES="$out/figures.json" cargo test -q --test it -- --exact \
  upgrade::nautilus_to_pacific_to_reef_under_client_io_with_a_kill_and_an_abort >&2
python3 - "$out/figures.json" "$out/figures.json.logs" <<'PY'
import json, os, sys
fig = json.load(open(sys.argv[1]))
logs = sys.argv[2]
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
rows = []
for name in sorted(os.listdir(logs)):
    events = [json.loads(l) for l in open(os.path.join(logs, name))]
    plans = [e for e in events if e.get("event") == "plan_started" and e.get("plan", "").startswith("upgrade ")]
    if not plans:
        continue
    plan = plans[0]["plan"]
    steps, cur = {}, None
    for e in events:
        if e.get("event") == "step_started":
            cur = e["step"].split(":")[0]
            phase = {"mon": "mons", "mgr": "mgrs", "osd-host": "osds", "mds": "mds", "rgw": "rgws",
                     "preflight": "preflight", "backup": "backup"}.get(cur, "flags and finalise")
            steps.setdefault(phase, []).append([e["time_ms"], None])
        elif e.get("event") == "step_finished" and steps:
            for spans in steps.values():
                if spans and spans[-1][1] is None:
                    spans[-1][1] = e["time_ms"]
    cmds = [(e["start_ms"], e["start_ms"] + e["ms"]) for e in events if e.get("event") == "command"]
    waits = [(e["start_ms"], e["start_ms"] + e["ms"]) for e in events if e.get("event") == "wait"]
    unclean = sum(e["ms"] for e in events if e.get("event") == "wait" and "active+clean" in e.get("step", "")) / 1000
    t0 = min(e["time_ms"] for e in events); t1 = max(e["time_ms"] for e in events)
    wall = (t1 - t0) / 1000
    busy = union(cmds + waits)
    phases = ", ".join(f"{p} {sum((b or a) - a for a, b in s) / 1000:.0f} s" for p, s in steps.items())
    rows.append((plan, wall, 100 * (wall - busy) / wall if wall else 0, unclean, phases))
print("| run | wall s | cephalo's own share | PGs not active+clean | phases |")
print("|---|---:|---:|---:|---|")
for plan, wall, own, unclean, phases in rows:
    print(f"| {plan} | {wall:.0f} | {own:.1f}% | {unclean:.0f} s | {phases} |")
print()
print(f"client: {fig['ops']} put+get round trips, 0 errors, longest stall {fig['max_stall_ms'] / 1000:.1f} s")
PY
