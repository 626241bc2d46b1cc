# python/sdk/krait_sqlite.py -- the sqlite binding's wire format
# (python/c/krait_abi.h, "sqlite.*" operations of _krait.call): parameters
# encoded, results decoded. Shared by spin_sdk.sqlite and workers' D1; owns
# no API of either.
"""Encoding of the sqlite host binding's requests and results."""
import struct

import _krait

NULL, INTEGER, REAL, TEXT, BLOB = 0, 1, 2, 3, 4
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _value(tag, v):
    """One parameter as its tagged bytes."""
    if tag == NULL:
        return b"\0"
    if tag == INTEGER:
        if not _I64_MIN <= v <= _I64_MAX:
            raise OverflowError(f"sqlite: integer {v} does not fit in 64 bits")
        return struct.pack("<Bq", INTEGER, v)
    if tag == REAL:
        return struct.pack("<Bd", REAL, v)
    data = v.encode("utf-8", "surrogatepass") if tag == TEXT else bytes(v)
    return struct.pack("<BI", tag, len(data)) + data


def encode_plain(v):
    """A plain Python value (None, bool, int, float, str, bytes) as a
    parameter."""
    if v is None:
        return _value(NULL, None)
    if isinstance(v, bool):
        return _value(INTEGER, int(v))
    if isinstance(v, int):
        return _value(INTEGER, v)
    if isinstance(v, float):
        return _value(REAL, v)
    if isinstance(v, str):
        return _value(TEXT, v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _value(BLOB, v)
    raise TypeError(f"sqlite: a parameter must be None, int, float, str or bytes, "
                    f"not {type(v).__name__}")


def open_db(name):
    """The handle of the granted database name."""
    return struct.unpack("<I", _krait.call("sqlite.open", name.encode("utf-8")))[0]


def close_db(handle):
    _krait.call("sqlite.close", struct.pack("<I", handle))


def exec_script(handle, sql):
    """Runs every statement of sql; how many ran."""
    return struct.unpack("<I", _krait.call("sqlite.exec", struct.pack("<I", handle)
                                           + sql.encode("utf-8")))[0]


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
        return s


def execute(handle, sql, encoded_params, make_value):
    """Runs one statement with encoded parameters (a list of bytes). Returns
    (columns, rows, changes, last_rowid); each value is make_value(tag, v)."""
    sqlb = sql.encode("utf-8")
    req = b"".join([struct.pack("<II", handle, len(sqlb)), sqlb,
                    struct.pack("<I", len(encoded_params))] + list(encoded_params))
    r = _Reader(_krait.call("sqlite.execute", req))
    columns = [r.string().decode("utf-8", "replace") for _ in range(r.take("<I"))]
    rows = []
    for _ in range(r.take("<I")):
        row = []
        for _ in columns:
            tag = r.take("<B")
            if tag == INTEGER:
                v = r.take("<q")
            elif tag == REAL:
                v = r.take("<d")
            elif tag == TEXT:
                v = r.string().decode("utf-8", "surrogateescape")
            elif tag == BLOB:
                v = bytes(r.string())
            else:
                v = None
            row.append(make_value(tag, v))
        rows.append(row)
    changes, rowid = r.take("<q"), r.take("<q")
    return columns, rows, changes, rowid
