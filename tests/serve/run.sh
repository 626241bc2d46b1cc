#!/bin/bash
# tests/serve/run.sh -- `krait serve` over real sockets with curl: the seed
# apps (Spin, Cloudflare, Flask), isolation between requests, limits (504),
# exceptions (500), bad requests, keep-alive, chunked bodies, /healthz and
# /metrics, graceful SIGTERM, key-value durability across kill -9 on
# SQLite and on a real redis-server started here, and `krait build`
# snapshots (used by serve; stale ones rebuilt, damaged ones refused), and
# --access-log refusals. Prints "ok NAME" /
# "FAIL NAME" and ends with "N passed, N failed". Needs build/krait and
# `make python`. Does not own the server's unit tests (tests/host/).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"


# ---- the apps ----------------------------------------------------------------
A=$T/apps
mkdir -p "$A/spin" "$A/cf" "$A/flask" "$A/misc"
cp "$ROOT/python/examples/spin_hello/app.py" "$A/spin/"
cp "$ROOT/python/examples/cf_kv/app.py" "$A/cf/"
cat >"$A/flask/app.py" <<'EOF'
from flask import Flask, jsonify, request
app = Flask(__name__)
@app.route("/flask/")
def index(): return jsonify(ok=True)
@app.route("/flask/echo/<name>", methods=["POST"])
def echo(name): return f"{name}:{request.get_data(as_text=True)}"
@app.route("/flask/stream")
def stream(): return app.response_class((f"line {i}\n" for i in range(3)), mimetype="text/plain")
EOF
cat >"$A/misc/app.py" <<'EOF'
import time
from spin_sdk import http, key_value
from spin_sdk.http import Response
from urllib.parse import parse_qs
STATE = {"count": 0}
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        q = {k: v[0] for k, v in parse_qs(query).items()}
        STATE["count"] += 1
        if path == "/misc/count": return Response(200, {}, str(STATE["count"]).encode())
        if path == "/misc/loop":
            while True: pass
        if path == "/misc/boom": raise RuntimeError("very secret detail")
        if path == "/misc/big": return Response(200, {}, str(len(bytearray(512 << 20))).encode())
        if path == "/misc/print":
            print("printed by the handler"); return Response(200, {}, b"printed")
        if path == "/misc/stream":
            def parts():
                yield b"first\n"
                time.sleep(float(q.get("s", "0.8")))
                yield b"second\n"
            return Response(200, {"content-type": "text/plain"}, parts())
        if path == "/misc/streambreak":
            def parts():
                yield b"part one\n"
                yield b"part two\n"
                raise RuntimeError("broke mid-stream")
            return Response(200, {}, parts())
        if path == "/misc/status":
            return Response(int(q["code"]), {}, q.get("body", "").encode())
        if path == "/misc/slow":
            time.sleep(float(q.get("s", "1"))); return Response(200, {}, b"slow done")
        if path.startswith("/misc/kv/"):
            store = key_value.Store.open(path.split("/")[3])
            if q.get("op") == "put":
                store.set(q["k"], q["v"].encode()); return Response(200, {}, b"stored")
            if q.get("op") == "keys":
                return Response(200, {}, ",".join(sorted(store.get_keys())).encode())
            if q.get("op") == "fill":   # n keys of size bytes each
                n, size, first = int(q["n"]), int(q["size"]), int(q.get("from", "0"))
                for i in range(first, first + n): store.set(("%06d" % i).ljust(size, "k"), b"v")
                return Response(200, {}, b"filled")
            if q.get("op") == "count":
                return Response(200, {}, str(len(store.get_keys())).encode())
            if q.get("op") == "binkey":   # a non-UTF-8 key through the raw module
                import _krait
                try: _krait.kv_set(_krait.kv_open(path.split("/")[3]), b"\xff\xfe", b"v")
                except Exception as e: return Response(400, {}, str(e).encode())
                return Response(200, {}, b"accepted")
            if q.get("op") == "big":
                try: store.set("big", b"x" * (2 << 20))
                except Exception as e: return Response(400, {}, str(e).encode())
                return Response(200, {}, b"accepted")
            if q.get("op") == "clear":
                for k in store.get_keys(): store.delete(k)
                return Response(200, {}, b"cleared")
            v = store.get(q["k"])
            return Response(200 if v is not None else 404, {}, v or b"missing")
        return Response(404, {}, b"no")
