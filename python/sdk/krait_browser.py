# python/sdk/krait_browser.py -- the `js` module of Python in the browser
# (krait_runtime installs it as `js` in the "browser" style): the page's
# JavaScript objects as JsProxy values, reached through one host import
# (_krait.js: a JSON operation in, a JSON result out) that web/krait.js
# runs on the page's main thread. Also create_proxy (Python callables that
# JavaScript may call later), display(), and `pyodide.ffi`-style names.
# Does not own the page side (web/krait.js) or running code (krait_runtime).
"""JavaScript from Python: `from js import document, console, window`."""
import json

import _krait

__all__ = ["JsProxy", "JsException", "create_proxy", "to_js", "display"]


class JsException(Exception):
    """A JavaScript exception, raised in Python: .name is its JS name
    (TypeError, ...), .message its message, .stack its JS stack."""

    def __init__(self, name, message, stack=""):
        super().__init__(f"{name}: {message}")
        self.name, self.message, self.stack = name, message, stack


_proxies = {}          # id -> Python callable that JavaScript may call
_next_proxy = [1]
_dead = []             # JS refs Python dropped, freed with the next op


def _op(**op):
    """Runs one operation on the page; its decoded result."""
    if _dead:
        op["free"] = list(_dead)
        _dead.clear()
    reply = json.loads(_krait.js(json.dumps(op, default=_encode_default)))
    if "error" in reply:
        err = reply["error"]
        raise JsException(err.get("name", "Error"), err.get("message", ""), err.get("stack", ""))
    return _decode(reply.get("value"))


def _encode(value):
    """A Python value as the wire form: JSON scalars as they are, JsProxy
    as its ref, callables as proxies, lists/tuples and dicts converted."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, JsProxy):
        return {"$ref": value._ref}
    if isinstance(value, _PyProxy):
        return {"$py": value._id}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$obj": {str(k): _encode(v) for k, v in value.items()}}
    if callable(value):
        return {"$py": create_proxy(value)._id}
    raise TypeError(f"cannot pass {type(value).__name__} to JavaScript")


def _encode_default(value):
    raise TypeError(f"cannot pass {type(value).__name__} to JavaScript")


def _decode(value):
    """The wire form back as Python: refs become JsProxy objects."""
    if isinstance(value, dict):
        if "$ref" in value:
            return JsProxy(value["$ref"], value.get("type", "object"), value.get("cls", ""))
        if "$undefined" in value:
            return None
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class JsProxy:
    """A JavaScript object: attribute get/set, calls (methods are called
    with the object as `this`), `new` via .new(...), item access, len(),
    iteration over array-likes, and str() as JavaScript's String()."""

    __slots__ = ("_ref", "_type", "_cls")

    def __init__(self, ref, type_="object", cls=""):
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_type", type_)
        object.__setattr__(self, "_cls", cls)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _op(op="get", ref=self._ref, name=name)

    def __setattr__(self, name, value):
        _op(op="set", ref=self._ref, name=name, value=_encode(value))

    def __delattr__(self, name):
        _op(op="delete", ref=self._ref, name=name)

    def __call__(self, *args):
        return _op(op="call", ref=self._ref, args=[_encode(a) for a in args])

    def new(self, *args):
        """JavaScript `new` on this constructor."""
        return _op(op="new", ref=self._ref, args=[_encode(a) for a in args])

    def __getitem__(self, key):
        return _op(op="get", ref=self._ref, name=key)

    def __setitem__(self, key, value):
        _op(op="set", ref=self._ref, name=key, value=_encode(value))

    def __len__(self):
        return int(_op(op="get", ref=self._ref, name="length") or 0)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __str__(self):
        return _op(op="string", ref=self._ref)

    def __repr__(self):
        return f"<JsProxy {self._cls or self._type} #{self._ref}>"

    def typeof(self):
        """JavaScript's typeof."""
        return self._type

    def __del__(self):
        if self._ref:   # 0 is globalThis, never freed
            _dead.append(self._ref)


class _PyProxy:
    """A handle JavaScript holds on a Python callable (see create_proxy)."""

    def __init__(self, fn):
        self._id = _next_proxy[0]
        _next_proxy[0] += 1
        _proxies[self._id] = fn

    def destroy(self):
        """Forget the callable: JavaScript calls to it then fail."""
        _proxies.pop(self._id, None)


def create_proxy(fn):
    """A handle for passing fn to JavaScript (event listeners, timers); it
    stays callable until .destroy()."""
    if not callable(fn):
        raise TypeError("create_proxy needs a callable")
    return _PyProxy(fn)


def to_js(value):
    """Python lists/dicts as new JavaScript arrays/objects (a JsProxy)."""
    return _op(op="value", value=_encode(value))


def call_proxy(body):
    """krait_runtime's entry for a call from JavaScript: body is JSON
    {"id": proxy id, "args": [...]}; runs the callable."""
    msg = json.loads(body)
    fn = _proxies.get(msg.get("id"))
    if fn is None:
        raise RuntimeError(f"JavaScript called Python proxy {msg.get('id')}, which was destroyed")
    return fn(*_decode(msg.get("args") or []))


_target = [None]   # the element display() writes into (set per script block)


def display(*values, target=None, append=True):
    """Shows values in the page: in the element with id `target` (default:
    the output element of the current <script type="text/python">). Objects
    with _repr_html_ are shown as HTML, others as text."""
    doc = globalThis.document
    where = target or _target[0]
    el = doc.getElementById(where) if where else doc.body
    if el is None:
        raise ValueError(f"display: no element with id {where!r}")
    if not append:
        el.innerHTML = ""
    for v in values:
        div = doc.createElement("div")
        html = getattr(v, "_repr_html_", None)
        if callable(html):
            div.innerHTML = html()
        else:
            div.textContent = v if isinstance(v, str) else repr(v)
        el.append(div)


globalThis = JsProxy(0, "object", "globalThis")


def __getattr__(name):
    """`from js import document`: a global of the page."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(globalThis, name)
