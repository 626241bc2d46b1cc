# python/sdk/krait_runtime.py -- the guest side of `krait serve`: boot()
# finds the app's handler once, at snapshot time; handle() runs it for one
# request in the app's style (spin, cloudflare or wsgi) and answers exactly
# once, turning any failure into a logged 500. Does not own the styles' APIs
# (spin_sdk, js, workers, krait_wsgi) nor the sandbox and snapshot (the host).
"""Boot an app and handle requests through the `_krait` host module."""
import importlib
import json
import os
import re
import sys
import traceback   # at boot: every failing request needs it, and starts from the snapshot

import _krait
import krait_kv

_run = None          # run(method, uri, headers, body) -> (status, headers, body)
_debug = False
_secret_keys = []   # app variables holding a secret: redacted from tracebacks
_after = []          # callables to run once the response has been sent
_loop = None         # the cloudflare style's event loop, made at boot


# ---- boot ----------------------------------------------------------------

def boot():
    """Boot the app (_boot); a failure's traceback (a SyntaxError in the app,
    an exception at import) is printed and flushed before it propagates:
    the host's PyErr_Print would leave it in stderr's buffer, and the
    instance is dropped unflushed, so the log said only 'booting failed'."""
    try:
        _boot()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        raise


def _boot():
    """Read the app config, import the app, find its handler and import what
    requests need, so the snapshot holds it all. Raises RuntimeError naming
    the module and what is missing."""
    global _run, _debug
    config = _krait.config()
    style = config.get("style")
    booters = {"spin": _boot_spin, "cloudflare": _boot_cloudflare,
               "wsgi": _boot_wsgi, "browser": _boot_browser}
    if style not in booters:
        raise RuntimeError(f"app config has style {style!r}; expected one of "
                           f"'spin', 'cloudflare', 'wsgi' (or 'browser')")
    _run = None
    _debug = bool(config.get("debug"))
    _secret_keys[:] = config.get("secrets") or []
    _run = booters[style](config)
    if config.get("outbound"):
        _preload_outbound()
    # Every request maps this state copy-on-write: collect the garbage now
    # and move what survives out of the collector's reach, so that no
    # request's collection walks (and so copies) the snapshot's pages.
    import gc
    gc.collect()
    gc.freeze()
    _krait.boot_info(json.dumps({"site_packages": imported_from_site_packages()}))


SITE_PACKAGES = "/krait/site-packages/"   # where the host mounts them, in order


def imported_from_site_packages():
    """For each mounted site-packages dir (/krait/site-packages/N, in order),
    the sorted top-level names (a package dir or a module file) that the
    modules imported so far came from: what krait build bundles."""
    dirs = sorted((p for p in sys.path if p.startswith(SITE_PACKAGES)),
                  key=lambda p: int(p[len(SITE_PACKAGES):] or 0))
    tops = {d: set() for d in dirs}
    for module in list(sys.modules.values()):
        files = [getattr(module, "__file__", None) or ""]
        files += list(getattr(module, "__path__", None) or [])
        for f in files:
            for d in dirs:
                if isinstance(f, str) and f.startswith(d + "/"):
                    tops[d].add(f[len(d) + 1:].split("/")[0])
    return [sorted(tops[d]) for d in dirs]


def _import_app(name, style):
    """The app module `name`; a clear RuntimeError if it is not there."""
    if not name:
        raise RuntimeError(f"app config names no module ({style} style)")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in (name, name.split(".")[0]):
            raise   # the app imports something missing; its own error is best
        raise RuntimeError(f"app module {name!r} not found ({style} style); "
                           f"searched {sys.path}") from exc


def _where(module):
    """How to name a module in errors: its file name, e.g. "app.py"."""
    path = getattr(module, "__file__", None)
    return os.path.basename(path) if path else module.__name__


# What an app's first outbound call imports (spin_sdk.http.send, fetch,
# pyfetch, urllib, requests' netrc lookup): imported at boot when the app
# has allowed_outbound_hosts, so the snapshot holds them. Every request is a
# fresh instance of the snapshot: left lazy, each request would import them
# again (48 modules, about 30 ms).
_OUTBOUND_MODULES = ("krait_fetch", "http.client", "socket", "ssl", "email.parser",
                     "urllib.request", "spin_sdk.wit.imports.types", "netrc", "shlex")


def _preload_outbound():
    """Imports _OUTBOUND_MODULES (all of them stdlib or krait's SDK)."""
    import importlib
    for name in _OUTBOUND_MODULES:
        importlib.import_module(name)


