# python/sdk/spin_sdk/wit/types.py -- Ok, Err and Some as componentize-py
# generates them for Spin SDK v3: a failed host call raises Err(value).
# Does not own any binding's errors (spin_sdk.sqlite).
"""componentize-py's result types."""
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


@dataclass(frozen=True)
class Some(Generic[T]):
    value: T


@dataclass(frozen=True)
class Ok(Generic[T]):
    value: T


class Err(Generic[E], Exception):
    """Raised by a host call that failed: value is the interface's error
    (e.g. spin_sdk.sqlite.Error_Io("...")). str() gives krait's message."""

    def __init__(self, value, message=None):
        super().__init__(value)
        self.value = value
        self.message = message

    def __str__(self):
        return self.message or repr(self.value)
