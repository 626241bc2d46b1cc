# examples/notes/flask/app.py -- the notes API as a Flask app (WSGI):
# GET /flask/notes lists the notes, POST /flask/notes adds one (the body is
# its text), GET /flask/notes/ID shows one. It reaches the store "notes",
# shared with the other two apps, through spin_sdk.key_value, which every
# krait app can import; the notes are one JSON list under the key "notes".
import json
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from spin_sdk import key_value

app = Flask(__name__)
app.json.sort_keys = False


def load():
    """The store and the notes in it."""
    store = key_value.Store.open("notes")
    return store, json.loads(store.get("notes") or b"[]")


@app.get("/flask/notes")
def list_notes():
    return jsonify(load()[1])


@app.get("/flask/notes/<int:note_id>")
def show_note(note_id):
    found = [n for n in load()[1] if n["id"] == note_id]
    return jsonify(found[0]) if found else (jsonify(error="no such note"), 404)


@app.post("/flask/notes")
def add_note():
    text = request.get_data(as_text=True).strip()
    if not text:
        return jsonify(error="the note is empty (POST its text)"), 400
    store, notes = load()
    note = {"id": max((n["id"] for n in notes), default=0) + 1, "text": text,
            "via": "flask",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    store.set("notes", json.dumps(notes + [note]).encode())
    return jsonify(note), 201
