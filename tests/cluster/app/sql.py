# tests/cluster/app/sql.py -- the cluster app's SQL part over the shared
# Postgres through spin_sdk.postgres (Spin v3: open(address),
# query(sql, params) -> RowSet, execute(sql, params) -> int): a write by id
# and the check of which ids are missing. Imported on the first /sql/
# request only. Does not own the table (run.sh creates it).
from spin_sdk import postgres, variables


def _open():
    address = variables.get("pg_address")
    if hasattr(postgres, "open"):
        return postgres.open(address)
    return postgres.Connection.open(address)


def _str(s):
    """A text parameter: ParameterValue_Str where the SDK has it."""
    for where in ("spin_sdk.postgres", "spin_sdk.wit.imports.rdbms_types"):
        try:
            mod = __import__(where, fromlist=["ParameterValue_Str"])
            return mod.ParameterValue_Str(s)
        except (ImportError, AttributeError):
            pass
    return s


def _value(v):
    """A row's value: DbValue_Str(...).value, or the plain value."""
    return getattr(v, "value", v)


def handle(path, q, body, marker, host, text, missing):
    conn = _open()
    if path == "/sql/put":
        conn.execute("INSERT INTO writes (id, marker) VALUES ($1, $2) "
                     "ON CONFLICT (id) DO UPDATE SET marker = EXCLUDED.marker", [_str(q["id"]), _str(marker)])
        return text(200, f"ok {q['id']} {host}")
    if path == "/sql/missing":
        rows = conn.query("SELECT id FROM writes", []).rows
        present = {_value(r[0]) for r in rows}
        return missing(body.decode().split(), lambda i: i in present)
    return text(404, "no such path")
