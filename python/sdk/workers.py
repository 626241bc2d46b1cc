# python/sdk/workers.py -- krait's stand-in for the `workers` module of
# Cloudflare Python Workers: WorkerEntrypoint, the `env` object (KV
# namespaces, D1 databases, Workers AI (krait_ai) and manifest variables) and the `ctx` object. Does not own the
# Fetch API objects and fetch() (js.py), the KV limits and paging (krait_kv), nor
# running the handler (krait_runtime).
"""Workers entrypoint and bindings compatible with Cloudflare Python Workers."""
import base64
import json

import time

import _krait
import krait_kv
import krait_sqlite
from js import Headers, Request, Response, fetch  # re-exported, as in Workers

__all__ = ["WorkerEntrypoint", "Response", "Request", "Headers", "fetch"]


class WorkerEntrypoint:
    """Base class for `class Default(WorkerEntrypoint)`: krait creates one
    per request with ctx and env, then awaits its fetch(request)."""

    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env

    async def fetch(self, request):
        """Handle a request; subclasses override this."""
        raise NotImplementedError("Default.fetch(request) is not defined")


class Context:
    """The `ctx` argument. Awaitables given to waitUntil run after the
    response has been sent, before the request ends."""

    def __init__(self):
        self.pending = []

    def waitUntil(self, awaitable):
        """Run awaitable after the response is sent."""
        self.pending.append(awaitable)

    def passThroughOnException(self):
        """No origin to pass through to; a no-op."""


def _options(options, kwargs, allowed, what):
    """Merge a Workers-style options dict (or a bare string for `type`) with
    keyword options, rejecting ones krait cannot honour."""
    if isinstance(options, str):
        options = {"type": options}
    merged = dict(options or {})
    merged.update(kwargs)
    unknown = set(merged) - set(allowed)
    if unknown:
        raise NotImplementedError(f"KV {what}: option(s) {sorted(unknown)} are "
                                  f"not supported by krait (no metadata or expiry)")
    return merged


class KVNamespace:
    """A Workers KV binding (env.NAME) over a store granted in the manifest.
    Every method is async but completes without suspending."""

    def __init__(self, name):
        self.name = name

    def _handle(self):
        return krait_kv.open_store(self.name)

    async def get(self, key, options=None, **kwargs):
        """The value for key (or a dict for a list of keys), None if absent.
        type is "text" (default), "json" or "arrayBuffer"."""
        kind = _options(options, kwargs, {"type", "cacheTtl"}, "get").get("type", "text")
        if kind not in ("text", "json", "arrayBuffer"):
            raise ValueError(f"KV get: type {kind!r} is not supported; use "
                             f"'text', 'json' or 'arrayBuffer'")
        if isinstance(key, (list, tuple)):
            return {k: await self.get(k, kind) for k in key}
        raw = _krait.kv_get(self._handle(), krait_kv.key_bytes(key))
        if raw is None:
            return None
        if kind == "arrayBuffer":
            return memoryview(raw)
        text = raw.decode("utf-8", errors="replace")
        return json.loads(text) if kind == "json" else text

    async def getWithMetadata(self, key, options=None, **kwargs):
        """{"value": get(key), "metadata": None} (krait stores no metadata)."""
        return {"value": await self.get(key, options, **kwargs), "metadata": None}

    async def put(self, key, value, options=None, **kwargs):
        """Store value (str, stored as UTF-8, or bytes) under key."""
        _options(options, kwargs, set(), "put")
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"KV put: value must be str or bytes, not "
                            f"{type(value).__name__} (use json.dumps for objects)")
        _krait.kv_set(self._handle(), krait_kv.key_bytes(key),
                      krait_kv.check_value(value))

    async def delete(self, key):
        """Remove key; no error if it does not exist."""
        _krait.kv_delete(self._handle(), krait_kv.key_bytes(key))

    async def list(self, options=None, **kwargs):
        """One page of keys: {"keys": [{"name": k}], "list_complete": bool,
        "cursor": str or None}; options prefix, limit (<= 1000), cursor."""
        opts = _options(options, kwargs, {"prefix", "limit", "cursor"}, "list")
        prefix = krait_kv.key_bytes(opts.get("prefix") or "")
        limit = opts.get("limit") or 1000
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"KV list: limit must be 1..1000, not {limit!r}")
        cursor = opts.get("cursor")
        cursor = base64.urlsafe_b64decode(cursor) if cursor else None
        keys, cursor = _krait.kv_keys(self._handle(), prefix, cursor, limit)
        return {"keys": [{"name": k.decode("utf-8")} for k in keys],
                "list_complete": cursor is None,
                "cursor": base64.urlsafe_b64encode(cursor).decode("ascii")
                if cursor is not None else None}


class JsObject(dict):
    """A JavaScript object as Python Workers hand it over: items are also
    attributes, and to_py() gives a plain dict."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_py(self):
        return {k: v.to_py() if isinstance(v, JsObject) else
                [x.to_py() if isinstance(x, JsObject) else x for x in v]
                if isinstance(v, list) else v for k, v in self.items()}


class D1Error(Exception):
    """A D1 failure (Workers raises it as a JavaScript Error): the message
    is the host's, e.g. the database is not granted, or a SQL error."""


