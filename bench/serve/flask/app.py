# bench/serve/flask/app.py -- hello world, a minimal Flask app: served by
# krait (style "wsgi") and by gunicorn as the baseline (bench/serve.sh).
from flask import Flask
app = Flask(__name__)
@app.route("/flask/")
def hello(): return "hi"
