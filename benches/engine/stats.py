"""Figures of one benchmark run: send lag, TTFT, chunk rate; with the simulator's own timings
(GET /llmw/timings), the client overhead per request (llmw's TTFT and ITL minus the server's)."""
import json
import sys

import numpy as np
import pyarrow.parquet as pq

run = sys.argv[1]
meta = json.load(open(f"{run}/run.json"))
req = pq.read_table(f"{run}/requests.parquet").to_pydict()
sent = np.array(req["sent_ns"], dtype=float)
sched = np.array([np.nan if s is None else s for s in req["scheduled_ns"]], dtype=float)
ok = np.array([s == "ok" for s in req["status"]])
first = np.array([np.nan if f is None else f for f in req["first_token_ns"]], dtype=float)
lag = (sent - sched)[~np.isnan(sched)] / 1e6
print(f"  requests {len(sent)}, ok {ok.sum()}")
if len(lag):
    print(f"  send lag (sent_ns - scheduled_ns): p50 {np.percentile(lag, 50):.3f} ms, p99 {np.percentile(lag, 99):.3f} ms, max {lag.max():.3f} ms")
chunks = pq.read_table(f"{run}/chunks.parquet", columns=["at_ns"]).column("at_ns").to_numpy()
span = (chunks.max() - chunks.min()) / 1e9 if len(chunks) else 0
print(f"  chunks {len(chunks)} in {span:.1f} s: {len(chunks) / span:,.0f} chunks/s written" if span else "  no chunks")
try:
    cpu = float(open(f"{run}/cpu").read())
    if len(chunks):
        print(f"  llmw CPU {cpu:.2f} s (user + sys): {cpu / len(chunks) * 1e6:.1f} us per chunk")
except (OSError, ValueError):
    pass
client = meta.get("client") or {}
if client.get("samples"):
    s = client["samples"]
    print(f"  self-watch: {client['cores']} cores, llmw CPU max {max(x['cpu_cores'] or 0 for x in s):.2f} cores, "
          f"event-loop lateness p99 worst second {max(x['lag_p99_ms'] for x in s):.2f} ms, "
          f"seconds over 5 ms: {sum(x['lag_p99_ms'] > 5 for x in s)} of {len(s)}")
if len(sys.argv) > 2:
    # `request_id` is the plan id the simulator read from llmw's UUID header (null without one).
    server = {int(t["request_id"]): t for t in json.load(open(sys.argv[2])) if t["request_id"] is not None}
    ttft, itl, send_side, receive_side, write, wait, client_share = [], [], [], [], [], [], []
    t0 = meta["started_unix_ns"]  # the run clock's 0 on the wall clock the simulator stamps with
    for rid, s, f, l, n, st in zip(req["request_id"], req["sent_ns"], req["first_token_ns"], req["last_token_ns"], req["output_tokens"], req["status"]):
        t = server.get(rid)
        if st != "ok" or t is None:
            continue
        ttft.append((f - s - t["ttft_ns"]) / 1e6)
        if "first_token_unix_ns" in t:
            # The same overhead in two parts, on the host's one wall clock: from llmw's send to
            # the simulator taking the request (llmw's write, the kernel, the simulator's accept
            # and parse), and from the simulator handing the first token to its connection to
            # llmw's timestamp of it (the simulator's write, the kernel, llmw's read and parse).
            send_side.append((t["received_unix_ns"] - (t0 + s)) / 1e6)
            receive_side.append((t0 + f - t["first_token_unix_ns"]) / 1e6)
            if t.get("arrived_unix_ns"):
                # The send side in two parts, at the kernel's stamp of the request's arrival on
                # the simulator's socket: llmw's write and the kernel's delivery (the client's),
                # then the simulator's wait to read it (the server's own queue).
                write.append((t["arrived_unix_ns"] - (t0 + s)) / 1e6)
                wait.append((t["received_unix_ns"] - t["arrived_unix_ns"]) / 1e6)
                client_share.append(write[-1] + receive_side[-1])
        if n and n >= 2:
            itl.append(((l - f) - t["decode_ns"]) / (n - 1) / 1e6)
    print(f"  joined {len(ttft)} requests with the server's timings")
    print(f"  TTFT overhead: p50 {np.percentile(ttft, 50):.3f} ms, p99 {np.percentile(ttft, 99):.3f} ms")
    if send_side:
        print(f"    send side (llmw sent -> server took the request): p50 {np.percentile(send_side, 50):.3f} ms, p99 {np.percentile(send_side, 99):.3f} ms")
        print(f"    receive side (server wrote first token -> llmw's timestamp): p50 {np.percentile(receive_side, 50):.3f} ms, p99 {np.percentile(receive_side, 99):.3f} ms")
    if write:
        print(f"    send side, llmw sent -> request arrived at the server's socket: p50 {np.percentile(write, 50):.3f} ms, p99 {np.percentile(write, 99):.3f} ms")
        print(f"    send side, arrived -> server took it (the server's queue): p50 {np.percentile(wait, 50):.3f} ms, p99 {np.percentile(wait, 99):.3f} ms")
        print(f"  client's share of the TTFT overhead (its send + its receive side): p50 {np.percentile(client_share, 50):.3f} ms, p99 {np.percentile(client_share, 99):.3f} ms")
    print(f"  ITL overhead:  p50 {np.percentile(itl, 50):.4f} ms, p99 {np.percentile(itl, 99):.4f} ms")
