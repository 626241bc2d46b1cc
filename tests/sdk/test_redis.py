# tests/sdk/test_redis.py -- the redis binding's guest side on native CPython
# (and under krait python): spin_sdk.redis's Spin v3 API (typed methods,
# execute's flattening, Err(Error_*) mapping) and krait_redis's wire format,
# with a scripted stand-in for the host's redis.* operations. Does not own
# the host (tests/serve/redis.sh, tests/host/test_redis.c).
# Run: /usr/bin/python3.11 -m unittest discover -s tests/sdk
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "python", "sdk")))
sys.path.insert(1, os.path.abspath(os.path.join(HERE, "..", "..", "python", "testing")))

import _krait_fake as fake  # noqa: E402
fake.install()
import krait_redis  # noqa: E402
from spin_sdk import redis  # noqa: E402
from spin_sdk.redis import (Error_InvalidAddress, Error_Other, Error_TooManyConnections,  # noqa: E402
                            Error_TypeError, RedisParameter_Binary, RedisParameter_Int64,
                            RedisResult_Binary, RedisResult_Int64, RedisResult_Nil,
                            RedisResult_Status)
from spin_sdk.wit.types import Err  # noqa: E402


class Raw(bytes):
    """A reply already encoded."""


def enc(v):
    """A reply value in the host's encoding (docs/BINDINGS.md)."""
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\x00"
    if isinstance(v, krait_redis.ErrorReply):
        return b"\x05" + struct.pack("<I", len(v)) + v.encode()
    if isinstance(v, krait_redis.Status):
        return b"\x01" + struct.pack("<I", len(v)) + v.encode()
    if isinstance(v, int):
        return b"\x02" + struct.pack("<q", v)
    if isinstance(v, bytes):
        return b"\x03" + struct.pack("<I", len(v)) + v
    return b"\x04" + struct.pack("<I", len(v)) + b"".join(enc(x) for x in v)


class Host:
    """The host's redis.* operations: records each command's arguments and
    answers the next scripted reply (or raises it)."""

    def __init__(self):
        self.sent, self.replies, self.open_error = [], [], None

    def call(self, name, payload):
        if name == "redis.open":
            if self.open_error:
                raise self.open_error
            self.address = payload.decode()
            return struct.pack("<I", 3)
        if name == "redis.close":
            self.closed = struct.unpack("<I", payload)[0]
            return b""
        h, argc = struct.unpack_from("<II", payload)
        at, args = 8, []
        for _ in range(argc):
            n = struct.unpack_from("<I", payload, at)[0]
            args.append(payload[at + 4:at + 4 + n])
            at += 4 + n
        assert h == 3 and at == len(payload)
        self.sent.append(args)
        r = self.replies.pop(0)
        if isinstance(r, Exception):
            raise r
        return enc(r)