EOF
cat >"$A/krait.toml" <<'EOF'
[[app]]
name = "spin"
style = "spin"
dir = "spin"
route = "/spin/..."

[[app]]
name = "cf"
style = "cloudflare"
dir = "cf"
route = "/cf"
key_value_stores = ["FOO"]

[[app]]
name = "flask"
style = "wsgi"
wsgi = "app:app"
dir = "flask"
route = "/flask/..."
site_packages = ["/usr/lib/python3/dist-packages"]

[[app]]
name = "misc"
style = "spin"
dir = "misc"
route = "/misc/..."
key_value_stores = ["default", "shared"]
[app.limits]
timeout_ms = 1000
max_memory_mb = 64

[key_value_stores.FOO]
backend = "sqlite"
path = "data/foo.db"

[key_value_stores.shared]
backend = "redis"
url = "redis://127.0.0.1:REDIS_PORT/0"
EOF
RP=$(free_port)
sed -i "s/REDIS_PORT/$RP/" "$A/krait.toml"
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done

P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
start "$A" "$P" "$AP" || { echo "0 passed, 1 failed"; exit 1; }

# ---- the seed apps -------------------------------------------------------------
check spin-seed "$(curl -s $U/spin/)" "hi"
check spin-content-type "$(curl -s -o /dev/null -w '%{content_type}' $U/spin/)" "text/plain"
check cloudflare-seed "$(curl -s $U/cf)" "baz"
check cloudflare-kv-in-sqlite "$(sqlite3 "$A/data/foo.db" "select value from kv where key = cast('bar' as blob)" 2>&1)" "baz"
check flask-get "$(curl -s $U/flask/ | tr -d ' \n')" '{"ok":true}'
check flask-post "$(curl -s -X POST -d 'hi there' $U/flask/echo/krait)" "krait:hi there"
check flask-chunked-upload "$(printf 'chunked body' | curl -s -X POST -H 'Transfer-Encoding: chunked' --data-binary @- $U/flask/echo/c)" "c:chunked body"
check no-route "$(curl -s -o /dev/null -w '%{http_code}' $U/nothing)" "404"

# ---- streamed responses ----------------------------------------------------------
# the first part reaches the client while the handler still sleeps
got=$(/usr/bin/python3.11 - "$P" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.sendall(b"GET /misc/stream?s=0.8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data, first = b"", None
while True:
    b = s.recv(65536)
    if not b: break
    data += b
    if first is None and b"first" in data: first = time.monotonic() - t0
total = time.monotonic() - t0
head, _, body = data.partition(b"\r\n\r\n")
print("chunked" if b"transfer-encoding: chunked" in head.lower() else "not-chunked",
      "early" if first is not None and first < 0.6 and total >= 0.8 else f"late({first},{total})",
      body.replace(b"\r\n", b"|").decode())
PY
)
check stream-first-part-early "$got" "chunked early 6|first
|7|second
|0||"
check stream-curl-body "$(curl -s "$U/misc/stream?s=0")" "first
second"
check stream-http10-content-length "$(curl -s -0 -D - -o /dev/null "$U/misc/stream?s=0" | grep -ci '^content-length: 13')" "1"
body=$(curl -s "$U/misc/streambreak"); rc=$?
if [ $rc -ne 0 ] && [ "$body" = "part one
part two" ]; then ok "stream-broken-truncated (curl exit $rc)"
else bad stream-broken-truncated "exit $rc body '$body'"; fi
if grep -q "broke mid-stream" "$A/server.log"; then ok stream-broken-logged; else bad stream-broken-logged "not in the log"; fi
check flask-stream "$(curl -s -D "$T/fh" $U/flask/stream | tr '\n' ,)" "line 0,line 1,line 2,"
check flask-stream-chunked "$(grep -ci '^transfer-encoding: chunked' "$T/fh")" "1"

# ---- isolation and limits ------------------------------------------------------
counts=$(for i in 1 2 3 4 5; do curl -s $U/misc/count; done | tr -d '\n')
check isolation-global-pristine "$counts" "11111"
t0=$(date +%s%N)
check timeout-504 "$(curl -s -o /dev/null -w '%{http_code}' $U/misc/loop)" "504"
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $dt -lt 5000 ]; then ok "timeout-within-limit (${dt}ms)"; else bad timeout-within-limit "${dt}ms"; fi
check after-timeout-fine "$(curl -s $U/misc/count)" "1"
body=$(curl -s -w ' %{http_code}' $U/misc/boom)
case $body in *"very secret detail"*) bad exception-500 "traceback leaked: $body" ;;
  *" 500") ok exception-500 ;; *) bad exception-500 "$body" ;; esac
