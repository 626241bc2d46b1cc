# python/examples/flask_app/app.py -- a small Flask app served through
# krait's WSGI adapter. Run with style "wsgi", wsgi "app:app".
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/api/status")
def status():
    """A JSON route."""
    return jsonify(ok=True, name="flask_app")


@app.post("/api/notes/<int:note_id>")
def save_note(note_id):
    """A route with a path parameter that echoes the POSTed body."""
    text = request.get_data(as_text=True)
    return jsonify(id=note_id, text=text, length=len(text)), 201
