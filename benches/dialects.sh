#!/usr/bin/env bash
# Per-chunk cost by API (docs/benchmarks.md, "Per-chunk cost by API"): the same streaming
# workload once per API — chat, completions, responses, messages — against `llmw sim --profile
# fast` in a separate process, the simulator on core 0 and llmw on core 1 (taskset), and llmw's
# CPU (user + sys, /usr/bin/time, as benches/engine.sh) over the chunks it recorded. Two cases:
#   read1  benches/engine/dialect.llmw: 512 streams of 200 tokens, 10 ms simulator steps — one
#          chunk per read (engine.sh's "overhead, 512, pinned")
#   burst  the same with 1,000 tokens and no step time — several chunks per read (its ingestion)
# The four APIs run back to back, ROUNDS times (default 3), so the machine's drift falls on all
# alike; each API's figure is set against chat's of the same round. LLMW=path skips the build.
# Needs python3 with pyarrow.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LLMW:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
  cargo build --release --quiet
  LLMW="$CARGO_TARGET_DIR/release/llmw"
fi
out=$(mktemp -d)
port=${PORT:-18080}
apis="chat completions responses messages"
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; true' EXIT

measure() { # case api round: one run, its CPU seconds into $out/NAME/cpu
  local name="$1-$2-$3" sim_args=() workload="$out/$1-$2.llmw"
  sed "s/api = chat/api = $2/" benches/engine/dialect.llmw > "$workload"
  if [ "$1" = read1 ]; then
    sim_args=(--step-base-us 10000)
  else
    sed -i "s/output = 200/output = 1000/; s/duration = 20s/duration = 15s/" "$workload"
  fi
  taskset -c 0 "$LLMW" sim --port "$port" --profile fast "${sim_args[@]}" >/dev/null 2>&1 &
  sim_pid=$!
  sleep 1
  /usr/bin/time -f "%U %S" -o "$out/$name.time" taskset -c 1 \
    "$LLMW" run "$workload" --target "http://127.0.0.1:$port" --out "$out/$name" --quiet >/dev/null 2>&1 || true
  awk '{ print $1 + $2 }' "$out/$name.time" > "$out/$name/cpu"
  kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
}

for round in $(seq "${ROUNDS:-3}"); do
  echo "== round $round ($(uptime | sed 's/.*load/load/'))"
  for case in read1 burst; do
    for api in $apis; do measure "$case" "$api" "$round"; done
  done
done

python3 - "$out" $apis <<'PY'
import glob, os, sys
import pyarrow.parquet as pq
out, apis = sys.argv[1], sys.argv[2:]
for case in ("read1", "burst"):
    print(f"== {case}: llmw CPU per chunk (µs), each round; vs chat's of the same round")
    us = {}
    for run in sorted(glob.glob(f"{out}/{case}-*-*/")):
        _, api, rnd = os.path.basename(run.rstrip("/")).split("-")
        ok = sum(s == "ok" for s in pq.read_table(f"{run}/requests.parquet", columns=["status"]).column("status").to_pylist())
        chunks = pq.read_table(f"{run}/chunks.parquet", columns=["at_ns"]).num_rows
        us[api, rnd] = float(open(f"{run}/cpu").read()) / chunks * 1e6
        print(f"  {api:12} round {rnd}: {us[api, rnd]:.2f} µs ({chunks:,} chunks, {ok:,} ok requests)")
    rounds = sorted({r for _, r in us})
    for api in apis:
        vals = [us[api, r] for r in rounds if (api, r) in us]
        ratios = [us[api, r] / us["chat", r] for r in rounds if (api, r) in us and ("chat", r) in us]
        print(f"  {api:12} {min(vals):.2f}–{max(vals):.2f} µs, {min(ratios):.2f}–{max(ratios):.2f}× chat's"
              f"{'' if max(ratios) <= 1.2 else '  OVER 20 %'}")
PY
