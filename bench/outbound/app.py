# bench/outbound/app.py -- the app of bench/outbound.sh, run unchanged by
# gunicorn (native CPython) and by krait serve: a WSGI app that calls an
# upstream on loopback with `requests` and answers its body. The upstream's
# URL comes from the UPSTREAM variable (krait: [app.variables]; gunicorn:
# the environment).
import os

import requests


def _upstream():
    """The upstream URL: krait's variable, else the environment."""
    try:
        from spin_sdk import variables
        return variables.get("upstream")
    except ImportError:
        return os.environ["UPSTREAM"]


def app(environ, start_response):
    r = requests.get(_upstream(), timeout=5)
    start_response(f"{r.status_code} {r.reason}", [("Content-Type", "text/plain")])
    return [r.content]
