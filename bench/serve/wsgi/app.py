# bench/serve/wsgi/app.py -- hello world as a plain WSGI function: the
# gunicorn baseline for the Spin and Cloudflare rows (bench/serve.sh).
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]
