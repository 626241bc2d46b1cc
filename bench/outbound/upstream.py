# bench/outbound/upstream.py -- the upstream of bench/outbound.sh: a WSGI
# hello world, run under gunicorn (native) on loopback.
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "14")])
    return [b"from upstream\n"]
