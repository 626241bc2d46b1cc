#!/bin/bash
# tests/serve/new.sh -- `krait new`: each template (spin-http, cloudflare,
# wsgi) made in a temp dir and served at once by `krait serve` there, its
# routes checked with curl (the spin-http visit counter lives in KV while
# module globals start over), SIGTERM; the refusals (existing NAME,
# unknown template, missing arguments); valid app names derived from
# awkward folder names (spaces, a leading '-', non-ASCII, "..", too long).
# Prints "ok NAME" / "FAIL NAME" and ends with "N passed, N failed".
# Needs build/krait and `make python`.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
# contains NAME GOT WANT: WANT is a substring of GOT
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$2', want it to contain '$3'" ;; esac; }


# stop NAME: SIGTERM to the server; it must exit 0.
stop() {
  kill -TERM "$SERVER"
  wait "$SERVER"
  check "$1-sigterm-exit-0" "$?" "0"
}

# new TEMPLATE DIR: `krait new` in $T; checks it made both files.
new() {
  local out rc
  out=$(cd "$T" && "$K" new "$1" "$2" 2>&1); rc=$?
  check "$1-new-exit-0" "$rc" "0"
  if [ -f "$T/$2/krait.toml" ] && [ -f "$T/$2/app.py" ]; then ok "$1-new-files"
  else bad "$1-new-files" "$(ls -A "$T/$2" 2>&1) / $out"; fi
}

# ---- spin-http ---------------------------------------------------------------
new spin-http spin
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
if start "$T/spin" "$P" "$AP"; then
  r1=$(curl -s $U/) r2=$(curl -s $U/some/path) r3=$(curl -s $U/)
  contains spin-http-greets "$r1" "Hello from spin!"
  check spin-http-kv-counter "$(printf '%s\n' "$r1" "$r2" "$r3" | grep -o 'visit [0-9]*' | tr '\n' ,)" "visit 1,visit 2,visit 3,"
  check spin-http-globals-fresh "$(printf '%s\n' "$r1" "$r2" "$r3" | grep -o 'counter: [0-9]*' | tr '\n' ,)" "counter: 1,counter: 1,counter: 1,"
  check spin-http-content-type "$(curl -s -o /dev/null -w '%{content_type}' $U/)" "text/plain; charset=utf-8"
  if [ -f "$T/spin/.krait/default.db" ]; then ok spin-http-default-db; else bad spin-http-default-db "no .krait/default.db"; fi
  stop spin-http
  # The count is in .krait/default.db, so it survives a restart.
  if start "$T/spin" "$P" "$AP"; then
    contains spin-http-kv-survives-restart "$(curl -s $U/)" "visit 5."
    stop spin-http-restarted
  else bad spin-http-restart "server did not start"; fi
else bad spin-http-serve "server did not start"; fi

# ---- cloudflare --------------------------------------------------------------
new cloudflare cf
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
if start "$T/cf" "$P" "$AP"; then
  r=$(curl -s $U/)
  contains cloudflare-greets "$r" "Hello from cf!"
  contains cloudflare-greet-shows-url "$r" "curl $U/greeting"
  check cloudflare-missing-404 "$(curl -s -o /dev/null -w '%{http_code}' $U/greeting)" "404"
  check cloudflare-put-201 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d 'hello, world' $U/greeting)" "201"
  check cloudflare-get "$(curl -s $U/greeting)" "hello, world"
  check cloudflare-content-type "$(curl -s -o /dev/null -w '%{content_type}' $U/greeting)" "text/plain;charset=UTF-8"
  check cloudflare-delete-204 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE $U/greeting)" "204"
  check cloudflare-deleted "$(curl -s -o /dev/null -w '%{http_code}' $U/greeting)" "404"
  curl -s -X POST -d 'kept' $U/note >/dev/null
  check cloudflare-kv-in-sqlite "$(sqlite3 "$T/cf/.krait/kv.db" "select value from kv where key = cast('note' as blob)" 2>&1)" "kept"
  stop cloudflare
else bad cloudflare-serve "server did not start"; fi

