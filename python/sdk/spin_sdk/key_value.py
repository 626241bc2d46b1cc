# python/sdk/spin_sdk/key_value.py -- the Spin v3 key-value API (open,
# open_default, Store) over `_krait.kv_*`. Does not own size limits, handle
# caching or paging (krait_kv) nor the storage (the host).
"""Key-value stores compatible with spin_sdk.key_value (Spin SDK v3).

Keys are str (stored as UTF-8); values are bytes. A store that is not
granted to the app raises PermissionError; host failures raise
_krait.KvError."""
from typing import List, Optional

import _krait
import krait_kv


class Store:
    """An open key-value store."""

    def __init__(self, name: str, handle: int):
        self.name = name
        self._handle = handle

    @classmethod
    def open(cls, label: str) -> "Store":
        """Open the store named `label` (must be granted in the manifest)."""
        return cls(label, krait_kv.open_store(label))

    @classmethod
    def open_default(cls) -> "Store":
        """Open the store named "default"."""
        return cls.open("default")

    def get(self, key: str) -> Optional[bytes]:
        """The value for key, or None if there is none."""
        return _krait.kv_get(self._handle, krait_kv.key_bytes(key))

    def set(self, key: str, value: bytes) -> None:
        """Store value (bytes, at most 1 MiB) under key."""
        _krait.kv_set(self._handle, krait_kv.key_bytes(key),
                      krait_kv.check_value(value))

    def delete(self, key: str) -> None:
        """Remove key; no error if it does not exist."""
        _krait.kv_delete(self._handle, krait_kv.key_bytes(key))

    def exists(self, key: str) -> bool:
        """Whether key has a value."""
        return _krait.kv_exists(self._handle, krait_kv.key_bytes(key))

    def get_keys(self) -> List[str]:
        """Every key in the store."""
        return [k.decode("utf-8") for k in krait_kv.all_keys(self._handle)]

    def drop(self) -> None:
        """Release the store (a no-op; handles live for the request)."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.drop()


def open(name: str) -> Store:
    """Open the store with the given name."""
    return Store.open(name)


def open_default() -> Store:
    """Open the default store."""
    return Store.open("default")