def _boot_spin(config):
    from spin_sdk import http, key_value, variables  # noqa: F401 (preload)
    module = _import_app(config.get("module"), "spin")
    cls = getattr(module, "IncomingHandler", None)
    if not isinstance(cls, type) or cls is http.IncomingHandler:
        raise RuntimeError(f"{_where(module)} defines no IncomingHandler class "
                           f"(spin style)")
    if not issubclass(cls, http.IncomingHandler):
        raise RuntimeError(f"{_where(module)}: IncomingHandler does not subclass "
                           f"spin_sdk.http.IncomingHandler (spin style)")
    handler = cls()

    def run(method, uri, headers, body):
        response = handler.handle_request(
            http.Request(method, uri, join_headers(headers), body))
        if not isinstance(response, http.Response):
            raise TypeError(f"IncomingHandler.handle_request returned "
                            f"{type(response).__name__}, expected "
                            f"spin_sdk.http.Response")
        return response.status, header_list(response.headers), response.body
    return run


def _boot_cloudflare(config):
    import inspect
    import js
    import workers
    module = _import_app(config.get("module"), "cloudflare")
    env = workers.Env(config.get("kv") or [], config.get("sqlite") or [], config.get("ai") or [])
    call = _cloudflare_entry(module, env, workers)
    _event_loop()

    def run(method, uri, headers, body):
        ctx = workers.Context()
        result = call(js.Request(method, absolute_url(uri, headers), headers, body), ctx)
        if inspect.isawaitable(result):
            result = _await(result)
        _after.extend(lambda a=a: _await(a) for a in ctx.pending)
        if not isinstance(result, js.Response):
            raise TypeError(f"the fetch handler returned {type(result).__name__}, "
                            f"expected Response (from js or workers)")
        return result.status, header_list(result.headers.pairs()), result.body
    return run


def _cloudflare_entry(module, env, workers):
    """call(request, ctx) for the module's on_fetch or Default.fetch."""
    import inspect
    on_fetch = getattr(module, "on_fetch", None)
    if callable(on_fetch):
        params = inspect.signature(on_fetch).parameters.values()
        takes_ctx = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                        for p in params) >= 3 or any(
                            p.kind == p.VAR_POSITIONAL for p in params)
        if takes_ctx:
            return lambda request, ctx: on_fetch(request, env, ctx)
        return lambda request, ctx: on_fetch(request, env)
    cls = getattr(module, "Default", None)
    if isinstance(cls, type) and issubclass(cls, workers.WorkerEntrypoint) \
            and cls.fetch is not workers.WorkerEntrypoint.fetch:
        return lambda request, ctx: cls(ctx, env).fetch(request)
    raise RuntimeError(f"{_where(module)} defines no async on_fetch(request, env) "
                       f"function and no Default(WorkerEntrypoint) class with a "
                       f"fetch(self, request) method (cloudflare style)")


def _boot_wsgi(config):
    import krait_wsgi
    spec = config.get("wsgi") or ""
    name, _, attr = spec.partition(":")
    module = _import_app(name, "wsgi")
    app = module
    for part in (attr or "application").split("."):
        app = getattr(app, part, None)
    if not callable(app):
        raise RuntimeError(f"{_where(module)} defines no WSGI callable "
                           f"{attr or 'application'!r} (wsgi style, wsgi = {spec!r})")

    def run(method, uri, headers, body):
        status, out_headers, out_body = krait_wsgi.call(app, method, uri, headers, body)
        return status, header_list(out_headers), out_body
    return run


def _boot_browser(config):
    """web/krait.js's interpreter: one persistent __main__ namespace; each
    "request" is code to run in it (method RUN, body the source, uri the
    file name for tracebacks). Output goes to stdout/stderr as it is
    written; a failure prints its traceback to stderr and answers 500.
    config["preload"]: modules imported now (a package set's packages, so
    that its snapshot holds them and a page's import costs nothing)."""
    import __main__
    import importlib
    import types
    import krait_browser
    namespace = __main__.__dict__
    sys.modules["js"] = krait_browser
    pyodide, ffi = types.ModuleType("pyodide"), types.ModuleType("pyodide.ffi")
    for name in ("create_proxy", "to_js", "JsProxy", "JsException"):
        setattr(ffi, name, getattr(krait_browser, name))
    pyodide.ffi = ffi
    sys.modules.update({"pyodide": pyodide, "pyodide.ffi": ffi})
    # after js and pyodide exist: a package may import them, or look for
    # them to tell it is in a browser
    for name in config.get("preload") or ():
        importlib.import_module(name)
    namespace.setdefault("display", krait_browser.display)

    def run(method, uri, headers, body):
        if method not in ("RUN", "CALL"):
            return 400, [], f"unknown browser request {method!r}".encode()
        target = dict(headers).get("target")
        if target:
            krait_browser._target[0] = target
        try:
            if method == "CALL":
                krait_browser.call_proxy(body)
            else:
                code = compile(body.decode("utf-8", "replace"), uri or "<exec>", "exec")
                exec(code, namespace)
        except SystemExit as exc:
            return 200, [("x-exit", str(exc.code if exc.code is not None else 0))], b""
        except BaseException:
            exc_type, exc, tb = sys.exc_info()
            traceback.print_exception(exc_type, exc, tb.tb_next if tb else None)
            return 500, [], b""
        finally:
            _flush_stdio()
        return 200, [], b""
    return run