if grep -q "very secret detail" "$A/server.log"; then ok exception-traceback-logged; else bad exception-traceback-logged "not in the log"; fi
check print-answered "$(curl -s $U/misc/print)" "printed"
if grep -q "printed by the handler" "$A/server.log"; then ok print-reaches-log; else bad print-reaches-log "print() output lost"; fi
check max-memory-500 "$(curl -s -o /dev/null -w '%{http_code}' $U/misc/big)" "500"
if grep -q "MemoryError" "$A/server.log"; then ok max-memory-is-MemoryError; else bad max-memory-is-MemoryError "not in the log"; fi
check after-memory-fine "$(curl -s $U/misc/count)" "1"
check kv-not-granted "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/kv/FOO?k=x")" "500"

# ---- HTTP ------------------------------------------------------------------------
reuse=$(curl -sv $U/spin/ $U/spin/ 2>&1 | grep -c 'Re-using existing connection\|Reusing existing')
check keep-alive "$reuse" "1"
exec 3<>/dev/tcp/127.0.0.1/$P
printf 'GET /spin/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n' >&3
check bad-request-400 "$(head -n 1 <&3 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
exec 3<&-
big=$(head -c 20000 /dev/zero | tr '\0' a)
check header-too-large-431 "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big$big" $U/spin/)" "431"
check healthz "$(curl -s http://127.0.0.1:$AP/healthz)" "ok"
m=$(curl -s http://127.0.0.1:$AP/metrics)
case $m in *'krait_http_requests_total{code="200"}'*) ok metrics-requests ;; *) bad metrics-requests "missing" ;; esac
case $m in *'krait_instance_start_seconds_count{app="spin"}'*) ok metrics-instance-start ;; *) bad metrics-instance-start "missing" ;; esac
case $m in *'krait_timeouts_total{app="misc"} 1'*) ok metrics-timeouts ;; *) bad metrics-timeouts "missing" ;; esac
lines=$(grep -c '"GET /spin/ HTTP/1.1" 200' "$A/server.log")
if [ "$lines" -ge 3 ]; then ok access-log; else bad access-log "$lines lines"; fi

# ---- statuses: only final ones (200..599), 204/304 without a body -------------
for code in 100 101 199 600 999; do
  check "status-$code-refused-500" "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/status?code=$code")" "500"
done
if grep -q "respond: a final status must be 200..599 (status 101)" "$A/server.log"; then ok status-refusal-logged
else bad status-refusal-logged "no log line"; fi
check status-204-empty "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/status?code=204")" "204"
check status-204-with-body-500 "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/status?code=204&body=x")" "500"
check status-599-ok "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/status?code=599")" "599"
# the connection stays in sync after a refused 1xx (keep-alive, two requests)
check status-keepalive-in-sync "$(curl -s -o /dev/null -o /dev/null -w '%{http_code},' "$U/misc/status?code=101" "$U/misc/count")" "500,200,"

# ---- KV hygiene: full pages of long keys, binary keys, no host paths ----------
# (regression: the key list's buffer left out the cursor key written when a
# page is full and more follow: a heap overflow killed the server)
filled=$(for f in 0 100 200 300 400 500 600 700 800 900 1000; do n=100; [ $f = 1000 ] && n=1
  curl -s -w '\n' "$U/misc/kv/default?op=fill&n=$n&size=256&from=$f"; done | sort -u)   # in parts: the app's 1 s timeout
