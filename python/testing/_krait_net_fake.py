# python/testing/_krait_net_fake.py -- the host's net.* operations
# (docs/BINDINGS.md "## net") over real sockets and the real ssl module of
# a native CPython, for tests/sdk/test_net.py: allow-list check before any
# connection, host-side TLS, the error codes and messages the host gives.
# Does not own the guest side (python/lib/_krait_socket.py, _krait_ssl.py).
"""Stand-in for the host's net.* operations; _krait_fake.call delegates."""
import errno
import socket as _socket_mod
import ssl as _ssl
import struct

import _socket

# The real classes, taken before the guest's shim replaces the module's.
_RealSocket = _socket_mod.socket
_real_getaddrinfo = _socket.getaddrinfo

allow = set()            # "host:port" entries (or "host:*") the app may reach
ca_file = None           # the CA bundle to verify against (None: the system's)
connects = []            # (host, port) of each connection attempt made
_conns = {}              # handle -> a real socket (SSLSocket after net.tls)
_next = [1]


def reset():
    allow.clear()
    connects.clear()
    for s in _conns.values():
        s.close()
    _conns.clear()


def _fail(code, message):
    import _krait
    raise _krait.CallError(code, message)


def _codes():
    import _krait
    return _krait.E_INVAL, _krait.E_TIMEOUT, _krait.E_NET, _krait.E_TLS


def _str(data, at):
    n = struct.unpack_from("<I", data, at)[0]
    return data[at + 4:at + 4 + n], at + 4 + n


def _conn(h):
    s = _conns.get(h)
    if s is None:
        _fail(_codes()[0], f"net: handle {h} is not an open connection")
    return s


def _timeout(s, ms):
    s.settimeout(ms / 1000 if ms else None)


def _oserror(e, what):
    """A real OSError as the host reports it: E_TIMEOUT or E_NET with the
    errno's name first."""
    inval, timeout, net, _ = _codes()
    if isinstance(e, _socket_mod.timeout):
        _fail(timeout, f"{what}: timed out")
    if isinstance(e, _socket_mod.gaierror):
        _fail(net, f"EAI_NONAME: {what}: name does not resolve")
    name = errno.errorcode.get(e.errno, "EIO")
    _fail(net, f"{name}: {what}: {e.strerror}")


def connect(data):
    host, at = _str(data, 0)
    port, ms = struct.unpack_from("<II", data, at)
    host = host.decode("ascii")
    if f"{host}:{port}" not in allow and f"{host}:*" not in allow:
        raise PermissionError(f'outbound connection to "{host}:{port}" denied: not in '
                              f'allowed_outbound_hosts of app "app"')
    what = f"{host}:{port}"
    try:
        infos = _real_getaddrinfo(host, port, 0, _socket_mod.SOCK_STREAM)
    except OSError as e:
        _oserror(e, what)
    err = None
    for family, kind, proto, _, addr in infos:
        s = _RealSocket(family, kind, proto)
        _timeout(s, ms)
        connects.append((host, port))
        try:
            s.connect(addr)
        except OSError as e:
            s.close()
            err = e
            continue
        h = _next[0]
        _next[0] += 1
        _conns[h] = s
        ab = addr[0].encode("ascii")
        return struct.pack("<I", h) + struct.pack("<I", len(ab)) + ab + struct.pack("<I", addr[1])
    _oserror(err, what)


def _s(text):
    b = text.encode("utf-8") if isinstance(text, str) else (text or b"")
    return struct.pack("<I", len(b)) + b


def tls(data):
    h = struct.unpack_from("<I", data, 0)[0]
    name, at = _str(data, 4)
    flags = struct.unpack_from("<I", data, at)[0]
    alpn, at = _str(data, at + 4)
    ms = struct.unpack_from("<I", data, at)[0]
    s = _conn(h)
    ctx = _ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = bool(flags & 2)
    if not flags & 1:
        ctx.verify_mode = _ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn.decode("ascii").split(","))
    _timeout(s, ms)
    try:
        t = ctx.wrap_socket(s, server_hostname=name.decode("ascii") or None)
    except _ssl.SSLCertVerificationError as e:
        _fail(_codes()[3], f"certificate verify failed: {e.verify_message}")
    except _ssl.SSLError as e:
        _fail(_codes()[3], f"TLS handshake failed: {e.reason or e}")
    except OSError as e:
        _oserror(e, "tls")
    _conns[h] = t
    cert = t.getpeercert() or {}
    cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "")
    sans = cert.get("subjectAltName", ())
    name, version, bits = t.cipher()
    out = [_s(t.version()), _s(name), struct.pack("<I", bits), _s(t.selected_alpn_protocol() or ""),
           _s(t.getpeercert(True)), _s(cn), struct.pack("<I", len(sans))]
    out += [_s(k) + _s(v) for k, v in sans]
    out += [_s(cert.get("notBefore", "")), _s(cert.get("notAfter", ""))]
    return b"".join(out)


def send(data):
    h, ms = struct.unpack_from("<II", data, 0)
    s = _conn(h)
    _timeout(s, ms)
    try:
        s.sendall(data[8:])
    except OSError as e:
        _oserror(e, "send")
    return struct.pack("<I", len(data) - 8)


def recv(data):
    h, n, ms = struct.unpack("<III", data)
    if not 1 <= n <= 1 << 20:
        _fail(_codes()[0], f"net.recv: max {n} is not 1..1048576")
    s = _conn(h)
    _timeout(s, ms)
    try:
        return s.recv(n)
    except OSError as e:
        _oserror(e, "recv")


def poll(data):
    import select
    h, ms = struct.unpack("<II", data)
    s = _conn(h)
    if getattr(s, "pending", lambda: 0)():
        return struct.pack("<I", 1)
    r, _, _ = select.select([s], [], [], ms / 1000)
    return struct.pack("<I", 1 if r else 0)


def shutdown(data):
    h, how = struct.unpack("<II", data)
    _conn(h).shutdown(how)
    return b""


def close(data):
    h = struct.unpack("<I", data)[0]
    _conn(h).close()
    del _conns[h]
    return b""


OPS = {"net.connect": connect, "net.tls": tls, "net.send": send, "net.recv": recv,
       "net.poll": poll, "net.shutdown": shutdown, "net.close": close}


def call(name, payload):
    op = OPS.get(name)
    if op is None:
        _fail(_codes()[0], f"unknown operation {name!r}")
    return op(bytes(payload))
