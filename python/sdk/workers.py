# python/sdk/workers.py -- krait's stand-in for the `workers` module of
# Cloudflare Python Workers: WorkerEntrypoint, the `env` object (KV
# namespaces and manifest variables) and the `ctx` object. Does not own the
# Fetch API objects (js.py), the KV limits and paging (krait_kv), nor
# running the handler (krait_runtime).
"""Workers entrypoint and bindings compatible with Cloudflare Python Workers."""
import base64
import json

import _krait
import krait_kv
from js import Headers, Request, Response  # re-exported, as in Workers

__all__ = ["WorkerEntrypoint", "Response", "Request", "Headers"]


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


class Env:
    """The `env` argument: env.NAME is a KVNamespace for each granted store,
    otherwise the manifest variable NAME (a str)."""

    def __init__(self, kv_names):
        for name in kv_names:
            setattr(self, name, KVNamespace(name))

    def __getattr__(self, name):
        try:
            value = _krait.variable(name) if not name.startswith("__") else None
        except _krait.KvError as exc:   # the host refused: not while booting
            raise RuntimeError(str(exc)) from None
        if value is None:
            raise AttributeError(f"env has no binding {name!r}: it is neither a "
                                 f"granted KV store nor a manifest variable")
        return value
