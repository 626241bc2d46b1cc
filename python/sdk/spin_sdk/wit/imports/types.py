# python/sdk/spin_sdk/wit/imports/types.py -- the error-code of wasi:http
# (Spin SDK v3's spin_sdk.wit.imports.types): the ErrorCode_* cases
# spin_sdk.http.send raises in Err. Owns no requests (spin_sdk.http).
"""wasi:http error codes, as componentize-py generates them for Spin v3."""
from dataclasses import dataclass, make_dataclass
from typing import Optional


@dataclass
class DnsErrorPayload:
    """The DNS-error case's payload."""
    rcode: Optional[str]
    info_code: Optional[int]


@dataclass
class TlsAlertReceivedPayload:
    """The TLS-alert-received case's payload."""
    alert_id: Optional[int]
    alert_message: Optional[str]


@dataclass
class ErrorCode_DnsError:
    value: DnsErrorPayload


@dataclass
class ErrorCode_TlsAlertReceived:
    value: TlsAlertReceivedPayload


@dataclass
class ErrorCode_InternalError:
    value: Optional[str]


# The cases without a payload (krait raises some of them; all exist so
# that an app's isinstance checks import).
_PLAIN = ("DnsTimeout", "DestinationNotFound", "DestinationUnavailable",
          "DestinationIpProhibited", "DestinationIpUnroutable", "ConnectionRefused",
          "ConnectionTerminated", "ConnectionTimeout", "ConnectionReadTimeout",
          "ConnectionWriteTimeout", "ConnectionLimitReached", "TlsProtocolError",
          "TlsCertificateError", "HttpRequestDenied", "HttpRequestLengthRequired",
          "HttpRequestMethodInvalid", "HttpRequestUriInvalid", "HttpRequestUriTooLong",
          "HttpResponseIncomplete", "HttpResponseTransferCoding",
          "HttpResponseContentCoding", "HttpResponseTimeout", "HttpUpgradeFailed",
          "HttpProtocolError", "LoopDetected", "ConfigurationError")
for _name in _PLAIN:
    globals()["ErrorCode_" + _name] = make_dataclass("ErrorCode_" + _name, [],
                                                     namespace={"__module__": __name__})
del _name
