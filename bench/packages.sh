#!/bin/sh
# bench/packages.sh -- `make bench-packages`: what a package set costs and
# gives, side by side in one run (medians of ROUNDS rounds taken in turns,
# ratios, because this machine is noisy). Runners:
#   native      /usr/bin/python3.11 with Debian's python3-markupsafe and
#               python3-msgpack (their C extensions) and python3-jinja2
#   krait-pure  krait python (AOT) on the base python.wasm with the set's
#               Python files on the path: the packages' pure-Python
#               fallbacks, what krait ran before package sets
#   krait-set   krait python --packages markupsafe,msgpack (AOT): the C
#               extensions
# Workloads: bench/packages/markup.py escape (markupsafe.escape on short
# strings), long (on a 10 KB one), msgpack (pack and unpack a document) and
# jinja (an autoescaped Jinja2 page), and the start (`-c pass` and `-c 'import
# markupsafe'`) through hyperfine; then the sizes: the base and the set's
# python.wasm, raw and brotli.
# Env: KRAIT (build/krait), ROUNDS (5), N_ESCAPE (200), N_LONG (2000),
# N_MSGPACK (200), N_JINJA (100).
# Does not own: building the set (make bench-packages runs
# build-packages.py first), the workloads (bench/packages/markup.py).
set -u
cd "$(dirname "$0")/.." || exit 2
KRAIT=${KRAIT:-build/krait}
PY=/usr/bin/python3.11
ROUNDS=${ROUNDS:-5}
SET=build/python/sets/markupsafe+msgpack
DIST=/usr/lib/python3/dist-packages
D=build/bench/packages
for t in "$KRAIT" "$PY" hyperfine brotli; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench-packages: $t not found (sh scripts/bootstrap.sh)" >&2; exit 2; }
done
[ -f "$SET/python.wasm" ] || { echo "bench-packages: no $SET (make python PACKAGES=markupsafe,msgpack)" >&2; exit 2; }
"$PY" -c 'import markupsafe._speedups, jinja2, msgpack._cmsgpack' 2>/dev/null ||
  { echo "bench-packages: Debian's python3-markupsafe, python3-jinja2 and python3-msgpack are needed (sh scripts/bootstrap.sh python)" >&2; exit 2; }
mkdir -p "$D"
rm -f "$D"/*.times

# run RUNNER WORKLOAD N: one timed run; appends its seconds to $D/RUNNER-WORKLOAD.times
# and checks which escape it ran.
run() {
  case $1 in
    native) set -- "$@" "$PY" ;;
    krait-pure) set -- "$@" "$KRAIT" python --tier aot --site-packages "$SET/site-packages" --site-packages "$DIST" ;;
    krait-set) set -- "$@" "$KRAIT" python --tier aot --packages markupsafe,msgpack --site-packages "$DIST" ;;
  esac
  r=$1 w=$2 n=$3; shift 3
  out=$("$@" bench/packages/markup.py "$w" "$n" 2>"$D/err") || { cat "$D/err" >&2; echo "bench-packages: $r $w failed" >&2; exit 1; }
  want=C; [ "$r" = krait-pure ] && want=Python
  grep -qx "escape: $want" "$D/err" || { echo "bench-packages: $r ran $(cat "$D/err"), not the $want escape" >&2; exit 1; }
  echo "$out" >>"$D/$r-$w.times"
}
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "package sets: markupsafe 2.1.2 and msgpack 1.0.3 (their C extensions) in krait against native, medians of $ROUNDS rounds"
for i in $(seq "$ROUNDS"); do
  for r in native krait-pure krait-set; do
    run $r escape "${N_ESCAPE:-200}"
    run $r long "${N_LONG:-2000}"
    run $r msgpack "${N_MSGPACK:-200}"
    run $r jinja "${N_JINJA:-100}"
  done
done
printf '\n%-28s %10s %10s %10s %12s %12s\n' workload native krait-pure krait-set "pure/native" "set/native"
for w in escape long msgpack jinja; do
  n=$(median "$D/native-$w.times"); p=$(median "$D/krait-pure-$w.times"); s=$(median "$D/krait-set-$w.times")
  case $w in
    escape) label="escape 1000 short x${N_ESCAPE:-200}" ;;
    long) label="escape 10 KB x${N_LONG:-2000}" ;;
    msgpack) label="msgpack doc x${N_MSGPACK:-200}" ;;
    *) label="jinja 200 rows x${N_JINJA:-100}" ;;
  esac
  awk -v l="$label" -v n="$n" -v p="$p" -v s="$s" 'BEGIN {
    printf "%-28s %9.3fs %9.3fs %9.3fs %11.2fx %11.2fx   (set %.2fx faster than pure)\n", l, n, p, s, p / n, s / n, p / s }'
done

echo
echo "start (hyperfine, wall time; krait on the AOT tier):"
hyperfine -N --style basic --warmup 2 --runs "${START_RUNS:-20}" --export-json "$D/start.json" \
  -n "native import markupsafe" "$PY -c 'import markupsafe'" \
  -n "krait base -c pass" "$KRAIT python --tier aot -c pass" \
  -n "krait set -c pass" "$KRAIT python --tier aot --packages markupsafe,msgpack -c pass" \
  -n "krait set import markupsafe" "$KRAIT python --tier aot --packages markupsafe,msgpack -c 'import markupsafe'" \
  >"$D/start.txt" 2>&1 || { cat "$D/start.txt"; exit 1; }
"$PY" - "$D/start.json" <<'EOF'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
for k, v in r.items():
    print("  %-30s %8.1f ms" % (k, v * 1000))
print("  set -c pass / base -c pass: %.3fx" % (r["krait set -c pass"] / r["krait base -c pass"]))
print("  krait set import markupsafe / native: %.2fx" % (r["krait set import markupsafe"] / r["native import markupsafe"]))
EOF

echo
echo "sizes:"
for f in build/python/python.wasm "$SET/python.wasm"; do
  printf '  %-44s %10d bytes, brotli %9d\n' "$f" "$(wc -c <"$f")" "$(brotli -c -q 11 "$f" | wc -c)"
done
printf '  %-44s %10d bytes (du -sb)\n' "$SET/site-packages" "$(du -sb "$SET/site-packages" | cut -f1)"
