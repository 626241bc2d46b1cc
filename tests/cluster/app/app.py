# tests/cluster/app/app.py -- the cluster test's app (Spin style): its
# version and host, a slow request, writes by id into the shared Redis
# store and the check of which ids are missing; /sql/... is sql.py's.
# Does not own the checks (tests/cluster/run.sh).
import time
from urllib.parse import parse_qs

from spin_sdk import http, key_value, variables
from spin_sdk.http import Response

VERSION = "v1"


def text(status, body):
    return Response(status, {"content-type": "text/plain"}, body.encode())


def missing(ids, present):
    """The answer to a check: how many ids, how many are missing, the first few."""
    gone = [i for i in ids if not present(i)]
    return text(200, f"{len(ids)} checked, {len(gone)} missing {' '.join(gone[:10])}".strip())


class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        q = {k: v[0] for k, v in parse_qs(query).items()}
        host = variables.get("host")
        if path == "/version":
            return text(200, f"{VERSION} {host}")
        if path == "/slow":   # says it started (the test waits for that), then sleeps
            key_value.Store.open("shared").set("slow:" + q.get("tag", host), b"started")
            time.sleep(float(q.get("s", "1.5")))
            return text(200, f"slow {VERSION} {host}")
        if path == "/kv/put":
            key_value.Store.open("shared").set("w:" + q["id"], f"{VERSION} {host}".encode())
            return text(200, f"ok {q['id']} {host}")
        if path == "/kv/missing":
            store = key_value.Store.open("shared")
            return missing(request.body.decode().split(), lambda i: store.exists("w:" + i))
        if path.startswith("/sql/"):
            import sql   # only when asked: needs spin_sdk.postgres
            return sql.handle(path, q, request.body, f"{VERSION} {host}", host, text, missing)
        return text(404, "no such path")
