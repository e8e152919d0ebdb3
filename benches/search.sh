#!/usr/bin/env bash
# Capacity search against simulators of known batch limits (docs/benchmarks.md): for each
# max_seqs S, `search(1..256, hold: HOLD)` of long answers (a sharp knee at S users), and how
# many probes it took beside the steps a fixed-ratio sweep needs for the same 10 % precision
# over the range (ceil(ln 256 / ln 1.1) = 59) and the 9 of a doubling sweep (factor-2 answer).
# Prints one line per S: probes, the bracket found, the plateau, the verification holds.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
cargo build --release --quiet --bin llmw
llmw="$CARGO_TARGET_DIR/release/llmw"
out=${OUT:-/tmp/llmw-search-bench}
hold=${HOLD:-3s}
mkdir -p "$out"
cat > "$out/search.llmw" <<LLMW
workload "search-bench" {
  seed = 2
  requests { input = 50  output = 100 }
  target { ignore_eos = true }
  phase "find" {
    concurrency = search(1..256, hold: $hold, warmup: 500ms)
    verify = true
  }
}
LLMW
port=18600
for s in ${SEQS:-4 10 24 64}; do
  port=$((port + 1))
  "$llmw" sim --port "$port" --max-seqs "$s" --step-base-us 4000 --per-seq-us 0 \
    --per-prefill-token-us 0 --per-kv-token-ns 0 > "$out/sim-$s.log" 2>&1 &
  sim=$!
  sleep 0.5
  rm -rf "$out/run-$s"
  "$llmw" run "$out/search.llmw" --target "http://127.0.0.1:$port" --out "$out/run-$s" -q > /dev/null 2>&1 || true
  kill "$sim" 2>/dev/null || true
  "$llmw" analyze "$out/run-$s" --format json > "$out/run-$s.json"
  python3 - "$s" "$out/run-$s.json" <<'PY'
import json, sys
s, a = int(sys.argv[1]), json.load(open(sys.argv[2]))
r = a["search"][0]
sat = r["saturation"] or {}
v = ", ".join(f'{x["share"]:.0%}: {x["load"]:g} users {x["tps"] or 0:.0f} tok/s' for x in r["verify"])
print(f'max_seqs {s:3d}: {len(r["probes"]):2d} probes, bracket {sat.get("bracket")}, '
      f'plateau {sat.get("tps") or 0:.0f} tok/s (ideal {s}·250·100/101 = {s*250*100/101:.0f}); verify {v}')
PY
done
