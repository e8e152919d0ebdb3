#!/usr/bin/env bash
# The analysis at any size (docs/benchmarks.md): `llmw analyze` of synthetic runs — 10^8 chunk
# rows, 10^9 rows over the same 100,000 requests, 10^9 rows over 1,000,000 requests, and that
# last run written as 3 shards — time and peak memory, beside DuckDB computing the same per-step
# numbers from the same files, and a check that the two agree (counts equal, percentiles and
# tps to 1e-9). Needs ~14 GB of disk under OUT (default /tmp/llmw-analysis-bench) and python3
# with duckdb (VENV, default ~/.cache/llmw-venv). SIZES lists REQUESTSxCHUNKS_PER runs; the
# last is also written as 3 shards.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmw-target}"
cargo build --release --quiet --bin llmw --example synthetic_run
llmw="$CARGO_TARGET_DIR/release/llmw"
gen="$CARGO_TARGET_DIR/release/examples/synthetic_run"
py="${VENV:-$HOME/.cache/llmw-venv}/bin/python"
out=${OUT:-/tmp/llmw-analysis-bench}
mkdir -p "$out"
sizes=${SIZES:-100000x1000 100000x10000 1000000x1000}
last=""
for size in $sizes; do
  [ -e "$out/run-$size/run.json" ] || "$gen" "$out/run-$size" "${size%x*}" "${size#*x}"
  last=$size
done
for i in 0 1 2; do
  [ -e "$out/shard-$last-$i/run.json" ] || "$gen" "$out/shard-$last-$i" "${last%x*}" "${last#*x}" "$i/3"
done

compare() { # NAME DIRS...
  local name=$1; shift
  echo "== $name: $(du -shL --total "$@" | tail -1 | cut -f1) of Parquet"
  /usr/bin/time -f "  llmw analyze: %e s, peak RSS %M KB" "$llmw" analyze --format json "$@" > "$out/$name.llmw.json"
  if ! /usr/bin/time -f "  duckdb:       %e s, peak RSS %M KB" "$py" benches/analysis_duckdb.py "$@" > "$out/$name.duck.json" 2> "$out/$name.duck.err"; then
    grep -E "Error|Exception" "$out/$name.duck.err" | head -2 | sed 's/^/  duckdb failed: /'
    tail -1 "$out/$name.duck.err"
    return 0
  fi
  tail -1 "$out/$name.duck.err"
  "$py" - "$out/$name.llmw.json" "$out/$name.duck.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
groups = {(g["phase"], g["step"]): g for g in a["groups"]}
def same(x, y):
    return x == y or (x is not None and y is not None and abs(x - y) <= 1e-9 * max(abs(x), 1))
for want in d["groups"]:
    g = groups[(want["phase"], want["step"])]
    got = {"ok": g["requests"]["ok"], "ttft_p50": g["ttft_ms"]["p50"], "ttft_p99": g["ttft_ms"]["p99"],
           "gaps": g["chunk_gap_ms"]["count"], "gap_p50": g["chunk_gap_ms"]["p50"],
           "gap_p99": g["chunk_gap_ms"]["p99"], "tps": g["tps"]}
    bad = [k for k in got if not same(got[k], want[k])]
    if bad:
        sys.exit(f"  MISMATCH step {want['step']}: " + ", ".join(f"{k} llmw {got[k]} duckdb {want[k]}" for k in bad))
g = d["groups"][0]
print(f"  agree on {len(d['groups'])} steps: ok, TTFT p50/p99, chunk gaps (count, p50, p99), tps "
      f"(step 0: {g['gaps']} gaps, p50 {g['gap_p50']:.3f} ms, p99 {g['gap_p99']:.3f} ms)")
PY
}
for size in ${ONLY:-$sizes}; do compare "run-$size" "$out/run-$size"; done
compare "shards-$last" "$out/shard-$last-0" "$out/shard-$last-1" "$out/shard-$last-2"
