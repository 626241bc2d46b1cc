# python/sdk/krait_kv.py -- the key-value plumbing shared by the Spin and
# Cloudflare APIs: per-request store handles, the key/value size limits
# (checked early for a clear message) and paging through kv_keys. Does not
# own either public API (spin_sdk.key_value, workers) nor the storage itself
# (the host, behind `_krait`).
"""Shared key-value helpers over `_krait.kv_*`."""
import _krait

MAX_KEY = 256            # bytes, as the host enforces
MAX_VALUE = 1 << 20      # 1 MiB, as the host enforces
PAGE = 1000              # keys asked for per kv_keys call

_handles = {}            # store name -> handle, for this request only


def reset():
    """Forget open handles; krait_runtime calls this at each request's start
    so that no handle opened at snapshot time is reused."""
    _handles.clear()


def open_store(name):
    """The handle for store `name` (PermissionError if it is not granted)."""
    if not isinstance(name, str):
        raise TypeError(f"store name must be str, not {type(name).__name__}")
    handle = _handles.get(name)
    if handle is None:
        handle = _handles[name] = _krait.kv_open(name)
    return handle


def key_bytes(key):
    """A str key as UTF-8 bytes, checked against the host's limit."""
    if not isinstance(key, str):
        raise TypeError(f"key-value keys are str, not {type(key).__name__}")
    data = key.encode("utf-8")
    if len(data) > MAX_KEY:
        raise ValueError(f"key {key[:40]!r}... is {len(data)} bytes in UTF-8; "
                         f"the limit is {MAX_KEY} bytes")
    return data


def check_value(value):
    """value as bytes, checked against the host's 1 MiB limit."""
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    if not isinstance(value, bytes):
        raise TypeError(f"key-value values are bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE:
        raise ValueError(f"value is {len(value)} bytes; the limit is "
                         f"{MAX_VALUE} bytes (1 MiB)")
    return value


def all_keys(handle, prefix=b""):
    """Every key starting with prefix, following the host's cursors."""
    keys, cursor = [], None
    while True:
        page, cursor = _krait.kv_keys(handle, prefix, cursor, PAGE)
        keys.extend(page)
        if cursor is None:
            return keys
