# tests/sdk/test_sdk.py -- end-to-end tests of krait's guest Python SDK
# (python/sdk) on native CPython, with _krait_fake (python/testing) standing
# in for the host; the seed apps are python/examples.
# Owns: each handler style through krait_runtime.boot()/handle(), the Spin
# and Workers KV APIs, the WSGI adapter (with Flask). Does not own the real
# `_krait` C module or the host (tested with the runtime itself).
# Run: /usr/bin/python3.11 -m unittest discover -s tests/sdk
import asyncio
import json
import os
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "..", "..", "python", "sdk")
sys.path.insert(0, os.path.abspath(SDK))
sys.path.insert(1, os.path.abspath(os.path.join(HERE, "..", "..", "python", "testing")))
sys.path.append("/usr/lib/python3/dist-packages")   # Debian's python3-flask

import _krait_fake as fake  # noqa: E402
fake.install()
import krait_kv  # noqa: E402
import krait_runtime  # noqa: E402
import krait_wsgi  # noqa: E402
import js  # noqa: E402
import workers  # noqa: E402
from spin_sdk import key_value  # noqa: E402

EXAMPLES = os.path.abspath(os.path.join(HERE, "..", "..", "python", "examples"))


def tearDownModule():
    if krait_runtime._loop is not None:
        krait_runtime._loop.close()


class SdkTest(unittest.TestCase):
    """Helpers: write or pick an app, boot it, send it requests."""

    def setUp(self):
        fake.reset()
        krait_kv.reset()
        sys.modules.pop("app", None)

    def boot(self, source=None, directory=None, **config):
        """Boot `source` (or the app.py in directory) as module "app"."""
        if source is not None:
            temp = tempfile.TemporaryDirectory()
            self.addCleanup(temp.cleanup)
            directory = temp.name
            with open(os.path.join(directory, "app.py"), "w") as f:
                f.write(textwrap.dedent(source))
        sys.path.insert(0, directory)
        self.addCleanup(sys.path.remove, directory)
        sys.modules.pop("app", None)
        self.addCleanup(sys.modules.pop, "app", None)
        import importlib
        importlib.invalidate_caches()
        config.setdefault("module", "app")
        fake.configure(**config)
        krait_runtime.boot()

    def call(self, method="GET", uri="/", headers=(), body=b""):
        """Send one request; returns (status, headers, body)."""
        fake.set_request(method, uri, headers, body)
        krait_runtime.handle()
        self.assertIsNotNone(fake.response, "handle() did not respond")
        return fake.response

    def assert500(self, *, logged, debug=False):
        """The response is the short 500; the log has the traceback."""
        status, headers, body = fake.response
        self.assertEqual(status, 500)
        errors = [m for level, m in fake.logs if level == 40]
        self.assertTrue(errors, "nothing logged at level 40")
        self.assertIn("Traceback", errors[-1])
        self.assertIn(logged, errors[-1])
        if debug:
            self.assertIn(logged.encode(), body)
        else:
            self.assertEqual(body, b"500 Internal Server Error\n")


# ---- spin ----------------------------------------------------------------

SPIN_ECHO = """
    import json
    from spin_sdk import http
    from spin_sdk.http import Request, Response
    class IncomingHandler(http.IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            data = {"method": request.method, "uri": request.uri,
                    "headers": request.headers, "body": request.body.decode()}
            return Response(201, {"content-type": "application/json",
                                  "x-a": "1"}, json.dumps(data).encode())
"""