check kv-fill-long-keys "$filled" "filled"
check kv-list-full-pages "$(curl -s "$U/misc/kv/default?op=count")" "1001"
filled=$(for f in 0 500 1000 1500 2000 2500; do curl -s -w '\n' "$U/misc/kv/shared?op=fill&n=500&size=8&from=$f"; done | sort -u)
check kv-fill-many-keys "$filled" "filled"
check kv-list-many-keys "$(curl -s "$U/misc/kv/shared?op=count")" "3000"
check kv-server-alive-after-listing "$(curl -s $U/misc/count)" "1"
out=$(curl -s -w ' %{http_code}' "$U/misc/kv/default?op=binkey")
case $out in *"not valid UTF-8"*" 400") ok kv-binary-key-refused ;; *) bad kv-binary-key-refused "$out" ;; esac
check kv-list-after-binary-key "$(curl -s "$U/misc/kv/default?op=count")" "1001"
out=$(curl -s -w ' %{http_code}' "$U/misc/kv/default?op=big")
case $out in *"value is"*"limit"*" 400")
  case $out in *"$A"*|*sqlite*) bad kv-error-hides-host-path "$out" ;; *) ok kv-error-hides-host-path ;; esac ;;
  *) bad kv-error-hides-host-path "$out" ;; esac
check kv-clear-default "$(curl -s "$U/misc/kv/default?op=clear")" "cleared"
check kv-clear-shared "$(curl -s "$U/misc/kv/shared?op=clear")" "cleared"

# ---- KV on both backends, and durability across kill -9 -------------------------
for store in default shared; do
  check "kv-$store-put" "$(curl -s "$U/misc/kv/$store?op=put&k=a&v=1")" "stored"
  check "kv-$store-get" "$(curl -s "$U/misc/kv/$store?k=a")" "1"
  check "kv-$store-missing" "$(curl -s -o /dev/null -w '%{http_code}' "$U/misc/kv/$store?k=nope")" "404"
  curl -s "$U/misc/kv/$store?op=put&k=b&v=2" >/dev/null
  check "kv-$store-list" "$(curl -s "$U/misc/kv/$store?op=keys")" "a,b"
done
: >"$T/acked"
(i=0; while :; do i=$((i + 1))
   [ "$(curl -s "$U/misc/kv/default?op=put&k=d$i&v=$i")" = stored ] && echo $i >>"$T/acked"
 done) &
W=$!
sleep 2
kill -9 $SERVER
kill $W 2>/dev/null; wait $W 2>/dev/null
n=$(wc -l <"$T/acked")
start "$A" "$P" "$AP" || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }
missing=0
while read -r i; do
  [ "$(curl -s "$U/misc/kv/default?k=d$i")" = "$i" ] || missing=$((missing + 1))
done <"$T/acked"
if [ "$n" -gt 5 ] && [ $missing -eq 0 ]; then ok "kv-durable-after-kill-9 ($n acknowledged writes)"
else bad kv-durable-after-kill-9 "$missing of $n acknowledged writes missing"; fi
check kv-redis-survives-server-restart "$(curl -s "$U/misc/kv/shared?k=a")" "1"

# ---- graceful shutdown -------------------------------------------------------
curl -s "$U/misc/slow?s=0.6" >"$T/slow" &
C=$!
sleep 0.3
kill -TERM $SERVER
wait $C
check graceful-inflight-finishes "$(cat "$T/slow")" "slow done"
wait $SERVER; rc=$?
check graceful-exit-status "$rc" "0"

# ---- krait build: artifacts on disk, used by serve, rebuilt when stale -----
B=$T/built
mkdir -p "$B/spin"
cp "$ROOT/python/examples/spin_hello/app.py" "$B/spin/"
printf '[app]\nname = "hello"\nstyle = "spin"\ndir = "spin"\n' >"$B/krait.toml"
if (cd "$B" && "$K" build) >"$T/build.log" 2>&1 && [ -s "$B/.krait/hello.krait" ]; then
  ok "build-writes-artifact ($(( $(stat -c %s "$B/.krait/hello.krait") / 1024 )) KiB)"
