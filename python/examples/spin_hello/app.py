# python/examples/spin_hello/app.py -- the Spin seed example, verbatim
# (Spin Python SDK v3 style). Run with style "spin", module "app".
from spin_sdk import http
from spin_sdk.http import Request, Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        return Response(200, {"content-type": "text/plain"}, bytes("hi", "utf-8"))
