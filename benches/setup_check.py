"""Connection set-up against a real server: per request that opened a connection, the gap from
the previous answer to the next send less its connect_ns, and llmw's connect_ns median beside
connect() timed alone (docs/servers.md, issue 26). Usage: setup_check.py RUN_DIR PORT (a run of
one closed-loop user against a server that closes after each response, like llama.cpp)."""
import sys, socket, time, statistics, json
import pyarrow.parquet as pq
d = sys.argv[1]
t = pq.read_table(f"{d}/requests.parquet").to_pylist()
t.sort(key=lambda r: r["sent_ns"])
opened = [r for r in t if r["connect_ns"] is not None]
print("rows", len(t), "opened", len(opened), "resent", sum(r["resent"] for r in t))
# Row by row: the user's next attempt begins when its previous answer is in; the gap to the
# next send is that request's set-up plus llmw's own work between them.
extra = []
for a, b in zip(t, t[1:]):
    if b["connect_ns"] is not None:
        extra.append((b["sent_ns"] - a["done_ns"] - b["connect_ns"]) / 1e6)
extra.sort()
print("gap - connect_ns (ms): min %.3f p50 %.3f p90 %.3f max %.3f" % (extra[0], statistics.median(extra), extra[int(0.9*len(extra))], extra[-1]))
print("ttft includes no set-up: all first_token > sent:", all(r["first_token_ns"] > r["sent_ns"] for r in t if r["first_token_ns"]))
setup = sorted(r["connect_ns"] / 1e6 for r in opened)
print("llmw connect_ns p50 %.3f ms" % statistics.median(setup))
# Independent: connect() to the same server, timed around the call alone.
port = int(sys.argv[2])
ind = []
for _ in range(200):
    s = socket.socket(); t0 = time.perf_counter_ns(); s.connect(("127.0.0.1", port)); ind.append((time.perf_counter_ns() - t0) / 1e6); s.close(); time.sleep(0.005)
print("independent connect() p50 %.3f ms (n=200)" % statistics.median(ind))
