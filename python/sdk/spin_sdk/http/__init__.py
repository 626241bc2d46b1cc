# python/sdk/spin_sdk/http/__init__.py -- the Spin v3 HTTP types: Request,
# Response and the IncomingHandler base class apps subclass. Does not own
# calling the handler or sending the response (krait_runtime), nor the
# HTTP exchange of send (krait_fetch, over krait's socket and ssl).
"""HTTP types compatible with spin_sdk.http (Spin Python SDK v3)."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from spin_sdk.wit.types import Err


@dataclass
class Request:
    """An HTTP request: uri is the path with query ("/a?b=1"); headers map
    lower-case names to values (repeated headers joined with ", ")."""
    method: str
    uri: str
    headers: Mapping[str, str]
    body: Optional[bytes]


@dataclass
class Response:
    """An HTTP response: headers map names to str values; body may be None."""
    status: int
    headers: Mapping[str, str]
    body: Optional[bytes] = None


class IncomingHandler:
    """Base class for the app's `IncomingHandler`: override handle_request.
    krait creates one instance at snapshot time and calls handle_request
    once per request."""

    def handle_request(self, request: Request) -> Response:
        """Handle an incoming HTTP request and return a response or raise."""
        raise NotImplementedError


class _DeniedErr(Err, PermissionError):
    """Err(ErrorCode_HttpRequestDenied()) that `except PermissionError`
    also catches; its message is the host's (what was denied, and the
    manifest key allowed_outbound_hosts)."""


def _error_code(e):
    """The wasi:http ErrorCode for an exception of the exchange."""
    import ssl
    from spin_sdk.wit.imports import types as t
    if isinstance(e, ValueError) and not isinstance(e, ssl.SSLError):
        return t.ErrorCode_HttpRequestUriInvalid()
    if isinstance(e, TimeoutError):
        return t.ErrorCode_ConnectionTimeout()
    if isinstance(e, ConnectionRefusedError):
        return t.ErrorCode_ConnectionRefused()
    if isinstance(e, (ConnectionResetError, ConnectionAbortedError)):
        return t.ErrorCode_ConnectionTerminated()
    if isinstance(e, ssl.SSLCertVerificationError):
        return t.ErrorCode_TlsCertificateError()
    if isinstance(e, ssl.SSLError):
        return t.ErrorCode_TlsProtocolError()
    import socket
    if isinstance(e, socket.gaierror):
        return t.ErrorCode_DnsError(t.DnsErrorPayload(str(e), None))
    import http.client
    if isinstance(e, http.client.HTTPException):
        return t.ErrorCode_HttpProtocolError()
    return t.ErrorCode_InternalError(str(e))


def send(request: Request) -> Response:
    """Send an HTTP request and return the response (Spin v3): redirects
    are not followed; response header names are lower-case. Failures raise
    Err(ErrorCode_...) from spin_sdk.wit.imports.types; a host not in
    allowed_outbound_hosts raises Err(ErrorCode_HttpRequestDenied()), also
    a PermissionError, before any connection is made."""
    import http.client
    import krait_fetch
    headers = dict(request.headers)
    if not any(k.lower() == "content-length" for k in headers):
        headers["content-length"] = str(len(request.body or b""))
    try:
        body = krait_fetch.body_bytes(request.body, "spin_sdk.http.send")
        r = krait_fetch.request(request.method, request.uri, list(headers.items()), body)
    except PermissionError as e:
        from spin_sdk.wit.imports.types import ErrorCode_HttpRequestDenied
        raise _DeniedErr(ErrorCode_HttpRequestDenied(), str(e)) from None
    except (OSError, ValueError, http.client.HTTPException) as e:
        raise Err(_error_code(e), f"spin_sdk.http.send {request.uri}: {e!r}") from e
    return Response(r.status, {k.lower(): v for k, v in r.headers}, r.body)
