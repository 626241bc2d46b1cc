# python/sdk/spin_sdk/redis.py -- the Spin v3 Redis API (open, Connection
# with publish/get/set/incr/del_/sadd/smembers/srem/execute, the
# RedisParameter_*, RedisResult_* and Error_* types) over the host's redis
# binding. Does not own the wire format (krait_redis) nor sockets (the host).
"""Outbound Redis compatible with spin_sdk.redis (Spin SDK v3).

The address is redis://[user:password@]host[:port][/db]; the app's
allowed_outbound_hosts must allow it ("redis://host:port"). A refused
address raises Err(Error_InvalidAddress()), which is also a
PermissionError, its message naming the address and the manifest key; a
malformed one Err(Error_InvalidAddress()). More than 8 connections in one
request raise Err(Error_TooManyConnections()); everything else (error
replies, the request's deadline, a reply over 16 MiB)
Err(Error_Other(message))."""
from dataclasses import dataclass
from typing import List, Optional, Union

import _krait
import krait_redis
from spin_sdk.wit.types import Err

__all__ = ["open", "Connection", "Error", "Error_InvalidAddress", "Error_TooManyConnections",
           "Error_TypeError", "Error_Other", "RedisParameter", "RedisParameter_Int64",
           "RedisParameter_Binary", "RedisResult", "RedisResult_Nil", "RedisResult_Status",
           "RedisResult_Int64", "RedisResult_Binary", "Err"]


@dataclass
class Error_InvalidAddress:
    pass


@dataclass
class Error_TooManyConnections:
    pass


@dataclass
class Error_TypeError:
    pass


@dataclass
class Error_Other:
    value: str


Error = Union[Error_InvalidAddress, Error_TooManyConnections, Error_TypeError, Error_Other]


@dataclass
class RedisParameter_Int64:
    value: int


@dataclass
class RedisParameter_Binary:
    value: bytes


RedisParameter = Union[RedisParameter_Int64, RedisParameter_Binary]


@dataclass
class RedisResult_Nil:
    pass


@dataclass
class RedisResult_Status:
    value: str


@dataclass
class RedisResult_Int64:
    value: int


@dataclass
class RedisResult_Binary:
    value: bytes


RedisResult = Union[RedisResult_Nil, RedisResult_Status, RedisResult_Int64, RedisResult_Binary]


class _DeniedErr(Err, PermissionError):
    """Err(Error_InvalidAddress()) that `except PermissionError` also catches."""


def _opened(address):
    """krait_redis.open_conn's failures as Spin raises them."""
    try:
        return krait_redis.open_conn(address)
    except PermissionError as e:
        raise _DeniedErr(Error_InvalidAddress(), str(e)) from None
    except _krait.CallError as e:
        code, msg = e.args
        if code == _krait.E_INVAL:
            raise Err(Error_InvalidAddress(), msg) from None
        if code == _krait.E_TOOBIG:
            raise Err(Error_TooManyConnections(), msg) from None
        raise Err(Error_Other(msg), msg) from None


def _type_error(what, reply):
    msg = f"redis: {what} replied {type(reply).__name__}"
    return Err(Error_TypeError(), msg)


def _flatten(reply, out):
    """Spin's execute results: arrays flattened, an error inside raised."""
    stack = [reply]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(reversed(v))
        elif v is None:
            out.append(RedisResult_Nil())
        elif isinstance(v, krait_redis.ErrorReply):
            raise Err(Error_Other(f"redis: {v}"), f"redis: {v}")
        elif isinstance(v, krait_redis.Status):
            out.append(RedisResult_Status(str(v)))
        elif isinstance(v, int):
            out.append(RedisResult_Int64(v))
        else:
            out.append(RedisResult_Binary(v))
    return out


def _arg(p):
    """An execute parameter as its bytes."""
    if isinstance(p, RedisParameter_Int64):
        return str(int(p.value)).encode()
    if isinstance(p, RedisParameter_Binary):
        return bytes(p.value)
    raise TypeError(f"redis: parameters are RedisParameter_Int64 or RedisParameter_Binary, "
                    f"not {type(p).__name__}")


class Connection:
    """A connection to a Redis server; it lives until closed (__exit__) or
    the request ends."""

    def __init__(self, handle: int):
        self._handle = handle

    @classmethod
    def open(cls, address: str) -> "Connection":
        """Open a connection to the Redis instance at `address`."""
        return cls(_opened(address))

    def _run(self, *args):
        if self._handle is None:
            raise Err(Error_Other("redis: the connection is closed"), "redis: the connection is closed")
        try:
            return krait_redis.command(self._handle, [a.encode("utf-8") if isinstance(a, str)
                                                      else bytes(a) for a in args])
        except (PermissionError, ValueError) as e:
            raise Err(Error_Other(str(e)), str(e)) from None
        except _krait.CallError as e:
            raise Err(Error_Other(e.args[1]), e.args[1]) from None

    def _int(self, what, *args):
        r = self._run(*args)
        if not isinstance(r, int):
            raise _type_error(what, r)
        return r

    def publish(self, channel: str, payload: bytes) -> None:
        """Publish a Redis message to the specified channel."""
        self._run("PUBLISH", channel, payload)

    def get(self, key: str) -> Optional[bytes]:
        """Get the value of a key (None when it does not exist)."""
        r = self._run("GET", key)
        if r is not None and not isinstance(r, bytes):
            raise _type_error("GET", r)
        return r

    def set(self, key: str, value: bytes) -> None:
        """Set key to value; a value it holds is overwritten."""
        self._run("SET", key, value)

    def incr(self, key: str) -> int:
        """Increments the number stored at key by one (from 0 when absent)."""
        return self._int("INCRBY", "INCRBY", key, "1")

    def del_(self, keys: List[str]) -> int:
        """Removes the specified keys; the number deleted."""
        return self._int("DEL", "DEL", *keys)

    def sadd(self, key: str, values: List[str]) -> int:
        """Adds values to the set named key; the number newly added."""
        return self._int("SADD", "SADD", key, *values)

    def smembers(self, key: str) -> List[str]:
        """The contents of the set named key."""
        r = self._run("SMEMBERS", key)
        if not isinstance(r, list) or not all(isinstance(v, bytes) for v in r):
            raise _type_error("SMEMBERS", r)
        try:
            return [v.decode("utf-8") for v in r]
        except UnicodeDecodeError:
            raise Err(Error_TypeError(), "redis: SMEMBERS: a member is not UTF-8") from None

    def srem(self, key: str, values: List[str]) -> int:
        """Removes values from the set named key; the number removed."""
        return self._int("SREM", "SREM", key, *values)

    def execute(self, command: str, arguments: List[RedisParameter]) -> List[RedisResult]:
        """Execute an arbitrary Redis command; its reply, arrays flattened."""
        return _flatten(self._run(command, *[_arg(a) for a in arguments]), [])

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        """Release this connection."""
        if self._handle is not None:
            h, self._handle = self._handle, None
            try:
                krait_redis.close_conn(h)
            except _krait.CallError:
                pass


def open(connection_string: str) -> Connection:
    """Open a connection with a Redis database at connection_string."""
    return Connection.open(connection_string)
