#!/bin/bash
# tests/serve/reload.sh -- `krait serve` reloading on SIGHUP, one host over
# real sockets: an artifact replaced in place and SIGHUP serve the new
# version while a slow request started before the signal returns the old
# one's marker, no request of a client hammering through the reload fails
# and, request after request, versions never go back; a damaged artifact or one with other routes
# keeps the old version serving (the log says why); serve DIR reloads
# krait.toml and the app's edited sources, and a SyntaxError keeps the old
# build; no sanitizer report (KRAIT_BIN=build/asan/krait). Prints "ok
# NAME" / "FAIL NAME" and ends with "N passed, N failed". Needs
# build/krait and `make python`. Does not own the reload.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
K=${KRAIT_BIN:-$K}              # e.g. build/asan/krait: its reports fail the run
PY=/usr/bin/python3.11
export KRAIT_CACHE=$T/cache       # artifacts unpack here, not in ~/.cache
# contains NAME GOT WANT: WANT is a substring of GOT
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$2', want it to contain '$3'" ;; esac; }
# until_count FILE TEXT N TENTHS: waits until FILE holds TEXT N times.
until_count() {
  for _ in $(seq "$4"); do [ "$(grep -c -- "$2" "$1")" -ge "$3" ] && return 0; sleep 0.1; done
  return 1
}

# The app: a Cloudflare worker that answers its version; /slow sleeps first.
D=$T/app
mkdir -p "$D"
cat >"$D/krait.toml" <<'EOF'
[app]
name = "rl"
style = "cloudflare"
module = "app"
route = "/..."
key_value_stores = ["KV"]

[key_value_stores.KV]
path = "data/kv.db"
EOF
cat >"$D/app.py" <<'EOF'
import time
from js import Response
VERSION = "v1"
async def on_fetch(request, env):
    if "/slow" in request.url:   # says it started (the test waits for that), then sleeps
        await env.KV.put("slow", "started")
        time.sleep(3)
        return Response.new(f"slow {VERSION}")
    return Response.new(f"hello {VERSION}")
EOF
setv() { sed -i "s/^VERSION = .*/VERSION = \"$1\"/" "$D/app.py"; }
# build_as NAME: krait build of the app as it is now, copied to $T/NAME.krait
build_as() { (cd "$D" && "$K" build >"$T/build-$1.log" 2>&1) && cp "$D/.krait/rl.krait" "$T/$1.krait"; }
build_as v1 && setv v2 && build_as v2 && setv v3 && build_as v3 || { cat "$T"/build-*.log; echo "0 passed, 1 failed"; exit 1; }
sed -i 's|^route = .*|route = "/other/..."|' "$D/krait.toml"
build_as routes || { echo "0 passed, 1 failed"; exit 1; }

# ---- an artifact replaced in place, then SIGHUP ---------------------------------
W=$T/deploy
mkdir -p "$W"
cp "$T/v1.krait" "$W/app.krait"
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
start "$W" "$P" "$AP" "$W/app.krait" --quiet || { echo "0 passed, 1 failed"; exit 1; }
LOG=$W/server.log
check artifact-v1 "$(curl -s $U/)" "hello v1"
# a client hammering through the reload; a slow request begun before it
$PY - "$P" >"$T/hammer.out" 2>&1 <<'PY' &
import http.client, sys, time, threading
port = int(sys.argv[1])
seen, fails, stop = [], [], time.monotonic() + 4.0
def one():
    c, mine = None, []          # this thread's answers: each request starts after the last ended
    seen.append(mine)
    while time.monotonic() < stop:
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/")
            r = c.getresponse()
            b = r.read().decode()
            if r.status != 200: fails.append(f"{r.status} {b}")
            else: mine.append(b)
        except Exception as e:
            fails.append(repr(e)); c = None
ts = [threading.Thread(target=one) for _ in range(3)]
for t in ts: t.start()
for t in ts: t.join()
orders = {" ".join(v for i, v in enumerate(m) if i == 0 or m[i - 1] != v) for m in seen}
print("requests", sum(map(len, seen)), "failed", len(fails), fails[:3])
print("versions", " | ".join(sorted(orders)))
PY
HAMMER=$!
sleep 0.5
curl -s "$U/slow" >"$T/slow.out" &
SLOW=$!
started=no
for _ in $(seq 100); do         # until the slow request runs (on v1)
  [ "$(sqlite3 "$W/data/kv.db" "select count(*) from kv where key = cast('slow' as blob)" 2>/dev/null)" = 1 ] && { started=yes; break; }
  sleep 0.05
