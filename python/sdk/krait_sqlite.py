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


_U32 = struct.Struct("<I").unpack_from
_I64 = struct.Struct("<q").unpack_from
_F64 = struct.Struct("<d").unpack_from


def _string(data, at):
    """The string at data[at:] and where the next field starts."""
    n = _U32(data, at)[0]
    at += 4
    return data[at:at + n], at + n


def execute(handle, sql, encoded_params, make_value):
    """Runs one statement with encoded parameters (a list of bytes). Returns
    (columns, rows, changes, last_rowid); each value is make_value(tag, v).
    The decoding is inlined, one value at a time: a SELECT of many rows
    spends most of its guest time here."""
    sqlb = sql.encode("utf-8")
    req = b"".join([struct.pack("<II", handle, len(sqlb)), sqlb,
                    struct.pack("<I", len(encoded_params))] + list(encoded_params))
    data = memoryview(_krait.call("sqlite.execute", req))
    columns, at = [], 4
    for _ in range(_U32(data, 0)[0]):
        name, at = _string(data, at)
        columns.append(bytes(name).decode("utf-8", "replace"))
    nrows = _U32(data, at)[0]
    at += 4
    ncols = range(len(columns))
    rows = []
    for _ in range(nrows):
        row = []
        for _ in ncols:
            tag = data[at]
            at += 1
            if tag == INTEGER:
                v = _I64(data, at)[0]
                at += 8
            elif tag == TEXT:
                n = _U32(data, at)[0]
                v = str(data[at + 4:at + 4 + n], "utf-8", "surrogateescape")
                at += 4 + n
            elif tag == REAL:
                v = _F64(data, at)[0]
                at += 8
            elif tag == BLOB:
                n = _U32(data, at)[0]
                v = bytes(data[at + 4:at + 4 + n])
                at += 4 + n
            else:
                v = None
            row.append(make_value(tag, v))
        rows.append(row)
    return columns, rows, _I64(data, at)[0], _I64(data, at + 8)[0]
