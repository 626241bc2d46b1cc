# bench/serve/spin/app.py -- hello world, Spin style (bench/serve.sh).
from spin_sdk import http
from spin_sdk.http import Request, Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        return Response(200, {"content-type": "text/plain"}, b"hi")
