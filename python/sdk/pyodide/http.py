# python/sdk/pyodide/http.py -- pyodide.http's pyfetch (FetchResponse) and
# open_url over krait's outgoing HTTP (krait_fetch). Does not own the
# exchange, redirects nor the allow-list (krait_fetch, the host).
"""pyodide.http: `await pyfetch(url, method=, headers=, body=)`."""
import io
import json as _json

__all__ = ["pyfetch", "FetchResponse", "HttpStatusError", "BodyUsedError", "open_url"]


class HttpStatusError(OSError):
    """raise_for_status() on a 4xx or 5xx response."""

    def __init__(self, status, status_text, url):
        self.status, self.status_text, self.url = status, status_text, url
        kind = "Client" if status < 500 else "Server"
        super().__init__(f"{status} {kind} Error: {status_text} for url: {url}")


class BodyUsedError(OSError):
    """The body was already read (each FetchResponse reads it once)."""

    def __init__(self, *args):
        super().__init__(*(args or ("Response body is already used",)))


class FetchResponse:
    """A fetched response as Pyodide gives it: status, status_text, ok,
    headers (a dict), url, redirected, type, body_used, and the one-time
    body readers text(), string(), json(), bytes(), buffer(), memoryview()."""

    def __init__(self, url, result):
        self._result = result
        self._url = url
        self.body_used = False

    status = property(lambda self: self._result.status)
    status_text = property(lambda self: self._result.reason)
    ok = property(lambda self: 200 <= self._result.status < 300)
    url = property(lambda self: self._result.url)
    redirected = property(lambda self: self._result.redirected)
    type = property(lambda self: "basic")

    @property
    def headers(self):
        """The headers, lower-case names; repeats joined with ", "."""
        out = {}
        for k, v in self._result.headers:
            k = k.lower()
            out[k] = f"{out[k]}, {v}" if k in out else v
        return out

    def _take(self):
        if self.body_used:
            raise BodyUsedError()
        self.body_used = True
        return self._result.body

    def clone(self):
        """A second response over the same, unread body."""
        if self.body_used:
            raise BodyUsedError()
        return FetchResponse(self._url, self._result)

    def raise_for_status(self):
        """HttpStatusError for a 4xx or 5xx status."""
        if self.status >= 400:
            raise HttpStatusError(self.status, self.status_text, self.url)

    async def text(self):
        return self._take().decode("utf-8", "replace")

    string = text

    async def json(self, **kwargs):
        return _json.loads(self._take(), **kwargs)

    async def bytes(self):
        return self._take()

    async def memoryview(self):
        return memoryview(self._take())

    async def buffer(self):
        """The body as a memoryview (what stands in for a JS ArrayBuffer)."""
        return memoryview(self._take())

    def __repr__(self):
        return f"<FetchResponse {self.status} {self.url}>"


async def pyfetch(url, **kwargs):
    """Fetch url: method, headers, body, redirect as in JavaScript's fetch
    (redirects followed; each hop checked by the host against
    allowed_outbound_hosts). PermissionError when denied, OSError on a
    network failure."""
    import krait_fetch
    kwargs.pop("fetcher", None)
    unknown = set(kwargs) - {"method", "headers", "body", "redirect", "credentials",
                             "mode", "cache", "signal", "referrer", "referrerPolicy",
                             "integrity", "keepalive"}
    if unknown:
        raise TypeError(f"pyfetch: unknown option(s) {sorted(unknown)}")
    headers = kwargs.get("headers") or {}
    pairs = list(headers.items() if hasattr(headers, "items") else headers)
    body = krait_fetch.body_bytes(kwargs.get("body"), "pyfetch")
    r = krait_fetch.fetch(str(kwargs.get("method", "GET")).upper(), url, pairs, body,
                          kwargs.get("redirect", "follow"))
    return FetchResponse(url, r)


def open_url(url):
    """The body of a GET of url as a StringIO (synchronous)."""
    import krait_fetch
    return io.StringIO(krait_fetch.fetch("GET", url).body.decode("utf-8", "replace"))
