# tests/sdk/test_net.py -- the guest side of outbound HTTP on native CPython:
# krait's socket (python/lib/_krait_socket.py) and ssl (_krait_ssl.py, loaded
# as `ssl` by sitecustomize's fixer), http.client, urllib, requests,
# spin_sdk.http.send, js/workers fetch and pyodide.http.pyfetch, against
# real HTTP and HTTPS servers (a subprocess; the HTTPS one with a test CA
# made with the openssl CLI), with _krait_net_fake standing in for the
# host's net.* operations. Does not own the host (tests/serve/http_out.sh).
# Run: /usr/bin/python3.11 -m unittest discover -s tests/sdk
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

if sys.platform == "wasi":
    raise unittest.SkipTest("the net.* test double needs native sockets; "
                            "tests/serve/http_out.sh runs these APIs in krait")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DIST = "/usr/lib/python3/dist-packages"        # Debian's python3-requests


# ---- the servers (this file run as a script with --serve) -------------------

def serve(cert, key):
    """HTTP and HTTPS servers on loopback; prints their ports as JSON."""
    import http.server
    import ssl
    import threading
    import time
    from urllib.parse import parse_qs, urlsplit

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body, ctype="text/plain", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            u = urlsplit(self.path)
            q = parse_qs(u.query)
            if u.path == "/hello":
                self.reply(200, b"hello", extra=[("X-Test", "1"), ("Set-Cookie", "a=1"),
                                                 ("Set-Cookie", "b=2")])
            elif u.path == "/json":
                self.reply(200, b'{"a": 1}', "application/json")
            elif u.path == "/redirect":
                self.reply(int(q.get("code", ["302"])[0]), b"", extra=[("Location", q["to"][0])])
            elif u.path == "/slow":
                time.sleep(2)
                self.reply(200, b"late")
            elif u.path.startswith("/status/"):
                self.reply(int(u.path[8:]), b"status")
            elif u.path == "/close":
                self.reply(200, b"bye", extra=[("Connection", "close")])
                self.close_connection = True
            else:
                self.do_POST()

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("latin-1")
            if self.path.startswith("/redirect"):
                return self.do_GET()
            out = json.dumps({"method": self.command, "path": self.path, "body": body,
                              "headers": {k.lower(): v for k, v in self.headers.items()}})
            self.reply(200, out.encode(), "application/json")

        do_PUT = do_DELETE = do_PATCH = do_POST

    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    for s in (plain, tls):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(json.dumps({"http": plain.server_address[1], "https": tls.server_address[1]}),
          flush=True)
    sys.stdin.read()             # until the test closes stdin


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve(*sys.argv[2:4])
    sys.exit(0)


# ---- the guest's modules in place: krait's socket and ssl -------------------

sys.path[:0] = [os.path.join(ROOT, "python", "sdk"), os.path.join(ROOT, "python", "testing"),
                os.path.join(ROOT, "python", "lib")]
import socket  # noqa: E402
import ssl as real_ssl  # noqa: E402

import _krait_fake as fake  # noqa: E402
import _krait_net_fake as netfake  # noqa: E402  (takes the real socket class first)

fake.install()
_SAVED = {k: getattr(socket, k) for k in ("socket", "SocketType", "getaddrinfo", "gethostbyname",
                                          "gethostbyname_ex", "gethostbyaddr")}
_MODS = set()
_OVER_SHIM = ("http", "urllib", "urllib3", "requests", "idna", "certifi", "chardet",
              "charset_normalizer", "krait_fetch", "pyodide", "_krait_ssl")
_spec = importlib.util.spec_from_file_location("krait_sitecustomize",
                                               os.path.join(ROOT, "python", "lib", "sitecustomize.py"))
site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site)
sys.meta_path.remove(site.KraitImportExplainer)
import _krait_socket  # noqa: E402

CERTS = tempfile.mkdtemp(prefix="krait-net-")
SERVER = None
PORTS = {}


