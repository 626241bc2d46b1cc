# tests/serve/outbound_kn.py -- the guest side of tests/serve/outbound.sh:
# the net.* operations called directly through _krait.call with
# struct-packed payloads (python/c/krait_abi.h), without any SDK.
import _krait, struct, time

def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<I", len(b)) + b

def rd(b, at):
    n = struct.unpack_from("<I", b, at)[0]
    return b[at + 4:at + 4 + n], at + 4 + n

def connect(host, port, timeout=0):
    r = _krait.call("net.connect", s(host) + struct.pack("<II", port, timeout))
    h = struct.unpack_from("<I", r, 0)[0]
    peer, at = rd(r, 4)
    assert at + 4 == len(r)
    return h, peer.decode(), struct.unpack_from("<I", r, at)[0]

def tls(h, name, flags=3, alpn="", timeout=0):
    r = _krait.call("net.tls", struct.pack("<I", h) + s(name) + struct.pack("<I", flags) + s(alpn) +
                    struct.pack("<I", timeout))
    o, at = {}, 0
    o["version"], at = rd(r, at)
    o["cipher"], at = rd(r, at)
    o["bits"] = struct.unpack_from("<I", r, at)[0]
    o["alpn"], at = rd(r, at + 4)
    o["der"], at = rd(r, at)
    o["cn"], at = rd(r, at)
    n = struct.unpack_from("<I", r, at)[0]
    at += 4
    o["san"] = []
    for _ in range(n):
        t, at = rd(r, at)
        v, at = rd(r, at)
        o["san"].append((t.decode(), v.decode()))
    o["notBefore"], at = rd(r, at)
    o["notAfter"], at = rd(r, at)
    assert at == len(r), (at, len(r))
    return o

def send(h, data, timeout=0):
    return struct.unpack("<I", _krait.call("net.send", struct.pack("<II", h, timeout) + data))[0]

def recv(h, most=65536, timeout=0):
    return _krait.call("net.recv", struct.pack("<III", h, most, timeout))

def poll(h, timeout=0):
    return struct.unpack("<I", _krait.call("net.poll", struct.pack("<II", h, timeout)))[0]

def close(h):
    return _krait.call("net.close", struct.pack("<I", h))

def get(host, port, path="/", tls_name=None, flags=3, timeout=0):
    h, _, _ = connect(host, port, timeout)
    if tls_name is not None:
        tls(h, tls_name, flags)
    send(h, ("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    body = b""
    while True:
        b = recv(h, 65536, timeout)
        if not b:
            break
        body += b
    close(h)
    return body

def err(e):
    if isinstance(e, PermissionError):
        return "DENIED %s" % e
    if isinstance(e, _krait.CallError):
        return "E%d %s" % (e.args[0], e.args[1])
    return "%s %s" % (type(e).__name__, e)

def body_of(r):
    return r.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")

def run(argv):
    """One command of the test: its output line."""
    op, a = argv[0], argv[1:]
    t0 = time.monotonic()
    try:
        if op == "get":        # host port path [tls_name flags]
            return body_of(get(a[0], int(a[1]), a[2], a[3] if len(a) > 3 else None,
                               int(a[4]) if len(a) > 4 else 3))
        if op == "connect":    # host port
            h, peer, port = connect(a[0], int(a[1]))
            close(h)
            return "connected %s %d" % (peer, port)
        if op == "tlsinfo":    # host port name
            h, _, _ = connect(a[0], int(a[1]))
            o = tls(h, a[2], 3, "h2,http/1.1")
            close(h)
            return "%s cn=%s alpn=%s san=%s der=%d bits=%d after=%s" % (
                o["version"].decode(), o["cn"].decode(), o["alpn"].decode(),
                ",".join("%s:%s" % x for x in o["san"]), len(o["der"]), o["bits"], o["notAfter"].decode())
        if op == "silent":     # host port timeout_ms: recv on a server that never answers
            h, _, _ = connect(a[0], int(a[1]))
            try:
                recv(h, 100, int(a[2]))
                return "answered"
            finally:
                ms = int((time.monotonic() - t0) * 1000)
                print("elapsed %d" % ms)
        if op == "conns":      # host port n: open and close n connections
            done = 0
            try:
                for _ in range(int(a[2])):
                    h, _, _ = connect(a[0], int(a[1]))
                    close(h)
                    done += 1
            except Exception as e:
                return "%d %s" % (done, err(e))
            return "%d all" % done
        if op == "hold":       # host port n: open n connections, keep them
            held = []
            try:
                for _ in range(int(a[2])):
                    held.append(connect(a[0], int(a[1]))[0])
            except Exception as e:
                return "%d %s" % (len(held), err(e))
            return "%d all" % len(held)
        if op == "leak":       # host port: open one and never close it
            connect(a[0], int(a[1]))
            return "leaked"
        if op == "big":        # host port path: the length received
            n = len(get(a[0], int(a[1]), a[2]))
            return "got %d" % n
        if op == "misc":       # the channel's refusals
            out = []
            h, _, _ = connect(a[0], int(a[1]))
            out.append("poll %d" % poll(h, 0))
            close(h)
            for name, payload in (("net.close", struct.pack("<I", h)),
                                  ("net.connect", b"\x01"),
                                  ("net.connect", s("evil.com@127.0.0.1") + struct.pack("<II", 80, 0)),
                                  ("net.connect", s("127.0.0.1") + struct.pack("<II", 70000, 0)),
                                  ("net.recv", struct.pack("<III", 99, 0, 0)),
                                  ("net.recv", struct.pack("<III", 99, 10, 0)),
                                  ("net.tls", struct.pack("<I", 99) + s("") + struct.pack("<I", 2) + s("") + b"\0" * 4),
                                  ("net.shutdown", struct.pack("<II", 1, 7)),
                                  ("net.send", b"\x01"),
                                  ("sqlite.open", b"default")):
                try:
                    _krait.call(name, payload)
                    out.append("%s accepted" % name)
                except Exception as e:
                    out.append("%s %s" % (name, err(e)))
            return "\n".join(out)
        if op == "echo":       # host port: send, shutdown write, read back (HTTP server)
            h, _, _ = connect(a[0], int(a[1]))
            send(h, b"GET /hello.txt HTTP/1.0\r\n\r\n")
            _krait.call("net.shutdown", struct.pack("<II", h, 1))
            data = b""
            while True:
                b = recv(h, 7)
                if not b:
                    break
                data += b
            close(h)
            return body_of(data)
        return "unknown op " + op
    except Exception as e:
        return err(e)
