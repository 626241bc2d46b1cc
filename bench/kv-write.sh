#!/bin/sh
# bench/kv-write.sh -- `make bench-kv`: what one key-value write costs a
# request under `krait serve`, per store durability. One server, one app
# (spin style) granted two SQLite stores, "proc" (durability = "process":
# WAL, synchronous=NORMAL) and "pow" (durability = "power": WAL,
# synchronous=FULL, an fsync per commit); wrk -t1 -c1 --latency (one
# request at a time, so p50 is a request's own latency) on
#   /w/proc  one store.set per request on "proc"
#   /w/pow   the same on "pow"
#   /hello   no write (the floor)
# taking turns BENCH_ROUNDS times. Prints a markdown table (also
# build/bench/kv-write.md) of the median p50, p99 and requests/s. Env:
# KRAIT (build/krait), BENCH_DURATION (5s), BENCH_ROUNDS (3), WRK (wrk),
# PYTHON (/usr/bin/python3.11, for a free port). Does not own the server
# (src/serve, src/deploy) nor the stores (src/kv/sqlite.c).
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
DUR=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
D=$ROOT/build/bench/kv-write
OUT=$ROOT/build/bench/kv-write.md
bench_need bench-kv "$KRAIT" "$WRK" "$PYTHON" curl
rm -rf "$D"
mkdir -p "$D/app"
cat >"$D/app/app.py" <<'EOF'
# build/bench/kv-write/app/app.py -- one KV write per request (bench/kv-write.sh).
import time
from spin_sdk import http, key_value
from spin_sdk.http import Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        if request.uri.startswith("/w/"):
            # a new value each time: SQLite skips rewriting identical bytes
            key_value.Store.open(request.uri[3:]).set("k", str(time.time_ns()).encode())
            return Response(200, {}, b"stored")
        return Response(200, {}, b"hi")
EOF
cat >"$D/krait.toml" <<'EOF'
[app]
name = "kv"
style = "spin"
dir = "app"
key_value_stores = ["proc", "pow"]
[key_value_stores.proc]
durability = "process"
[key_value_stores.pow]
durability = "power"
EOF
serve_up bench-kv "$D" /hello "$D/server.log"
for p in proc pow; do
  [ "$(curl -s "http://127.0.0.1:$P/w/$p")" = stored ] || { echo "bench-kv: /w/$p failed" >&2; exit 1; }
done

# measure NAME PATH: one wrk run; appends "p50 p99 req/s" to $D/NAME.
measure() {
  "$WRK" -t1 -c1 -d"$DUR" --latency "http://127.0.0.1:$P$2" >"$D/wrk.$1" 2>&1
  wrk_stats "$D/wrk.$1" | awk '{ printf "%.3f %.3f %.0f\n", $2, $3, $1 }' >>"$D/$1"
}

# The three requests take turns, ROUNDS times, so a machine busy with
# something else slows them alike; the table shows medians.
r=0
while [ $r -lt "$ROUNDS" ]; do
  measure proc /w/proc; measure pow /w/pow; measure none /hello
  r=$((r + 1))
done
{
  echo "| request (wrk -t1 -c1, $ROUNDS x $DUR, medians) | p50 ms | p99 ms | req/s |"
  echo "|---|---|---|---|"
  for n in proc pow none; do
    case $n in
      proc) label='one write, durability = "process" (NORMAL)' ;;
      pow) label='one write, durability = "power" (FULL)' ;;
      none) label='no write' ;;
    esac
    printf '| %s | %.2f | %.2f | %s |\n' "$label" "$(median "$D/$n" 1)" "$(median "$D/$n" 2)" "$(median "$D/$n" 3)"
  done
} | tee "$OUT"
