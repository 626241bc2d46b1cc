# python/sdk/spin_sdk/wit/imports/postgres.py -- fermyon:spin/postgres's
# Connection as Spin SDK v3 generates it (open, query, execute, a context
# manager), over the host's postgres binding (krait_postgres). Failures
# raise Err(rdbms_types.Error_*). Does not own the wire format or the
# connections (the host, src/app/pgdb.c).
"""A connection to a PostgreSQL database (Spin SDK v3)."""
from types import TracebackType
from typing import List, Optional, Self

import _krait
import krait_postgres
from spin_sdk.wit.imports import rdbms_types
from spin_sdk.wit.types import Err


class _DeniedErr(Err, PermissionError):
    """Err(Error_ConnectionFailed(...)) for an address allowed_outbound_hosts
    does not grant; `except PermissionError` also catches it."""


def _fail(kind, e, param_kind):
    """Maps a host failure of an operation to Spin's Err."""
    if isinstance(e, PermissionError):
        msg = str(e)
        return _DeniedErr(rdbms_types.Error_ConnectionFailed(msg), msg)
    code, msg = e.args
    if code == _krait.E_STATE:
        kind = rdbms_types.Error_ConnectionFailed
    elif code == _krait.E_INVAL and param_kind:
        kind = param_kind
    return Err(kind(msg), msg)


class Connection:
    """
    A connection to a postgres database.
    """

    def __init__(self, handle: int):
        self._handle = handle

    @classmethod
    def open(cls, address: str) -> Self:
        """
        Open a connection to the Postgres instance at `address`.

        Raises: `spin_sdk.wit.types.Err(spin_sdk.wit.imports.rdbms_types.Error)`
        """
        try:
            return cls(krait_postgres.open_conn(address))
        except (PermissionError, _krait.CallError) as e:
            raise _fail(rdbms_types.Error_ConnectionFailed, e, None) from None

    def _run(self, op, statement, params, param_kind):
        if self._handle is None:
            msg = "postgres: the connection is closed"
            raise Err(rdbms_types.Error_ConnectionFailed(msg), msg)
        try:
            return op(self._handle, statement, list(params))
        except krait_postgres.ParameterError as e:
            raise Err(param_kind(str(e)), str(e)) from None
        except (PermissionError, _krait.CallError) as e:
            raise _fail(rdbms_types.Error_QueryFailed, e, param_kind) from None

    def query(self, statement: str, params: List[rdbms_types.ParameterValue]) -> rdbms_types.RowSet:
        """
        Query the database.

        Raises: `spin_sdk.wit.types.Err(spin_sdk.wit.imports.rdbms_types.Error)`
        """
        return self._run(krait_postgres.query, statement, params, rdbms_types.Error_BadParameter)

    def execute(self, statement: str, params: List[rdbms_types.ParameterValue]) -> int:
        """
        Execute command to the database.

        Raises: `spin_sdk.wit.types.Err(spin_sdk.wit.imports.rdbms_types.Error)`
        """
        return self._run(krait_postgres.execute, statement, params,
                         rdbms_types.Error_ValueConversionFailed)

    def close(self) -> None:
        """Close the connection (krait's addition; leaving a `with` block
        does it, and so does the request's end)."""
        if self._handle is not None:
            h, self._handle = self._handle, None
            try:
                krait_postgres.close_conn(h)
            except _krait.CallError:
                pass

    def __enter__(self) -> Self:
        """Returns self"""
        return self

    def __exit__(self, exc_type: Optional[type], exc_value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> Optional[bool]:
        """
        Release this resource.
        """
        self.close()
        return None
