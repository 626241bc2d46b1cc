# tests/cluster/app/sql.py -- the cluster app's SQL part over the shared
# Postgres through spin_sdk.postgres (Spin v3: open(address) ->
# Connection, query(sql, params) -> RowSet, execute(sql, params) -> int):
# a write by id and the check of which ids are missing. Imported on the
# first /sql/ request only. Does not own the table (run.sh creates it).
from spin_sdk import postgres, variables
from spin_sdk.wit.imports.rdbms_types import ParameterValue_Str


def handle(path, q, body, marker, host, text, missing):
    conn = postgres.open(variables.get("pg_address"))
    if path == "/sql/put":
        conn.execute("INSERT INTO writes (id, marker) VALUES ($1, $2) "
                     "ON CONFLICT (id) DO UPDATE SET marker = EXCLUDED.marker",
                     [ParameterValue_Str(q["id"]), ParameterValue_Str(marker)])
        return text(200, f"ok {q['id']} {host}")
    if path == "/sql/missing":
        present = {row[0].value for row in conn.query("SELECT id FROM writes", []).rows}
        return missing(body.decode().split(), lambda i: i in present)
    return text(404, "no such path")
