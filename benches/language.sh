#!/usr/bin/env bash
# Language benchmarks (docs/benchmarks.md): `llmw plan` of ~1,000,000 requests, and `llmw check`
# of every shipped example. Release build; prints wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
cargo build --release --quiet
llmw="$CARGO_TARGET_DIR/release/llmw"
runs=${RUNS:-5}

echo "== llmw plan benches/plan-1m.llmw (best of $runs)"
for format in summary jsonl; do
  best=""
  for _ in $(seq "$runs"); do
    line=$( { /usr/bin/time -f "%e %M" "$llmw" plan benches/plan-1m.llmw --format "$format" >/dev/null; } 2>&1 | tail -1)
    secs=${line% *}; kb=${line#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < ${best% *})}"; then best="$secs $kb"; fi
  done
  echo "  --format $format: ${best% *} s, peak RSS $(( ${best#* } / 1024 )) MB"
done

echo "== llmw check, each example (mean of 50 runs)"
for f in workloads/*.llmw; do
  start=$(date +%s%N)
  for _ in $(seq 50); do "$llmw" check "$f" >/dev/null; done
  end=$(date +%s%N)
  echo "  $f: $(( (end - start) / 50 / 1000 )) µs"
done
