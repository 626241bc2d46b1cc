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
. bench/lib.sh
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_DURATION:-3s}
D=$ROOT/build/bench/sqlite
OUT=$ROOT/build/bench/sqlite.md
bench_need bench-sqlite "$KRAIT" "$PYTHON" "$WRK" curl
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
serve_up bench-sqlite "$D" /setup "$D/server.log"

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

# p50 PATH: one wrk run's p50 in ms, appended to $D/p50.PATH.
p50() {
  "$WRK" -t1 -c1 -d"$DUR" --latency "http://127.0.0.1:$P/$1" >"$D/wrk.$1" 2>&1
  wrk_stats "$D/wrk.$1" | awk '$2 != "-" { printf "%.3f\n", $2 }' >>"$D/p50.$1"
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
    k=$(median "$D/krait.$w"); n=$(median "$D/native.$w")
    printf '| %s | %s | %s | %.2fx |\n' "$label" "$k" "$n" "$(awk -v a="$n" -v b="$k" 'BEGIN { print a / b }')"
  done
  echo
  echo "| request (wrk -t1 -c1, $ROUNDS x $DUR) | p50 ms (median) |"
  echo "|---|---|"
  echo "| open, one SELECT by primary key, close | $(median "$D/p50.one") |"
  echo "| hello (no database) | $(median "$D/p50.hello") |"
} | tee "$OUT"