class SpinRedisTest(unittest.TestCase):
    def setUp(self):
        self.host = Host()
        self.saved = fake.call
        fake.call = self.host.call
        self.c = redis.open("redis://:pw@127.0.0.1:6379/2")

    def tearDown(self):
        fake.call = self.saved

    def test_typed_methods(self):
        h = self.host
        h.replies = [krait_redis.Status("OK"), b"\x00\xff", None, 7, 2, 3, [b"a", b"b"], 1, 0]
        self.assertIsNone(self.c.set("k", b"\x00\xff"))
        self.assertEqual(self.c.get("k"), b"\x00\xff")
        self.assertIsNone(self.c.get("nokey"))
        self.assertEqual(self.c.incr("n"), 7)
        self.assertEqual(self.c.del_(["a", "b"]), 2)
        self.assertEqual(self.c.sadd("s", ["x", "y", "z"]), 3)
        self.assertEqual(self.c.smembers("s"), ["a", "b"])
        self.assertEqual(self.c.srem("s", ["a"]), 1)
        self.assertIsNone(self.c.publish("ch", b"msg"))
        self.assertEqual(h.sent, [[b"SET", b"k", b"\x00\xff"], [b"GET", b"k"], [b"GET", b"nokey"],
                                  [b"INCRBY", b"n", b"1"], [b"DEL", b"a", b"b"],
                                  [b"SADD", b"s", b"x", b"y", b"z"], [b"SMEMBERS", b"s"],
                                  [b"SREM", b"s", b"a"], [b"PUBLISH", b"ch", b"msg"]])
        self.assertEqual(h.address, "redis://:pw@127.0.0.1:6379/2")

    def test_execute_flattens_like_spin(self):
        self.host.replies = [[krait_redis.Status("OK"), [1, None, [b"x"]], -5, []]]
        got = self.c.execute("EXEC", [RedisParameter_Int64(-3), RedisParameter_Binary(b"\x00")])
        self.assertEqual(got, [RedisResult_Status("OK"), RedisResult_Int64(1), RedisResult_Nil(),
                               RedisResult_Binary(b"x"), RedisResult_Int64(-5)])
        self.assertEqual(self.host.sent, [[b"EXEC", b"-3", b"\x00"]])

    def test_execute_error_inside_raises(self):
        self.host.replies = [[1, krait_redis.ErrorReply("WRONGTYPE no")]]
        with self.assertRaises(Err) as cm:
            self.c.execute("EXEC", [])
        self.assertEqual(cm.exception.value, Error_Other("redis: WRONGTYPE no"))

    def test_bad_parameter_type(self):
        with self.assertRaises(TypeError):
            self.c.execute("SET", ["not a parameter"])

    def test_type_errors(self):
        self.host.replies = [[b"\xff"], krait_redis.Status("OK"), [1]]
        for call in (lambda: self.c.smembers("s"), lambda: self.c.incr("n"),
                     lambda: self.c.get("k")):
            with self.assertRaises(Err) as cm:
                call()
            self.assertEqual(cm.exception.value, Error_TypeError())

    def test_host_failures_map_to_errors(self):
        h = self.host
        h.replies = [fake.CallError(fake.E_BACKEND, "redis: ERR boom"),
                     fake.CallError(fake.E_TIMEOUT, "redis.command: the request's deadline passed"),
                     PermissionError("redis.command: SUBSCRIBE is refused")]
        for want in ("redis: ERR boom", "redis.command: the request's deadline passed",
                     "redis.command: SUBSCRIBE is refused"):
            with self.assertRaises(Err) as cm:
                self.c.execute("X", [])
            self.assertEqual(cm.exception.value, Error_Other(want))
            self.assertEqual(str(cm.exception), want)

    def test_open_errors(self):
        h = self.host
        cases = [(PermissionError("redis: redis://h:1 ... allowed_outbound_hosts"), Error_InvalidAddress(), True),
                 (fake.CallError(fake.E_INVAL, "redis: invalid address: x"), Error_InvalidAddress(), False),
                 (fake.CallError(fake.E_TOOBIG, "redis: 8 connections"), Error_TooManyConnections(), False),
                 (fake.CallError(fake.E_BACKEND, "redis.open: AUTH failed"), Error_Other("redis.open: AUTH failed"), False)]
        for err, want, denied in cases:
            h.open_error = err
            with self.assertRaises(Err) as cm:
                redis.open("redis://h:1")
            self.assertEqual(cm.exception.value, want)
            self.assertEqual(isinstance(cm.exception, PermissionError), denied)

    def test_close_and_module_paths(self):
        from spin_sdk.wit.imports import redis as generated
        self.assertIsInstance(self.c, generated.Connection)
        self.assertIs(generated.RedisParameter_Int64, RedisParameter_Int64)
        with generated.Connection.open("redis://h") as c:
            pass
        self.assertEqual(self.host.closed, 3)
        with self.assertRaises(Err) as cm:
            c.get("k")
        self.assertEqual(cm.exception.value, Error_Other("redis: the connection is closed"))

    def test_deep_reply_decodes(self):
        # deeper than Python's recursion limit (the host stops at 7 levels)
        self.host.replies = [Raw(b"\x04\x01\x00\x00\x00" * 3000 + enc(b"leaf"))]
        self.assertEqual(self.c.execute("X", []), [RedisResult_Binary(b"leaf")])


if __name__ == "__main__":
    unittest.main()
