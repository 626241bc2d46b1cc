# python/sdk/spin_sdk/wit/imports/sqlite.py -- the generated module path of
# Spin SDK v3's sqlite interface; the definitions live in spin_sdk.sqlite.
"""fermyon:spin/sqlite@2.0.0 as spin_sdk.wit.imports.sqlite."""
from spin_sdk.sqlite import (Connection, Error, Error_AccessDenied,  # noqa: F401
                             Error_DatabaseFull, Error_InvalidConnection, Error_Io,
                             Error_NoSuchDatabase, QueryResult, RowResult, Value,
                             Value_Blob, Value_Integer, Value_Null, Value_Real,
                             Value_Text)
