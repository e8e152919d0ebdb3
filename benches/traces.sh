#!/usr/bin/env bash
# Trace benchmarks (docs/benchmarks.md): importing the full Azure conversation trace and a
# 1,000,000-row generic CSV, and replay fidelity against the simulator in a separate process.
# Needs the shared traces (TRACES, default ../shared/traces) and python3 with pyarrow, numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
cargo build --release --quiet
llmw="$CARGO_TARGET_DIR/release/llmw"
traces=${TRACES:-../shared/traces}
conv="$traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"
out=$(mktemp -d)

echo "== import: the full Azure conversation trace (19,366 rows)"
for _ in 1 2 3; do /usr/bin/time -f "  %e s, peak RSS %M KB" "$llmw" trace stats "$conv" --format azure >/dev/null; done

echo "== import: a generic 1,000,000-row CSV"
python3 - "$out/big.csv" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write("t,in,out\n")
    t = 0.0
    for _ in range(1_000_000):
        t += random.expovariate(100.0)
        f.write(f"{t:.6f},{random.randint(10, 4000)},{random.randint(1, 1000)}\n")
PY
for _ in 1 2 3; do /usr/bin/time -f "  %e s, peak RSS %M KB" "$llmw" trace stats "$out/big.csv" --format csv --columns at=t,input=in,output=out --time-unit s >/dev/null; done

echo "== fidelity: Azure conversation, window 10m..15m at 5x, simulator (fast) in its own process"
"$llmw" sim --port 18081 --profile fast >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
sleep 1
for i in 1 2 3; do
  "$llmw" replay "$conv" --format azure --window 10m..15m --speed 5 --target http://127.0.0.1:18081 --out "$out/fid$i" --quiet >/dev/null 2>&1
  python3 benches/traces/fidelity.py "$out/fid$i" "$conv" 600 900 5
done
