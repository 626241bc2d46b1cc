# python/sdk/krait_wsgi.py -- the PEP 3333 (WSGI) adapter of krait_runtime:
# builds the environ for one request, provides start_response and write(),
# collects the app's body and closes its result. Does not own finding the
# app or turning errors into a 500 (krait_runtime).
"""Run a WSGI application for one buffered request; its body may stream."""
import io
from urllib.parse import unquote_to_bytes

import _krait
from krait_runtime import split_host

_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class ErrorStream:
    """wsgi.errors: text written here goes to the host log, line by line, at
    level 40 (ERROR)."""

    def __init__(self):
        self._buffer = ""

    def write(self, text):
        """Log every complete line of text; keep the rest for later."""
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            _krait.log(40, line)
        return len(text)

    def writelines(self, lines):
        """write() each of lines."""
        for line in lines:
            self.write(line)

    def flush(self):
        """Log any partial line."""
        if self._buffer:
            _krait.log(40, self._buffer)
            self._buffer = ""


def _latin1(value):
    """A request header value as a WSGI "bytes-as-latin-1" str. `_krait`
    decodes header bytes as UTF-8 (surrogateescape); give back the bytes."""
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def _from_latin1(value):
    """A WSGI response header value for `_krait.respond`, which encodes str as
    UTF-8: bytes-as-latin-1 that are valid UTF-8 are decoded back so they go
    out unchanged; other text is left as is (sent as its UTF-8)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def environ(method, uri, headers, body):
    """The PEP 3333 environ for a request (uri is path plus optional ?query)."""
    path, _, query = uri.partition("?")
    server_name, server_port = split_host(headers)
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(
            path.encode("utf-8", "surrogateescape")).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": ErrorStream(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        if "_" in name:   # would alias a dashed name in HTTP_*; dropped, as gunicorn does
            continue
        key = _SPECIAL.get(name) or "HTTP_" + name.upper().replace("-", "_")
        value = _latin1(value)
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            env[key] = value
    if body and "CONTENT_LENGTH" not in env:
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def _parse_status(status):
    """The int code of a WSGI status line like "200 OK"."""
    if not isinstance(status, str) or len(status) < 3 or not status[:3].isdigit() \
            or status[3:4] not in ("", " "):
        raise ValueError(f"WSGI status {status!r} is not like '200 OK'")
    return int(status[:3])


class _Call:
    """The state of one WSGI call: start_response, write and the body."""

    def __init__(self):
        self.status = None
        self.headers = None
        self.sent = False     # body output has started: headers are final
        self.chunks = []

    def start_response(self, status, headers, exc_info=None):
        """PEP 3333 start_response; returns write()."""
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice without exc_info")
        code = _parse_status(status)
        if not isinstance(headers, list):
            raise TypeError(f"WSGI response headers are {type(headers).__name__}, "
                            f"expected a list of (name, value) tuples")
        self.status, self.headers = code, headers
        return self.write

    def write(self, data):
        """The PEP 3333 write() callable: data joins the body's parts."""
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"WSGI write() got {type(data).__name__}, expected bytes")
        if data:
            self.sent = True
            self.chunks.append(bytes(data))


def call(app, method, uri, headers, body):
    """Run app for one request; (status, headers, body). The body is bytes
    when the app returned a list or tuple or set Content-Length (as a
    buffered Flask response does), else a generator of the parts (write()
    data and yielded bytes, in order) that closes the app's result when it
    ends, which krait_runtime streams (as gunicorn does)."""
    env = environ(method, uri, headers, body)
    state = _Call()
    result = app(env, state.start_response)
    parts = _parts(state, result, env)
    try:
        first = b""
        for first in parts:
            if first:
                break
    except BaseException:
        parts.close()
        raise
    if state.status is None:
        parts.close()
        raise RuntimeError("WSGI app returned without calling start_response")
    headers = [(n, _from_latin1(v)) if isinstance(v, str) else (n, v)
               for n, v in state.headers]
    if isinstance(result, (list, tuple)) or any(
            n.lower() == "content-length" for n, _ in headers):
        return state.status, headers, first + b"".join(parts)
    return state.status, headers, _chain(first, parts)


def _chain(first, parts):
    """first, then the rest of parts (closed when this is)."""
    try:
        yield first
        yield from parts
    finally:
        parts.close()


def _parts(state, result, env):
    """The body parts of a WSGI result, with write() data in call order;
    closes the result and flushes wsgi.errors at the end."""
    try:
        if isinstance(result, (str, bytes)):
            raise TypeError(f"WSGI app returned {type(result).__name__}; return "
                            f"an iterable of bytes such as [body]")
        try:
            chunks = iter(result)
        except TypeError:
            raise TypeError(f"WSGI app returned {type(result).__name__}, expected "
                            f"an iterable of bytes") from None
        for chunk in chunks:
            yield from _drain(state)
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(f"WSGI app yielded {type(chunk).__name__}, "
                                f"expected bytes")
            if chunk:
                if state.status is None:
                    raise AssertionError("WSGI app yielded body data before "
                                         "calling start_response")
                state.sent = True
                yield bytes(chunk)
        yield from _drain(state)
    finally:
        close = getattr(result, "close", None)
        if callable(close):
            close()
        env["wsgi.errors"].flush()


def _drain(state):
    """The write() data gathered since the last part."""
    while state.chunks:
        yield state.chunks.pop(0)