def _openssl(*args):
    subprocess.run(["openssl", *args], cwd=CERTS, check=True, capture_output=True)


def make_ca():
    """A test CA and a server certificate for DNS:localhost, signed by it."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=krait test CA")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=localhost")
    with open(os.path.join(CERTS, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext")


def _drop_over_shim(keep=()):
    for name in set(sys.modules) - set(keep):
        if name.split(".")[0] in _OVER_SHIM:
            del sys.modules[name]


def setUpModule():
    global SERVER
    make_ca()
    SERVER = subprocess.Popen([sys.executable, __file__, "--serve", os.path.join(CERTS, "srv.pem"),
                               os.path.join(CERTS, "srv.key")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    PORTS.update(json.loads(SERVER.stdout.readline()))
    _drop_over_shim()            # imported before: import them again over the shim
    _MODS.update(sys.modules)
    _krait_socket.install(socket)
    sys.modules.pop("ssl", None)
    sys.meta_path.insert(0, site.KraitStdlibFixer)


def tearDownModule():
    SERVER.stdin.close()
    SERVER.wait(10)
    SERVER.stdout.close()
    sys.meta_path.remove(site.KraitStdlibFixer)
    for k, v in _SAVED.items():
        setattr(socket, k, v)
    _drop_over_shim(keep=_MODS)     # re-imported over real sockets later
    sys.modules["ssl"] = real_ssl
    netfake.reset()


def run(coro):
    """The coroutine's result; it must complete without suspending (as the
    SDK's fetch does: the host calls block)."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    raise AssertionError(f"{coro} suspended")


def closed_port():
    s = netfake._RealSocket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NetTest(unittest.TestCase):
    def setUp(self):
        fake.reset()
        netfake.reset()
        self.http, self.https = PORTS["http"], PORTS["https"]
        netfake.allow.update({f"127.0.0.1:{self.http}", f"localhost:{self.https}",
                              f"127.0.0.1:{self.https}"})
        netfake.ca_file = os.path.join(CERTS, "ca.pem")
        self.H = f"http://127.0.0.1:{self.http}"
        self.S = f"https://localhost:{self.https}"


class SocketTest(NetTest):
    def test_create_connection_send_recv_makefile(self):
        with socket.create_connection(("127.0.0.1", self.http), timeout=5) as s:
            self.assertIsInstance(s, _krait_socket.socket)
            self.assertEqual(s.getpeername(), ("127.0.0.1", self.http))
            self.assertEqual(s.gettimeout(), 5.0)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self.assertGreaterEqual(s.fileno(), 0)
            s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
            f = s.makefile("rb")
            self.assertEqual(f.readline(), b"HTTP/1.1 200 OK\r\n")
            rest = f.read()
            f.close()
            self.assertTrue(rest.endswith(b"bye"))
        self.assertEqual(s.fileno(), -1)
        self.assertEqual(netfake._conns, {}, "the host connection was closed")

    def test_recv_into_and_shutdown(self):
        s = socket.socket()
        s.connect(("127.0.0.1", self.http))
        s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        buf, got = bytearray(8), b""
        while True:
            n = s.recv_into(buf)
            if not n:
                break
            got += buf[:n]
        self.assertIn(b"bye", got)
        s.close()

    def test_getaddrinfo_does_not_resolve(self):
        self.assertEqual(socket.getaddrinfo("example.invalid", 443),
                         [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                           ("example.invalid", 443))])
        self.assertEqual(socket.getaddrinfo("::1", "https")[0][4], ("::1", 443, 0, 0))
        self.assertEqual(socket.gethostbyname("10.1.2.3"), "10.1.2.3")
        with self.assertRaises(socket.gaierror) as cm:
            socket.gethostbyname("example.com")
        self.assertIn("does not resolve names", str(cm.exception))

    def test_denied_makes_no_connection(self):
        port = closed_port()
        with self.assertRaises(PermissionError) as cm:
            socket.create_connection(("127.0.0.1", port))
        self.assertIn("allowed_outbound_hosts", str(cm.exception))
        self.assertIn(f"127.0.0.1:{port}", str(cm.exception))
        self.assertEqual(netfake.connects, [])
        self.assertEqual(socket.socket().connect_ex(("127.0.0.1", port)), 13)   # EACCES

    def test_refused_is_connection_refused_error(self):
        port = closed_port()
        netfake.allow.add(f"127.0.0.1:{port}")
        with self.assertRaises(ConnectionRefusedError) as cm:
            socket.create_connection(("127.0.0.1", port))
        self.assertIn("ECONNREFUSED", str(cm.exception))

    def test_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.http))
        s.settimeout(0.3)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises(socket.timeout):
            s.recv(10)
        s.setblocking(False)
        with self.assertRaises(BlockingIOError):
            s.recv(10)
        s.close()

    def test_no_listening(self):
        with self.assertRaises(OSError) as cm:
            socket.socket().bind(("127.0.0.1", 0))
        self.assertIn("only outbound TCP", str(cm.exception))


