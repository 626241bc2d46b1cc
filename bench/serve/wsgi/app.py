# bench/serve/wsgi/app.py -- hello world as a plain WSGI function: served
# by krait (style "wsgi") and by gunicorn, the baseline of the Spin,
# Cloudflare and WSGI rows (bench/serve.sh).
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]
