#!/bin/bash
# tests/serve/packages.sh -- package sets in krait serve and krait build
# (the manifest's packages = [...]) over real sockets, with the markupsafe
# set (its C speedups): a Spin app and a WSGI app using markupsafe.escape,
# the speedups the ones in use (escape is markupsafe._speedups.escape), a
# Flask app whose Debian site-packages come after the set's, the boot's
# import held by the snapshot (no module imported during a request; a lazy
# app shows the check can fail), an app without packages unchanged beside
# them (the base python.wasm: no dotted built-ins, no markupsafe), native
# code from the set's aot/, the missing-set boot error, the manifest's
# errors (file:line), and the artifact round trip (krait build, served
# from elsewhere; a home without the set refused naming it). Ends with "N
# passed, N failed". Needs build/krait and `make python`; builds the set
# (scripts/build-packages.py, cached; its AOT too unless PKG_AOT=0).
# Does not own the set's builder (tests/packages/run.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
SET=$ROOT/build/python/sets/markupsafe

aot=--no-aot
[ "${PKG_AOT:-1}" = 1 ] && aot=""
if ! (cd "$ROOT" && $PY scripts/build-packages.py $aot markupsafe) >"$T/set.log" 2>&1; then
  tail -n 20 "$T/set.log"; echo "0 passed, 1 failed"; exit 1
fi

# ---- the apps ----------------------------------------------------------------
A=$T/apps
mkdir -p "$A/sp" "$A/ws" "$A/fl" "$A/lazy" "$A/plain"
# A finder recording every markupsafe module imported from now on (after
# the boot): a request that imports none leaves it empty.
cat >"$A/sp/seen.py" <<'EOF'
import sys
class Seen:
    names = []
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.startswith("markupsafe"):
            cls.names.append(name)
        return None
def watch():
    sys.meta_path.insert(0, Seen)
EOF
cp "$A/sp/seen.py" "$A/lazy/"
cat >"$A/sp/app.py" <<'EOF'
import sys
import markupsafe
from markupsafe import escape
from spin_sdk import http
from spin_sdk.http import Response
import seen
seen.watch()
BOOT = __import__("os").urandom(8).hex()   # the module's top ran once, at boot, if every request shows the same

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        at_start = "markupsafe._speedups" in sys.modules
        import markupsafe._speedups as sp
        out = escape(request.uri.partition("?")[2])
        body = (f"{out}|start={at_start}|speedups={escape is sp.escape}|"
                f"native={type(sp.escape).__name__}|new={','.join(seen.Seen.names)}|"
                f"file={markupsafe.__file__}|boot={BOOT}")
        return Response(200, {"content-type": "text/plain"}, body.encode())
EOF
cat >"$A/lazy/app.py" <<'EOF'
import sys
from spin_sdk import http
from spin_sdk.http import Response
import seen
seen.watch()
BOOT = __import__("os").urandom(8).hex()   # the module's top ran once, at boot, if every request shows the same

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        at_start = "markupsafe._speedups" in sys.modules
        import markupsafe
        return Response(200, {}, f"start={at_start}|new={','.join(seen.Seen.names)}".encode())
EOF
cat >"$A/ws/app.py" <<'EOF'
import markupsafe
from markupsafe import escape
from urllib.parse import unquote

def app(environ, start_response):
    q = unquote(environ.get("QUERY_STRING", ""))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{escape(q)}|speedups={markupsafe.escape is markupsafe._speedups.escape}".encode()]
EOF
cat >"$A/fl/app.py" <<'EOF'
import markupsafe
from flask import Flask, render_template_string
app = Flask(__name__)
@app.route("/fl/")
def index():
    return render_template_string("{{ x }}|speedups={{ s }}|{{ f }}", x="<b>",
                                  s=markupsafe.escape is markupsafe._speedups.escape,
                                  f=markupsafe.__file__.split("/")[2])
EOF
cat >"$A/plain/app.py" <<'EOF'
import sys
from spin_sdk import http
from spin_sdk.http import Response

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        try:
            import markupsafe
            ms = "importable"
        except ModuleNotFoundError:
            ms = "absent"
        dotted = [n for n in sys.builtin_module_names if "." in n]
        return Response(200, {}, f"dotted={dotted}|markupsafe={ms}".encode())
EOF
{
  app_toml sp spin 'packages = ["markupsafe"]'
  app_toml lazy spin 'packages = ["markupsafe", "markupsafe"]'
  app_toml ws wsgi 'wsgi = "app:app"' 'packages = ["markupsafe"]'
  app_toml fl wsgi 'wsgi = "app:app"' 'site_packages = ["/usr/lib/python3/dist-packages"]' 'packages = ["markupsafe"]'
  app_toml plain spin
} >"$A/krait.toml"

