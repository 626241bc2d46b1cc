# python/lib/_krait_ssl.py -- krait's `ssl` module (sitecustomize loads this
# file as `ssl`: CPython's needs _ssl, OpenSSL in the guest, which does not
# exist). TLS runs on the host (net.tls): owns SSLContext, SSLSocket, the
# exceptions and constants http.client, urllib and urllib3 use; not the
# connection itself (_krait_socket).
"""TLS for krait's Python, done by the host.

The handshake, the certificate chain check and the host name check run in
the host's OpenSSL, against the host's CA store (the system's, or the one
given with --ca-file): load_verify_locations(), load_default_certs() and
set_default_verify_paths() are accepted but the host's store is what is
used. verify_mode and check_hostname are honoured: CERT_NONE turns the
chain check off, check_hostname=False the name check (urllib3 does its own
from getpeercert()). Client certificates, server sockets and MemoryBIO do
not exist here."""
import base64
import copy as _copy
import os
import struct
import sys
from collections import namedtuple
from enum import IntEnum, IntFlag

import _krait
import _krait_socket as _ks
from socket import SOCK_STREAM, create_connection  # noqa: F401 (ssl's names)
from socket import socket as _socket

OPENSSL_VERSION = "krait host TLS (OpenSSL on the host)"
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0x30000000
HAS_SNI = HAS_ALPN = HAS_ECDH = HAS_TLSv1_2 = HAS_TLSv1_3 = True
HAS_NPN = HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = HAS_NEVER_CHECK_COMMON_NAME = False
CHANNEL_BINDING_TYPES = []
_DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
socket_error = OSError


def _export(enum):
    """Makes the members of enum module constants too, as CPython's ssl
    does (ssl.CERT_NONE is ssl.VerifyMode.CERT_NONE)."""
    globals().update(enum.__members__)
    return enum


def _constant(value):
    """A method that takes any arguments and answers a copy of value: what
    CPython's ssl gives where the host's TLS has nothing to tell."""
    def method(self, *args, **kwargs):
        return _copy.copy(value)
    return method


@_export
class _SSLMethod(IntEnum):
    PROTOCOL_TLS = PROTOCOL_SSLv23 = 2
    PROTOCOL_TLS_CLIENT = 16
    PROTOCOL_TLS_SERVER = 17


@_export
class VerifyMode(IntEnum):
    CERT_NONE = 0
    CERT_OPTIONAL = 1
    CERT_REQUIRED = 2


@_export
class VerifyFlags(IntFlag):
    VERIFY_DEFAULT = 0
    VERIFY_CRL_CHECK_LEAF = 0x4
    VERIFY_CRL_CHECK_CHAIN = 0xC
    VERIFY_X509_STRICT = 0x20
    VERIFY_ALLOW_PROXY_CERTS = 0x40
    VERIFY_X509_TRUSTED_FIRST = 0x8000
    VERIFY_X509_PARTIAL_CHAIN = 0x80000


@_export
class Options(IntFlag):
    OP_ALL = 0x80000850
    OP_NO_TICKET = 0x4000
    OP_NO_COMPRESSION = 0x20000
    OP_CIPHER_SERVER_PREFERENCE = 0x400000
    OP_SINGLE_DH_USE = 0
    OP_SINGLE_ECDH_USE = 0
    OP_NO_SSLv2 = 0
    OP_NO_SSLv3 = 0x2000000
    OP_NO_TLSv1 = 0x4000000
    OP_NO_TLSv1_1 = 0x10000000
    OP_NO_TLSv1_2 = 0x8000000
    OP_NO_TLSv1_3 = 0x20000000
    OP_NO_RENEGOTIATION = 0x40000000
    OP_ENABLE_MIDDLEBOX_COMPAT = 0x100000
    OP_IGNORE_UNEXPECTED_EOF = 0x80


