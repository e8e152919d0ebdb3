"""The analysis' headline numbers computed by DuckDB from a run's Parquet files (or several
shards' at once), printed as JSON, for benches/analysis.sh to set beside `llmw analyze`.

    python benches/analysis_duckdb.py RUN_DIR [RUN_DIR...]

Per step of each phase: ok requests, TTFT p50/p99 (ms), chunk-gap count and p50/p99 (ms), and
tps = output tokens / (last done - first sent). Percentiles are quantile_cont: linear
interpolation between closest ranks, llmw's definition. Every request is kept (no warm-up).
"""
import json
import os
import sys
import time

import duckdb

dirs = sys.argv[1:]
req = "[" + ", ".join(f"'{d}/requests*.parquet', '{d}/requests/*.parquet'" for d in dirs) + "]"
chk = "[" + ", ".join(f"'{d}/chunks*.parquet', '{d}/chunks/*.parquet'" for d in dirs) + "]"


def files(pattern_list):
    # read_parquet refuses a glob that matches nothing: keep the ones that match.
    import glob
    out = [p for p in eval(pattern_list) if glob.glob(p)]
    return "[" + ", ".join(f"'{p}'" for p in out) + "]"


req, chk = files(req), files(chk)
con = duckdb.connect()
# DuckDB's own advice for large windows: no insertion order to keep, a memory limit past which
# it spills to its temporary directory (set MEMORY to change it).
con.execute(f"SET memory_limit = '{os.environ.get('MEMORY', '12GB')}'")
con.execute("SET preserve_insertion_order = false")
con.execute(f"SET temp_directory = '{os.environ.get('TMPDIR', '/tmp')}/duckdb-spill'")
t0 = time.time()
steps = con.execute(f"""
  SELECT phase, step, count(*) FILTER (WHERE status = 'ok') AS ok,
         quantile_cont((first_token_ns - sent_ns) / 1e6, [0.5, 0.99])
           FILTER (WHERE status = 'ok' AND first_token_ns IS NOT NULL) AS ttft,
         sum(output_tokens) FILTER (WHERE status = 'ok') / ((max(done_ns) - min(sent_ns)) / 1e9) AS tps
  FROM read_parquet({req}) GROUP BY phase, step ORDER BY phase, step""").fetchall()
gaps = con.execute(f"""
  WITH r AS (SELECT request_id, phase, step FROM read_parquet({req}) WHERE status = 'ok'),
       g AS (SELECT request_id, at_ns - lag(at_ns) OVER (PARTITION BY request_id ORDER BY seq) AS gap
             FROM read_parquet({chk}))
  SELECT r.phase, r.step, count(gap), quantile_cont(gap / 1e6, [0.5, 0.99])
  FROM g JOIN r USING (request_id) WHERE gap IS NOT NULL GROUP BY r.phase, r.step""").fetchall()
gap = {(p, s): (n, q) for p, s, n, q in gaps}
out = []
for phase, step, ok, ttft, tps in steps:
    n, q = gap.get((phase, step), (0, [None, None]))
    out.append({"phase": phase, "step": step, "ok": ok, "ttft_p50": ttft[0], "ttft_p99": ttft[1],
                "gaps": n, "gap_p50": q[0], "gap_p99": q[1], "tps": tps})
print(json.dumps({"seconds": time.time() - t0, "groups": out}))
