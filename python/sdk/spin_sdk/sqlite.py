# python/sdk/spin_sdk/sqlite.py -- the Spin v3 SQLite API (open,
# open_default, Connection.execute -> QueryResult, the Value_* and Error_*
# types) over the host's sqlite binding (_krait.call "sqlite.*"). Does not
# own the wire format (krait_sqlite) nor the databases (the host).
"""SQLite databases compatible with spin_sdk.sqlite (Spin SDK v3).

A database the app is not granted (sqlite_databases in krait.toml) raises
Err(Error_AccessDenied()), which is also a PermissionError; its message
names the database and the manifest key. Other failures raise
Err(Error_Io(message)) (a query past the request's deadline, a result over
16 MiB, SQL errors) or Err(Error_InvalidConnection()) for a closed one."""
from dataclasses import dataclass
from typing import List, Union

import _krait
import krait_sqlite
from spin_sdk.wit.types import Err

__all__ = ["open", "open_default", "Connection", "QueryResult", "RowResult", "Value",
           "Value_Integer", "Value_Real", "Value_Text", "Value_Blob", "Value_Null", "Error",
           "Error_NoSuchDatabase", "Error_AccessDenied", "Error_InvalidConnection",
           "Error_DatabaseFull", "Error_Io", "Err"]


@dataclass
class Error_NoSuchDatabase:
    pass


@dataclass
class Error_AccessDenied:
    pass


@dataclass
class Error_InvalidConnection:
    pass


@dataclass
class Error_DatabaseFull:
    pass


@dataclass
class Error_Io:
    value: str


Error = Union[Error_NoSuchDatabase, Error_AccessDenied, Error_InvalidConnection,
              Error_DatabaseFull, Error_Io]


@dataclass
class Value_Integer:
    value: int


@dataclass
class Value_Real:
    value: float


@dataclass
class Value_Text:
    value: str


@dataclass
class Value_Blob:
    value: bytes


@dataclass
class Value_Null:
    pass


Value = Union[Value_Integer, Value_Real, Value_Text, Value_Blob, Value_Null]


@dataclass
class RowResult:
    """The values of one row, one per column."""
    values: List[Value]


@dataclass
class QueryResult:
    """A statement's columns and rows."""
    columns: List[str]
    rows: List[RowResult]


class _DeniedErr(Err, PermissionError):
    """Err(Error_AccessDenied()) that `except PermissionError` also catches."""


def _host(op, *args):
    """_krait.call's failures as Spin raises them."""
    try:
        return op(*args)
    except PermissionError as e:
        raise _DeniedErr(Error_AccessDenied(), str(e)) from None
    except _krait.CallError as e:
        code, msg = e.args
        if code == _krait.E_STATE:   # the connection is not open
            raise Err(Error_InvalidConnection(), msg) from None
        if code == _krait.E_TOOBIG and "database or disk is full" in msg:   # SQLITE_FULL
            raise Err(Error_DatabaseFull(), msg) from None
        raise Err(Error_Io(msg), msg) from None


def _encode(p):
    """A Value_* parameter as its tagged bytes."""
    if isinstance(p, Value_Integer):
        return krait_sqlite.encode_plain(int(p.value))
    if isinstance(p, Value_Real):
        return krait_sqlite.encode_plain(float(p.value))
    if isinstance(p, Value_Text):
        return krait_sqlite.encode_plain(str(p.value))
    if isinstance(p, Value_Blob):
        return krait_sqlite.encode_plain(bytes(p.value))
    if isinstance(p, Value_Null):
        return krait_sqlite.encode_plain(None)
    raise TypeError(f"sqlite: parameters are Value_Integer, Value_Real, Value_Text, "
                    f"Value_Blob or Value_Null, not {type(p).__name__}")


_MAKE = [lambda v: Value_Null(), Value_Integer, Value_Real, Value_Text, Value_Blob]


def _value(tag, v):
    """A decoded value as its Value_* (tags 0..4: krait_sqlite)."""
    return _MAKE[tag](v)


class Connection:
    """An open database; it lives until closed or the request ends."""

    def __init__(self, name: str, handle: int):
        self.name = name
        self._handle = handle

    @classmethod
    def open(cls, database: str) -> "Connection":
        """Open the database named `database` (granted in krait.toml)."""
        return cls(database, _host(krait_sqlite.open_db, database))

    def execute(self, statement: str, parameters: List[Value]) -> QueryResult:
        """Run one statement; parameters bind to its ? placeholders."""
        if self._handle is None:
            raise Err(Error_InvalidConnection(), "sqlite: the connection is closed")
        params = [_encode(p) for p in parameters]
        columns, rows, _, _ = _host(krait_sqlite.execute, self._handle, statement, params, _value)
        return QueryResult(columns, [RowResult(r) for r in rows])

    def close(self) -> None:
        """Close the connection (an open transaction rolls back)."""
        if self._handle is not None:
            h, self._handle = self._handle, None
            _host(krait_sqlite.close_db, h)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open(name: str) -> Connection:
    """Open the database with the given name."""
    return Connection.open(name)


def open_default() -> Connection:
    """Open the database named "default"."""
    return Connection.open("default")