# ---- wsgi (Flask) ------------------------------------------------------------
new wsgi fl
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
if start "$T/fl" "$P" "$AP"; then
  check wsgi-index "$(curl -s $U/)" "Hello from fl (Flask on krait)!"
  check wsgi-json-get "$(curl -s $U/api/hello/krait | tr -d ' \n')" '{"body":"","hello":"krait","method":"GET"}'
  check wsgi-json-post "$(curl -s -d 'hi' $U/api/hello/you | tr -d ' \n')" '{"body":"hi","hello":"you","method":"POST"}'
  check wsgi-content-type "$(curl -s -o /dev/null -w '%{content_type}' $U/api/hello/x)" "application/json"
  check wsgi-unknown-404 "$(curl -s -o /dev/null -w '%{http_code}' $U/nothing)" "404"
  stop wsgi
else bad wsgi-serve "server did not start"; fi

# ---- refusals ----------------------------------------------------------------
before=$(cat "$T/spin/app.py")
out=$(cd "$T" && "$K" new cloudflare spin 2>&1); rc=$?
check refuse-existing-exit-1 "$rc" "1"
contains refuse-existing-message "$out" "'spin' already exists"
check refuse-existing-untouched "$(cat "$T/spin/app.py")" "$before"
: >"$T/afile"
out=$(cd "$T" && "$K" new wsgi afile 2>&1); rc=$?
check refuse-existing-file-exit-1 "$rc" "1"
check refuse-existing-file-untouched "$(wc -c <"$T/afile")" "0"
out=$(cd "$T" && "$K" new django dj 2>&1); rc=$?
check unknown-template-exit-2 "$rc" "2"
contains unknown-template-message "$out" "unknown template 'django'"
contains unknown-template-lists "$out" "spin-http"
if [ -e "$T/dj" ]; then bad unknown-template-creates-nothing "dj exists"; else ok unknown-template-creates-nothing; fi
out=$("$K" new 2>&1); rc=$?
check no-arguments-exit-2 "$rc" "2"
out=$(cd "$T" && "$K" new wsgi 2>&1); rc=$?
check no-name-exit-2 "$rc" "2"
out=$(cd "$T" && "$K" new wsgi a b 2>&1); rc=$?
check too-many-arguments-exit-2 "$rc" "2"
out=$(cd "$T" && "$K" new spin-http no/such/parent 2>&1); rc=$?
check missing-parent-exit-1 "$rc" "1"
contains help-new "$("$K" help new)" "Usage: krait new TEMPLATE NAME"

# ---- app names derived from awkward folder names -----------------------------
# The app is named after the folder; a name must match
# [A-Za-z0-9][A-Za-z0-9_.-]{0,63} without ".." (src/manifest), or krait
# serve and build refuse the krait.toml that krait new just wrote.
long=$(printf 'x%.0s' $(seq 80))
mkdir -p "$T/names"
while IFS='|' read -r label dir want; do
  out=$(cd "$T/names" && "$K" new spin-http "$dir" 2>&1); rc=$?
  check "name-$label-new-exit-0" "$rc" "0"
  check "name-$label-derived" "$(sed -n 's/^name = "\(.*\)"$/\1/p' "$T/names/$dir/krait.toml" 2>&1)" "$want"
  [ "$label" = space ] && continue   # served below, from its sources
  out=$(cd "$T/names/$dir" && "$K" build 2>&1); rc=$?
  case $out in *".krait/$want.krait"*) [ $rc = 0 ] && ok "name-$label-builds" || bad "name-$label-builds" "status $rc: $out" ;;
    *) bad "name-$label-builds" "status $rc: $out" ;; esac
done <<EOF2
space|my app|my-app
dash-first|./-x|x
non-ascii|café|caf
all-non-ascii|日本|app
dot-dot|a..b|a.b
too-long|$long|$(printf 'x%.0s' $(seq 64))
EOF2
P=$(free_port) AP=$(free_port)
if start "$T/names/my app" "$P" "$AP"; then
  contains name-space-serves "$(curl -s http://127.0.0.1:$P/)" "Hello from my-app!"
  stop name-space
else bad name-space-serves "server did not start"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