# ---- running coroutines ----------------------------------------------------

class _Resume:
    """Continue a coroutine that suspended on `pending` inside an event loop:
    hand `pending` to the loop, then relay what the loop sends or throws."""

    def __init__(self, coro, pending):
        self.coro, self.pending = coro, pending

    def __await__(self):
        value = self.pending
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:
                step = self.coro.throw, exc
            else:
                step = self.coro.send, sent
            try:
                value = step[0](step[1])
            except StopIteration as stop:
                return stop.value


async def _finish(coro, pending):
    return await _Resume(coro, pending)


def _event_loop():
    """The event loop coroutines run in, made at boot for the cloudflare
    style (asyncio is imported only then: the other styles' snapshots are
    smaller without it)."""
    global _loop
    import asyncio
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop


def _await(awaitable):
    """The result of awaitable. Stepped by hand first, with the boot-time loop
    marked running: the SDK's awaitables finish without suspending, so usually
    no loop ever runs. If it does suspend (asyncio.sleep, a task, ...), the
    same loop -- which owns any future it made -- runs it to the end."""
    import asyncio
    import inspect
    _event_loop()
    if not inspect.iscoroutine(awaitable):
        async def wrap(inner):
            return await inner
        awaitable = wrap(awaitable)
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(_loop)
    try:
        pending = awaitable.send(None)
    except StopIteration as stop:
        return stop.value
    finally:
        asyncio.events._set_running_loop(previous)
    return _loop.run_until_complete(_finish(awaitable, pending))


# ---- handle --------------------------------------------------------------

def handle():
    """Handle the current request: run the handler and call _krait.respond
    exactly once. Failures are logged with their traceback and answered 500
    (the traceback is in the body only when the app config has debug). A
    body that is an iterable of parts is streamed: respond(..., more=True)
    with the first part, then _krait.send for each later one. Returns False
    when such a stream failed after its head went out (the host then cuts
    the body short), else True."""
    krait_kv.reset()
    _after.clear()
    rest = None
    try:
        if _run is None:
            raise RuntimeError("krait_runtime.handle() called before a "
                               "successful boot()")
        status, headers, body = _run(*_krait.request())
        check_status(status)
        body, rest = first_part(body)
    except (Exception, SystemExit):
        status, headers, body = _failure("handler failed")
    try:
        _krait.respond(status, headers, body, rest is not None)
    except Exception:       # e.g. a header the host cannot encode: not sent
        _krait.respond(*_failure("sending the response failed"))
        rest = None
    ok = rest is None or _stream(rest)
    for job in _after:
        try:
            job()
        except (Exception, SystemExit):
            _failure("waitUntil task failed")
    _flush_stdio()
    return ok


