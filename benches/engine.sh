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
run() { # name workload [command prefix, e.g. taskset -c 1]
  local name=$1 workload=$2; shift 2
  /usr/bin/time -f "  $name: %e s wall, %U s user, %S s sys, peak RSS %M KB" -o "$out/$name.time" \
    "$@" "$llmw" run "$workload" --target "http://127.0.0.1:$port" --out "$out/$name" --quiet >/dev/null 2>&1 || true
  grep "peak RSS" "$out/$name.time"
  # llmw's CPU seconds, for the per-chunk cost stats.py prints.
  awk '/peak RSS/ { for (i = 1; i <= NF; i++) if ($(i+1) == "s" && ($(i+2) ~ /^user/ || $(i+2) ~ /^sys/)) cpu += $i } END { print cpu }' "$out/$name.time" > "$out/$name/cpu"
}

echo "== send precision: Poisson 2000/s for 10 s"
start_sim
run precision benches/engine/precision.llmw
python3 benches/engine/stats.py "$out/precision"

echo "== ingestion: 512 streams of 1000 tokens, as fast as the simulator makes them"
run ingest benches/engine/ingest-512.llmw
python3 benches/engine/stats.py "$out/ingest"

echo "== ingestion, pinned: the simulator on core 0, llmw on core 1 (one client core's ceiling)"
[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && sleep 0.5
taskset -c 0 "$llmw" sim --port "$port" --profile fast >/dev/null 2>&1 &
sim_pid=$!
sleep 1
run ingest-pinned benches/engine/ingest-512.llmw taskset -c 1
python3 benches/engine/stats.py "$out/ingest-pinned"
start_sim

echo "== memory: 2000 concurrent streams"
run memory benches/engine/streams-2000.llmw
python3 benches/engine/stats.py "$out/memory"

# The overhead cases: the simulator's steps take 10 ms and it records each request's own TTFT
# and decode time, joined with llmw's by request id. Unpinned, llmw and the simulator share both
# cores; pinned, the simulator has core 0 and llmw core 1 (taskset).
overhead() { # name workload pin
  if [ "$3" = pinned ]; then
    sim_prefix=(taskset -c 0); run_prefix=(taskset -c 1)
  else
    sim_prefix=(); run_prefix=()
  fi
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && sleep 0.5
  "${sim_prefix[@]}" "$llmw" sim --port "$port" --profile fast --step-base-us 10000 --record-timings >/dev/null 2>&1 &
  sim_pid=$!
  sleep 1
  run "$1" "$2" "${run_prefix[@]}"
  curl -s "http://127.0.0.1:$port/llmw/timings" > "$out/$1.timings.json"
  python3 benches/engine/stats.py "$out/$1" "$out/$1.timings.json"
}
for streams in 512 2048; do
  for pin in unpinned pinned; do
    echo "== client overhead: $streams streams, simulator steps of 10 ms, $pin"
    overhead "overhead-$streams-$pin" "benches/engine/overhead-$streams.llmw" "$pin"
  done
done