def _d1(op, *args):
    """Runs a binding call, its failures as D1Error (PermissionError kept
    for a denied database, whose message names sqlite_databases)."""
    try:
        return op(*args)
    except PermissionError as e:
        raise PermissionError(f"D1: {e}") from None
    except _krait.CallError as e:
        raise D1Error(f"D1_ERROR: {e.args[1]}") from None


def _plain(tag, v):
    return v


class D1PreparedStatement:
    """env.DB.prepare(sql), with .bind(*values) (? or ?NNN placeholders)."""

    def __init__(self, db, sql, params=()):
        self._db, self._sql, self._params = db, sql, tuple(params)

    def bind(self, *values):
        """A statement with these parameters (None, bool, int, float, str,
        bytes); never interpolated into the SQL."""
        return D1PreparedStatement(self._db, self._sql, values)

    def _run(self, handle):
        t0 = time.monotonic()
        params = [krait_sqlite.encode_plain(v) for v in self._params]
        cols, rows, changes, rowid = _d1(krait_sqlite.execute, handle, self._sql, params, _plain)
        meta = JsObject(duration=(time.monotonic() - t0) * 1000, changes=changes,
                        last_row_id=rowid, rows_read=len(rows), rows_written=changes,
                        changed_db=changes > 0)
        return cols, rows, meta

    async def all(self):
        """{results: [row objects], success: True, meta: {...}}"""
        return self._db._with(lambda h: self._result(*self._run(h)))

    def _result(self, cols, rows, meta):
        return JsObject(results=[JsObject(zip(cols, r)) for r in rows], success=True, meta=meta)

    async def run(self):
        """As all(): the results (often none) and meta (changes,
        last_row_id)."""
        return await self.all()

    async def first(self, column=None):
        """The first row (or its column's value), None when there is none."""
        cols, rows, _ = self._db._with(self._run)
        if not rows:
            return None
        row = JsObject(zip(cols, rows[0]))
        if column is None:
            return row
        if column not in row:
            raise D1Error(f"D1_COLUMN_NOTFOUND: column {column!r} is not in the result")
        return row[column]

    async def raw(self, options=None):
        """The rows as lists (columnNames=True: the names first)."""
        cols, rows, _ = self._db._with(self._run)
        return ([cols] if (options or {}).get("columnNames") else []) + [list(r) for r in rows]


class D1Database:
    """A D1 binding (env.NAME) over a SQLite database granted in the
    manifest (sqlite_databases). Every method is async but completes
    without suspending; each opens the database for its own work."""

    def __init__(self, name):
        self.name = name

    def _with(self, work):
        handle = _d1(krait_sqlite.open_db, self.name)
        try:
            return work(handle)
        finally:
            _d1(krait_sqlite.close_db, handle)

    def prepare(self, sql):
        return D1PreparedStatement(self, sql)

    async def batch(self, statements):
        """Runs the statements in one transaction: all of them or, when one
        fails, none (the error is raised). A list of results."""
        def work(h):
            krait_sqlite.execute(h, "BEGIN IMMEDIATE", [], _plain)
            try:
                out = [s._result(*s._run(h)) for s in statements]
            except BaseException:
                try:   # a failed ROLLBACK (none active) must not hide the error
                    krait_sqlite.execute(h, "ROLLBACK", [], _plain)
                except Exception:
                    pass
                raise
            krait_sqlite.execute(h, "COMMIT", [], _plain)
            return out
        return self._with(lambda h: _d1(work, h))

    async def exec(self, sql):
        """Runs the statements of sql (no parameters): {count, duration}."""
        t0 = time.monotonic()
        count = self._with(lambda h: _d1(krait_sqlite.exec_script, h, sql))
        return JsObject(count=count, duration=(time.monotonic() - t0) * 1000)


class Env:
    """The `env` argument: env.NAME is a KVNamespace for each granted store,
    a D1Database for each granted SQLite database, env.AI Workers AI when
    the app is granted models (ai_models), otherwise the manifest variable
    NAME (a str)."""

    def __init__(self, kv_names, sqlite_names=(), ai_models=()):
        for name in kv_names:
            setattr(self, name, KVNamespace(name))
        for name in sqlite_names:
            setattr(self, name, D1Database(name))
        if ai_models:
            import krait_ai
            self.AI = krait_ai.Ai(ai_models)

    def __getattr__(self, name):
        try:
            value = _krait.variable(name) if not name.startswith("__") else None
        except _krait.KvError as exc:   # the host refused: not while booting
            raise RuntimeError(str(exc)) from None
        if value is None:
            raise AttributeError(f"env has no binding {name!r}: it is neither a "
                                 f"granted KV store (key_value_stores), a granted "
                                 f"SQLite database (sqlite_databases) nor a manifest "
                                 f"variable")
        return value