class TLSVersion(IntEnum):
    MINIMUM_SUPPORTED = -2
    MAXIMUM_SUPPORTED = -1
    SSLv3 = 0x300
    TLSv1 = 0x301
    TLSv1_1 = 0x302
    TLSv1_2 = 0x303
    TLSv1_3 = 0x304


class AlertDescription(IntEnum):
    ALERT_DESCRIPTION_HANDSHAKE_FAILURE = 40
    ALERT_DESCRIPTION_INTERNAL_ERROR = 80


@_export
class SSLErrorNumber(IntEnum):
    SSL_ERROR_SSL = 1
    SSL_ERROR_WANT_READ = 2
    SSL_ERROR_WANT_WRITE = 3
    SSL_ERROR_SYSCALL = 5
    SSL_ERROR_ZERO_RETURN = 6
    SSL_ERROR_EOF = 8


class Purpose(namedtuple("_ASN1Object", "nid shortname longname oid")):
    SERVER_AUTH = None
    CLIENT_AUTH = None


Purpose.SERVER_AUTH = Purpose(129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1")
Purpose.CLIENT_AUTH = Purpose(130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2")
DefaultVerifyPaths = namedtuple("DefaultVerifyPaths", "cafile capath openssl_cafile_env "
                                "openssl_cafile openssl_capath_env openssl_capath")


class SSLError(OSError):
    """A TLS failure (the host's message says why)."""
    library = "SSL"
    reason = None

    def __str__(self):
        return self.strerror if self.strerror else super().__str__()


class SSLZeroReturnError(SSLError):
    pass


class SSLWantReadError(SSLError):
    pass


class SSLWantWriteError(SSLError):
    pass


class SSLSyscallError(SSLError):
    pass


class SSLEOFError(SSLError):
    pass


class SSLCertVerificationError(SSLError, ValueError):
    """The certificate chain or the host name did not verify."""
    verify_code = 1
    verify_message = ""
    reason = "CERTIFICATE_VERIFY_FAILED"


CertificateError = SSLCertVerificationError


def _tls_error(code, message):
    """The exception for a failed net.tls (KRAIT_E_TLS: SSLError, or
    SSLCertVerificationError for "certificate verify failed: ...")."""
    if code != _ks.E_TLS:
        return _ks.error(code, message)
    if message.startswith("certificate verify failed"):
        e = SSLCertVerificationError(SSL_ERROR_SSL, message)
        e.verify_message = message.partition(": ")[2] or message
        return e
    return SSLError(SSL_ERROR_SSL, message)


def get_default_verify_paths():
    """No guest paths: the host's CA store is the one used."""
    return DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")


class SSLContext:
    """Settings for client TLS. PROTOCOL_TLS_CLIENT (what create_default_
    context gives) verifies the chain and the host name; PROTOCOL_TLS does
    neither until told, as in CPython."""

    sslsocket_class = None   # SSLSocket, set below
    sslobject_class = None

    def __init__(self, protocol=None, *args, **kwargs):
        if protocol is None:
            protocol = PROTOCOL_TLS
        if protocol == PROTOCOL_TLS_SERVER:
            raise ValueError("krait: server-side TLS does not exist in the sandbox "
                             "(krait serve terminates TLS itself)")
        self.protocol = _SSLMethod(protocol)
        client = protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._check_hostname = client
        self.options = Options.OP_ALL | Options.OP_NO_SSLv3 | Options.OP_NO_COMPRESSION
        self.verify_flags = VerifyFlags.VERIFY_X509_TRUSTED_FIRST
        self.minimum_version = TLSVersion.MINIMUM_SUPPORTED
        self.maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self.post_handshake_auth = False
        self.keylog_filename = None
        self.sni_callback = None
        self.hostname_checks_common_name = True
        self.security_level = 2
        self._alpn = []
        self._ciphers = _DEFAULT_CIPHERS

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = VerifyMode(value)
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when "
                             "check_hostname is enabled.")
        self._verify_mode = value

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        """Accepted; the host verifies against its own CA store (the
        system's, or krait's --ca-file), not these files."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")

    def load_default_certs(self, purpose=None):
        """Accepted; the host's CA store is used."""

    def set_default_verify_paths(self):
        """Accepted; the host's CA store is used."""

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        raise SSLError(SSL_ERROR_SSL, "krait: client certificates are not supported "
                                      "(TLS runs on the host)")

    def set_ciphers(self, ciphers):
        """Recorded; the host chooses the cipher suites."""
        self._ciphers = ciphers

    get_ciphers = _constant([])

    def set_alpn_protocols(self, protocols):
        """The ALPN protocols offered in the handshake, in order."""
        names = []
        for p in protocols:
            b = p.encode("ascii") if isinstance(p, str) else bytes(p)
            if not 0 < len(b) < 256 or b"," in b:
                raise SSLError(SSL_ERROR_SSL, f"ALPN protocol {p!r} is invalid")
            names.append(b.decode("ascii"))
        self._alpn = names

    set_npn_protocols = set_ecdh_curve = _constant(None)
    get_ca_certs = _constant([])
    cert_store_stats = _constant({"x509": 0, "crl": 0, "x509_ca": 0})
    session_stats = _constant({})

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=True, server_hostname=None, session=None):
        """An SSLSocket taking over sock's connection; the handshake runs
        now if sock is connected, else right after connect()."""
        if server_side:
            raise ValueError("krait: server-side TLS does not exist in the sandbox")
        return self.sslsocket_class._create(sock, self, server_hostname,
                                            do_handshake_on_connect)

    def wrap_bio(self, *args, **kwargs):
        raise NotImplementedError("krait: ssl.MemoryBIO/SSLObject do not exist; "
                                  "TLS runs on the host (wrap_socket)")


