# examples/notes/spin/app.py -- the notes API as a Spin HTTP handler:
# GET /spin/notes lists the notes, POST /spin/notes adds one (the body is
# its text), GET /spin/notes/ID shows one. The notes are one JSON list under
# the key "notes" of the store "notes", shared with the other two apps
# (a read-modify-write: two POSTs at the same instant can lose one).
import json
from datetime import datetime, timezone

from spin_sdk import http, key_value
from spin_sdk.http import Request, Response


def reply(status, data):
    """A JSON response."""
    return Response(status, {"content-type": "application/json"},
                    (json.dumps(data) + "\n").encode())


class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        store = key_value.Store.open("notes")
        notes = json.loads(store.get("notes") or b"[]")
        rest = request.uri.partition("?")[0][len("/spin/notes"):].strip("/")
        if rest:
            found = [n for n in notes if str(n["id"]) == rest]
            return reply(200, found[0]) if found else reply(404, {"error": "no such note"})
        if request.method == "GET":
            return reply(200, notes)
        if request.method != "POST":
            return reply(405, {"error": "use GET or POST"})
        text = (request.body or b"").decode("utf-8", "replace").strip()
        if not text:
            return reply(400, {"error": "the note is empty (POST its text)"})
        note = {"id": max((n["id"] for n in notes), default=0) + 1, "text": text,
                "via": "spin",
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        store.set("notes", json.dumps(notes + [note]).encode())
        return reply(201, note)