class SslTest(NetTest):
    def test_default_context_handshake(self):
        import ssl
        self.assertTrue(ssl.__file__.endswith("_krait_ssl.py"))
        ctx = ssl.create_default_context()
        self.assertEqual((ctx.verify_mode, ctx.check_hostname), (ssl.CERT_REQUIRED, True))
        ctx.load_verify_locations("/nonexistent/ca.pem")       # the host's store is used
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        raw = socket.create_connection(("localhost", self.https))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
            self.assertEqual(s.cipher()[1], s.version())
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
            cert = s.getpeercert()
            self.assertEqual(cert["subjectAltName"], (("DNS", "localhost"),))
            self.assertEqual(cert["subject"], ((("commonName", "localhost"),),))
            self.assertIn("GMT", cert["notAfter"])
            self.assertEqual(ssl.DER_cert_to_PEM_cert(s.getpeercert(True)).split()[0],
                             "-----BEGIN")
            s.sendall(b"GET /close HTTP/1.1\r\nHost: localhost\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))

    def test_wrong_name_and_unknown_ca(self):
        import ssl
        ctx = ssl.create_default_context()
        raw = socket.create_connection(("127.0.0.1", self.https))
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.assertIsInstance(cm.exception, ssl.CertificateError)
        self.assertIn("certificate verify failed", str(cm.exception))
        netfake.ca_file = None                           # the system store
        raw = socket.create_connection(("localhost", self.https))
        with self.assertRaises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="localhost")

    def test_app_choice_cert_none_is_honoured(self):
        import ssl
        ctx = ssl.create_default_context()
        with self.assertRaises(ValueError):
            ctx.verify_mode = ssl.CERT_NONE              # as CPython: check_hostname first
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        netfake.ca_file = None
        raw = socket.create_connection(("127.0.0.1", self.https))
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            self.assertEqual(s.getpeercert(), {})
            self.assertTrue(s.getpeercert(True))
        with self.assertRaises(ValueError):
            ssl.create_default_context().wrap_socket(socket.socket())   # needs a name


class StdlibHttpTest(NetTest):
    def test_http_client(self):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.http)
        c.request("POST", "/echo", body=b"x=1", headers={"X-A": "b"})
        r = c.getresponse()
        got = json.loads(r.read())
        self.assertEqual((r.status, got["body"], got["headers"]["x-a"]), (200, "x=1", "b"))
        c.request("GET", "/hello")                       # same connection, kept alive
        self.assertEqual(c.getresponse().read(), b"hello")
        c.close()
        self.assertEqual(len(netfake.connects), 1)
        c = http.client.HTTPSConnection("localhost", self.https)
        c.request("GET", "/json")
        self.assertEqual(json.loads(c.getresponse().read()), {"a": 1})
        c.close()

    def test_urllib(self):
        import urllib.error
        import urllib.request
        with urllib.request.urlopen(self.H + "/hello") as r:
            self.assertEqual(r.read(), b"hello")
        with urllib.request.urlopen(self.S + "/json") as r:
            self.assertEqual(json.load(r), {"a": 1})
        with urllib.request.urlopen(f"{self.H}/redirect?to={self.S}/hello") as r:
            self.assertEqual((r.read(), r.url), (b"hello", self.S + "/hello"))
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(f"http://127.0.0.1:{closed_port()}/")
        self.assertIsInstance(cm.exception.reason, PermissionError)
        self.assertIn("allowed_outbound_hosts", str(cm.exception))
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(f"https://127.0.0.1:{self.https}/")
        self.assertIn("certificate verify failed", str(cm.exception))