class SSLSocket(_socket):
    """A connection whose bytes the host encrypts (net.tls ran on it)."""

    @classmethod
    def _create(cls, sock, context, server_hostname, do_handshake_on_connect=True):
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        if not isinstance(sock, _socket):
            raise TypeError(f"krait's ssl wraps krait sockets, not {type(sock).__name__}")
        self = cls.__new__(cls)
        self.__dict__.update(sock.__dict__)
        sock._handle, sock._closed = None, True      # the connection moved here
        self._context = context
        self.server_hostname = (server_hostname.decode("ascii")
                                if isinstance(server_hostname, bytes) else server_hostname)
        self.server_side = False
        self.do_handshake_on_connect = do_handshake_on_connect
        self._tls = None
        if self._handle is not None and do_handshake_on_connect:
            self.do_handshake()
        return self

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.__class__.__name__} does not have a public "
                        f"constructor. Instances are returned by SSLContext.wrap_socket().")

    @property
    def context(self):
        return self._context

    @property
    def session(self):
        return None

    session_reused = False

    def connect(self, address):
        super().connect(address)
        if self.do_handshake_on_connect:
            self.do_handshake()

    def do_handshake(self, block=False):
        """The TLS handshake, run by the host on this connection."""
        h = self._connected()
        ctx = self._context
        flags = (1 if ctx.verify_mode != CERT_NONE else 0) | (2 if ctx.check_hostname else 0)
        name = (self.server_hostname or "").encode("idna")
        req = (struct.pack("<I", h) + _ks.string(name) + struct.pack("<I", flags) +
               _ks.string(",".join(ctx._alpn).encode("ascii")) +
               struct.pack("<I", _ks.timeout_ms(self._timeout)))
        try:
            data = _krait.call("net.tls", req)
        except _krait.CallError as e:
            raise _tls_error(*e.args) from None
        r = _ks.Reader(data)
        version, cipher, bits, alpn, der, cn = (r.text(), r.text(), r.u32(), r.text(),
                                                r.string(), r.text())
        sans = tuple((r.text(), r.text()) for _ in range(r.u32()))
        self._tls = {"version": version, "cipher": (cipher, version, bits), "alpn": alpn or None,
                     "der": der or None, "cn": cn, "sans": sans,
                     "notBefore": r.text(), "notAfter": r.text()}

    def _done(self):
        if self._tls is None:
            raise ValueError("handshake not done yet")
        return self._tls

    def getpeercert(self, binary_form=False):
        """The peer's certificate: DER bytes (binary_form), else the dict
        CPython gives (subject, subjectAltName, notBefore, notAfter), empty
        when the certificate was not verified (CERT_NONE)."""
        t = self._done()
        if binary_form:
            return t["der"]
        if self._context.verify_mode == CERT_NONE or t["der"] is None:
            return {}
        cert = {"subject": ((("commonName", t["cn"]),),) if t["cn"] else (),
                "notBefore": t["notBefore"], "notAfter": t["notAfter"]}
        if t["sans"]:
            cert["subjectAltName"] = t["sans"]
        return cert

    def _handshake(key):
        """The method answering the handshake's key (None before it)."""
        def method(self):
            return self._tls[key] if self._tls else None
        return method

    version = _handshake("version")
    cipher = _handshake("cipher")
    selected_alpn_protocol = _handshake("alpn")
    del _handshake
    shared_ciphers = selected_npn_protocol = compression = get_channel_binding = _constant(None)
    pending = _constant(0)

    def verify_client_post_handshake(self):
        raise SSLError(SSL_ERROR_SSL, "krait: not a server")

    def unwrap(self):
        raise NotImplementedError("krait: TLS cannot be removed from a host connection")

    def recv(self, bufsize=1024, flags=0):
        self._done()
        return super().recv(bufsize, flags)

    def send(self, data, flags=0):
        self._done()
        return super().send(data, flags)

    def __repr__(self):
        return f"<krait SSLSocket {self.server_hostname!r} {self.version()}>"


