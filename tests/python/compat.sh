#!/bin/bash
# tests/python/compat.sh -- Python behaves as natively where users notice:
# the recursion limit (1000, and 990 levels of recursion in Python and
# through C: nested repr and json) and the time zone database
# (zoneinfo), under `krait python` and under `krait serve` (the browser's
# checks are in tests/web/). Compares with /usr/bin/python3.11 where it
# can. Prints "ok NAME" / "FAIL NAME" and "N passed, N failed".
# Does not own: python.wasm's build (scripts/build-python.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"

# N: 990 levels counted from the top of the stack, so the handler's own
# frames under krait serve count as they would under gunicorn.
PROG='
import sys, json, zoneinfo, datetime
def depth():
    f, n = sys._getframe(), 0
    while f: f, n = f.f_back, n + 1
    return n
N = 990 - depth()
def down(n): return 0 if n == 0 else 1 + down(n - 1)
nest = []
for _ in range(N): nest = [nest]
deep_json = "[" * N + "]" * N
d = datetime.datetime(2026, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
print(sys.getrecursionlimit(), down(N) == N, len(repr(nest)) == 2 * N + 2,
      len(json.dumps(json.loads(deep_json))) == 2 * N,
      d.utcoffset(), d.tzname(),
      datetime.datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo("America/New_York")).tzname(),
      "Asia/Kolkata" in zoneinfo.available_timezones())
'
want=$(/usr/bin/python3.11 -c "$PROG" 2>&1)
check native-reference "$want" "1000 True True True 2:00:00 CEST EST True"
check krait-python "$("$K" python -c "$PROG" 2>&1)" "$want"
got=$("$K" python -c 'import sys
def f(n): return f(n + 1)
try: f(0)
except RecursionError as e: print("RecursionError", e)' 2>&1)
check krait-python-recursion-error "$got" "RecursionError maximum recursion depth exceeded"
got=$("$K" python -c 'import zoneinfo
try: zoneinfo.ZoneInfo("Nowhere/Atlantis")
except zoneinfo.ZoneInfoNotFoundError as e: print("not found")' 2>&1)
check krait-python-unknown-zone "$got" "not found"

# The same under krait serve: a handler runs the program.
A=$T/app
mkdir -p "$A/app"
{ echo 'from spin_sdk import http'
  echo 'from spin_sdk.http import Response'
  echo 'import io, contextlib'
  printf 'PROG = %s\n' "$(/usr/bin/python3.11 -c 'import sys; print(repr(sys.argv[1]))' "$PROG")"
  echo 'class IncomingHandler(http.IncomingHandler):'
  echo '    def handle_request(self, request):'
  echo '        out = io.StringIO()'
  echo '        with contextlib.redirect_stdout(out): exec(PROG, {"__name__": "prog"})'
  echo '        return Response(200, {}, out.getvalue().strip().encode())'
} >"$A/app/app.py"
printf '[app]\nname = "compat"\nstyle = "spin"\ndir = "app"\n' >"$A/krait.toml"
P=$(free_port) AP=$(free_port)
if start "$A" "$P" "$AP"; then
  check krait-serve "$(curl -s "http://127.0.0.1:$P/")" "$want"
  check krait-serve-again "$(curl -s "http://127.0.0.1:$P/")" "$want"
else bad krait-serve "no server"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
