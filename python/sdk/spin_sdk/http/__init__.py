# python/sdk/spin_sdk/http/__init__.py -- the Spin v3 HTTP types: Request,
# Response and the IncomingHandler base class apps subclass. Does not own
# calling the handler or sending the response (krait_runtime), nor outgoing
# HTTP (krait has no host call for it yet).
"""HTTP types compatible with spin_sdk.http (Spin Python SDK v3)."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional


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


def send(request: Request) -> Response:
    """Outgoing HTTP; not available in krait yet."""
    raise NotImplementedError("spin_sdk.http.send: outgoing HTTP requests "
                              "are not supported by krait yet")