SSLContext.sslsocket_class = SSLSocket


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None,
                           cadata=None):
    """A context that verifies the chain (host CA store) and the host name."""
    if purpose != Purpose.SERVER_AUTH:
        raise ValueError("krait: only client contexts (Purpose.SERVER_AUTH) exist")
    ctx = SSLContext(PROTOCOL_TLS_CLIENT)
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    return ctx


def _create_unverified_context(protocol=None, *, cert_reqs=CERT_NONE, check_hostname=False,
                               purpose=Purpose.SERVER_AUTH, certfile=None, keyfile=None,
                               cafile=None, capath=None, cadata=None):
    """A context that checks nothing (ssl._create_unverified_context)."""
    ctx = SSLContext(protocol or PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    ctx.verify_mode = cert_reqs
    return ctx


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def wrap_socket(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=CERT_NONE,
                ssl_version=PROTOCOL_TLS, ca_certs=None, do_handshake_on_connect=True,
                suppress_ragged_eofs=True, ciphers=None):
    """The deprecated module-level wrap_socket (no name check)."""
    ctx = SSLContext(ssl_version)
    ctx.verify_mode = cert_reqs
    return ctx.wrap_socket(sock, server_side=server_side,
                           do_handshake_on_connect=do_handshake_on_connect)


def DER_cert_to_PEM_cert(der_cert_bytes):
    b64 = base64.standard_b64encode(der_cert_bytes).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def PEM_cert_to_DER_cert(pem_cert_string):
    head, foot = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    s = pem_cert_string.strip()
    if not s.startswith(head) or not s.endswith(foot):
        raise ValueError(f"Invalid PEM encoding; must start with {head} and end with {foot}")
    return base64.decodebytes(s[len(head):-len(foot)].encode("ascii"))


def get_server_certificate(addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=None):
    """The server's certificate as PEM (not verified)."""
    ctx = _create_unverified_context(ssl_version)
    with create_connection(addr, timeout=timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname=addr[0]) as ssock:
            return DER_cert_to_PEM_cert(ssock.getpeercert(True))


def RAND_bytes(n):
    return os.urandom(n)


def RAND_status():
    return True


def RAND_add(string, entropy):
    pass
