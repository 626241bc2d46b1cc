# python/sdk/spin_sdk/postgres.py -- Spin SDK v3's spin_sdk.postgres: open()
# a Connection (spin_sdk.wit.imports.postgres) to a PostgreSQL server that
# the app's allowed_outbound_hosts grants. Owns nothing else.
"""Module for interacting with a Postgres database"""

from spin_sdk.wit.imports.postgres import Connection


def open(connection_string: str) -> Connection:
    """
    Open a connection with a Postgres database.

    The connection_string is the Postgres URL connection string.

    A `spin_sdk.wit.types.Err(spin_sdk.wit.imports.rdbms_types.Error_ConnectionFailed(str))` when a connection fails.

    A `spin_sdk.wit.types.Err(spin_sdk.wit.imports.rdbms_types.Error_Other(str))` when some other error occurs.
    """
    return Connection.open(connection_string)
