# tests/cluster/load.py -- the cluster test's client: W writers (each write
# a unique id, POSTed through the load balancer) and R readers (GET
# /version) until a stop file appears; prints what it saw as JSON (counts,
# the first failures, writes per host, versions in the order first read).
# Does not own the checks (run.sh) or the app (app.py).
"""usage: load.py PORT TAG WRITERS READERS STOPFILE ACKFILE [PREFIX]

A write is acknowledged only by a 2xx; any other answer or a broken
connection counts as a failed request and the same id is tried again
(writes are idempotent: the same key, the same value), up to 20 times
while the load runs.
Every acknowledged id goes to ACKFILE, one a line. Writes go to
PREFIX/put (default /kv)."""
import http.client
import json
import os
import sys
import threading
import time

PORT, TAG = int(sys.argv[1]), sys.argv[2]
WRITERS, READERS, STOP, ACKS = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
PREFIX = sys.argv[7] if len(sys.argv) > 7 else "/kv"
PACE = 0.01                              # bounded: at most 100 writes/s per writer
LIMIT = time.monotonic() + 90            # a bound, should the stop file never come
lock = threading.Lock()
acked, failures, hosts, versions = [], [], {}, []


def request(conn, method, path):
    """One request on conn (a new one when None); (conn, status, body),
    status 0 with conn None when the connection broke."""
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
        conn.request(method, path, body=b"" if method == "POST" else None)
        r = conn.getresponse()
        return conn, r.status, r.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        if conn: conn.close()
        return None, 0, repr(e)


def running():
    return not os.path.exists(STOP) and time.monotonic() < LIMIT


def note_failure(what, status, body):
    with lock:
        failures.append(f"{what}: {status} {body.strip()[:120]}")


def writer(w):
    conn, n = None, 0
    while running():
        wid = f"{TAG}-{w}-{n}"
        for _ in range(20):
            conn, status, body = request(conn, "POST", f"{PREFIX}/put?id={wid}")
            if 200 <= status < 300:
                host = body.split()[-1]
                with lock:
                    acked.append(wid)
                    hosts[host] = hosts.get(host, 0) + 1
                break
            note_failure(f"put {wid}", status, body)
            if not running(): break       # never acknowledged: need not be there
            time.sleep(0.05)
        n += 1
        time.sleep(PACE)


def reader(_):
    conn = None
    while running():
        conn, status, body = request(conn, "GET", "/version")
        if not 200 <= status < 300:
            note_failure("version", status, body)
            time.sleep(0.05)
            continue
        v = body.split()[0]
        with lock:
            if v not in versions: versions.append(v)


threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
threads += [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
for t in threads: t.start()
for t in threads: t.join()
with open(ACKS, "w") as f:
    f.write("".join(i + "\n" for i in acked))
print(json.dumps({"acked": len(acked), "failed": len(failures), "failures": failures[:5],
                  "hosts": hosts, "versions": versions}))
