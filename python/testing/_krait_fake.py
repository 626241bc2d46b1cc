# python/testing/_krait_fake.py -- a pure-Python stand-in for the built-in
# `_krait` module, for the SDK's tests and for running handlers natively
# (outside python/sdk, so artifacts and sdk.zip never ship it). Owns the
# same functions as the host's module plus knobs to set the config and the
# current request and to read back the response and the log. Does not own
# anything the real runtime uses: krait never imports this file.
"""Fake `_krait`: install() it as sys.modules["_krait"], then configure(),
set_request(), run krait_runtime.boot()/handle(), and read `response`."""
import copy
import sqlite3
import struct
import sys

MAX_KEY = 256
MAX_VALUE = 1 << 20
MAX_PAGE = 1000          # the fake's page cap, so pagination gets exercised


class KvError(Exception):
    """A key-value operation failed (same name as the host's exception)."""


def _abi_codes():
    """The KRAIT_E_* codes of python/c/krait_abi.h (the one source), as the
    real module's E_* names."""
    import os
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "c", "krait_abi.h")
    with open(path, encoding="utf-8") as f:
        return {"E_" + m.group(1): int(m.group(2))
                for m in re.finditer(r"KRAIT_E_(\w+) = (-?\d+)", f.read())}


globals().update(_abi_codes())


class CallError(Exception):
    """A host binding's operation failed: args (code, message), code the
    KRAIT_E_* value (same name as the host's exception)."""


_DEFAULT_CONFIG = {"style": "spin", "module": "app", "wsgi": "", "name": "app",
                   "kv": [], "sqlite": [], "debug": False}

config_data = dict(_DEFAULT_CONFIG)
variables = {}           # app variables: name -> str
stores = {}              # store name -> {key bytes: value bytes}
logs = []                # (level, message) in order
response = None          # (status, headers, body) once respond() was called
parts = []               # a streamed body's parts, the first included
streaming = False        # respond(..., more=True) was called
echo = False             # also print log lines to stderr
_request = ("GET", "/", [], b"")
_handles = []            # handle -> store name
databases = {}           # sqlite database name -> an in-memory connection
_conns = []              # sqlite handle -> connection (None once closed)


def install():
    """Make this module importable as `_krait`; returns the module."""
    module = sys.modules[__name__]
    sys.modules["_krait"] = module
    return module


def reset():
    """Forget config, variables, stores, logs, request and response."""
    global config_data, response, _request, streaming
    config_data = dict(_DEFAULT_CONFIG)
    streaming = False
    parts.clear()
    variables.clear()
    stores.clear()
    logs.clear()
    _handles.clear()
    for db in databases.values():
        db.close()
    databases.clear()
    _conns.clear()
    response = None
    _request = ("GET", "/", [], b"")


def configure(**fields):
    """Update the app config returned by config(), e.g. style="wsgi"."""
    config_data.update(fields)


def set_request(method="GET", uri="/", headers=(), body=b""):
    """Set the current request and clear the previous response. Like the
    host, pass non-UTF-8 header bytes as str decoded with surrogateescape."""
    global _request, response, streaming
    _request = (method, uri, [(k.lower(), v) for k, v in headers], bytes(body))
    response = None
    streaming = False
    parts.clear()


# ---- the `_krait` interface -------------------------------------------------

def config():
    """The app's handler configuration (a copy)."""
    return copy.deepcopy(config_data)


def request():
    """The current request: (method, uri, headers, body)."""
    method, uri, headers, body = _request
    return method, uri, list(headers), body


def respond(status, headers, body, more=False):
    """Capture the response; like the host, only once per request. With
    more, body is the first part of a stream that send() continues; the
    response's body then grows with each part."""
    global response, streaming
    if response is not None:
        raise RuntimeError("respond() called twice for one request")
    if type(status) is not int:
        raise TypeError(f"status must be int, not {type(status).__name__}")
    if not isinstance(headers, list) or not all(
            isinstance(h, tuple) and len(h) == 2 and isinstance(h[0], str)
            and isinstance(h[1], str) for h in headers):
        raise TypeError("headers must be a list of (str, str) tuples")
    if not isinstance(body, bytes):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    for name, value in headers:      # the host sends str as strict UTF-8
        name.encode("utf-8"), value.encode("utf-8")
    response = (status, headers, body)
    if more:
        streaming = True
        parts.append(body)


def send(data):
    """The next part of a streamed body (after respond(..., more=True))."""
    global response
    if not streaming:
        raise RuntimeError("send() before respond(..., more=True)")
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    parts.append(data)
    response = response[:2] + (response[2] + data,)


boot_infos = []         # what boot_info() was given, parsed


def boot_info(data):
    """Record what the boot imported (JSON text), as the host keeps it."""
    import json
    boot_infos.append(json.loads(data))


def variable(name):
    """An app variable from the manifest, or None."""
    return variables.get(name)


def log(level, message):
    """Record a log line (and print it if `echo`)."""
    logs.append((level, message))
    if echo:
        print(f"[krait {level}] {message}", file=sys.stderr)


def kv_open(name):
    """A handle for a granted store; PermissionError if not granted."""
    if name not in config_data.get("kv", []):
        raise PermissionError(
            f"key-value store {name!r} is not granted to app "
            f"{config_data.get('name')!r}; declare it in the app's manifest")
    stores.setdefault(name, {})
    _handles.append(name)
    return len(_handles) - 1