else bad build-writes-artifact "$(tail -n 3 "$T/build.log")"; fi
# An artifact bundles the runtime SDK alone: not the SDK tests' _krait_fake
# (python/testing) nor the seed apps (python/examples).
ART="python3 $ROOT/tests/serve/artifact_edit.py $B/.krait/hello.krait -"
if $ART contains sdk/krait_runtime.py && $ART contains sdk/spin_sdk/__init__.py &&
   ! $ART contains _krait_fake && ! $ART contains sdk/examples/; then ok artifact-ships-runtime-sdk-only
else bad artifact-ships-runtime-sdk-only "a test double or example in it, or the SDK missing"; fi
P2=$(free_port) AP2=$(free_port)
if start "$B" "$P2" "$AP2"; then
  check built-snapshot-serves "$(curl -s http://127.0.0.1:$P2/)" "hi"
  if grep -q "loaded its built snapshot" "$B/server.log"; then ok serve-uses-built-snapshot
  else bad serve-uses-built-snapshot "$(head -n 2 "$B/server.log")"; fi
  kill -TERM $SERVER; wait $SERVER
else bad built-snapshot-serves "no server"; fi
# A stale artifact is rebuilt (and written again), then served; it used to
# be refused ("is stale ... run: krait build"). tests/serve/dev.sh has more.
echo "# changed" >>"$B/spin/app.py"
: >"$B/server.log"
if START_WAIT=300 start "$B" "$P2" "$AP2"; then
  check stale-snapshot-rebuilt-serves "$(curl -s http://127.0.0.1:$P2/)" "hi"
  if grep -q "hello.krait was stale" "$B/server.log" && grep -q "wrote .*hello.krait" "$B/server.log"; then
    ok stale-snapshot-rebuilt-says-so
  else bad stale-snapshot-rebuilt-says-so "$(head -n 4 "$B/server.log")"; fi
  kill -TERM $SERVER; wait $SERVER
else bad stale-snapshot-rebuilt-serves "no server"; fi
: >"$B/server.log"
if start "$B" "$P2" "$AP2"; then
  if grep -q "loaded its built snapshot" "$B/server.log"; then ok stale-snapshot-rewritten-fresh
  else bad stale-snapshot-rewritten-fresh "$(head -n 2 "$B/server.log")"; fi
  kill -TERM $SERVER; wait $SERVER
else bad stale-snapshot-rewritten-fresh "no server"; fi
printf 'junk' >"$B/.krait/hello.krait"
out=$(cd "$B" && timeout 20 "$K" serve --listen 127.0.0.1:$P2 2>&1); rc=$?
case $out in *"hello.krait"*) [ $rc = 1 ] && ok damaged-snapshot-refused || bad damaged-snapshot-refused "status $rc" ;;
  *) bad damaged-snapshot-refused "$out" ;; esac

# ---- artifacts: krait serve APP.krait elsewhere, its sources gone ------------
D=$T/deploy
mkdir -p "$D/src/flask" "$D/src/spin" "$D/run"
cp "$A/flask/app.py" "$D/src/flask/"
cp "$ROOT/python/examples/spin_hello/app.py" "$D/src/spin/"
cat >"$D/src/krait.toml" <<'EOF'
[[app]]
name = "flaskapp"
style = "wsgi"
wsgi = "app:app"
dir = "flask"
route = "/flask/..."
site_packages = ["/usr/lib/python3/dist-packages"]
[[app]]
name = "hello"
style = "spin"
dir = "spin"
route = "/hello"
EOF
if (cd "$D/src" && "$K" build) >"$T/build2.log" 2>&1; then
  ok "build-bundles ($(grep -o 'flaskapp.krait: [0-9]* KiB' "$T/build2.log"), $(grep -o '[0-9]* of [0-9]* site-packages entries' "$T/build2.log"))"
