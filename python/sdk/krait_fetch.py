# python/sdk/krait_fetch.py -- outgoing HTTP requests for the SDKs' own
# APIs (spin_sdk.http.send, js/workers fetch, pyodide.http.pyfetch): one
# request over http.client, and fetch's redirect rules. Owns no API's
# types or errors; the sockets and TLS are the stdlib's (krait's socket
# and ssl, over the host's net.* calls).
"""One HTTP exchange, and fetch's redirects (each hop a new connection the
host checks against the allow-list)."""
import http.client
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 20          # the Fetch standard's limit
REDIRECTS = (301, 302, 303, 307, 308)
_BODY_HEADERS = ("content-type", "content-length", "content-encoding",
                 "content-language", "content-location", "transfer-encoding")


class Result:
    """A response read whole: status, reason, headers (a list of (name,
    value) as received), body (bytes), url (of the last hop), redirected."""

    def __init__(self, status, reason, headers, body, url, redirected=False):
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.url, self.redirected = body, url, redirected


def body_bytes(body, what):
    """A request body (None, str as UTF-8, bytes-like) as bytes or None."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"{what}: body must be str, bytes or None, not {type(body).__name__}")


def _connection(url, timeout):
    """(http.client connection, path with query) for an http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cannot send to {url!r}: an absolute http:// or https:// "
                         f"URL is needed")
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    if scheme == "http":
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), path
    import ssl
    return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                       context=ssl.create_default_context()), path


def request(method, url, headers=(), body=None, timeout=None):
    """One request and its whole response (no redirect followed). headers is
    a list of (name, value); Host and Content-Length are added unless given."""
    conn, path = _connection(url, timeout)
    names = {k.lower() for k, _ in headers}
    try:
        conn.putrequest(method, path, skip_host="host" in names,
                        skip_accept_encoding="accept-encoding" in names)
        for k, v in headers:
            conn.putheader(k, v)
        if "content-length" not in names and "transfer-encoding" not in names and (
                body is not None or method in ("POST", "PUT", "PATCH")):
            conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return Result(resp.status, resp.reason, resp.getheaders(), data, url)
    finally:
        conn.close()


def fetch(method, url, headers=(), body=None, redirect="follow", timeout=None):
    """A request as the Fetch standard does it: redirects followed (at most
    20; 303, and 301/302 after POST, become a GET without body;
    Authorization dropped when the origin changes), unless redirect is
    "manual" (the 3xx is returned) or "error" (a redirect raises)."""
    if redirect not in ("follow", "manual", "error"):
        raise ValueError(f"fetch: redirect must be 'follow', 'manual' or 'error', "
                         f"not {redirect!r}")
    headers = list(headers)
    for hop in range(MAX_REDIRECTS + 1):
        r = request(method, url, headers, body, timeout)
        location = next((v for k, v in r.headers if k.lower() == "location"), None)
        if r.status not in REDIRECTS or location is None or redirect == "manual":
            r.redirected = hop > 0
            return r
        if redirect == "error":
            raise OSError(f"fetch {url}: redirected ({r.status}) with redirect='error'")
        target = urljoin(url, location)
        if r.status == 303 and method != "HEAD" or r.status in (301, 302) and method == "POST":
            method, body = "GET", None
            headers = [(k, v) for k, v in headers if k.lower() not in _BODY_HEADERS]
        if urlsplit(target)[:2] != urlsplit(url)[:2] or \
                urlsplit(target).port != urlsplit(url).port:
            headers = [(k, v) for k, v in headers if k.lower() not in ("authorization", "host")]
        url = target
    raise OSError(f"fetch: more than {MAX_REDIRECTS} redirects (last: {url})")
