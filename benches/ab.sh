#!/usr/bin/env bash
# A/B of two llmw binaries on the benchmarks that matter (docs/benchmarks.md, Engine, "2026-12-07:
# after the engine's layering (issue 24), A/B against cce8a7fa"): the old and the new client, one
# after the other in each round, against the SAME simulator, so that what differs between them is
# the client alone.
#
#   benches/ab.sh OLD_BIN NEW_BIN
#
# Build the old binary in a worktree with its own target directory, e.g.
#   git worktree add /tmp/old COMMIT && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release)
#
# Cases (CASES, default all five), each as in benches/engine.sh and timed the same way
# (/usr/bin/time; llmw's CPU = user + sys of the whole `llmw run`, its end-of-run analysis included),
# the figures by benches/engine/stats.py:
#   precision  send lag at 2,000 requests/s Poisson (benches/engine/precision.llmw), unpinned
#   ingest     512 streams of 1,000 tokens, the simulator on core 0 and llmw on core 1 (taskset):
#              chunks/s and llmw CPU per chunk
#   memory     2,000 concurrent streams (benches/engine/streams-2000.llmw), unpinned: peak RSS
#   overhead   512 streams, 10 ms simulator steps with --record-timings, pinned as ingest: llmw
#              CPU per chunk at one chunk per read, the client's share of the TTFT overhead
#   analysis   `llmw analyze --format json` of ANALYSIS_RUN (default
#              /tmp/llmw-analysis-bench/run-100000x1000, written by benches/analysis.sh): wall
#              time and peak RSS (the JSON itself may differ between versions; it is kept, not
#              compared)
#
# ROUNDS (default 3) rounds; in each, every case runs old then new, back to back. SIM (default
# NEW_BIN) is the simulator for both. OUT (default a new temporary directory) keeps every run;
# with OUT set, rounds accumulate across calls — FIRST_ROUND names the first of this call's
# rounds (default: one past the last already in OUT) — and ROUNDS=0 only prints the tables of
# what OUT holds. That lets a long A/B go in short stretches on a shared machine:
#   OUT=/tmp/ab ROUNDS=1 benches/ab.sh old new; ...; OUT=/tmp/ab ROUNDS=0 benches/ab.sh old new
# Needs python3 with pyarrow and numpy.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: benches/ab.sh OLD_BIN NEW_BIN" >&2; exit 2; }
old=$(realpath "$1"); new=$(realpath "$2")
cd "$(dirname "$0")/.."
sim=$(realpath "${SIM:-$new}")
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
port=${PORT:-18080}
cases=${CASES:-precision ingest memory overhead analysis}
analysis_run=${ANALYSIS_RUN:-/tmp/llmw-analysis-bench/run-100000x1000}
rounds=${ROUNDS:-3}
last=$(find "$out" -maxdepth 1 -name 'r*-*' -printf '%f\n' | sed -n 's/^r\([0-9]*\)-.*/\1/p' | sort -n | tail -1)
first=${FIRST_ROUND:-$(( ${last:-0} + 1 ))}
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; true' EXIT

start_sim() { # [taskset prefix...] -- [sim args...]
  local prefix=()
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done; shift
  "${prefix[@]}" "$sim" sim --port "$port" --profile fast "$@" >/dev/null 2>&1 &
  sim_pid=$!
  sleep 1
}
stop_sim() { [ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; }; sim_pid=""; }

run() { # dir bin workload [command prefix...]: one `llmw run`, timed as benches/engine.sh does
  local dir=$1 bin=$2 workload=$3; shift 3
  /usr/bin/time -f "  %e s wall, %U s user, %S s sys, peak RSS %M KB" -o "$dir.time" \
    "$@" "$bin" run "$workload" --target "http://127.0.0.1:$port" --out "$dir" --quiet >/dev/null 2>&1 || true
  mkdir -p "$dir"
  awk '/peak RSS/ { for (i = 1; i <= NF; i++) if ($(i+1) == "s" && ($(i+2) ~ /^user/ || $(i+2) ~ /^sys/)) cpu += $i } END { print cpu }' "$dir.time" > "$dir/cpu"
}

one() { # case which round
  local dir="$out/r$3-$1-$2" bin
  [ "$2" = old ] && bin=$old || bin=$new
  case $1 in
    precision)
      start_sim --
      run "$dir" "$bin" benches/engine/precision.llmw
      stop_sim
      python3 benches/engine/stats.py "$dir" > "$dir.stats" 2>&1 || true ;;
    ingest)
      start_sim taskset -c 0 --
      run "$dir" "$bin" benches/engine/ingest-512.llmw taskset -c 1
      stop_sim
      python3 benches/engine/stats.py "$dir" > "$dir.stats" 2>&1 || true ;;
    memory)
      start_sim --
      run "$dir" "$bin" benches/engine/streams-2000.llmw
      stop_sim
      python3 benches/engine/stats.py "$dir" > "$dir.stats" 2>&1 || true ;;
    overhead)
      start_sim taskset -c 0 -- --step-base-us 10000 --record-timings
      run "$dir" "$bin" benches/engine/overhead-512.llmw taskset -c 1
      curl -s "http://127.0.0.1:$port/llmw/timings" > "$dir.timings.json" || true
      stop_sim
      python3 benches/engine/stats.py "$dir" "$dir.timings.json" > "$dir.stats" 2>&1 || true ;;
    analysis)
      /usr/bin/time -f "  %e s wall, %U s user, %S s sys, peak RSS %M KB" -o "$dir.time" \
        "$bin" analyze --format json "$analysis_run" > "$dir.json" 2> "$dir.err" || echo "  $2: llmw analyze failed: $(tail -1 "$dir.err")" ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}

