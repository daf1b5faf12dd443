#!/bin/bash
# The scale simulation (bench/sim/main.rs): cephalo's real deploy and
# restart plans on the fake cluster, with latencies calibrated from the
# playground's run log, for 10, 100 and 1000 hosts of 10 OSDs each.
# Replaces the table between the `bench/sim.sh` markers of
# docs/benchmarks.md (BENCH_DOC names another file: bench/smoke.sh). Usage:
# bash bench/sim.sh [HOSTS...]; BENCH_PROFILE=dev runs the debug build
# (what `cargo test` built) instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BENCH_PROFILE:-release}" = dev ]; then
  cargo build -q --example scale-sim
  sim=./target/debug/examples/scale-sim
else
  cargo build -q --release --example scale-sim
  sim=./target/release/examples/scale-sim
fi
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$sim" "$@" 2>/dev/null >"$table"
cat "$table"
python3 - "$table" "${BENCH_DOC:-docs/benchmarks.md}" <<'PY'
import re, sys
doc = sys.argv[2]
text = open(doc).read()
table = open(sys.argv[1]).read().strip()
start, end = "<!-- bench/sim.sh:start -->", "<!-- bench/sim.sh:end -->"
block = f"{start}\n{table}\n{end}"
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + block + "\n"
open(doc, "w").write(text)
PY