else bad build-bundles "$(tail -n 3 "$T/build2.log")"; fi
mv "$D/src/.krait/flaskapp.krait" "$D/src/.krait/hello.krait" "$D/run/"
rm -rf "$D/src"
export KRAIT_CACHE=$T/cache
P3=$(free_port) AP3=$(free_port)
if start "$D/run" "$P3" "$AP3" flaskapp.krait hello.krait; then
  check artifact-flask "$(curl -s http://127.0.0.1:$P3/flask/ | tr -d ' \n')" '{"ok":true}'
  check artifact-flask-post "$(curl -s -X POST -d x http://127.0.0.1:$P3/flask/echo/a)" "a:x"
  check artifact-spin "$(curl -s http://127.0.0.1:$P3/hello)" "hi"
  check artifact-loaded "$(grep -c 'loaded from its artifact' "$D/run/server.log")" "2"
  kill -TERM $SERVER; wait $SERVER
else bad artifact-flask "no server"; fi
check artifact-unpacked-per-content "$(ls "$T/cache/apps" | wc -l)" "2"
flaskdir=$(dirname "$(dirname "$(grep -l 'Flask' "$T"/cache/apps/*/app/app.py | head -n 1)")")
if [ -d "$flaskdir/site-packages/0/flask" ] && [ -d "$flaskdir/site-packages/0/werkzeug" ] &&
   [ ! -e "$flaskdir/site-packages/0/gunicorn" ]; then ok artifact-bundles-what-it-imports
else bad artifact-bundles-what-it-imports "$(ls "$flaskdir/site-packages/0" | tr '\n' ' ')"; fi
H=$T/otherhome
mkdir -p "$H"
ln -s "$ROOT/build/python/lib" "$H/lib"
ln -s "$ROOT/build/python/bin" "$H/bin"
cp "$ROOT/build/python/python.wasm" "$H/python.wasm"
printf '\000\004\003abc' >>"$H/python.wasm"   # a custom section: another module
out=$(cd "$D/run" && timeout 20 "$K" serve hello.krait --python-home "$H" --listen 127.0.0.1:$P3 2>&1); rc=$?
case $out in *"hello.krait"*"another module"*) [ $rc = 1 ] && ok artifact-other-python-refused || bad artifact-other-python-refused "status $rc" ;;
  *) bad artifact-other-python-refused "$out" ;; esac
cp "$D/run/hello.krait" "$T/bad.krait"
printf 'X' | dd of="$T/bad.krait" bs=1 seek=5000 conv=notrunc 2>/dev/null
out=$(cd "$D/run" && timeout 20 "$K" serve "$T/bad.krait" --listen 127.0.0.1:$P3 2>&1); rc=$?
case $out in *"bad.krait is damaged"*) [ $rc = 1 ] && ok artifact-damaged-refused || bad artifact-damaged-refused "status $rc" ;;
  *) bad artifact-damaged-refused "$out" ;; esac
out=$(cd "$D/run" && timeout 20 "$K" serve hello.krait hello.krait --listen 127.0.0.1:$P3 2>&1); rc=$?
case $out in *'two apps are named "hello"'*) [ $rc = 1 ] && ok artifact-conflict-refused || bad artifact-conflict-refused "status $rc" ;;
  *) bad artifact-conflict-refused "$out" ;; esac

# ---- --access-log FILE that cannot be opened: refused at start, named -------
# (it used to start and log nothing, silently)
out=$(cd "$B" && timeout 20 "$K" serve --access-log "$T/no/such/dir/access.log" --listen 127.0.0.1:$P2 2>&1); rc=$?
case $out in *"--access-log $T/no/such/dir/access.log"*"No such file or directory"*) [ $rc = 1 ] && ok access-log-unopenable-refused || bad access-log-unopenable-refused "status $rc" ;;
  *) bad access-log-unopenable-refused "status $rc: $out" ;; esac
case $out in *"loaded its built"*|*booted*) bad access-log-refused-before-boot "$out" ;; *) ok access-log-refused-before-boot ;; esac
out=$(cd "$B" && timeout 20 "$K" serve --access-log "$T" --listen 127.0.0.1:$P2 2>&1); rc=$?
case $out in *"--access-log $T:"*"Is a directory"*) [ $rc = 1 ] && ok access-log-directory-refused || bad access-log-directory-refused "status $rc" ;;
  *) bad access-log-directory-refused "status $rc: $out" ;; esac


echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
