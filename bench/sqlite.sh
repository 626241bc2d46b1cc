#!/bin/sh
# bench/sqlite.sh -- `make bench-sqlite`: queries per second through krait's
# SQLite binding (spin_sdk.sqlite in a `krait serve` request) against the
# stdlib sqlite3 under native /usr/bin/python3.11, on the same database
# file with the same settings (WAL, synchronous=FULL). The workloads are
# bench/sqlite/work.py's, run by the same Python code on both sides; each
# side times its own loop (a request's fixed costs are left out). They
# take turns BENCH_ROUNDS times; the table (also build/bench/sqlite.md)
# shows median queries/s and krait's ratio to native. Then a request's
# whole cost: wrk -t1 -c1 on /one (open the database, one lookup by
# primary key, close) against /hello (no database), median p50s. Env: KRAIT
# (build/krait), BENCH_ROUNDS (5), BENCH_DURATION (3s, per wrk run), WRK
# (wrk), PYTHON (/usr/bin/python3.11).
# Does not own the binding (src/app/sqldb.c) or the workloads (work.py).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
KRAIT=${KRAIT:-build/krait}
case $KRAIT in /*) ;; *) KRAIT=$ROOT/$KRAIT ;; esac
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_DURATION:-3s}
WRK=${WRK:-wrk}
PYTHON=${PYTHON:-/usr/bin/python3.11}
D=$ROOT/build/bench/sqlite
OUT=$ROOT/build/bench/sqlite.md
for t in "$KRAIT" "$PYTHON" "$WRK" curl; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench-sqlite: $t not found" >&2; exit 2; }
done
rm -rf "$D"
mkdir -p "$D/app"
cp bench/sqlite/app.py bench/sqlite/work.py "$D/app/"
cat >"$D/krait.toml" <<EOF2
[app]
name = "sq"
style = "spin"
dir = "app"
sqlite_databases = ["default"]
[app.limits]
timeout_ms = 60000
[sqlite_databases.default]
path = "$D/bench.db"
EOF2
P=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$D" && exec "$KRAIT" serve --listen "127.0.0.1:$P" --quiet) >"$D/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
i=0
until curl -sf "http://127.0.0.1:$P/setup" >/dev/null; do
  i=$((i + 1))
  [ $i -gt 300 ] && { echo "bench-sqlite: krait serve did not start:" >&2; tail "$D/server.log" >&2; exit 1; }
  sleep 0.1
done

# one SIDE NAME: one run of workload NAME on SIDE (krait or native);
# appends "queries/s" to $D/SIDE.NAME, and stops on a wrong answer.
one() {
  if [ "$1" = krait ]; then out=$(curl -sf "http://127.0.0.1:$P/$2")
  else out=$(cd bench/sqlite && "$PYTHON" native.py "$D/bench.db" "$2"); fi
  set -- "$1" "$2" $out
  [ $# -eq 5 ] || { echo "bench-sqlite: $1 $2 failed: $out" >&2; tail "$D/server.log" >&2; exit 1; }
  echo "$5" >>"$D/check.$2"
  awk -v n="$3" -v ns="$4" 'BEGIN { printf "%.0f\n", n * 1e9 / ns }' >>"$D/$1.$2"
}

# median FILE: the median line of a file of numbers.
median() { sort -n "$D/$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# p50 PATH: one wrk run's p50 in ms, appended to $D/p50.PATH.
p50() {
  "$WRK" -t1 -c1 -d"$DUR" --latency "http://127.0.0.1:$P/$1" >"$D/wrk.$1" 2>&1
  awk '$1 == "50%" { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0;
       else if (v ~ /s$/) v = v * 1000; printf "%.3f\n", v }' "$D/wrk.$1" >>"$D/p50.$1"
}

WORKLOADS="point insert scan"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
  for w in $WORKLOADS; do one krait "$w"; one native "$w"; done
  p50 one; p50 hello
  r=$((r + 1))
done
for w in $WORKLOADS; do
  [ "$(sort -u "$D/check.$w" | wc -l)" -eq 1 ] || { echo "bench-sqlite: $w: the sides disagree" >&2; exit 1; }
done
{
  echo "| workload ($ROUNDS rounds, medians) | krait queries/s | native sqlite3 queries/s | native / krait |"
  echo "|---|---|---|---|"
  for w in $WORKLOADS; do
    case $w in
      point) label='point SELECT by primary key' ;;
      insert) label='INSERT, 1,000 in one transaction' ;;
      scan) label='SELECT of 10,000 rows' ;;
    esac
    k=$(median krait.$w); n=$(median native.$w)
    printf '| %s | %s | %s | %.2fx |\n' "$label" "$k" "$n" "$(awk -v a="$n" -v b="$k" 'BEGIN { print a / b }')"
  done
  echo
  echo "| request (wrk -t1 -c1, $ROUNDS x $DUR) | p50 ms (median) |"
  echo "|---|---|"
  echo "| open, one SELECT by primary key, close | $(median p50.one) |"
  echo "| hello (no database) | $(median p50.hello) |"
} | tee "$OUT"
