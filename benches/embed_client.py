# An independent client: `concurrency` threads, each sending embeddings requests of `inputs`
# inputs of `words` words (plain http.client), until `total` are done; prints latency p50 and
# inputs/s over the span (first send to last answer).
import http.client, json, random, sys, threading, time
port, total, conc, inputs, words = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
vocab = "the model says hello and then more words about time place people".split()
lock = threading.Lock(); left = [total]; lat = []; spans = []
def worker(seed):
    rnd = random.Random(seed)
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        body = json.dumps({"model": "m", "input": [" ".join(rnd.choice(vocab) for _ in range(words)) for _ in range(inputs)]})
        c = http.client.HTTPConnection("127.0.0.1", port)
        t0 = time.perf_counter(); c.request("POST", "/v1/embeddings", body, {"content-type": "application/json"})
        r = c.getresponse(); data = json.loads(r.read()); t1 = time.perf_counter(); c.close()
        assert len(data["data"]) == inputs
        with lock: lat.append(t1 - t0); spans.append((t0, t1))
ts = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
[t.start() for t in ts]; [t.join() for t in ts]
lat.sort(); span = max(b for _, b in spans) - min(a for a, _ in spans)
print(f"requests {len(lat)} latency p50 {lat[len(lat)//2]*1000:.1f} ms  inputs/s {total*inputs/span:.1f}")
