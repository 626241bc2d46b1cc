# python/sdk/krait_postgres.py -- the postgres binding's wire format
# (docs/BINDINGS.md "## postgres", the "postgres.*" operations of
# _krait.call): parameters encoded, row sets decoded. Owns no API (that is
# spin_sdk.wit.imports.postgres) and no connection (the host).
"""Encoding of the postgres host binding's requests and results."""
import struct

import _krait
from spin_sdk.wit.imports import rdbms_types as t

NULL, BOOL, INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, STR, BINARY = range(10)
UNSUPPORTED = 14

_FIXED = {t.ParameterValue_Int8: (INT8, "<b", -(1 << 7), 1 << 7),
          t.ParameterValue_Int16: (INT16, "<h", -(1 << 15), 1 << 15),
          t.ParameterValue_Int32: (INT32, "<i", -(1 << 31), 1 << 31),
          t.ParameterValue_Int64: (INT64, "<q", -(1 << 63), 1 << 63)}
_UNSIGNED = (t.ParameterValue_Uint8, t.ParameterValue_Uint16, t.ParameterValue_Uint32,
             t.ParameterValue_Uint64)


class ParameterError(ValueError):
    """A parameter that cannot be sent (Spin: BadParameter for query,
    ValueConversionFailed for execute)."""


def encode(p):
    """One ParameterValue_* as its tagged bytes."""
    if isinstance(p, t.ParameterValue_DbNull):
        return bytes([NULL])
    if isinstance(p, t.ParameterValue_Boolean):
        return bytes([BOOL, 1 if p.value else 0])
    if type(p) in _FIXED:
        tag, fmt, lo, hi = _FIXED[type(p)]
        v = p.value
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v < hi:
            raise ParameterError(f"{type(p).__name__}: {v!r} is not an integer from {lo} to {hi - 1}")
        return struct.pack("<B" + fmt[1:], tag, v)
    if isinstance(p, _UNSIGNED):
        raise ParameterError("Postgres does not support unsigned integers")
    if isinstance(p, t.ParameterValue_Floating32):
        try:
            return struct.pack("<Bf", FLOAT32, float(p.value))
        except (OverflowError, struct.error) as e:
            raise ParameterError(f"ParameterValue_Floating32: {p.value!r}: {e}") from None
    if isinstance(p, t.ParameterValue_Floating64):
        return struct.pack("<Bd", FLOAT64, float(p.value))
    if isinstance(p, t.ParameterValue_Str):
        try:
            data = str(p.value).encode("utf-8")
        except UnicodeEncodeError as e:
            raise ParameterError(f"ParameterValue_Str: {e}") from None
        if b"\0" in data:
            raise ParameterError("ParameterValue_Str: PostgreSQL text cannot hold a NUL character")
        return struct.pack("<BI", STR, len(data)) + data
    if isinstance(p, t.ParameterValue_Binary):
        data = bytes(p.value)
        return struct.pack("<BI", BINARY, len(data)) + data
    raise ParameterError(f"a parameter is a ParameterValue_* (spin_sdk.wit.imports.rdbms_types), "
                         f"not {type(p).__name__}")


def open_conn(address):
    """The handle of a new connection to address."""
    return struct.unpack("<I", _krait.call("postgres.open", address.encode("utf-8")))[0]


def close_conn(handle):
    _krait.call("postgres.close", struct.pack("<I", handle))


def _request(handle, statement, params):
    sql = statement.encode("utf-8")
    return b"".join([struct.pack("<II", handle, len(sql)), sql, struct.pack("<I", len(params))]
                    + [encode(p) for p in params])


def execute(handle, statement, params):
    """Runs one statement; the rows it affected."""
    return struct.unpack("<Q", _krait.call("postgres.execute", _request(handle, statement, params)))[0]


class _Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return v[0]

    def string(self):
        n = self.take("<I")
        s = self.data[self.at:self.at + n]
        self.at += n
        return bytes(s)


_VALUES = {BOOL: ("<B", lambda v: t.DbValue_Boolean(bool(v))), INT16: ("<h", t.DbValue_Int16),
           INT32: ("<i", t.DbValue_Int32), INT64: ("<q", t.DbValue_Int64),
           FLOAT32: ("<f", t.DbValue_Floating32), FLOAT64: ("<d", t.DbValue_Floating64)}


def _value(r):
    tag = r.take("<B")
    if tag in _VALUES:
        fmt, make = _VALUES[tag]
        return make(r.take(fmt))
    if tag == STR:
        return t.DbValue_Str(r.string().decode("utf-8"))
    if tag == BINARY:
        return t.DbValue_Binary(r.string())
    if tag == NULL:
        return t.DbValue_DbNull()
    return t.DbValue_Unsupported()


def query(handle, statement, params):
    """Runs one statement; its RowSet (as Spin: no rows, no columns)."""
    r = _Reader(_krait.call("postgres.query", _request(handle, statement, params)))
    columns = []
    for _ in range(r.take("<I")):
        name = r.string().decode("utf-8", "replace")
        code = r.take("<B")
        columns.append(t.Column(name, t.DbDataType(code)))
    rows = [[_value(r) for _ in columns] for _ in range(r.take("<I"))]
    return t.RowSet(columns if rows else [], rows)
