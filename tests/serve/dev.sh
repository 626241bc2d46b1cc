#!/bin/bash
# tests/serve/dev.sh -- the dev loop of `krait serve DIR` over real sockets
# with curl: an artifact stays fresh when only files its bundle leaves out
# change (logs written into the app folder, a store there); an edit to
# app.py (or another python.wasm) makes serve DIR rebuild it, say so,
# write it again and serve the new code; --watch picks up an edit within a bounded time, keeps serving
# the last good build (the SyntaxError logged) when a rebuild fails, lets
# requests under way finish on the old build, and rebuilds every app whose
# folder holds a change (nested folders). Prints "ok NAME" /
# "FAIL NAME" and ends with "N passed, N failed". Needs build/krait and
# `make python`. Does not own the watcher's or the bundle's code.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
# contains NAME GOT WANT: WANT is a substring of GOT
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$2', want it to contain '$3'" ;; esac; }
# stop: SIGTERM to the server and wait for it.
stop() { kill -TERM "$SERVER"; wait "$SERVER"; }
# until_log FILE TEXT TENTHS: waits until FILE holds TEXT; 0 when it does.
until_log() {
  for _ in $(seq "$3"); do grep -q -- "$2" "$1" && return 0; sleep 0.1; done
  return 1
}
# serve_once DIR: krait serve DIR until it answers, then stopped; its log
# (the server's stderr) is DIR/server.log, appended to.
serve_once() {
  local p ap
  p=$(free_port) ap=$(free_port)
  if START_WAIT=300 start "$1" "$p" "$ap"; then BODY=$(curl -s "http://127.0.0.1:$p/"); stop; return 0; fi
  BODY=; return 1
}

# The app: a Cloudflare worker whose KV store is a file in the app folder
# (data/kv.db, written by requests) and that greets with a version.
D=$T/dev
mkdir -p "$D"
cat >"$D/krait.toml" <<'EOF'
[app]
name = "dev"
style = "cloudflare"
module = "app"
key_value_stores = ["KV"]

[key_value_stores.KV]
path = "data/kv.db"
EOF
cat >"$D/app.py" <<'EOF'
import time
from js import Response
VERSION = "v1"
async def on_fetch(request, env):
    if request.url.endswith("/slow"):
        time.sleep(1.5)
        return Response.new(f"slow {VERSION}")
    if request.method == "PUT":
        await env.KV.put("k", await request.text())
    return Response.new(f"hello {VERSION}")
EOF
setv() { sed -i "s/^VERSION = .*/VERSION = \"$1\"/" "$D/app.py"; }

# ---- files the bundle leaves out do not make the artifact stale ---------------
out=$(cd "$D" && "$K" build 2>&1); rc=$?
check build-exit-0 "$rc" "0"
P=$(free_port) AP=$(free_port)
if start "$D" "$P" "$AP"; then      # its log is $D/server.log, in the folder
  check put-writes-store "$(curl -s -X PUT -d x http://127.0.0.1:$P/)" "hello v1"
  stop
else bad put-writes-store "no server"; fi
[ -s "$D/data/kv.db" ] && ok store-in-app-folder || bad store-in-app-folder "no $D/data/kv.db"
echo "a line the user logged" >>"$D/debug.log"
: >"$D/server.log"
if serve_once "$D"; then
  check fresh-serves "$BODY" "hello v1"
  if grep -q "loaded its built snapshot" "$D/server.log"; then ok logs-and-store-do-not-make-stale
  else bad logs-and-store-do-not-make-stale "$(head -n 3 "$D/server.log")"; fi
else bad fresh-serves "no server: $(tail -n 3 "$D/server.log")"; fi
# krait's own output redirected to a file in the folder (not named .log)
(cd "$D" && exec "$K" serve --listen 127.0.0.1:$P --admin 127.0.0.1:$AP >"$D/out.txt" 2>&1) &
SERVER=$! PIDS="$PIDS $SERVER"
if until_log "$D/out.txt" "listening on" 300; then
  if grep -q "loaded its built snapshot" "$D/out.txt"; then ok own-output-file-does-not-make-stale
  else bad own-output-file-does-not-make-stale "$(head -n 3 "$D/out.txt")"; fi
else bad own-output-file-does-not-make-stale "no server: $(tail -n 3 "$D/out.txt")"; fi
stop
rm -f "$D/out.txt"

# ---- an edit: serve DIR rebuilds, says so, writes it again, serves it --------
setv v2
: >"$D/server.log"
if serve_once "$D"; then
  check stale-rebuilt-serves-new-code "$BODY" "hello v2"
  if grep -q "dev.krait was stale" "$D/server.log"; then ok stale-rebuilt-says-so
  else bad stale-rebuilt-says-so "$(head -n 3 "$D/server.log")"; fi
  if grep -q "wrote .*dev.krait" "$D/server.log"; then ok stale-rebuilt-written
  else bad stale-rebuilt-written "$(head -n 5 "$D/server.log")"; fi
else bad stale-rebuilt-serves-new-code "no server: $(tail -n 3 "$D/server.log")"; fi
: >"$D/server.log"
if serve_once "$D"; then
  if grep -q "loaded its built snapshot" "$D/server.log"; then ok rebuilt-artifact-fresh-next-time
  else bad rebuilt-artifact-fresh-next-time "$(head -n 3 "$D/server.log")"; fi
else bad rebuilt-artifact-fresh-next-time "no server"; fi

