#!/bin/bash
# The real upgrades of tests/it/upgrade.rs (Nautilus -> Pacific -> Reef on
# the 3-host playground, a client writing and reading throughout), measured
# from cephalo's run logs: per upgrade and phase the wall time, cephalo's
# own share of it (wall time with no remote command running and no gate
# poll pause), the client's longest stall between two successful round
# trips, and how long PGs were not active+clean (the time the OSD gates
# waited for clean PGs). Prints Markdown for docs/benchmarks.md.
# Usage: bash bench/upgrade.sh [--from FIGURES]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/cephalo-bench-upgrade-XXXXXX)
# BENCH_KEEP=DIR keeps the run logs and the client's figures there.
trap 'if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$out"/. "$BENCH_KEEP"/; fi; rm -rf "$out"' EXIT
# --from FIGURES: read the figures a test run already wrote (a run of the
# suite with CEPHALO_UPGRADE_FIGURES=FIGURES set) instead of running it.
if [ "${1:-}" = --from ]; then
  cp "$2" "$out/figures.json" && cp -r "$2.logs" "$out/figures.json.logs"
else
  CEPHALO_UPGRADE_FIGURES="$out/figures.json" cargo test -q --test it -- --exact \
    upgrade::nautilus_to_pacific_to_reef_under_client_io_with_a_kill_and_an_abort >&2
fi
python3 - "$out/figures.json" "$out/figures.json.logs" <<'PY'
import json, os, sys, datetime
fig = json.load(open(sys.argv[1]))
logs = sys.argv[2]
def union(spans, lo, hi):
    total, start, end = 0, None, None
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi):
        if end is None or a > end:
            if end is not None:
                total += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None:
        total += end - start
    return total / 1000.0
PHASE = {"mon": "mons", "mgr": "mgrs", "osd-host": "osds", "mds": "mds", "rgw": "rgws",
         "preflight": "preflight", "backup": "backup", "hold": "osds", "put-back": "osds"}
rows, steps_all, cmds_all = [], [], []
for name in sorted(os.listdir(logs)):
    events = [json.loads(l) for l in open(os.path.join(logs, name))]
    plans = [e for e in events if e.get("event") == "plan_started" and e.get("plan", "").startswith("upgrade ")]
    if not plans:
        continue
    plan = plans[0]["plan"]
    spans, cur = [], None
    for e in events:
        if e.get("event") == "step_started":
            cur = [e["step"], e["time_ms"], None]
            spans.append(cur)
        elif e.get("event") == "step_finished" and cur and cur[2] is None:
            cur[2] = e["time_ms"]
    t0 = min(e["time_ms"] for e in events)
    t1 = max(e["time_ms"] for e in events)
    for sp in spans:
        if sp[2] is None:
            sp[2] = t1
    steps_all += spans
    cmds = [(e["start_ms"], e["start_ms"] + e["ms"]) for e in events if e.get("event") == "command"]
    cmds_all += [(e["start_ms"], e["start_ms"] + e["ms"], e["host"], e["command"]) for e in events if e.get("event") == "command"]
    waits = [(e["start_ms"], e["start_ms"] + e["ms"]) for e in events if e.get("event") == "wait"]
    unclean = sum(e["ms"] for e in events if e.get("event") == "wait" and "active+clean" in e.get("step", "")) / 1000
    wall = (t1 - t0) / 1000
    busy = union(cmds + waits, t0, t1)
    phases = {}
    for step, a, b in spans:
        p = PHASE.get(step.split(":")[0], "flags and finalise")
        phases[p] = phases.get(p, 0) + (b - a) / 1000
    ph = ", ".join(f"{p} {v:.0f} s" for p, v in phases.items())
    rows.append((plan, wall, 100 * (wall - busy) / wall if wall else 0, unclean, ph))
print("| run | wall s | cephalo's own share | PGs not active+clean | phases |")
print("|---|---:|---:|---:|---|")
for plan, wall, own, unclean, ph in rows:
    print(f"| {plan} | {wall:.0f} | {own:.1f}% | {unclean:.0f} s | {ph} |")
print()
print(f"client: {fig['ops']} put+get round trips, 0 errors, longest stall {fig['max_stall_ms'] / 1000:.1f} s")
stalls = fig.get("stalls", [])
if stalls:
    print()
    print("| client stall | ended at | step running | daemon commands in the stall |")
    print("|---:|---|---|---|")
for st in stalls:
    end, gap = st[0], st[1]
    a = end - gap
    inside = [s for s, x, y in steps_all if x < end and y > a]
    def short(c):
        w = [x for x in c.split() if x not in ("sudo", "-n", "--")]
        if "ceph" in w and "--connect-timeout" in w:
            w = ["ceph"] + w[w.index("--connect-timeout") + 2:]
        return " ".join(w)[:50]
    what = sorted({f"{h}: {short(c)} (+{(x - a) / 1000:.1f} s, {(y - x) / 1000:.1f} s)" for x, y, h, c in cmds_all
                   if x < end and y > a and any(k in c for k in (" stop ", " run -d", " rm ", "osd down", "osd set", "osd unset", "primary-affinity", "read_lease"))})
    when = datetime.datetime.utcfromtimestamp(end / 1000).strftime("%H:%M:%S")
    split = f" (put {st[2] / 1000:.1f} s, get {st[3] / 1000:.1f} s)" if len(st) > 3 else ""
    print(f"| {gap / 1000:.1f} s{split} | {when} | {', '.join(inside) or '(between cephalo runs)'} | {'; '.join(what) or '-'} |")
PY
