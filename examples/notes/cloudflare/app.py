# examples/notes/cloudflare/app.py -- the notes API as a Cloudflare Python
# Worker: GET /cf/notes lists the notes, POST /cf/notes adds one (the body
# is its text), GET /cf/notes/ID shows one. env.notes is the KV namespace
# "notes" shared with the other two apps; the notes are one JSON list under
# its key "notes".
import json
from datetime import datetime, timezone
from urllib.parse import urlparse

from js import Response


def reply(status, data):
    """A JSON response."""
    return Response.new(json.dumps(data) + "\n", status=status,
                        headers={"content-type": "application/json"})


async def on_fetch(request, env):
    notes = await env.notes.get("notes", "json") or []
    rest = urlparse(request.url).path[len("/cf/notes"):].strip("/")
    if rest:
        found = [n for n in notes if str(n["id"]) == rest]
        return reply(200, found[0]) if found else reply(404, {"error": "no such note"})
    if request.method == "GET":
        return reply(200, notes)
    if request.method != "POST":
        return reply(405, {"error": "use GET or POST"})
    text = (await request.text()).strip()
    if not text:
        return reply(400, {"error": "the note is empty (POST its text)"})
    note = {"id": max((n["id"] for n in notes), default=0) + 1, "text": text,
            "via": "cloudflare",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    await env.notes.put("notes", json.dumps(notes + [note]))
    return reply(201, note)
