# bench/packages/markup.py -- the package-set benchmark's CPU workloads
# (bench/packages.sh): `escape` runs markupsafe.escape over 1,000 mixed
# short strings N times (the cost is mostly the Markup object's); `long`
# escapes one 10 KB string N times (the escaping itself: one C pass
# against the fallback's five str.replace passes); `msgpack` packs and
# unpacks a 100-record document N times; `jinja` renders an autoescaped Jinja2 template of 200
# rows N times (what a Flask page does). Prints the seconds taken, and on
# stderr which implementation ran ("escape: C" or "escape: Python": the C
# extension or the package's pure-Python fallback).
import sys
import time

which, n = sys.argv[1], int(sys.argv[2])
if which == "msgpack":
    import msgpack
    impl = "C" if msgpack.Packer.__module__ == "msgpack._cmsgpack" else "Python"
else:
    import markupsafe
    impl = "C" if type(markupsafe.escape).__name__ == "builtin_function_or_method" else "Python"
if which == "msgpack":
    doc = {"users": [{"id": i, "name": "user %d" % i, "score": i * 0.5, "tags": ["a", "b"],
                      "active": i % 3 == 0, "blob": b"\x00\x01" * 8} for i in range(100)]}
    t0 = time.perf_counter()
    for _ in range(n):
        msgpack.unpackb(msgpack.packb(doc))
elif which == "escape":
    from markupsafe import escape
    texts = ["<a href='%d'>Tom & \"Jerry\"</a>" % i if i % 2 else "plain text %d, nothing to escape" % i
             for i in range(1000)]
    t0 = time.perf_counter()
    for _ in range(n):
        for s in texts:
            escape(s)
elif which == "long":
    from markupsafe import escape
    text = "<a href='x'>Tom & \"Jerry\"</a> " * 300
    t0 = time.perf_counter()
    for _ in range(n):
        escape(text)
elif which == "jinja":
    import jinja2
    tpl = jinja2.Environment(autoescape=True).from_string(
        "<ul>{% for r in rows %}<li class='{{ r.cls }}'>{{ r.name }}: {{ r.text }}</li>{% endfor %}</ul>")
    rows = [{"cls": "c%d" % i, "name": "<b>%d</b>" % i, "text": "x & y < z, \"q\""} for i in range(200)]
    t0 = time.perf_counter()
    for _ in range(n):
        tpl.render(rows=rows)
else:
    sys.exit("unknown workload %r" % which)
print("%.6f" % (time.perf_counter() - t0))
print("escape: " + impl, file=sys.stderr)