def _store(h, key=None, value=None):
    if not isinstance(h, int) or not 0 <= h < len(_handles):
        raise KvError(f"invalid key-value handle {h!r}")
    if key is not None:
        if not isinstance(key, bytes):
            raise TypeError(f"key must be bytes, not {type(key).__name__}")
        if len(key) > MAX_KEY:
            raise KvError(f"key is {len(key)} bytes; the limit is {MAX_KEY}")
    if value is not None:
        if not isinstance(value, bytes):
            raise TypeError(f"value must be bytes, not {type(value).__name__}")
        if len(value) > MAX_VALUE:
            raise KvError(f"value is {len(value)} bytes; the limit is {MAX_VALUE}")
    return stores[_handles[h]]


def kv_get(h, key):
    """The value stored under key, or None."""
    return _store(h, key).get(key)


def kv_set(h, key, value):
    """Store value under key."""
    _store(h, key, value)[key] = value


def kv_delete(h, key):
    """Remove key (no error if absent)."""
    _store(h, key).pop(key, None)


def kv_exists(h, key):
    """Whether key is stored."""
    return key in _store(h, key)


def kv_keys(h, prefix, cursor, limit):
    """Up to `limit` (capped at MAX_PAGE) keys starting with prefix, sorted,
    after `cursor`; returns (keys, next cursor or None)."""
    store = _store(h, prefix)
    if not isinstance(limit, int) or limit < 1:
        raise KvError(f"limit must be a positive int, not {limit!r}")
    keys = sorted(k for k in store if k.startswith(prefix)
                  and (cursor is None or k > cursor))
    page = keys[:min(limit, MAX_PAGE)]
    more = len(keys) > len(page)
    return page, (page[-1] if more else None)


# ---- call: the sqlite binding, on Python's sqlite3 ---------------------------

def _sql_values(data, at, n):
    """n tagged values from data at offset at; (values, new offset)."""
    out = []
    for _ in range(n):
        tag = data[at]
        at += 1
        if tag in (1, 2):
            out.append(struct.unpack_from("<q" if tag == 1 else "<d", data, at)[0])
            at += 8
        elif tag in (3, 4):
            size = struct.unpack_from("<I", data, at)[0]
            raw = bytes(data[at + 4:at + 4 + size])
            out.append(raw.decode("utf-8") if tag == 3 else raw)
            at += 4 + size
        else:
            out.append(None)
    return out, at


def _sql_encode(v):
    if v is None:
        return b"\0"
    if isinstance(v, int):
        return struct.pack("<Bq", 1, v)
    if isinstance(v, float):
        return struct.pack("<Bd", 2, v)
    raw = v.encode("utf-8") if isinstance(v, str) else bytes(v)
    return struct.pack("<BI", 3 if isinstance(v, str) else 4, len(raw)) + raw


def _sql_conn(h, op):
    if h >= len(_conns) or _conns[h] is None:
        raise CallError(E_STATE, f"{op}: connection {h} is not open")
    return _conns[h]


def call(name, payload):
    """The host's sqlite.* operations (python/c/krait_abi.h) on in-memory
    databases, one per granted name; net.* go to _krait_net_fake."""
    payload = bytes(payload)
    if name.startswith("net."):
        import _krait_net_fake
        return _krait_net_fake.call(name, payload)
    if name == "sqlite.open":
        db = payload.decode("utf-8")
        if db not in config_data.get("sqlite", []):
            raise PermissionError(f'sqlite database "{db}" is not granted to app '
                                  f'"{config_data.get("name")}": add it to the app\'s '
                                  f'sqlite_databases in krait.toml')
        if db not in databases:
            databases[db] = sqlite3.connect(":memory:", isolation_level=None)
        _conns.append(databases[db])
        return struct.pack("<I", len(_conns) - 1)
    if name == "sqlite.close":
        h = struct.unpack("<I", payload)[0]
        _sql_conn(h, name)
        _conns[h] = None
        return b""
    if name == "sqlite.exec":
        db = _sql_conn(struct.unpack_from("<I", payload)[0], name)
        sql = payload[4:].decode("utf-8")
        try:
            db.executescript(sql)
        except sqlite3.Error as e:
            raise CallError(E_BACKEND, f"{name}: {e}") from None
        return struct.pack("<I", len([s for s in sql.split(";") if s.strip()]))
    if name == "sqlite.execute":
        h, n = struct.unpack_from("<II", payload)
        sql = payload[8:8 + n].decode("utf-8")
        count = struct.unpack_from("<I", payload, 8 + n)[0]
        params, _ = _sql_values(payload, 12 + n, count)
        db = _sql_conn(h, name)
        try:
            cur = db.execute(sql, params)
            rows = cur.fetchall()
        except (sqlite3.Error, sqlite3.Warning) as e:
            raise CallError(E_BACKEND, f"{name}: {e}") from None
        cols = [d[0] for d in cur.description or []]
        out = [struct.pack("<I", len(cols))]
        out += [struct.pack("<I", len(c.encode())) + c.encode() for c in cols]
        out.append(struct.pack("<I", len(rows)))
        out += [_sql_encode(v) for row in rows for v in row]
        out.append(struct.pack("<qq", max(cur.rowcount, 0), cur.lastrowid or 0))
        return b"".join(out)
    raise CallError(E_NOTFOUND, f'call: no host operation "{name}" in this krait')
