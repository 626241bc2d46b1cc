# bench/outbound/spin.py -- the same upstream call as app.py from a Spin
# handler with spin_sdk.http.send (krait only: Spin's API).
from spin_sdk import http, variables
from spin_sdk.http import Request, Response


class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        r = http.send(Request("GET", variables.get("upstream"), {}, None))
        return Response(r.status, {"content-type": "text/plain"}, r.body)