class RequestsTest(NetTest):
    @classmethod
    def setUpClass(cls):
        if DIST not in sys.path:
            sys.path.append(DIST)

    def test_get_post_session_reuse(self):
        import certifi
        import requests
        self.assertTrue(certifi.where().endswith("_krait_ssl.py"), "a guest file that exists")
        with requests.Session() as s:
            r = s.get(self.H + "/hello")
            self.assertEqual((r.status_code, r.text, r.headers["x-test"]), (200, "hello", "1"))
            r = s.post(self.H + "/echo", json={"k": "v"})
            self.assertEqual(json.loads(r.json()["body"]), {"k": "v"})
            self.assertEqual(len(netfake.connects), 1, "the pool reused its connection")
            self.assertEqual(s.get(self.S + "/json").json(), {"a": 1})

    def test_dropped_connection_is_noticed(self):
        import requests
        with requests.Session() as s:
            self.assertEqual(s.get(self.H + "/close").text, "bye")
            self.assertEqual(s.get(self.H + "/hello").text, "hello")
        self.assertEqual(len(netfake.connects), 2)

    def test_urllib3_connection_check_asks_the_host(self):
        import time
        import types
        from urllib3.util.connection import is_connection_dropped
        s = socket.create_connection(("127.0.0.1", self.http))
        conn = types.SimpleNamespace(sock=s)
        self.assertFalse(is_connection_dropped(conn), "an idle connection is reusable")
        s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        self.assertTrue(is_connection_dropped(conn), "unread data or EOF: not reusable")
        s.close()

    def test_errors(self):
        import requests
        with self.assertRaises(requests.exceptions.ConnectionError) as cm:
            requests.get(f"http://127.0.0.1:{closed_port()}/")
        self.assertIn("allowed_outbound_hosts", str(cm.exception))
        self.assertEqual(netfake.connects, [])
        with self.assertRaises(requests.exceptions.SSLError):
            requests.get(f"https://127.0.0.1:{self.https}/")
        self.assertEqual(requests.get(f"https://127.0.0.1:{self.https}/hello",
                                      verify=False).text, "hello")
        with self.assertRaises(requests.exceptions.Timeout):
            requests.get(self.H + "/slow", timeout=0.3)


