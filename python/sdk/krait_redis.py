# python/sdk/krait_redis.py -- the redis binding's wire format
# (docs/BINDINGS.md, "redis.*" operations of _krait.call): a command's
# arguments encoded, a reply decoded to Python values. Owns no API
# (spin_sdk.redis).
"""Encoding of the redis host binding's requests and replies."""
import struct

import _krait

NIL, STATUS, INT, BULK, ARRAY, ERROR = 0, 1, 2, 3, 4, 5


class Status(str):
    """A status reply ("OK", "PONG"): a str, told apart from bulk bytes."""


class ErrorReply(str):
    """An error reply inside an array (MULTI/EXEC's), as its message."""


def open_conn(address):
    """The handle of a connection to address (redis://...)."""
    return struct.unpack("<I", _krait.call("redis.open", address.encode("utf-8")))[0]


def close_conn(handle):
    _krait.call("redis.close", struct.pack("<I", handle))


def command(handle, args):
    """Runs one command (a list of bytes: name and arguments); its reply as
    None, Status, int, bytes, ErrorReply or a list of those."""
    parts = [struct.pack("<II", handle, len(args))]
    for a in args:
        parts.append(struct.pack("<I", len(a)))
        parts.append(a)
    data = _krait.call("redis.command", b"".join(parts))
    value, at = _decode(data, 0)
    if at != len(data):
        raise ValueError("redis: bytes after the reply")
    return value


def _decode(data, at):
    """The value at data[at:] and the offset after it (arrays kept by an
    explicit stack, so a deep reply cannot exhaust Python's)."""
    root = []
    stack = [(root, 1)]
    while stack:
        items, want = stack[-1]
        if len(items) == want:
            stack.pop()
            if stack:
                stack[-1][0].append(items)
            continue
        tag = data[at]
        at += 1
        if tag == NIL:
            items.append(None)
        elif tag == INT:
            items.append(struct.unpack_from("<q", data, at)[0])
            at += 8
        elif tag in (STATUS, BULK, ERROR):
            n = struct.unpack_from("<I", data, at)[0]
            raw = bytes(data[at + 4:at + 4 + n])
            at += 4 + n
            if tag == BULK:
                items.append(raw)
            else:
                text = raw.decode("utf-8", "replace")
                items.append(Status(text) if tag == STATUS else ErrorReply(text))
        elif tag == ARRAY:
            n = struct.unpack_from("<I", data, at)[0]
            at += 4
            stack.append(([], n))
        else:
            raise ValueError(f"redis: unknown reply tag {tag}")
    return root[0], at