done
check slow-request-started-before-hup "$started" "yes"
cp "$T/v2.krait" "$W/app.krait.new" && mv "$W/app.krait.new" "$W/app.krait"
kill -HUP "$SERVER"
if until_count "$LOG" "reloaded in" 1 100; then ok reload-logged; else bad reload-logged "$(tail -n 5 "$LOG")"; fi
kill -0 "$SLOW" 2>/dev/null && ok slow-request-outlives-reload || bad slow-request-outlives-reload "it ended before the reload did"
check after-hup-new-version "$(curl -s $U/)" "hello v2"
wait "$SLOW"
check slow-request-finishes-on-old "$(cat "$T/slow.out")" "slow v1"
wait "$HAMMER"
contains hammer-no-request-failed "$(cat "$T/hammer.out")" "failed 0 []"
check hammer-versions-in-order "$(sed -n 's/^versions //p' "$T/hammer.out")" "hello v1 hello v2"
kill -0 "$SERVER" 2>/dev/null && ok server-alive-after-hup || bad server-alive-after-hup "it exited"

# ---- failed reloads keep the old version -------------------------------------------
head -c 5000 "$T/v3.krait" >"$W/app.krait"       # damaged: cut short
kill -HUP "$SERVER"
if until_count "$LOG" "the reload failed" 1 100; then ok damaged-reload-fails; else bad damaged-reload-fails "$(tail -n 5 "$LOG")"; fi
check damaged-keeps-serving "$(curl -s $U/)" "hello v2"
contains damaged-names-artifact "$(grep -B3 'the reload failed' "$LOG" | grep Error)" "$W/app.krait"
cp "$T/routes.krait" "$W/app.krait"
kill -HUP "$SERVER"
if until_count "$LOG" "the reload failed" 2 100; then ok routes-reload-fails; else bad routes-reload-fails "$(tail -n 5 "$LOG")"; fi
contains routes-says-why "$(grep Error "$LOG" | tail -n 1)" "other routes"
check routes-keeps-serving "$(curl -s $U/)" "hello v2"
cp "$T/v3.krait" "$W/app.krait"
kill -HUP "$SERVER"
if until_count "$LOG" "reloaded in" 2 100; then ok reload-after-failures; else bad reload-after-failures "$(tail -n 5 "$LOG")"; fi
check reload-after-failures-serves "$(curl -s $U/)" "hello v3"
# several at once: taken together, the server keeps serving
for _ in 1 2 3 4 5; do kill -HUP "$SERVER"; done
sleep 0.2
until_count "$LOG" "reloaded in" 3 100
for _ in $(seq 50); do grep -q "SIGHUP: reloading" "$LOG" && [ "$(grep -c 'SIGHUP: reloading' "$LOG")" = "$(grep -c 'reloaded in\|the reload failed' "$LOG")" ] && break; sleep 0.1; done
check burst-keeps-serving "$(curl -s $U/)" "hello v3"
kill -TERM "$SERVER"; wait "$SERVER"
check stops-after-reloads "$?" "0"

# ---- serve DIR: krait.toml and the sources read again ---------------------------
sed -i 's|^route = .*|route = "/..."|' "$D/krait.toml"
setv v4
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
: >"$D/server.log"
start "$D" "$P" "$AP" --quiet || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }
LOG=$D/server.log
check dir-v4 "$(curl -s $U/)" "hello v4"
setv v5
kill -HUP "$SERVER"
if until_count "$LOG" "reloaded in" 1 300; then ok dir-reload-logged; else bad dir-reload-logged "$(tail -n 5 "$LOG")"; fi
check dir-serves-edited-source "$(curl -s $U/)" "hello v5"
echo "def broken(:" >>"$D/app.py"
kill -HUP "$SERVER"
if until_count "$LOG" "the reload failed" 1 300; then ok dir-syntax-error-fails; else bad dir-syntax-error-fails "$(tail -n 5 "$LOG")"; fi
contains dir-syntax-error-logged "$(cat "$LOG")" "SyntaxError"
check dir-keeps-serving "$(curl -s $U/)" "hello v5"
kill -TERM "$SERVER"; wait "$SERVER"
check no-sanitizer-report "$(grep -h -A12 'Sanitizer\|runtime error' "$W/server.log" "$D/server.log" | head -n 40)" ""

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
