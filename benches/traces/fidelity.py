"""Replay fidelity: the run's send times against the trace's own offsets (divided by the speed),
parsed independently here from the Azure CSV. Usage: fidelity.py RUN_DIR TRACE.csv FROM_S TO_S SPEED"""
import csv
import datetime
import sys

import numpy as np
import pyarrow.parquet as pq

run, path, lo, hi, speed = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rows = []
with open(path, newline="") as f:
    for r in csv.DictReader(f):
        day, clock = r["TIMESTAMP"].split(" ")
        hms, frac = (clock.split(".") + [""])[:2]
        dt = datetime.datetime.fromisoformat(f"{day} {hms}").replace(tzinfo=datetime.timezone.utc)
        ns = int(dt.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9])
        rows.append((ns, int(r["ContextTokens"]), int(r["GeneratedTokens"])))
first = rows[0][0]
window = [(ns - first, i, o) for ns, i, o in rows if lo * 1e9 <= ns - first < hi * 1e9]
expected = np.array([(ns - window[0][0]) / speed for ns, _, _ in window])
t = pq.read_table(f"{run}/requests.parquet").to_pydict()
order = np.argsort(t["request_id"])
sent = np.array(t["sent_ns"], dtype=float)[order]
start = np.array(t["scheduled_ns"], dtype=float)[order][0]
inputs = np.array(t["input_tokens"])[order]
outputs = np.array(t["output_tokens_requested"])[order]
print(f"  trace rows in the window {len(window)}, requests replayed {len(sent)}")
same = len(sent) == len(window) and (inputs == [i for _, i, _ in window]).all() and (outputs == [o for _, _, o in window]).all()
print(f"  same lengths, row by row: {bool(same)}")
err = np.abs((sent - start) - expected) / 1e6
print(f"  |sent offset − trace offset/speed|: p50 {np.percentile(err, 50):.3f} ms, p99 {np.percentile(err, 99):.3f} ms, max {err.max():.3f} ms")
