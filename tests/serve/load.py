# tests/serve/load.py -- the hostile clients of tests/serve/load.sh, over
# loopback: an idle-connection flood with probes from another address, a
# stuck-app burst with probes, and many unfinished large uploads with the
# server's RSS sampled. Each prints one line of "key=value" figures that
# load.sh checks and shows. Does not own the checks or the server.
import selectors
import socket
import sys
import threading
import time


def request(port, path, src=None, body=None, timeout=10.0):
    """One request on a fresh connection (from source address src):
    (status, seconds, body); status 0 when there was no answer."""
    t0 = time.monotonic()
    try:
        s = socket.socket()
        s.settimeout(timeout)
        if src:
            s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        head = f"{'POST' if body is not None else 'GET'} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        s.sendall(head.encode() + b"\r\n" + (body or b""))
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
        return status, time.monotonic() - t0, data.partition(b"\r\n\r\n")[2]
    except OSError:
        return 0, time.monotonic() - t0, b""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def flood(port, n, seconds, src, nprobes):
    """n idle connections from 127.0.0.1, reopened as the server closes
    them (every 100 ms); meanwhile nprobes GETs from src."""
    sel = selectors.DefaultSelector()
    opened = refused = idle_closed = 0
    ages = []

    def open_one():
        nonlocal opened
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_READ, time.monotonic())
        opened += 1

    for _ in range(n):
        open_one()
    probes = []

    def prober():
        for _ in range(nprobes):
            probes.append(request(port, "/hello/", src)[:2])
            time.sleep(seconds / nprobes)

    th = threading.Thread(target=prober)
    th.start()
    end = time.monotonic() + seconds
    closed = 0
    while th.is_alive() or time.monotonic() < end:
        for key, _ in sel.select(0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 503"):
                refused += 1
            elif not data:
                idle_closed += 1
                ages.append(time.monotonic() - key.data)
            else:
                continue
            sel.unregister(s)
            s.close()
            closed += 1
        while closed and time.monotonic() < end:
            open_one()
            closed -= 1
    th.join()
    held = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    ok = sum(1 for st, _ in probes if st == 200)
    lat = sorted(t for _, t in probes)
    ages.sort()
    print(f"probes={len(probes)} ok={ok} statuses={','.join(str(st) for st, _ in probes if st != 200) or '-'}"
          f" probe_p50_ms={lat[len(lat) // 2] * 1e3:.1f} probe_max_ms={lat[-1] * 1e3:.1f}"
          f" flood_opened={opened} flood_refused={refused} flood_idle_closed={idle_closed}"
          f" idle_close_age_s={ages[len(ages) // 2] if ages else 0:.2f} flood_open_at_end={held}")


def keepalive(port):
    """Seconds from an answer on a keep-alive connection to its close."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\nhi" not in data:
        data += s.recv(4096)
    t0 = time.monotonic()
    s.settimeout(30)
    while s.recv(4096):
        pass
    print(f"idle_closed_after_s={time.monotonic() - t0:.2f}")


def stuck(port, n, probe_path, nprobes):
    """n requests to a stuck handler at once; after 300 ms, nprobes
    sequential GETs of probe_path; every status and time."""
    res = [None] * n

    def one(i):
        res[i] = request(port, "/stuck/loop", timeout=30)[:2]

    ths = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    time.sleep(0.3)
    probes = [request(port, probe_path)[:2] for _ in range(nprobes)]
    for t in ths:
        t.join()
    codes = sorted(st for st, _ in res)
    slow = max(t for _, t in res)
    print(f"stuck_statuses={','.join(map(str, codes))} stuck_slowest_s={slow:.2f}"
          f" probe_ok={sum(1 for st, _ in probes if st == 200)} probe_max_ms={max(t for _, t in probes) * 1e3:.1f}"
          f" probe_p50_ms={sorted(t for _, t in probes)[nprobes // 2] * 1e3:.1f} total_s={time.monotonic() - t0:.2f}")


def uploads(port, pid, n, size, send):
    """n uploads announcing size bytes that send `send` bytes and stop;
    the server's VmRSS before, at its peak while they hold, and whether a
    normal GET and a small POST are served meanwhile."""
    base = rss_kib(pid)
    sel = selectors.DefaultSelector()
    chunk = b"u" * 65536
    left = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /hello/up HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        s.setblocking(False)
        left[s] = send
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    refused = other = 0
    peak = base
    end = time.monotonic() + 30
    while time.monotonic() < end and any(v > 0 for v in left.values()):
        for key, ev in sel.select(0.05):
            s = key.fileobj
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"HTTP/1.1 503"):
                    refused += 1
                else:
                    other += 1
                sel.unregister(s)
                left[s] = -1
                continue
            try:
                k = s.send(chunk[:min(len(chunk), left[s])])
                left[s] -= k
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(s)
                left[s] = -1
                other += 1
            if left[s] == 0:
                sel.modify(s, selectors.EVENT_READ)
        peak = max(peak, rss_kib(pid))
    held = sum(1 for v in left.values() if v == 0)
    for _ in range(10):   # while they hold
        peak = max(peak, rss_kib(pid))
        time.sleep(0.05)
    get = request(port, "/hello/")[0]
    post = request(port, "/hello/p", body=b"x" * 1000)
    for s in left:
        s.close()
    time.sleep(0.5)
    after = rss_kib(pid)
    full = request(port, "/hello/full", body=b"f" * size, timeout=30)
    print(f"uploads={n} held={held} refused={refused} other={other} rss_base_mib={base / 1024:.0f}"
          f" rss_peak_mib={peak / 1024:.0f} rss_growth_mib={(peak - base) / 1024:.0f}"
          f" rss_after_mib={after / 1024:.0f} get={get} post={post[0]}:{post[2].decode(errors='replace')}"
          f" full_upload={full[0]}:{full[2].decode(errors='replace')}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "flood":
        flood(int(args[0]), int(args[1]), float(args[2]), args[3], int(args[4]))
    elif cmd == "keepalive":
        keepalive(int(args[0]))
    elif cmd == "stuck":
        stuck(int(args[0]), int(args[1]), args[2], int(args[3]))
    elif cmd == "uploads":
        uploads(int(args[0]), int(args[1]), int(args[2]), int(args[3]), int(args[4]))
