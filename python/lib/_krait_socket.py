# python/lib/_krait_socket.py -- TCP client sockets for krait's Python over
# the host's net.* operations (docs/BINDINGS.md, "## net"): install() swaps
# them into the stdlib `socket` module (sitecustomize does it when an app
# imports socket). Owns the socket objects, getaddrinfo that does not
# resolve, and the errors; not TLS (_krait_ssl) nor HTTP (the stdlib's).
"""Sockets over krait's host connections (WASI has no sockets of its own).

Names are never resolved in the guest: getaddrinfo() returns the name
itself as the address, so connect() hands the host the name, and the host
resolves it, checks every address against the app's allow-list and
connects only to the checked addresses (no second lookup a DNS rebinding
could change). gethostbyname() of a name raises socket.gaierror for the
same reason; of an address literal it returns the literal."""
import errno
import struct

import _krait

E_TIMEOUT, E_NET, E_TLS = _krait.E_TIMEOUT, _krait.E_NET, _krait.E_TLS
MAX_RECV = 1 << 20          # net.recv's cap (docs/BINDINGS.md)
MAX_SEND = 1 << 20          # bytes handed to one net.send
FD_BASE = 1 << 20           # fileno() = FD_BASE + handle: not an OS descriptor
NOT_RESOLVED = ("krait's Python does not resolve names: connect by name and the "
                "host resolves it and checks it against the allow-list")


def string(b):
    """b as the ABI's string: u32 length, then the bytes."""
    return struct.pack("<I", len(b)) + b


class Reader:
    """Reads a net.* result: u32 values and strings, in order."""

    def __init__(self, data):
        self.data, self.at = bytes(data), 0

    def u32(self):
        v = struct.unpack_from("<I", self.data, self.at)[0]
        self.at += 4
        return v

    def string(self):
        n = self.u32()
        s = self.data[self.at:self.at + n]
        self.at += n
        return s

    def text(self):
        return self.string().decode("utf-8", "replace")


def error(code, message):
    """The OSError for a failed net.* call: TimeoutError, ssl.SSLError, a gaierror for an
    unresolvable name, the OSError subclass of the errno the message names
    ("ECONNREFUSED: ..."), else a plain OSError with the host's message."""
    if code == E_TIMEOUT:
        return TimeoutError(errno.ETIMEDOUT, message)
    if code == E_TLS:                  # TLS failed on an established connection
        import ssl
        return ssl.SSLError(1, message)
    name = message.partition(":")[0]
    if code == E_NET and name.startswith("EAI_"):
        import socket
        return socket.gaierror(getattr(socket, name, -2), message)
    num = getattr(errno, name, None) if code == E_NET and name.isupper() else None
    if num is not None:
        return OSError(num, message)      # OSError picks the subclass by errno
    if code == _krait.E_INVAL:
        return OSError(errno.EBADF, message)
    return OSError(message)


def call(op, payload):
    """_krait.call with failures as OSErrors (PermissionError, the host's
    message naming what was denied and the grant, passes through)."""
    try:
        return _krait.call(op, payload)
    except _krait.CallError as e:
        raise error(*e.args) from None


def timeout_ms(t):
    """A socket timeout (None: none, seconds) as net.*'s u32 milliseconds
    (0: no timeout of the call's own; the request's deadline still holds)."""
    if t is None:
        return 0
    return min(max(1, int(t * 1000 + 0.999)), 0xFFFFFFFF)


def host_bytes(host):
    """A host name or address as the bytes net.connect takes (IDNA for a
    non-ASCII name, IPv6 without brackets)."""
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii")
    if not isinstance(host, str):
        raise TypeError(f"host must be str, not {type(host).__name__}")
    host = host.strip("[]")
    return host.encode("ascii") if host.isascii() else host.encode("idna")


def _unsupported(what):
    return OSError(errno.EOPNOTSUPP, f"krait: {what}: only outbound TCP client "
                                     f"connections exist (granted by allowed_outbound_hosts)")