# another python.wasm (a custom section appended: another module) makes it
# stale too: rebuilt for that one, not refused ("another module")
H=$T/otherhome
mkdir -p "$H"
ln -s "$ROOT/build/python/lib" "$H/lib"
ln -s "$ROOT/build/python/bin" "$H/bin"
cp "$ROOT/build/python/python.wasm" "$H/python.wasm"
printf '\000\004\003abc' >>"$H/python.wasm"
: >"$D/server.log"
P=$(free_port) AP=$(free_port)
if START_WAIT=300 start "$D" "$P" "$AP" --python-home "$H"; then
  check other-python-rebuilt-serves "$(curl -s http://127.0.0.1:$P/)" "hello v2"
  contains other-python-rebuilt-says-why "$(cat "$D/server.log")" "was stale (it was built by another python.wasm)"
  stop
else bad other-python-rebuilt-serves "no server: $(tail -n 3 "$D/server.log")"; fi

# ---- --watch -------------------------------------------------------------------
: >"$D/server.log"
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
if START_WAIT=300 start "$D" "$P" "$AP" --watch; then
  check watch-serves "$(curl -s $U/)" "hello v2"
  contains watch-says-watching "$(cat "$D/server.log")" "folders of 1 app for changes"
  # an edit is served within 30 s (a boot takes about a second)
  setv v3
  got=
  for _ in $(seq 300); do got=$(curl -s $U/); [ "$got" = "hello v3" ] && break; sleep 0.1; done
  check watch-picks-up-edit "$got" "hello v3"
  contains watch-logs-rebuild "$(cat "$D/server.log")" "app.py changed: rebuilding app \"dev\""
  # a log line written into the folder triggers nothing
  n=$(grep -c "rebuilding app" "$D/server.log")
  echo "more" >>"$D/debug.log"
  sleep 1
  check watch-ignores-logs "$(grep -c "rebuilding app" "$D/server.log")" "$n"
  # nor do writes to the store in the folder (data/kv.db, its journal or
  # WAL files coming and going)
  for i in 1 2 3 4 5; do curl -s -X PUT -d "w$i" $U/ >/dev/null; done
  sleep 1
  check watch-ignores-store-writes "$(grep -c "rebuilding app" "$D/server.log")" "$n"
  # requests under way finish on the build they started on
  curl -s $U/slow >"$T/slow" &
  C=$!
  sleep 0.3
  setv v4
  until_log "$D/server.log" "serving the new build" 300 && sleep 0.2
  wait $C
  check watch-inflight-finishes-on-old-build "$(cat "$T/slow")" "slow v3"
  got=
  for _ in $(seq 300); do got=$(curl -s $U/); [ "$got" = "hello v4" ] && break; sleep 0.1; done
  check watch-serves-after-inflight "$got" "hello v4"
  # a syntax error: the rebuild fails, logged; the last good build serves
  printf 'def (\n' >>"$D/app.py"
  if until_log "$D/server.log" "the rebuild failed" 300; then ok watch-failed-rebuild-logged
  else bad watch-failed-rebuild-logged "$(tail -n 5 "$D/server.log")"; fi
  contains watch-syntax-error-in-log "$(cat "$D/server.log")" "SyntaxError"
  check watch-keeps-last-good-build "$(curl -s $U/)" "hello v4"
  check watch-keeps-last-good-build-status "$(curl -s -o /dev/null -w '%{http_code}' $U/)" "200"
  # fixed again: served
  sed -i '/^def ($/d' "$D/app.py"
  setv v5
  got=
  for _ in $(seq 300); do got=$(curl -s $U/); [ "$got" = "hello v5" ] && break; sleep 0.1; done
  check watch-recovers "$got" "hello v5"
  stop
  check watch-sigterm-exit-0 "$?" "0"
else bad watch-serves "no server: $(tail -n 5 "$D/server.log")"; fi

# ---- --watch with nested app folders: a change inside both rebuilds both -------
N=$T/nested
mkdir -p "$N/inner"
cat >"$N/krait.toml" <<'EOF'
[[app]]
name = "outer"
style = "cloudflare"
route = "/..."

[[app]]
name = "inner"
style = "cloudflare"
dir = "inner"
route = "/inner/..."
EOF
printf 'from js import Response\nasync def on_fetch(request, env):\n    return Response.new("outer n1")\n' >"$N/app.py"
printf 'from js import Response\nasync def on_fetch(request, env):\n    return Response.new("inner n1")\n' >"$N/inner/app.py"
P=$(free_port) AP=$(free_port)
if START_WAIT=300 start "$N" "$P" "$AP" --watch; then
  check nested-serves "$(curl -s http://127.0.0.1:$P/inner/)" "inner n1"
  sed -i 's/inner n1/inner n2/' "$N/inner/app.py"
  got=
  for _ in $(seq 300); do got=$(curl -s http://127.0.0.1:$P/inner/); [ "$got" = "inner n2" ] && break; sleep 0.1; done
  check nested-inner-rebuilt "$got" "inner n2"
  if until_log "$N/server.log" 'rebuilding app "outer"' 100; then ok nested-outer-rebuilt-too
  else bad nested-outer-rebuilt-too "$(grep rebuilding "$N/server.log")"; fi
  check nested-outer-serves "$(curl -s http://127.0.0.1:$P/)" "outer n1"
  stop
else bad nested-serves "no server: $(tail -n 5 "$N/server.log")"; fi

# ---- refusals and help ----------------------------------------------------------
out=$(cd "$D" && "$K" serve .krait/dev.krait --watch 2>&1); rc=$?
check watch-artifact-exit-2 "$rc" "2"
contains watch-artifact-message "$out" "artifacts (APP.krait) are not watched"
out=$(cd "$D" && "$K" build --watch 2>&1); rc=$?
check build-watch-exit-2 "$rc" "2"
contains help-serve-watch "$("$K" help serve)" "--watch"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
