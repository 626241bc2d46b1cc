# bench/llm/rss/app.py -- the app bench/llm.sh measures krait serve's memory
# with: /rss/ping answers without the model (to start the workers first),
# /rss/gen?n=N generates N greedy tokens from the granted "bench" model.
from spin_sdk import http, llm
from spin_sdk.http import Response


class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        if "gen" not in request.uri:
            return Response(200, {"content-type": "text/plain"}, b"pong")
        n = int(request.uri.rsplit("n=", 1)[-1]) if "n=" in request.uri else 16
        r = llm.infer_with_options("bench", "Once upon a time there was a little robot",
                                   llm.InferencingParams(temperature=0, max_tokens=n))
        return Response(200, {"content-type": "text/plain"},
                        str(r.usage.generated_token_count).encode())