if [ "$rounds" -gt 0 ]; then
  [[ " $cases " == *" analysis "* ]] && cat "$analysis_run"/*.parquet "$analysis_run"/*/*.parquet > /dev/null 2>&1 || true  # both read it warm
  for round in $(seq "$first" $(( first + rounds - 1 ))); do
    echo "== round $round ($(uptime | sed 's/.*load/load/'))" > "$out/load-$round"
    for c in $cases; do
      for which in old new; do one "$c" "$which" "$round"; done
    done
  done
fi

python3 - "$out" <<'PY'
import glob, os, re, statistics, sys
import pyarrow.parquet as pq
out = sys.argv[1]
NUM = r"([0-9][0-9,]*\.?[0-9]*)"
def num(s): return float(s.replace(",", ""))
def figures(base):
    """Figures of one run from its .time and .stats files."""
    f = {}
    try:
        t = open(base + ".time").read()
        m = re.search(rf"{NUM} s wall, {NUM} s user, {NUM} s sys, peak RSS {NUM} KB", t)
        if m:
            f["wall s"] = num(m[1]); f["peak RSS MB"] = num(m[4]) / 1024
    except OSError:
        pass
    try:
        s = open(base + ".stats").read()
    except OSError:
        return f
    pats = {
        "ok requests": rf"ok {NUM}",
        "send lag p50 ms": rf"send lag .*?p50 {NUM} ms",
        "send lag p99 ms": rf"send lag .*?p99 {NUM} ms",
        "send lag max ms": rf"send lag .*?max {NUM} ms",
        "chunks/s": rf"{NUM} chunks/s",
        "CPU us/chunk": rf"{NUM} us per chunk",
        "TTFT overhead p99 ms": rf"TTFT overhead: .*?p99 {NUM} ms",
        "client share p50 ms": rf"client's share .*?p50 {NUM} ms",
        "client share p99 ms": rf"client's share .*?p99 {NUM} ms",
        "ITL overhead p99 ms": rf"ITL overhead: .*?p99 {NUM} ms",
        "lateness p99 worst s ms": rf"worst second {NUM} ms",
    }
    for k, p in pats.items():
        m = re.search(p, s)
        if m:
            f[k] = num(m[1])
    try:  # CPU per chunk to more digits than stats.py prints
        chunks = pq.read_metadata(base + "/chunks.parquet").num_rows
        f["CPU us/chunk"] = float(open(base + "/cpu").read()) / chunks * 1e6
    except (OSError, ValueError, ZeroDivisionError):
        pass
    return f
shown = {
    "precision": ("send precision, 2,000 req/s Poisson, unpinned",
                  ["send lag p50 ms", "send lag p99 ms", "send lag max ms", "CPU us/chunk"]),
    "ingest": ("ingestion, 512 streams, pinned", ["chunks/s", "CPU us/chunk", "ok requests", "peak RSS MB"]),
    "memory": ("2,000 streams, unpinned", ["peak RSS MB", "chunks/s", "CPU us/chunk"]),
    "overhead": ("overhead, 512 streams, 10 ms steps, pinned",
                 ["CPU us/chunk", "chunks/s", "client share p50 ms", "client share p99 ms",
                  "TTFT overhead p99 ms", "ITL overhead p99 ms"]),
    "analysis": ("llmw analyze --format json, warm", ["wall s", "peak RSS MB"]),
}
runs = {}
for path in glob.glob(f"{out}/r*-*-*.time"):
    m = re.match(r"r(\d+)-(\w+)-(old|new)\.time$", os.path.basename(path))
    if m:
        runs[int(m[1]), m[2], m[3]] = figures(path[:-5])
rounds = sorted({r for r, _, _ in runs})
for load in sorted(glob.glob(f"{out}/load-*"), key=lambda p: int(p.rsplit("-", 1)[1])):
    print(open(load).read().rstrip())
def fmt(v):
    return "—" if v is None else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4f}" if abs(v) < 0.01 else f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"
for case, (title, keys) in shown.items():
    if not any(c == case for _, c, _ in runs):
        continue
    print(f"== {title}")
    print(f"  {'figure':24} {'':4} " + " ".join(f"{'r' + str(r):>9}" for r in rounds) + f" {'min':>9} {'median':>9}")
    for k in keys:
        for which in ("old", "new"):
            vals = [runs.get((r, case, which), {}).get(k) for r in rounds]
            got = [v for v in vals if v is not None]
            if not got:
                continue
            print(f"  {k if which == 'old' else '':24} {which:4} " + " ".join(f"{fmt(v):>9}" for v in vals)
                  + f" {fmt(min(got)):>9} {fmt(statistics.median(got)):>9}")
PY
