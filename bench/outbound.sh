#!/bin/sh
# bench/outbound.sh -- `make bench-outbound`: a handler that calls an
# upstream on loopback, under `krait serve` against gunicorn. The same
# WSGI app (bench/outbound/app.py: `requests.get(UPSTREAM)`, answering the
# upstream's body) runs under gunicorn -w $(nproc) on native
# /usr/bin/python3.11 and under krait serve (requests bundled from
# Debian's python3-requests; the upstream granted in
# allowed_outbound_hosts); krait also runs a Spin handler doing the same
# with spin_sdk.http.send (bench/outbound/spin.py). The upstream is a
# native gunicorn hello world (bench/outbound/upstream.py). wrk -t2 -c16
# runs take turns BENCH_ROUNDS times; the table (also
# build/bench/outbound.md) shows median requests/s and p50, and the ratio
# krait / gunicorn. Env: KRAIT (build/krait), BENCH_DURATION (5s),
# BENCH_ROUNDS (3), GUNICORN (gunicorn), WRK (wrk), PYTHON
# (/usr/bin/python3.11). Does not own the socket layer or the SDK.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
KRAIT=${KRAIT:-build/krait}
case $KRAIT in /*) ;; *) KRAIT=$ROOT/$KRAIT ;; esac
DUR=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
GUNICORN=${GUNICORN:-gunicorn}
WRK=${WRK:-wrk}
PYTHON=${PYTHON:-/usr/bin/python3.11}
SITE=/usr/lib/python3/dist-packages
D=$ROOT/build/bench/outbound
OUT=$ROOT/build/bench/outbound.md
NPROC=$(nproc)
for t in "$KRAIT" "$GUNICORN" "$WRK" "$PYTHON" curl; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench-outbound: $t not found (sh scripts/bootstrap.sh)" >&2; exit 2; }
done
[ -f "$SITE/requests/__init__.py" ] || { echo "bench-outbound: python3-requests is missing (sh scripts/bootstrap.sh)" >&2; exit 2; }
rm -rf "$D"
mkdir -p "$D/wsgi" "$D/spin" "$D/up"
cp bench/outbound/app.py "$D/wsgi/app.py"
cp bench/outbound/spin.py "$D/spin/app.py"
cp bench/outbound/upstream.py "$D/up/app.py"

PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# ready URL PID WHAT: waits up to 60 s for URL to answer 200.
ready() {
  i=0
  until curl -sf -o /dev/null "$1"; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$2" 2>/dev/null; then
      echo "bench-outbound: $3 did not start:" >&2; tail -n 20 "$D/$3.log" >&2; exit 1
    fi
    sleep 0.1
  done
}

UP=$(free_port)
(cd "$D/up" && exec "$GUNICORN" -w 2 -k sync -b "127.0.0.1:$UP" --log-level warning app:app) >"$D/up.log" 2>&1 &
PIDS="$PIDS $!"
ready "http://127.0.0.1:$UP/" $! up

GP=$(free_port)
(cd "$D/wsgi" && UPSTREAM="http://127.0.0.1:$UP/" exec "$GUNICORN" -w "$NPROC" -k sync \
   -b "127.0.0.1:$GP" --log-level warning app:app) >"$D/gunicorn.log" 2>&1 &
PIDS="$PIDS $!"
ready "http://127.0.0.1:$GP/" $! gunicorn

cat >"$D/krait.toml" <<EOF2
[variables]
upstream = { default = "http://127.0.0.1:$UP/" }

[[app]]
name = "wsgi"
style = "wsgi"
wsgi = "app:app"
dir = "wsgi"
route = "/wsgi/..."
site_packages = ["$SITE"]
allowed_outbound_hosts = ["http://127.0.0.1:$UP"]
[app.variables]
upstream = "{{ upstream }}"

[[app]]
name = "spin"
style = "spin"
dir = "spin"
route = "/spin/..."
allowed_outbound_hosts = ["http://127.0.0.1:$UP"]
[app.variables]
upstream = "{{ upstream }}"
EOF2
KP=$(free_port)
(cd "$D" && exec "$KRAIT" serve --listen "127.0.0.1:$KP" --quiet) >"$D/krait.log" 2>&1 &
PIDS="$PIDS $!"
ready "http://127.0.0.1:$KP/spin/" $! krait
for u in "http://127.0.0.1:$GP/" "http://127.0.0.1:$KP/wsgi/" "http://127.0.0.1:$KP/spin/"; do
  got=$(curl -s "$u")
  [ "$got" = "from upstream" ] || { echo "bench-outbound: $u answered '$got'" >&2; tail -n 20 "$D/krait.log" >&2; exit 1; }
done

# measure NAME URL: one wrk run; appends "req/s p50_ms" to $D/NAME.
measure() {
  "$WRK" -t2 -c16 -d"$DUR" --latency "$2" >"$D/wrk.$1" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
    / Non-2xx or 3xx responses:/ { bad = $NF }
    END { printf "%.0f %.3f %d\n", rps, p50, bad }' "$D/wrk.$1" >>"$D/$1"
}
# median NAME COLUMN: the median of one column over the rounds.
median() { awk -v c="$2" '{ print $c }' "$D/$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

r=0
while [ "$r" -lt "$ROUNDS" ]; do
  measure gunicorn "http://127.0.0.1:$GP/"
  measure kwsgi "http://127.0.0.1:$KP/wsgi/"
  measure kspin "http://127.0.0.1:$KP/spin/"
  r=$((r + 1))
done
errors=$(cat "$D/gunicorn" "$D/kwsgi" "$D/kspin" | awk '{ s += $3 } END { print s + 0 }')
g=$(median gunicorn 1)
{
  echo "| one upstream call per request (wrk -t2 -c16, $ROUNDS x $DUR, medians) | req/s | p50 ms | krait / gunicorn |"
  echo "|---|---|---|---|"
  echo "| gunicorn -w $NPROC, WSGI + requests (native python3.11) | $g | $(median gunicorn 2) | 1.00x |"
  for n in kwsgi kspin; do
    case $n in
      kwsgi) label='krait serve, the same WSGI app + requests' ;;
      kspin) label='krait serve, Spin handler + spin_sdk.http.send' ;;
    esac
    k=$(median $n 1)
    printf '| %s | %s | %s | %.2fx |\n' "$label" "$k" "$(median $n 2)" "$(awk -v a="$k" -v b="$g" 'BEGIN { print a / b }')"
  done
  [ "$errors" -eq 0 ] || echo "(non-2xx responses during the runs: $errors)"
} | tee "$OUT"
[ "$errors" -eq 0 ]
