# bench/serve/sleep/app.py -- answers after time.sleep(0.5), so requests
# stay in flight while bench/serve.sh reads the server's memory.
import time
from spin_sdk import http
from spin_sdk.http import Request, Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        time.sleep(0.5)
        return Response(200, {"content-type": "text/plain"}, b"slept")
