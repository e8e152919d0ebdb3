#!/usr/bin/env bash
# Engine benchmarks (docs/benchmarks.md). The simulator runs in a separate process (fast
# profile); llmw runs against it; the figures are computed from the run's Parquet files.
# Needs python3 with pyarrow and numpy (pip install pyarrow numpy) until `llmw analyze` lands.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
cargo build --release --quiet
llmw="$CARGO_TARGET_DIR/release/llmw"
out=$(mktemp -d)
port=${PORT:-18080}
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; true' EXIT

start_sim() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && sleep 0.5
  "$llmw" sim --port "$port" --profile fast "$@" >/dev/null 2>&1 &
  sim_pid=$!
  sleep 1
}
run() { # name workload
  /usr/bin/time -f "  $1: %e s wall, %U s user, %S s sys, peak RSS %M KB" \
    "$llmw" run "$2" --target "http://127.0.0.1:$port" --out "$out/$1" --quiet >/dev/null 2>"$out/$1.time" || true
  grep "peak RSS" "$out/$1.time"
}

echo "== send precision: Poisson 2000/s for 10 s"
start_sim
run precision benches/engine/precision.llmw
python3 benches/engine/stats.py "$out/precision"

echo "== ingestion: 512 streams of 1000 tokens, as fast as the simulator makes them"
run ingest benches/engine/ingest-512.llmw
python3 benches/engine/stats.py "$out/ingest"

echo "== memory: 2000 concurrent streams"
run memory benches/engine/streams-2000.llmw
python3 benches/engine/stats.py "$out/memory"

echo "== client overhead: 512 streams, simulator steps of 10 ms, its own timings recorded"
start_sim --step-base-us 10000 --record-timings
run overhead benches/engine/overhead-512.llmw
curl -s "http://127.0.0.1:$port/llmw/timings" > "$out/timings.json"
python3 benches/engine/stats.py "$out/overhead" "$out/timings.json"