class SpinTest(SdkTest):

    def test_seed_example_verbatim(self):
        self.boot(directory=os.path.join(EXAMPLES, "spin_hello"), style="spin")
        self.assertEqual(self.call(), (200, [("content-type", "text/plain")], b"hi"))

    def test_request_fields(self):
        self.boot(SPIN_ECHO, style="spin")
        status, headers, body = self.call(
            "POST", "/api/notes?id=3",
            [("host", "x"), ("x-dup", "a"), ("x-dup", "b")], b"payload")
        self.assertEqual(status, 201)
        self.assertEqual(headers, [("content-type", "application/json"), ("x-a", "1")])
        self.assertEqual(json.loads(body), {
            "method": "POST", "uri": "/api/notes?id=3", "body": "payload",
            "headers": {"host": "x", "x-dup": "a, b"}})

    def test_body_none_is_empty(self):
        self.boot("""
            from spin_sdk.http import IncomingHandler as Base, Response
            class IncomingHandler(Base):
                def handle_request(self, request):
                    return Response(204, {})
        """, style="spin")
        self.assertEqual(self.call(), (204, [], b""))

    def test_key_value(self):
        self.boot("""
            from spin_sdk import http, key_value
            from spin_sdk.key_value import Store
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    store = Store.open_default()
                    assert store.get("k") is None and not store.exists("k")
                    store.set("k", b"v1")
                    store.set("é", b"v2")
                    assert store.exists("k") and store.get("é") == b"v2"
                    other = key_value.open("other")
                    other.set("x", b"y")
                    store.delete("k")
                    store.delete("never-there")
                    keys = ",".join(sorted(store.get_keys()))
                    with key_value.open_default() as again:
                        same = again.get("é")
                    return http.Response(200, {}, keys.encode() + b"|" + same)
        """, style="spin", kv=["default", "other"])
        self.assertEqual(self.call()[2], "é|v2".encode())
        self.assertEqual(fake.stores["other"], {b"x": b"y"})
        self.assertEqual(fake.stores["default"], {"é".encode(): b"v2"})

    def test_get_keys_paginates(self):
        fake.configure(kv=["default"])
        fake.stores["default"] = {b"key%05d" % i: b"" for i in range(2500)}
        with mock.patch.object(fake, "kv_keys", wraps=fake.kv_keys) as kv_keys:
            keys = key_value.open_default().get_keys()
        self.assertEqual(len(keys), 2500)
        self.assertEqual(keys[0], "key00000")
        self.assertEqual(keys[-1], "key02499")
        self.assertEqual(kv_keys.call_count, 3)

    def test_store_not_granted(self):
        self.boot("""
            from spin_sdk import http, key_value
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    key_value.open("secret")
        """, style="spin", kv=["default"])
        self.call()
        self.assert500(logged="PermissionError: key-value store 'secret' is not granted")

    def test_kv_limits_checked_early(self):
        fake.configure(kv=["default"])
        store = key_value.open_default()
        with mock.patch.object(fake, "kv_set") as kv_set:
            with self.assertRaisesRegex(ValueError, "257 bytes.*256"):
                store.set("k" * 257, b"")
            with self.assertRaisesRegex(ValueError, "limit is 1048576"):
                store.set("k", b"x" * (1 << 20 | 1))
            with self.assertRaisesRegex(TypeError, "not str"):
                store.set("k", "text")
            with self.assertRaisesRegex(TypeError, "keys are str"):
                store.get(b"k")
            kv_set.assert_not_called()
        store.set("k" * 256, b"x" * (1 << 20))     # exactly at the limits

    def test_exception_logged_not_in_body(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    raise ValueError("secret detail")
        """, style="spin")
        self.call()
        self.assert500(logged="ValueError: secret detail")
        self.assertIn('app.py", line 5, in handle_request', fake.logs[-1][1])

    def test_exception_in_body_with_debug(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    raise ValueError("secret detail")
        """, style="spin", debug=True)
        self.call()
        self.assert500(logged="ValueError: secret detail", debug=True)
        self.assertIn(b"Traceback", fake.response[2])

    def test_wrong_return_type(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    return "hi"
        """, style="spin", debug=True)
        self.call()
        self.assert500(logged="returned str, expected spin_sdk.http.Response", debug=True)

    def test_wrong_body_and_header_types(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    if request.uri == "/str":
                        return http.Response(200, {}, "text")
                    if request.uri == "/header":
                        return http.Response(200, {"x-n": 5}, b"")
                    return http.Response("200", {}, b"")
        """, style="spin")
        self.call(uri="/str")
        self.assert500(logged="response body is str, expected bytes")
        self.call(uri="/header")
        self.assert500(logged="name and value must be str, not str/int")
        self.call(uri="/status")
        self.assert500(logged="response status is str, expected int")

    def test_unsendable_header_answers_500(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    return http.Response(200, {"x-bad": "\\udcff"}, b"")
        """, style="spin")
        self.call()
        self.assert500(logged="UnicodeEncodeError")
        self.assertIn("sending the response failed", fake.logs[-1][1])

    def test_system_exit_is_a_500(self):
        self.boot("""
            import sys
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    sys.exit(3)
        """, style="spin")
        self.call()
        self.assert500(logged="SystemExit: 3")

    def test_variables(self):
        fake.variables["greeting"] = "hello"
        from spin_sdk import variables
        self.assertEqual(variables.get("greeting"), "hello")
        with self.assertRaisesRegex(KeyError, "not defined"):
            variables.get("missing")

    def test_variable_refused_while_booting(self):
        # the host refuses a templated variable outside a request: the SDK
        # raises RuntimeError with its message (not the KV error type)
        def refuse(name):
            raise fake.KvError(f'app variable "{name}" is resolved when krait serve starts')
        from spin_sdk import variables
        import workers
        with mock.patch.object(fake, "variable", refuse):
            with self.assertRaisesRegex(RuntimeError, 'app variable "token" is resolved'):
                variables.get("token")
            with self.assertRaisesRegex(RuntimeError, 'app variable "TOKEN" is resolved'):
                workers.Env([]).TOKEN

    SECRET_APP = """
        from spin_sdk import http, variables
        class IncomingHandler(http.IncomingHandler):
            def handle_request(self, request):
                dsn = variables.get("dsn")
                raise RuntimeError("pw " + dsn.split(":")[2].split("@")[0] + " in " + dsn
                                   + " key " + variables.get("key"))
    """

    def test_secrets_redacted_from_tracebacks(self):
        # the config's shape says where the secret sits in a value: only
        # that part is redacted, wherever it appears (the whole value too)
        fake.variables.update(dsn="pg://u:hunter2@h/blue", key="k3y-value", color="blue")
        self.boot(self.SECRET_APP, style="spin", debug=True,
                  secrets=[["dsn", "pg://u:{{!}}@h/{{?}}"], ["key", None]])
        self.call()
        self.assert500(logged="RuntimeError: pw [secret] in pg://u:[secret]@h/blue key [secret]",
                       debug=True)
        for text in [fake.response[2].decode()] + [m for _, m in fake.logs]:
            self.assertNotIn("hunter2", text)
            self.assertNotIn("k3y-value", text)

    def test_secret_shape_not_matching_redacts_the_value(self):
        fake.variables.update(dsn="other-form", key="k")
        self.boot(self.SECRET_APP.replace('dsn.split(":")[2].split("@")[0]', '"x"'), style="spin",
                  debug=True, secrets=[["dsn", "pg://u:{{!}}@h/{{?}}"]])
        self.call()
        self.assert500(logged="RuntimeError: pw x in [secret] key k", debug=True)

    def test_secrets_side_by_side_redact_the_value(self):
        fake.variables.update(dsn="hunter2blue", key="k")
        self.boot(self.SECRET_APP.replace('dsn.split(":")[2].split("@")[0]', '"x"'), style="spin",
                  debug=True, secrets=[["dsn", "{{!}}{{?}}"]])
        self.call()
        self.assert500(logged="RuntimeError: pw x in [secret] key k", debug=True)

    def test_secret_shape_splitting_two_ways_redacts_the_value(self):
        # "{{ user }}:{{ password }}@{{ host }}" with password "p@ss:w0rd":
        # the password could end at either "@"; a shortest match found only
        # "p" and left "[secret]@ss:w0rd" in the 500 body
        fake.variables.update(dsn="u:p@ss:w0rd@h", key="k")
        self.boot(self.SECRET_APP.replace('dsn.split(":")[2].split("@")[0]', '"x"'), style="spin",
                  debug=True, secrets=[["dsn", "{{?}}:{{!}}@{{?}}"]])
        self.call()
        self.assert500(logged="RuntimeError: pw x in [secret] key k", debug=True)
        for text in [fake.response[2].decode()] + [m for _, m in fake.logs]:
            self.assertNotIn("w0rd", text)

    def test_boot_errors(self):
        with self.assertRaisesRegex(RuntimeError, r"^app.py defines no IncomingHandler "
                                    r"class \(spin style\)$"):
            self.boot("from spin_sdk.http import IncomingHandler\n", style="spin")
        with self.assertRaisesRegex(RuntimeError, "does not subclass"):
            self.boot("class IncomingHandler: pass\n", style="spin")
        with self.assertRaisesRegex(RuntimeError, "app module 'nope' not found"):
            self.boot("", style="spin", module="nope")
        with self.assertRaisesRegex(ModuleNotFoundError, "not_installed"):
            self.boot("import not_installed\n", style="spin")
        with self.assertRaisesRegex(RuntimeError, "style 'flask'"):
            self.boot("", style="flask")

    def test_handle_without_boot_answers_500(self):
        with self.assertRaises(RuntimeError):
            self.boot("", style="spin")
        self.call()
        self.assert500(logged="called before a successful boot()")


# ---- cloudflare --------------------------------------------------------------

class CloudflareTest(SdkTest):

    def test_seed_example_verbatim(self):
        self.boot(directory=os.path.join(EXAMPLES, "cf_kv"), style="cloudflare",
                  kv=["FOO"])
        status, headers, body = self.call()
        self.assertEqual((status, body), (200, b"baz"))
        self.assertEqual(headers, [("content-type", "text/plain;charset=UTF-8")])
        self.assertEqual(fake.stores["FOO"], {b"bar": b"baz"})

    def test_request_object(self):
        self.boot("""
            from js import Response
            async def on_fetch(request, env):
                h = request.headers
                return Response.json({
                    "method": request.method, "url": request.url,
                    "ct": h.get("Content-Type"), "CT": h.get("CONTENT-TYPE"),
                    "dup": h.get("x-dup"), "missing": h.get("x-missing"),
                    "has": "X-Dup" in h, "pairs": list(h), "dict": dict(h),
                    "json": await request.json(), "text": await request.text(),
                    "bytes": (await request.bytes()).decode(),
                    "ab": bytes(await request.arrayBuffer()).decode()})
        """, style="cloudflare")
        headers = [("Host", "example.com:8080"), ("Content-Type", "application/json"),
                   ("X-Dup", "a"), ("x-dup", "b")]
        status, out_headers, body = self.call("POST", "/p?q=1", headers, b'{"a": 1}')
        self.assertEqual(status, 200)
        self.assertEqual(out_headers, [("content-type", "application/json")])
        got = json.loads(body)
        self.assertEqual(got["url"], "http://example.com:8080/p?q=1")
        self.assertEqual((got["method"], got["ct"], got["CT"]),
                         ("POST", "application/json", "application/json"))
        self.assertEqual((got["dup"], got["missing"], got["has"]), ("a, b", None, True))
        self.assertEqual(got["pairs"][2], ["x-dup", "a, b"])
        self.assertEqual(got["dict"]["host"], "example.com:8080")
        self.assertEqual((got["json"], got["text"], got["bytes"], got["ab"]),
                         ({"a": 1}, '{"a": 1}', '{"a": 1}', '{"a": 1}'))

    def test_url_without_host(self):
        self.assertEqual(krait_runtime.absolute_url("/x", []), "http://localhost/x")
        self.assertEqual(krait_runtime.absolute_url("/", [("host", "[::1]:81")]),
                         "http://[::1]:81/")

    def test_response_forms(self):
        r = js.Response.new("made", {"status": 201, "headers": {"X-A": "1"}})
        self.assertEqual((r.status, r.headers.get("x-a"), r.body), (201, "1", b"made"))
        r = js.Response.new(b"\x00\x01", status=202, headers=[("x-b", "2")])
        self.assertEqual((r.status, r.headers.pairs(), r.body),
                         (202, [("x-b", "2")], b"\x00\x01"))
        r = js.Response.json({"a": [1]}, status=400, headers={"x-c": "3"})
        self.assertEqual((r.status, json.loads(r.body)), (400, {"a": [1]}))
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(asyncio.run(r.json()), {"a": [1]})   # instance json()
        r = workers.Response("plain", status=404)
        self.assertEqual((r.status, r.ok, asyncio.run(r.text())), (404, False, "plain"))
        self.assertIs(workers.Response, js.Response)
        with self.assertRaisesRegex(TypeError, "unknown init field"):
            js.Response.new("x", {"stauts": 200})
        with self.assertRaisesRegex(TypeError, "body must be str, bytes, None or a stream .a generator of parts., not dict"):
            js.Response.new({"a": 1})

    def test_kv_namespace(self):
        self.boot("""
            import json
            from js import Response
            async def on_fetch(request, env):
                kv = env.STORE
                await kv.put("j", json.dumps({"n": 1}))
                await kv.put("b", b"\\xff\\x00")
                await kv.put("t", "téxt")
                out = {
                    "text": await kv.get("t"),
                    "json": await kv.get("j", type="json"),
                    "json2": await kv.get("j", {"type": "json"}),
                    "json3": await kv.get("j", "json"),
                    "ab": list(await kv.get("b", type="arrayBuffer")),
                    "missing": await kv.get("nope"),
                    "many": await kv.get(["t", "nope"]),
                    "meta": await kv.getWithMetadata("t"),
                }
                await kv.delete("t")
                out["after"] = await kv.get("t")
                out["list"] = await kv.list(prefix="j")
                out["all"] = await kv.list()
                return Response.json(out)
        """, style="cloudflare", kv=["STORE"])
        got = json.loads(self.call()[2])
        self.assertEqual(got["text"], "téxt")
        self.assertEqual(got["json"], {"n": 1})
        self.assertEqual(got["json2"], {"n": 1})
        self.assertEqual(got["json3"], {"n": 1})
        self.assertEqual(got["ab"], [255, 0])
        self.assertIsNone(got["missing"])
        self.assertEqual(got["many"], {"t": "téxt", "nope": None})
        self.assertEqual(got["meta"], {"value": "téxt", "metadata": None})
        self.assertIsNone(got["after"])
        self.assertEqual(got["list"], {"keys": [{"name": "j"}], "list_complete": True,
                                       "cursor": None})
        self.assertEqual([k["name"] for k in got["all"]["keys"]], ["b", "j"])

    def test_kv_list_paginates(self):
        fake.configure(kv=["KV"])
        fake.stores["KV"] = {b"k%05d" % i: b"" for i in range(2500)}
        fake.stores["KV"][b"other"] = b""
        kv = workers.Env(["KV"]).KV
        names, cursor, pages = [], None, 0
        while True:
            page = asyncio.run(kv.list(prefix="k", cursor=cursor))
            pages += 1
            names += [k["name"] for k in page["keys"]]
            if page["list_complete"]:
                self.assertIsNone(page["cursor"])
                break
            cursor = page["cursor"]
            self.assertIsInstance(cursor, str)
        self.assertEqual((pages, len(names), names[-1]), (3, 2500, "k02499"))
        page = asyncio.run(kv.list({"prefix": "k", "limit": 2}))
        self.assertEqual([k["name"] for k in page["keys"]], ["k00000", "k00001"])
        self.assertFalse(page["list_complete"])
        with self.assertRaisesRegex(ValueError, "1..1000"):
            asyncio.run(kv.list(limit=5000))
        with self.assertRaisesRegex(NotImplementedError, "expirationTtl"):
            asyncio.run(kv.put("a", "b", expirationTtl=60))
        with self.assertRaisesRegex(TypeError, "str or bytes, not dict"):
            asyncio.run(kv.put("a", {"x": 1}))

    def test_entrypoint_class_and_variables(self):
        fake.variables["GREETING"] = "hello"
        self.boot("""
            from workers import WorkerEntrypoint, Response
            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    await self.env.KV.put("seen", request.url)
                    return Response(self.env.GREETING + " " + await self.env.KV.get("seen"))
        """, style="cloudflare", kv=["KV"])
        self.assertEqual(self.call(uri="/w", headers=[("host", "h")])[2], b"hello http://h/w")

    def test_missing_binding(self):
        self.boot("""
            async def on_fetch(request, env):
                return env.NOT_THERE
        """, style="cloudflare", kv=["KV"])
        self.call()
        self.assert500(logged="env has no binding 'NOT_THERE'")

    def test_sdk_awaits_need_no_event_loop(self):
        self.boot(directory=os.path.join(EXAMPLES, "cf_kv"), style="cloudflare",
                  kv=["FOO"])
        with mock.patch.object(krait_runtime._loop, "run_until_complete",
                               side_effect=AssertionError("loop used")):
            self.assertEqual(self.call()[:1], (200,))

    def test_foreign_awaits_fall_back_to_the_loop(self):
        self.boot("""
            import asyncio
            from js import Response
            async def later(x):
                await asyncio.sleep(0.01)
                return x
            async def on_fetch(request, env):
                await asyncio.sleep(0)
                task = asyncio.create_task(later("b"))
                a = await later("a")
                await env.KV.put("k", a + await task)
                return Response.new(await env.KV.get("k"))
        """, style="cloudflare", kv=["KV"])
        self.assertEqual(self.call()[:1], (200,))
        self.assertEqual(fake.response[2], b"ab")
        self.assertEqual(self.call()[2], b"ab")       # the loop is reusable
        self.assertIsNone(asyncio.events._get_running_loop())

    def test_exception_after_suspending(self):
        self.boot("""
            import asyncio
            async def on_fetch(request, env):
                await asyncio.sleep(0)
                raise KeyError("boom")
        """, style="cloudflare")
        self.call()
        self.assert500(logged="KeyError: 'boom'")

    def test_wait_until_runs_after_response(self):
        self.boot("""
            from js import Response
            import _krait
            async def note(env):
                await env.KV.put("after", b"1")
            async def on_fetch(request, env, ctx):
                ctx.waitUntil(note(env))
                return Response.new("ok")
        """, style="cloudflare", kv=["KV"])
        self.call()
        self.assertEqual(fake.stores["KV"], {b"after": b"1"})

    def test_wrong_return_type(self):
        self.boot("""
            async def on_fetch(request, env):
                return {"status": 200}
        """, style="cloudflare")
        self.call()
        self.assert500(logged="the fetch handler returned dict, expected Response")

    def test_boot_error(self):
        with self.assertRaisesRegex(RuntimeError, r"app.py defines no async on_fetch"
                                    r".*\(cloudflare style\)"):
            self.boot("def fetch(request): pass\n", style="cloudflare")


# ---- wsgi ----------------------------------------------------------------

class WsgiTest(SdkTest):

    def test_flask_app(self):
        self.boot(directory=os.path.join(EXAMPLES, "flask_app"), style="wsgi",
                  wsgi="app:app")
        status, headers, body = self.call("GET", "/api/status", [("host", "localhost")])
        self.assertEqual(status, 200)
        self.assertEqual(dict(headers)["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"ok": True, "name": "flask_app"})
        status, headers, body = self.call(
            "POST", "/api/notes/7", [("host", "h"), ("content-type", "text/plain")],
            "héllo".encode())
        self.assertEqual(status, 201)
        self.assertEqual(json.loads(body), {"id": 7, "text": "héllo", "length": 5})
        self.assertEqual(self.call("GET", "/nope")[0], 404)
        self.assertEqual(self.call("GET", "/api/notes/7")[0], 405)

    def test_environ(self):
        env = krait_wsgi.environ(
            "PUT", "/a%20b/%C3%A9?x=%20y&z",
            [("host", "example.com:8080"), ("content-type", "text/plain"),
             ("x-dup", "1"), ("x-dup", "2"), ("cookie", "a=1"), ("cookie", "b=2"),
             ("x_smuggled", "no"), ("x-utf", "é")], b"body")
        self.assertEqual(env["REQUEST_METHOD"], "PUT")
        self.assertEqual(env["SCRIPT_NAME"], "")
        self.assertEqual(env["PATH_INFO"], "/a b/\xc3\xa9")
        self.assertEqual(env["QUERY_STRING"], "x=%20y&z")
        self.assertEqual((env["SERVER_NAME"], env["SERVER_PORT"]), ("example.com", "8080"))
        self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.1")
        self.assertEqual((env["CONTENT_TYPE"], env["CONTENT_LENGTH"]), ("text/plain", "4"))
        self.assertNotIn("HTTP_CONTENT_TYPE", env)
        self.assertEqual(env["HTTP_HOST"], "example.com:8080")
        self.assertEqual(env["HTTP_X_DUP"], "1, 2")
        self.assertEqual(env["HTTP_COOKIE"], "a=1; b=2")
        self.assertEqual(env["HTTP_X_UTF"], "\xc3\xa9")   # its UTF-8 bytes
        self.assertNotIn("HTTP_X_SMUGGLED", env)
        self.assertEqual(env["wsgi.input"].read(), b"body")
        self.assertEqual((env["wsgi.version"], env["wsgi.url_scheme"]), ((1, 0), "http"))
        self.assertEqual((env["wsgi.multithread"], env["wsgi.multiprocess"],
                          env["wsgi.run_once"]), (False, False, False))
        env = krait_wsgi.environ("GET", "/\udcff%ff", [("x-raw", "a\udcff")], b"")
        self.assertEqual(env["HTTP_X_RAW"], "a\xff")   # surrogateescape -> byte
        self.assertEqual(env["PATH_INFO"], "/\xff\xff")
        self.assertEqual((env["SERVER_NAME"], env["SERVER_PORT"]), ("localhost", "80"))
        self.assertNotIn("CONTENT_LENGTH", env)

    def test_raw_app_write_close_errors(self):
        self.boot("""
            closed = []
            class Result:
                def __iter__(self):
                    yield b"b"
                    yield b""
                    yield b"c"
                def close(self):
                    closed.append(True)
            def application(environ, start_response):
                environ["wsgi.errors"].write("warn one\\nwarn")
                write = start_response("202 Accepted", [("X-A", "1"),
                                                        ("X-U", "\xc3\xa9")])
                write(b"a")
                return Result()
        """, style="wsgi", wsgi="app")
        self.assertEqual(self.call(), (202, [("X-A", "1"), ("X-U", "é")], b"abc"))
        self.assertEqual(sys.modules["app"].closed, [True])
        self.assertEqual(fake.logs, [(40, "warn one"), (40, "warn")])

    def test_exc_info_before_and_after_body(self):
        self.boot("""
            import sys
            def application(environ, start_response):
                start_response("200 OK", [])
                try:
                    raise ValueError("oops")
                except ValueError:
                    if environ["PATH_INFO"] == "/late":
                        start_response("200 OK", [])(b"partial")
                        start_response("500 Error", [], sys.exc_info())
                    start_response("503 Busy", [("retry-after", "1")], sys.exc_info())
                return [b"sorry"]
        """, style="wsgi", wsgi="app:application")
        self.assertEqual(self.call(uri="/early"), (503, [("retry-after", "1")], b"sorry"))
        self.call(uri="/late")
        self.assert500(logged="start_response called twice without exc_info")

    def test_exc_info_reraised_once_body_sent(self):
        self.boot("""
            import sys
            def application(environ, start_response):
                write = start_response("200 OK", [])
                write(b"partial")
                try:
                    raise ValueError("original")
                except ValueError:
                    start_response("500 Error", [], sys.exc_info())
        """, style="wsgi", wsgi="app:application")
        self.call()
        self.assert500(logged="ValueError: original")

    def test_app_errors(self):
        self.boot("""
            def application(environ, start_response):
                start_response("200 OK", [])
                if environ["PATH_INFO"] == "/str":
                    return ["text"]
                if environ["PATH_INFO"] == "/bytes":
                    return b"raw"
                if environ["PATH_INFO"] == "/status":
                    start_response("OK", [], (None, None, None))
                return None
        """, style="wsgi", wsgi="app:application")
        self.call(uri="/str")
        self.assert500(logged="WSGI app yielded str, expected bytes")
        self.call(uri="/bytes")
        self.assert500(logged="WSGI app returned bytes; return an iterable")
        self.call(uri="/status")
        self.assert500(logged="WSGI status 'OK' is not like '200 OK'")
        self.call(uri="/none")
        self.assert500(logged="WSGI app returned NoneType, expected an iterable")

    def test_no_start_response(self):
        self.boot("def application(environ, start_response):\n    return []\n",
                  style="wsgi", wsgi="app")
        self.call()
        self.assert500(logged="without calling start_response")

    def test_boot_error(self):
        with self.assertRaisesRegex(RuntimeError, r"app.py defines no WSGI callable "
                                    r"'create'"):
            self.boot("app = None\n", style="wsgi", wsgi="app:create")


class StreamTest(SdkTest):
    """Bodies given as iterables of parts go out as a stream."""

    SPIN = """
        from spin_sdk import http
        def gen(n, fail_at=None):
            for i in range(n):
                if i == fail_at:
                    raise ValueError("broke at %d" % i)
                yield b"p%d;" % i
        class IncomingHandler(http.IncomingHandler):
            def handle_request(self, request):
                n, _, fail = request.uri[1:].partition("/")
                return http.Response(200, {}, gen(int(n), int(fail) if fail else None))
    """

    def test_spin_generator_streams(self):
        self.boot(self.SPIN, style="spin")
        fake.set_request("GET", "/3")
        self.assertIs(krait_runtime.handle(), True)
        self.assertTrue(fake.streaming)
        self.assertEqual(fake.parts, [b"p0;", b"p1;", b"p2;"])
        self.assertEqual(fake.response[2], b"p0;p1;p2;")

    def test_empty_stream_is_not_streamed(self):
        self.boot(self.SPIN, style="spin")
        self.assertEqual(self.call(uri="/1"), (200, [], b"p0;"))
        self.assertEqual(fake.parts, [b"p0;"])
        self.assertEqual(self.call(uri="/0"), (200, [], b""))
        self.assertFalse(fake.streaming)

    def test_failure_before_first_part_is_a_500(self):
        self.boot(self.SPIN, style="spin")
        self.call(uri="/3/0")
        self.assert500(logged="ValueError: broke at 0")
        self.assertFalse(fake.streaming)

    def test_failure_mid_stream_is_logged_and_reported(self):
        self.boot(self.SPIN, style="spin")
        fake.set_request("GET", "/5/3")
        self.assertIs(krait_runtime.handle(), False)
        self.assertEqual(fake.parts, [b"p0;", b"p1;", b"p2;"])
        self.assertEqual(fake.response[0], 200)
        self.assertIn("ValueError: broke at 3", fake.logs[-1][1])
        self.assertIn("streaming the response failed", fake.logs[-1][1])

    def test_cloudflare_async_generator(self):
        self.boot("""
            import asyncio
            from js import Response
            async def parts():
                yield "a"
                await asyncio.sleep(0)
                yield b"b"
            async def on_fetch(request, env):
                return Response.new(parts(), headers={"content-type": "text/plain"})
        """, style="cloudflare")
        self.assertEqual(self.call()[2], b"ab")
        self.assertEqual(fake.parts, [b"a", b"b"])

    def test_wsgi_generator_streams_and_list_does_not(self):
        self.boot("""
            closed = []
            class Parts:
                def __iter__(self):
                    yield b"x"
                    yield b"y"
                def close(self):
                    closed.append(True)
            def application(environ, start_response):
                sized = environ["PATH_INFO"] == "/sized"
                start_response("200 OK", [("Content-Length", "2")] if sized else [])
                if environ["PATH_INFO"] == "/list":
                    return [b"x", b"y"]
                return Parts()
        """, style="wsgi", wsgi="app")
        self.assertEqual(self.call(uri="/gen")[2], b"xy")
        self.assertEqual(fake.parts, [b"x", b"y"])
        self.assertEqual(sys.modules["app"].closed, [True])
        self.assertEqual(self.call(uri="/list")[2], b"xy")
        self.assertFalse(fake.streaming)
        self.assertEqual(self.call(uri="/sized")[2], b"xy")
        self.assertFalse(fake.streaming)
        self.assertEqual(sys.modules["app"].closed, [True, True])

    def test_flask_stream(self):
        self.boot(directory=os.path.join(EXAMPLES, "flask_app"), style="wsgi",
                  wsgi="app:app")
        app = sys.modules["app"].app

        @app.route("/gen")
        def gen():
            return app.response_class((f"{i}," for i in range(3)))
        self.assertEqual(self.call(uri="/gen")[2], b"0,1,2,")
        self.assertEqual(fake.parts, [b"0,", b"1,", b"2,"])

    def test_bad_part_type(self):
        self.boot("""
            from spin_sdk import http
            class IncomingHandler(http.IncomingHandler):
                def handle_request(self, request):
                    return http.Response(200, {}, iter([b"ok", 5]))
        """, style="spin")
        fake.set_request()
        self.assertIs(krait_runtime.handle(), False)
        self.assertIn("part is int, expected bytes or str", fake.logs[-1][1])


class FakeTest(SdkTest):

    def test_respond_once(self):
        fake.respond(200, [], b"")
        with self.assertRaisesRegex(RuntimeError, "twice"):
            fake.respond(200, [], b"")

    def test_kv_keys_cursor(self):
        fake.configure(kv=["s"])
        h = fake.kv_open("s")
        for k in (b"a1", b"a2", b"a3", b"b1"):
            fake.kv_set(h, k, b"")
        self.assertEqual(fake.kv_keys(h, b"a", None, 2), ([b"a1", b"a2"], b"a2"))
        self.assertEqual(fake.kv_keys(h, b"a", b"a2", 2), ([b"a3"], None))
        with self.assertRaises(fake.KvError):
            fake.kv_get(99, b"a")


if __name__ == "__main__":
    unittest.main()