class SpinSendTest(NetTest):
    def test_send(self):
        from spin_sdk import http
        r = http.send(http.Request("GET", self.H + "/hello", {}, None))
        self.assertEqual((r.status, r.body, r.headers["x-test"]), (200, b"hello", "1"))
        r = http.send(http.Request("POST", self.S + "/echo?q=1", {"X-A": "b"}, b"body"))
        got = json.loads(r.body)
        self.assertEqual((got["path"], got["body"], got["headers"]["x-a"]), ("/echo?q=1", "body", "b"))
        self.assertEqual(got["headers"]["content-length"], "4")

    def test_no_redirects(self):
        from spin_sdk import http
        r = http.send(http.Request("GET", f"{self.H}/redirect?to=/hello", {}, None))
        self.assertEqual((r.status, r.headers["location"]), (302, "/hello"))

    def test_errors(self):
        from spin_sdk import http
        from spin_sdk.wit.imports import types
        from spin_sdk.wit.types import Err
        port = closed_port()
        with self.assertRaises(Err) as cm:
            http.send(http.Request("GET", f"http://127.0.0.1:{port}/", {}, None))
        self.assertIsInstance(cm.exception.value, types.ErrorCode_HttpRequestDenied)
        self.assertIsInstance(cm.exception, PermissionError)
        self.assertIn("allowed_outbound_hosts", str(cm.exception))
        netfake.allow.add(f"127.0.0.1:{port}")
        with self.assertRaises(Err) as cm:
            http.send(http.Request("GET", f"http://127.0.0.1:{port}/", {}, None))
        self.assertIsInstance(cm.exception.value, types.ErrorCode_ConnectionRefused)
        with self.assertRaises(Err) as cm:
            http.send(http.Request("GET", f"https://127.0.0.1:{self.https}/", {}, None))
        self.assertIsInstance(cm.exception.value, types.ErrorCode_TlsCertificateError)
        with self.assertRaises(Err) as cm:
            http.send(http.Request("GET", "/relative", {}, None))
        self.assertIsInstance(cm.exception.value, types.ErrorCode_HttpRequestUriInvalid)


class FetchTest(NetTest):
    def test_js_fetch(self):
        import js
        import workers
        self.assertIs(workers.fetch, js.fetch)
        r = run(js.fetch(self.H + "/json"))
        self.assertEqual((r.status, r.ok, r.headers.get("content-type")), (200, True, "application/json"))
        self.assertEqual(run(r.json()), {"a": 1})
        r = run(js.fetch(self.S + "/echo", method="PUT", headers={"X-A": "b"}, body="hi"))
        got = run(r.json())
        self.assertEqual((got["method"], got["body"], got["headers"]["x-a"]), ("PUT", "hi", "b"))
        r = run(js.fetch(self.H + "/hello", {"method": "GET"}))
        self.assertEqual((run(r.text()), bytes(run(r.arrayBuffer()))), ("hello", b"hello"))
        self.assertEqual(r.headers.get("set-cookie"), "a=1, b=2")

    def test_redirects(self):
        import js
        r = run(js.fetch(f"{self.H}/redirect?to={self.S}/hello"))
        self.assertEqual((r.status, r.redirected, r.url), (200, True, self.S + "/hello"))
        r = run(js.fetch(f"{self.H}/redirect?code=303&to=/echo", method="POST", body="x"))
        self.assertEqual(run(r.json())["method"], "GET")
        r = run(js.fetch(f"{self.H}/redirect?to=/hello", redirect="manual"))
        self.assertEqual(r.status, 302)
        denied = f"http://127.0.0.1:{closed_port()}/"
        netfake.connects.clear()
        with self.assertRaises(PermissionError) as cm:
            run(js.fetch(f"{self.H}/redirect?to={denied}"))
        self.assertIn("allowed_outbound_hosts", str(cm.exception))
        self.assertEqual(len(netfake.connects), 1, "only the first hop connected")

    def test_pyfetch(self):
        from pyodide.http import BodyUsedError, HttpStatusError, pyfetch
        r = run(pyfetch(self.S + "/json"))
        self.assertEqual((r.status, r.ok, r.status_text, r.url), (200, True, "OK", self.S + "/json"))
        self.assertEqual(r.headers["content-type"], "application/json")
        self.assertEqual(run(r.clone().bytes()), b'{"a": 1}')
        self.assertEqual(run(r.json()), {"a": 1})
        with self.assertRaises(BodyUsedError):
            run(r.text())
        r = run(pyfetch(self.H + "/echo", method="POST", body=b"raw", headers={"X-A": "b"}))
        self.assertEqual(json.loads(bytes(run(r.buffer())))["body"], "raw")
        r = run(pyfetch(f"{self.H}/redirect?to=/status/404"))
        self.assertTrue(r.redirected)
        with self.assertRaises(HttpStatusError) as cm:
            r.raise_for_status()
        self.assertIn("404 Client Error", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
