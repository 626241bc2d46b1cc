#!/bin/bash
# tests/serve/tiers.sh -- snapshots do not depend on the tier: an app
# built (`krait build`) with python.wasm as native code (--tier aot) is
# served from that artifact by the interpreter (--tier interp), and one
# built interpreted is served as native code; each answers with the state
# its snapshot holds (a random token drawn at import, so the same token
# means the same snapshot memory), and the serve log names the tier. A
# manifest's built snapshot stays fresh across tiers (not rebuilt). Tier
# auto (the default) runs native code when python.wasm is compiled
# (`make python` did), also from a Python home's aot/ alone (ignored when
# damaged). Ends with "N passed, N failed". Needs build/krait
# and `make python`. Does not own the tiers themselves (src/aot/).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
unset KRAIT_TIER

mkdir -p "$T/app"
cat >"$T/app/krait.toml" <<'TOML'
[app]
name = "tok"
style = "spin"
module = "app"
route = "/..."
TOML
cat >"$T/app/app.py" <<'PY'
import hashlib, os
from spin_sdk import http
from spin_sdk.http import Request, Response
TOKEN = os.urandom(8).hex()   # drawn once, at import: lives in the snapshot
TABLE = {i: hashlib.sha256(str(i).encode()).hexdigest()[:8] for i in range(2000)}

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        body = f"{TOKEN} {TABLE[1999]} {sum(x * x for x in range(1000))}\n"
        return Response(200, {"content-type": "text/plain"}, body.encode())
PY

# tier_word TIER: how the serve log names it.
tier_word() { [ "$1" = aot ] && echo "native code" || echo "interpreted"; }

# serve_get NAME TIER TARGET...: serves TARGET (the app dir or an
# artifact) under TIER, prints the answer to / (empty on failure).
serve_get() {
  local name=$1 tier=$2 port admin
  shift 2
  port=$(free_port) admin=$(free_port)
  : >"$T/app/server.log"
  start "$T/app" "$port" "$admin" "$@" --tier "$tier" --quiet || return 0
  curl -s "http://127.0.0.1:$port/"
  kill -TERM "$SERVER" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  cp "$T/app/server.log" "$T/$name.log"
}

for built in aot interp; do
  rm -rf "$T/app/.krait"
  "$K" build --tier "$built" "$T/app" >"$T/build-$built.log" 2>&1
  grep -q "booted in .*, $(tier_word "$built")\$" "$T/build-$built.log" &&
    ok "build-$built: booted as $(tier_word "$built")" ||
    bad "build-$built" "$(tail -n 3 "$T/build-$built.log")"
  first=""
  for served in interp aot; do
    name="built-$built-served-$served"
    got=$(serve_get "$name" "$served" "$T/app/.krait/tok.krait")
    [ -z "$first" ] && first=$got
    if [[ "$got" =~ ^[0-9a-f]{16}\ [0-9a-f]{8}\ 332833500$ ]]; then ok "$name: answers"
    else bad "$name" "answer '$got' ($(tail -n 3 "$T/$name.log" 2>/dev/null))"; fi
    check "$name: the snapshot's token" "$got" "$first"
    grep -q "loaded from its artifact in .*, $(tier_word "$served")\$" "$T/$name.log" &&
      ok "$name: runs as $(tier_word "$served")" || bad "$name: tier" "$(grep 'app "tok"' "$T/$name.log")"
  done
  # the manifest's own built snapshot: fresh under the other tier
  other=$([ "$built" = aot ] && echo interp || echo aot)
  got=$(serve_get "dir-$built-$other" "$other")
  check "dir-built-$built-served-$other: the built snapshot's token" "$got" "$first"
  grep -q "loaded its built snapshot in .*, $(tier_word "$other")\$" "$T/dir-$built-$other.log" &&
    ok "dir-built-$built-served-$other: not rebuilt" ||
    bad "dir-built-$built-served-$other" "$(grep 'tok' "$T/dir-$built-$other.log" | head -n 3)"
done

# tier auto (no --tier, no KRAIT_TIER): native code, since make python
# compiled python.wasm
rm -rf "$T/app/.krait"
"$K" build "$T/app" >"$T/build-auto.log" 2>&1
grep -q "booted in .*, native code\$" "$T/build-auto.log" && ok "auto: native code" ||
  bad "auto" "$(tail -n 3 "$T/build-auto.log")"
# A Python home's aot/ (what make install copies): found with an empty
# cache; a damaged object there is ignored (the app boots interpreted) and
# left alone, never deleted or compiled over.
H=$T/home
mkdir -p "$H/aot" "$H/bin"
cp "$ROOT/build/python/python.wasm" "$H/"
ln "$H/python.wasm" "$H/bin/python3.11"
ln -s "$ROOT/build/python/lib" "$H/lib"
obj=$(ls "$ROOT"/build/python/aot/*.so | head -n 1)
cp "$obj" "$H/aot/"
# a krait with no Python home beside it (build/python/aot holds a good
# object), the SDK named
mkdir -p "$T/lone"
cp "$K" "$T/lone/krait"
home_build() {
  rm -rf "$T/app/.krait"
  KRAIT_CACHE=$T/cache KRAIT_SDK=$ROOT/python/sdk "$T/lone/krait" build --python-home "$H" "$T/app" >"$T/build-home.log" 2>&1
  grep 'booted in' "$T/build-home.log" | sed 's/.*, //'
}
check "home-aot: native code from the home's aot/" "$(home_build)" "native code"
n=$(ls "$T"/cache/aot/*.so 2>/dev/null | wc -l)
check "home-aot: nothing compiled" "$n" 0
so=$H/aot/$(basename "$obj")
printf 'X' | dd of="$so" bs=1 seek=$(( $(wc -c <"$so") / 2 )) conv=notrunc 2>/dev/null
sum=$(cksum <"$so")
check "home-aot-damaged: interpreted" "$(home_build)" "interpreted"
check "home-aot-damaged: left alone" "$(cksum <"$so")" "$sum"

# a bad tier is named
out=$("$K" build --tier fast "$T/app" 2>&1); rc=$?
case $out in *"option '--tier': bad value 'fast'"*) check "bad --tier named: status" "$rc" 2 ;;
  *) bad "bad --tier named" "$out" ;; esac
out=$("$K" web-snapshot --tier fast "$T" 2>&1)
case $out in *"bad --tier 'fast'"*) ok "web-snapshot: bad --tier named" ;; *) bad "web-snapshot bad --tier" "$out" ;; esac

# krait python: the same output under each tier
for tier in interp aot auto; do
  got=$("$K" python --tier "$tier" -c 'import json, sys; print(json.dumps({"n": sum(range(10**6))}), sys.version_info[:2])' 2>&1)
  check "python-$tier" "$got" '{"n": 499999500000} (3, 11)'
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
