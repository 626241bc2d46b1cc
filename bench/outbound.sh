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
. bench/lib.sh
DUR=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
GUNICORN=${GUNICORN:-gunicorn}
SITE=/usr/lib/python3/dist-packages
D=$ROOT/build/bench/outbound
OUT=$ROOT/build/bench/outbound.md
NPROC=$(nproc)
bench_need bench-outbound "$KRAIT" "$GUNICORN" "$WRK" "$PYTHON" curl
[ -f "$SITE/requests/__init__.py" ] || { echo "bench-outbound: python3-requests is missing (sh scripts/bootstrap.sh)" >&2; exit 2; }
rm -rf "$D"
mkdir -p "$D/wsgi" "$D/spin" "$D/up"
cp bench/outbound/app.py "$D/wsgi/app.py"
cp bench/outbound/spin.py "$D/spin/app.py"
cp bench/outbound/upstream.py "$D/up/app.py"

UP=$(free_port)
(cd "$D/up" && exec "$GUNICORN" -w 2 -k sync -b "127.0.0.1:$UP" --log-level warning app:app) >"$D/up.log" 2>&1 &
PIDS="$PIDS $!"
ready_or_exit bench-outbound "http://127.0.0.1:$UP/" $! "$D/up.log"

GP=$(free_port)
(cd "$D/wsgi" && UPSTREAM="http://127.0.0.1:$UP/" exec "$GUNICORN" -w "$NPROC" -k sync \
   -b "127.0.0.1:$GP" --log-level warning app:app) >"$D/gunicorn.log" 2>&1 &
PIDS="$PIDS $!"
ready_or_exit bench-outbound "http://127.0.0.1:$GP/" $! "$D/gunicorn.log"

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
serve_up bench-outbound "$D" /spin/ "$D/krait.log"
KP=$P
for u in "http://127.0.0.1:$GP/" "http://127.0.0.1:$KP/wsgi/" "http://127.0.0.1:$KP/spin/"; do
  got=$(curl -s "$u")
  [ "$got" = "from upstream" ] || { echo "bench-outbound: $u answered '$got'" >&2; tail -n 20 "$D/krait.log" >&2; exit 1; }
done

# measure NAME URL: one wrk run; appends "req/s p50_ms" to $D/NAME.
measure() {
  "$WRK" -t2 -c16 -d"$DUR" --latency "$2" >"$D/wrk.$1" 2>&1
  wrk_stats "$D/wrk.$1" | awk '{ printf "%.0f %.3f %d\n", $1, $2, $4 }' >>"$D/$1"
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
  measure gunicorn "http://127.0.0.1:$GP/"
  measure kwsgi "http://127.0.0.1:$KP/wsgi/"
  measure kspin "http://127.0.0.1:$KP/spin/"
  r=$((r + 1))
done
errors=$(cat "$D/gunicorn" "$D/kwsgi" "$D/kspin" | awk '{ s += $3 } END { print s + 0 }')
g=$(median "$D/gunicorn" 1)
{
  echo "| one upstream call per request (wrk -t2 -c16, $ROUNDS x $DUR, medians) | req/s | p50 ms | krait / gunicorn |"
  echo "|---|---|---|---|"
  echo "| gunicorn -w $NPROC, WSGI + requests (native python3.11) | $g | $(median "$D/gunicorn" 2) | 1.00x |"
  for n in kwsgi kspin; do
    case $n in
      kwsgi) label='krait serve, the same WSGI app + requests' ;;
      kspin) label='krait serve, Spin handler + spin_sdk.http.send' ;;
    esac
    k=$(median "$D/$n" 1)
    printf '| %s | %s | %s | %.2fx |\n' "$label" "$k" "$(median "$D/$n" 2)" "$(awk -v a="$k" -v b="$g" 'BEGIN { print a / b }')"
  done
  [ "$errors" -eq 0 ] || echo "(non-2xx responses during the runs: $errors)"
} | tee "$OUT"
[ "$errors" -eq 0 ]