class socket:
    """A TCP client socket over a host connection (net.connect): connect,
    send, recv, makefile, timeouts. Listening, UDP and raw descriptors do
    not exist in krait's sandbox and raise OSError(EOPNOTSUPP)."""

    _default_timeout = None   # set by install() to the module's getter

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        import socket as mod
        if fileno is not None:
            raise _unsupported("socket(fileno=...)")
        self.family = mod.AF_INET if family == -1 else family
        self.type = mod.SOCK_STREAM if type == -1 else type
        self.proto = 0 if proto == -1 else proto
        if self.type & 0xF != mod.SOCK_STREAM:
            raise _unsupported(f"socket type {self.type!r}")
        self._handle = None
        self._closed = False
        self._io_refs = 0
        self._peer = None
        self._read_shut = False
        self._timeout = mod.getdefaulttimeout()

    # ---- connecting ---------------------------------------------------
    def connect(self, address):
        """Connect through the host to (host, port): the host checks the
        allow-list, resolves the name and connects (PermissionError when
        denied, with the host's message)."""
        self._check_open()
        if self._handle is not None:
            raise OSError(errno.EISCONN, "socket is already connected")
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError(f"address must be a (host, port) tuple, not {address!r}")
        host, port = address[0], address[1]
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise OverflowError(f"port must be 0-65535, not {port!r}")
        r = Reader(call("net.connect", string(host_bytes(host)) +
                        struct.pack("<II", port, timeout_ms(self._timeout))))
        self._handle = r.u32()
        addr, pport = r.text(), r.u32()
        self._peer = (addr, pport) if ":" not in addr else (addr, pport, 0, 0)

    def connect_ex(self, address):
        """connect() returning an errno (0 on success) instead of raising."""
        try:
            self.connect(address)
        except PermissionError:
            return errno.EACCES
        except OSError as e:
            return e.errno or errno.EIO
        return 0

    # ---- data ---------------------------------------------------------
    def send(self, data, flags=0):
        """Send some of data; returns how many bytes went (at most 1 MiB)."""
        h = self._connected()
        view = memoryview(data).cast("B")[:MAX_SEND]
        if not len(view):
            return 0
        r = call("net.send", struct.pack("<II", h, timeout_ms(self._timeout)) + view.tobytes())
        return struct.unpack("<I", r)[0]

    def sendall(self, data, flags=0):
        """Send all of data."""
        view = memoryview(data).cast("B")
        while len(view):
            view = view[self.send(view):]

    def recv(self, bufsize, flags=0):
        """Up to bufsize bytes; b"" once the peer closed. A non-blocking
        socket raises BlockingIOError when nothing is ready."""
        h = self._connected()
        if flags:
            raise _unsupported(f"recv flags {flags}")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0 or self._read_shut:
            return b""
        if self._timeout == 0 and not self._poll(0):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return call("net.recv", struct.pack("<III", h, min(bufsize, MAX_RECV),
                                            timeout_ms(self._timeout)))

    def recv_into(self, buffer, nbytes=0, flags=0):
        """recv() into buffer; returns the byte count."""
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data)

    def _poll(self, seconds):
        """Whether a recv would not block (data or EOF), waiting up to
        seconds (None: until the request's deadline; net.poll)."""
        h = self._connected()
        ms = 0xFFFFFFFF if seconds is None else 0 if not seconds else timeout_ms(seconds)
        return struct.unpack("<I", call("net.poll", struct.pack("<II", h, ms)))[0] == 1

    # ---- options and state ---------------------------------------------
    def settimeout(self, value):
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def setsockopt(self, level, optname, value, optlen=None):
        """TCP_NODELAY, SO_KEEPALIVE and the like are accepted and ignored:
        the host owns the connection's options."""

    def getsockopt(self, level, optname, buflen=None):
        import socket as mod
        if level == mod.SOL_SOCKET and optname == mod.SO_TYPE:
            return int(mod.SOCK_STREAM)
        return 0 if buflen is None else b"\0" * buflen

    def fileno(self):
        """Not an OS descriptor (select() does not know it); -1 once closed."""
        if self._handle is None:
            return -1 if self._closed else FD_BASE
        return FD_BASE + self._handle

    def getpeername(self):
        if self._peer is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._peer

    def getsockname(self):
        """The local address is the host's and not shown: ("0.0.0.0", 0)."""
        return ("0.0.0.0", 0) if self._peer is None or len(self._peer) == 2 else ("::", 0, 0, 0)

    def shutdown(self, how):
        h = self._connected()
        call("net.shutdown", struct.pack("<II", h, how))
        if how in (0, 2):
            self._read_shut = True

    def close(self):
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self):
        h, self._handle = self._handle, None
        if h is not None:
            call("net.close", struct.pack("<I", h))

    def _decref_socketios(self):
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def detach(self):
        """Give up the connection without closing it; returns its fileno."""
        fd = self.fileno()
        self._handle, self._closed = None, True
        return fd

    def _check_open(self):
        if self._closed:
            raise OSError(errno.EBADF, "Bad file descriptor")

    def _connected(self):
        """The handle; close() keeps it while a makefile() file uses it."""
        if self._handle is None:
            self._check_open()
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        try:
            self._real_close()
        except Exception:
            pass

    def __repr__(self):
        return (f"<krait socket handle={self._handle} peer={self._peer} "
                f"{'closed' if self._closed else 'open'}>")

    def bind(self, address):
        raise _unsupported("bind")

    def listen(self, backlog=0):
        raise _unsupported("listen")

    def accept(self):
        raise _unsupported("accept")

    def sendto(self, *args):
        raise _unsupported("sendto")

    def recvfrom(self, *args):
        raise _unsupported("recvfrom")