def _flush_stdio():
    """Flush what the handler print()ed: the instance ends with the request,
    and with it anything left in Python's buffers."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def first_part(body):
    """(first, rest) of a response body: bytes-like or None give (bytes,
    None); an iterable of bytes or str parts (a generator, say) gives its
    first non-empty part and an iterator of the others -- streamed -- or
    (b"", None) when it has none. Errors before the first part still
    become a 500."""
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return body_bytes(body), None
    if hasattr(body, "__aiter__"):
        body = _sync_parts(body)
    try:
        parts = iter(body)
    except TypeError:
        raise TypeError(f"response body is {type(body).__name__}, expected bytes, "
                        f"None or an iterable of bytes") from None
    for part in parts:
        first = _part_bytes(part)
        if first:
            return first, parts
    return b"", None


def _part_bytes(part):
    """A streamed part as bytes (str is encoded as UTF-8)."""
    if isinstance(part, str):
        return part.encode()
    if isinstance(part, (bytes, bytearray, memoryview)):
        return bytes(part)
    raise TypeError(f"a streamed response part is {type(part).__name__}, "
                    f"expected bytes or str")


def _sync_parts(agen):
    """The parts of an async iterable, stepped with _await."""
    it = agen.__aiter__()
    while True:
        try:
            yield _await(it.__anext__())
        except StopAsyncIteration:
            return


def _stream(rest):
    """Send every part of rest; False (after logging) if one failed."""
    try:
        for part in rest:
            part = _part_bytes(part)
            if part:
                _krait.send(part)
        return True
    except (Exception, SystemExit):
        _krait.log(40, "streaming the response failed:\n" + _redact(traceback.format_exc()))
        return False
    finally:
        close = getattr(rest, "close", None)
        if callable(close):
            close()


def _secret_values():
    """The secrets in the app's variables: for each [key, shape] of the
    config's "secrets", the parts of the key's value standing where the
    shape has {{!}} (a secret variable; {{?}} is another one) when the shape
    splits the value in exactly one way, else the whole value: when the
    shape is null, does not match, leaves a secret empty (two references
    side by side) or could split it in more than one way (a secret
    "p@ss:w0rd" in "{{?}}:{{!}}@{{?}}" could end at either "@")."""
    found = []
    for key, shape in _secret_keys:
        try:
            value = _krait.variable(key) or ""
        except Exception:
            continue
        secret = None
        if shape:
            parts = re.split(r"(\{\{[!?]\}\})", shape)
            # shortest and longest matches of every reference agree only
            # when there is a single way to split the value
            lazy, greedy = (re.fullmatch("".join("(.*%s)" % q if p in ("{{!}}", "{{?}}") else re.escape(p)
                                                 for p in parts), value, re.S) for q in ("?", ""))
            if lazy and greedy and lazy.groups() == greedy.groups():
                secret = [g for p, g in zip([p for p in parts if p in ("{{!}}", "{{?}}")], lazy.groups())
                          if p == "{{!}}"]
        found.extend(secret if secret and all(secret) else [value])
    return sorted({v for v in found if v}, key=len, reverse=True)


def _redact(text):
    """text with every secret of the app's variables replaced by "[secret]"
    (the host redacts them from log lines as well)."""
    for value in _secret_values():
        text = text.replace(value, "[secret]")
    return text


def _failure(what):
    """Log the exception being handled; the 500 response for it (secrets
    redacted from both), or 503 when it is the LLM engine's full queue
    (krait_llm.Busy: the request may be retried)."""
    text = _redact(traceback.format_exc())
    _krait.log(40, f"{what}:\n{text}")
    llm = sys.modules.get("krait_llm")
    if llm is not None and isinstance(sys.exc_info()[1], llm.Busy):
        body = "503 Service Unavailable: the model is busy; try again later\n" + (f"\n{text}" if _debug else "")
        return 503, [("content-type", "text/plain; charset=utf-8"), ("retry-after", "1")], body.encode()
    body = "500 Internal Server Error\n" + (f"\n{text}" if _debug else "")
    return 500, [("content-type", "text/plain; charset=utf-8")], body.encode()


# ---- shared helpers --------------------------------------------------------

def join_headers(pairs):
    """Request header pairs as a dict; repeats joined with ", " ("; " for
    cookie), as HTTP allows."""
    joined = {}
    for name, value in pairs:
        if name in joined:
            joined[name] += ("; " if name == "cookie" else ", ") + value
        else:
            joined[name] = value
    return joined


def split_host(pairs):
    """(host name, port or "") from the Host header; ("localhost", "") without."""
    host = next((v for n, v in pairs if n == "host"), "").strip()
    if host.startswith("["):                      # [IPv6]:port
        name, _, rest = host.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else ""
    name, _, port = host.partition(":")
    return name or "localhost", port


def absolute_url(uri, pairs):
    """http://host[:port]/path?query for uri (a path with optional query)."""
    name, port = split_host(pairs)
    return f"http://{name}{':' + port if port else ''}{uri}"


def check_status(status):
    """Raise if status is not an int HTTP status code."""
    if type(status) is not int:
        raise TypeError(f"response status is {type(status).__name__}, expected int")
    if not 100 <= status <= 599:
        raise ValueError(f"response status {status} is not in 100..599")


def header_list(headers):
    """Response headers (a mapping or (name, value) pairs) as a list of
    (str, str) tuples, checked."""
    items = headers.items() if hasattr(headers, "items") else headers or ()
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"response header {item!r} is not a (name, value) pair")
        name, value = item
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"response header {name!r}: name and value must be "
                            f"str, not {type(name).__name__}/{type(value).__name__}")
        if any(c in name + value for c in "\r\n\0"):
            raise ValueError(f"response header {name!r} contains CR, LF or NUL")
        out.append((name, value))
    return out


def body_bytes(body):
    """A response body (bytes-like or None) as bytes."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"response body is {type(body).__name__}, expected bytes "
                    f"or None" + (" (encode the str first)" if isinstance(body, str) else ""))