# ---- served from the sources ---------------------------------------------------
nat=0   # the set's apps boot native code when it has an object and the tier allows it
ls "$SET"/aot/*.so >/dev/null 2>&1 && [ "${KRAIT_TIER:-auto}" != interp ] && nat=1
START_WAIT=600 serve_apps "$A" --quiet
check spin-escape "$(curl -s "$U/sp/x?<a&b>" | cut -d'|' -f1)" '&lt;a&amp;b&gt;'
got=$(curl -s "$U/sp/x?1")
expect spin-speedups-in-use "$got" '*|speedups=True|native=builtin_function_or_method|*'
expect spin-set-site-packages "$got" '*|file=/krait/packages/markupsafe/__init__.py|boot=*'
expect snapshot-holds-import "$got" '*|start=True|*'
expect request-imports-nothing "$got" '*|new=|*'
# the module's top (its imports) ran once, at boot: every request, each in
# a fresh sandbox from the snapshot, shows the token it drew then
b1=${got##*|boot=}; b2=$(curl -s "$U/sp/x?2"); b2=${b2##*|boot=}
[ ${#b1} = 16 ] && [ "$b1" = "$b2" ] && ok snapshot-boot-once || bad snapshot-boot-once "tokens [$b1] [$b2]"
got=$(curl -s "$U/lazy/x")
expect lazy-control-imports-at-request "$got" 'start=False|new=*markupsafe*'
check wsgi-escape "$(curl -s "$U/ws/?%3Cscript%3E%22")" '&lt;script&gt;&#34;|speedups=True'
check flask-set-before-site-packages "$(curl -s "$U/fl/")" '&lt;b&gt;|speedups=True|packages'
check plain-base-python "$(curl -s "$U/plain/x")" 'dotted=[]|markupsafe=absent'
if [ $nat = 1 ]; then
  check set-apps-native "$(grep -c '"\(sp\|lazy\|ws\|fl\)" .*native code' "$A/server.log")" 4
else
  ok "set-apps-native (skipped: PKG_AOT=0)"
fi
# time per request: the boot's import costs a request nothing (the lazy
# app, importing markupsafe in each request's fresh instance, for scale)
t_sp=$($PY - "$U/sp/x" "$U/plain/x" "$U/lazy/x" <<'EOF'
import sys, time, urllib.request
def med(url):
    ts = []
    for _ in range(40):
        t0 = time.perf_counter(); urllib.request.urlopen(url).read(); ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2] * 1000
print(" ".join(f"{med(u):.2f}" for u in sys.argv[1:]))
EOF
)
set -- $t_sp
if $PY -c "import sys; sys.exit(0 if float('$1') < 2 * float('$2') + 2 else 1)"; then
  ok "per-request time with packages ${1} ms, without ${2} ms (median of 40; importing at request time: ${3} ms)"
else bad per-request-time "with packages ${1} ms, without ${2} ms"; fi
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null

# ---- errors --------------------------------------------------------------------
E=$T/err
mkdir -p "$E"
cp "$A/plain/app.py" "$E/"
# err NAME LINES... : krait build of a manifest of one app with LINES; its
# output in OUT, its status in RC.
err() {
  { printf '[app]\nname = "e"\nstyle = "spin"\n'; printf '%s\n' "${@:2}"; } >"$E/krait.toml"
  OUT=$(cd "$E" && timeout 60 "$K" build 2>&1); RC=$?
}
err missing 'packages = ["markupsafe", "nosuchpkg", "markupsafe"]'
expect missing-set-error "$OUT" "*app \"e\" needs the package set 'markupsafe+nosuchpkg'*built sets: *markupsafe*make python PACKAGES=markupsafe+nosuchpkg*"
check missing-set-status "$RC" 1
err notlist 'packages = "markupsafe"'
expect manifest-not-a-list "$OUT" "*krait.toml:4: packages must be an array of strings*"
err notstr 'packages = ["markupsafe", 3]'
expect manifest-not-a-string "$OUT" "*krait.toml:4: packages must be a string, not integer*"
err badname 'route = "/..."' 'packages = [' '  "markupsafe",' '  "Mark/Up",' ']'
expect manifest-bad-name "$OUT" "*krait.toml:7: app \"e\": packages entry \"Mark/Up\" is not a package name*"
many=$(seq -f '"p%g"' 1 33 | paste -sd, -)
err toomany "packages = [$many]"
expect manifest-too-many "$OUT" "*krait.toml:4: app \"e\": packages names 33 packages; at most 32*"
err empty 'packages = []'
check manifest-empty-is-none "$RC" 0

# ---- artifacts -----------------------------------------------------------------
if (cd "$A" && "$K" build) >"$T/build.log" 2>&1; then
  expect build-names-set "$(grep 'sp.krait' "$T/build.log")" "*python.wasm of package set markupsafe by SHA-256*"
else bad build "$(tail -n 5 "$T/build.log")"; fi
expect artifact-manifest-has-packages "$(grep -a -c 'packages = \["markupsafe"\]' "$A/.krait/sp.krait")" '[1-9]*'
R=$T/run
mkdir -p "$R"
cp "$A/.krait/sp.krait" "$A/.krait/ws.krait" "$A/.krait/plain.krait" "$R/"
export KRAIT_CACHE=$T/cache
if START_WAIT=300 start "$R" "$P" "$AP" sp.krait ws.krait plain.krait --quiet; then
  got=$(curl -s "$U/sp/x?<i>")
  expect artifact-spin "$got" '&lt;i&gt;|start=True|speedups=True|*|new=|*'
  check artifact-wsgi "$(curl -s "$U/ws/?%3Cp%3E")" '&lt;p&gt;|speedups=True'
  check artifact-plain "$(curl -s "$U/plain/x")" 'dotted=[]|markupsafe=absent'
  check artifact-loaded "$(grep -c 'loaded from its artifact' "$R/server.log")" 3
  [ $nat = 1 ] && check artifact-set-native "$(grep -c '"\(sp\|ws\)" .*native code' "$R/server.log")" 2
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null
else bad artifact-serve "no server"; fi
H=$T/noset   # a Python home with the base python.wasm and no sets
mkdir -p "$H"
ln -s "$ROOT/build/python/lib" "$H/lib"
ln -s "$ROOT/build/python/bin" "$H/bin"
ln -s "$ROOT/build/python/python.wasm" "$H/python.wasm"
OUT=$(cd "$R" && timeout 30 "$K" serve sp.krait --python-home "$H" --listen "127.0.0.1:$P" 2>&1); RC=$?
expect artifact-host-without-set "$OUT" "*app \"sp\" needs the package set 'markupsafe'*built sets: none*make python PACKAGES=markupsafe*"
check artifact-host-without-set-status "$RC" 1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