def _port(port):
    """A getaddrinfo port (int, numeric str, "http"/"https" or None)."""
    import socket as mod
    if port is None:
        return 0
    if isinstance(port, bytes):
        port = port.decode("ascii")
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        known = {"http": 80, "https": 443}
        if port in known:
            return known[port]
        raise mod.gaierror(mod.EAI_SERVICE, f"Servname not supported: {port!r}")
    return int(port)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """[(family, SOCK_STREAM, IPPROTO_TCP, "", (host, port))] with the name
    itself as the address: the host resolves it at connect()."""
    import socket as mod
    if host is None:
        raise mod.gaierror(mod.EAI_NONAME, "Name or service not known (no host given)")
    name = host_bytes(host).decode("ascii")
    if type not in (0, mod.SOCK_STREAM):
        raise mod.gaierror(mod.EAI_SOCKTYPE, "krait: only SOCK_STREAM addresses exist")
    p = _port(port)
    if ":" in name:
        entry = (mod.AF_INET6, mod.SOCK_STREAM, mod.IPPROTO_TCP, "", (name, p, 0, 0))
    else:
        entry = (mod.AF_INET, mod.SOCK_STREAM, mod.IPPROTO_TCP, "", (name, p))
    if flags & getattr(mod, "AI_CANONNAME", 2):
        entry = entry[:3] + (name,) + entry[4:]
    return [entry]


def gethostbyname(name):
    """An IPv4 literal itself; a name raises socket.gaierror (see the module
    docstring: the host resolves names at connect)."""
    import socket as mod
    try:
        mod.inet_aton(name)
        return name
    except (OSError, TypeError):
        pass
    raise mod.gaierror(mod.EAI_NONAME, f"{name}: {NOT_RESOLVED}")


def gethostbyname_ex(name):
    return (name, [], [gethostbyname(name)])


def gethostbyaddr(addr):
    import socket as mod
    raise mod.herror(1, f"{addr}: {NOT_RESOLVED}")


def install(mod):
    """Make the stdlib socket module MOD use these sockets: its socket class,
    getaddrinfo and gethostbyname*; create_connection, makefile and
    SocketIO are the stdlib's own, working through them."""
    socket.makefile = mod.socket.makefile
    socket.__module__ = "socket"
    mod.socket = mod.SocketType = socket
    mod.getaddrinfo = getaddrinfo
    mod.gethostbyname = gethostbyname
    mod.gethostbyname_ex = gethostbyname_ex
    mod.gethostbyaddr = gethostbyaddr
    mod._krait = True
    return mod


def fix_urllib3_wait(mod):
    """urllib3 checks a pooled connection with select/poll on its fileno,
    which the sandbox's select cannot see: for krait sockets, ask the host
    (net.poll) instead."""
    std = mod.wait_for_socket

    def wait_for_socket(sock, read=False, write=False, timeout=None):
        poll = getattr(sock, "_poll", None)
        if poll is None:
            return std(sock, read=read, write=write, timeout=timeout)
        if write and not read:
            return True                  # the host buffers writes
        return poll(timeout)

    mod.wait_for_socket = wait_for_socket
    mod.wait_for_read = lambda sock, timeout=None: wait_for_socket(sock, read=True, timeout=timeout)
    mod.wait_for_write = lambda sock, timeout=None: wait_for_socket(sock, write=True, timeout=timeout)
    return mod
