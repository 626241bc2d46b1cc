# python/sdk/js.py -- krait's stand-in for the `js` module of Cloudflare
# Python Workers: the Fetch API's Headers, Request, Response and fetch(), as
# plain Python objects. Does not own the env bindings or WorkerEntrypoint
# (workers.py), running the handler (krait_runtime), nor the HTTP exchange
# (krait_fetch).
"""Fetch API objects compatible with `from js import Response` in Workers."""
import json as _json


class Headers:
    """HTTP headers: names are case-insensitive (stored lower-case), repeats
    are kept. Iterating yields (name, value) pairs like JS `for...of`;
    dict(headers) works too."""

    def __init__(self, init=None):
        self._pairs = []
        if isinstance(init, Headers):
            init = init._pairs
        elif hasattr(init, "items"):
            init = init.items()
        for name, value in init or ():
            self.append(name, value)

    def append(self, name, value):
        """Add a value for name, keeping earlier ones."""
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header {name!r}: names and values are str, "
                            f"not {type(value).__name__}")
        self._pairs.append((name.lower(), value))

    def set(self, name, value):
        """Replace every value of name with value."""
        self.delete(name)
        self.append(name, value)

    def delete(self, name):
        """Remove every value of name."""
        name = name.lower()
        self._pairs = [p for p in self._pairs if p[0] != name]

    def get(self, name, default=None):
        """The values of name joined with ", ", or default (None)."""
        name = name.lower()
        values = [v for n, v in self._pairs if n == name]
        return ", ".join(values) if values else default

    def has(self, name):
        """Whether name is present."""
        return self.get(name) is not None

    def keys(self):
        """The distinct names, in first-seen order."""
        return list(dict.fromkeys(n for n, _ in self._pairs))

    def values(self):
        """The joined value of each distinct name."""
        return [self.get(n) for n in self.keys()]

    def items(self):
        """(name, joined value) for each distinct name."""
        return [(n, self.get(n)) for n in self.keys()]

    entries = items

    def pairs(self):
        """Every (name, value) as stored, repeats included."""
        return list(self._pairs)

    def __iter__(self):
        return iter(self.items())

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name):
        return isinstance(name, str) and self.has(name)

    def __repr__(self):
        return f"Headers({self._pairs!r})"


def _body_bytes(body):
    """A body as bytes; a stream (an iterable or async iterable of str or
    bytes parts, like a JS ReadableStream) is kept as is, for streaming."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "__aiter__") or hasattr(body, "__next__"):
        return body
    raise TypeError(f"Response body must be str, bytes, None or a stream (a "
                    f"generator of parts), not {type(body).__name__}")


class _Body:
    """The body readers Request and Response share (each completes at once)."""

    async def text(self):
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    async def json(self):
        """The body parsed as JSON."""
        return _json.loads(self.body)

    async def bytes(self):
        """The body as bytes."""
        return self.body

    async def arrayBuffer(self):
        """The body as a memoryview (what Pyodide gives for an ArrayBuffer)."""
        return memoryview(self.body)


class _ClassOrInstance:
    """A method that is one function on the class and another on instances
    (JS has both the static Response.json() and response.json())."""

    def __init__(self, on_class, on_instance):
        self.on_class, self.on_instance = on_class, on_instance

    def __get__(self, obj, owner):
        if obj is None:
            return self.on_class.__get__(owner, type(owner))
        return self.on_instance.__get__(obj, owner)


class Request(_Body):
    """An incoming request: method, url (absolute), headers, body."""

    def __init__(self, method, url, headers=None, body=b""):
        self.method = method
        self.url = url
        self.headers = Headers(headers)
        self.body = bytes(body or b"")

    def __repr__(self):
        return f"<Request {self.method} {self.url}>"


class Response(_Body):
    """A response: status, headers (Headers) and body (bytes). Build it as
    Response(body, status=..., headers=...), Response.new(body, init) or
    Response.json(data)."""

    def __init__(self, body=None, status=200, statusText="", headers=None):
        if type(status) is not int:
            raise TypeError(f"Response status must be int, not "
                            f"{type(status).__name__}")
        self.status = status
        self.statusText = statusText
        self.headers = Headers(headers)
        self.body = _body_bytes(body)
        if isinstance(body, str) and not self.headers.has("content-type"):
            self.headers.set("content-type", "text/plain;charset=UTF-8")

    @classmethod
    def new(cls, body=None, init=None, **options):
        """JS `new Response(body, init)`; init is a dict like
        {"status": 201, "headers": {...}}, or pass status=/headers= ."""
        merged = dict(init or {})
        merged.update(options)
        unknown = set(merged) - {"status", "statusText", "headers"}
        if unknown:
            raise TypeError(f"Response.new: unknown init field(s) {sorted(unknown)}")
        return cls(body, **merged)

    def _json_response(cls, data, init=None, **options):
        """Response.json(data, init): data serialized as JSON, with
        content-type application/json unless headers set one."""
        response = cls.new(_json.dumps(data).encode("utf-8"), init, **options)
        if not response.headers.has("content-type"):
            response.headers.set("content-type", "application/json")
        return response

    # Response.json(data) builds a response; response.json() reads one.
    json = _ClassOrInstance(_json_response, _Body.json)

    @classmethod
    def redirect(cls, url, status=302):
        """A redirect to url."""
        return cls(None, status=status, headers={"location": url})

    url = ""                 # a fetched response: the URL of its last hop
    redirected = False       # a fetched response: whether a redirect was followed

    @property
    def ok(self):
        """Whether status is 2xx."""
        return 200 <= self.status < 300

    def __repr__(self):
        return f"<Response {self.status}>"


async def fetch(resource, options=None, **kwargs):
    """The Fetch API: `await fetch(url, method=, headers=, body=, redirect=)`
    (or an options dict, or a Request) -> Response with status, headers,
    ok, url, redirected and await text()/json()/bytes()/arrayBuffer().
    Redirects are followed (each hop a new connection the host checks
    against allowed_outbound_hosts). A denied host raises PermissionError
    naming the key; a network failure OSError."""
    import krait_fetch
    init = dict(options.to_py() if hasattr(options, "to_py") else options or {})
    init.update(kwargs)
    unknown = set(init) - {"method", "headers", "body", "redirect", "cf", "signal",
                           "cache", "mode", "credentials", "integrity", "keepalive",
                           "referrer", "referrerPolicy"}
    if unknown:
        raise TypeError(f"fetch: unknown option(s) {sorted(unknown)}")
    if isinstance(resource, Request):
        url = resource.url
        init.setdefault("method", resource.method)
        init.setdefault("headers", resource.headers)
        init.setdefault("body", resource.body or None)
    else:
        url = str(resource)
    headers = Headers(init.get("headers"))
    body = krait_fetch.body_bytes(init.get("body"), "fetch")
    if isinstance(init.get("body"), str) and not headers.has("content-type"):
        headers.set("content-type", "text/plain;charset=UTF-8")
    r = krait_fetch.fetch(str(init.get("method", "GET")).upper(), url, headers.pairs(), body,
                          init.get("redirect", "follow"))
    response = Response(r.body, status=r.status, statusText=r.reason,
                        headers=[(k, v) for k, v in r.headers])
    response.url, response.redirected = r.url, r.redirected
    return response
