# bench/sqlite/app.py -- the krait side of bench/sqlite.sh: a Spin handler
# that runs one workload of work.py on the sqlite binding per request and
# answers "queries nanoseconds check".
from spin_sdk import http, sqlite
from spin_sdk.http import Response
from spin_sdk.sqlite import Value_Integer, Value_Text

import work


def _param(v):
    return Value_Integer(v) if isinstance(v, int) else Value_Text(v)


class _Db:
    """work.py's adapter over spin_sdk.sqlite."""

    def __init__(self):
        self.c = sqlite.open_default()

    def query(self, sql, params):
        r = self.c.execute(sql, [_param(p) for p in params])
        return [[v.value for v in row.values] for row in r.rows]

    def exec(self, sql):
        for stmt in sql.split(";"):
            self.c.execute(stmt, [])


class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        name = request.uri.strip("/")
        if name == "hello":
            return Response(200, {}, b"hi")
        db = _Db()
        if name == "one":   # a request's whole cost: open, one lookup, close
            v = db.query("SELECT v FROM t WHERE id = ?", [42])[0][0]
            db.c.close()
            return Response(200, {}, v.encode())
        if name == "setup":
            work.setup(db)
            return Response(200, {}, b"ok")
        n, ns, check = work.run(name, db)
        return Response(200, {}, b"%d %d %d" % (n, ns, check))
