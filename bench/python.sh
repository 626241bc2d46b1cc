#!/bin/sh
# bench/python.sh -- times the Python workloads (bench/python/*.py, plus
# interpreter startup, `-c pass`) with hyperfine under four runners and
# prints one markdown table of median wall times, as ratios to native:
#   native  /usr/bin/python3.11 (Debian's CPython 3.11.2)
#   aot     `krait python --tier aot`: build/python/python.wasm as native
#           code from the AOT tier (compiled into the cache on first use:
#           several minutes; `krait compile build/python/python.wasm`)
#   interp  `krait python --tier interp`: the same under the interpreter
#   node    the same python.wasm under Node's WASI (tests/python/node-wasi.mjs)
#   aot-nochecks  `build/nocheck/krait python --tier aot`, when that
#           benchmark-only build exists (`make bench-interrupts`): AOT code
#           without the fuel/deadline countdown (its own object: compiled
#           on first use, minutes)
# with a geometric mean of the ratios over the CPU workloads (startup is
# left out of it: it is a fixed cost, already inside every other row),
# and issue 12's targets (AOT geomean <= 1.3x, AOT startup <= 2x).
# The table also goes to build/bench/python.md. First checks that every
# runner exits 0 and prints the same output as native; a runner that
# fails is not timed ("-"), and any failure or mismatch exits 1 at the end.
# Env: KRAIT (build/krait), NODE (node), PYTHON (/usr/bin/python3.11),
# BENCH_RUNS (3), BENCH_WARMUP (1), WORKLOADS (startup and every
# bench/python/*.py, by name without .py), RUNNERS (native aot interp node,
# and aot-nochecks when build/nocheck/krait exists), NOCHECK.
# Does not own: building krait or python.wasm (mk/bench.mk runs `make all`
# and scripts/build-python.sh first), the workloads themselves.
set -u
cd "$(dirname "$0")/.." || exit 2
KRAIT=${KRAIT:-build/krait}
NOCHECK=${NOCHECK:-build/nocheck/krait}
NODE=${NODE:-node}
PYTHON=${PYTHON:-/usr/bin/python3.11}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
D=build/bench/python
OUT=build/bench/python.md
BENCHDIR=$(pwd)/bench/python
LIB=build/python/lib/python3.11
if [ -z "${WORKLOADS:-}" ]; then
  WORKLOADS=startup
  for f in bench/python/*.py; do WORKLOADS="$WORKLOADS $(basename "$f" .py)"; done
fi
mkdir -p "$D"

[ -f build/python/python.wasm ] || { echo "bench: build/python/python.wasm missing (make python)" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "bench: $PYTHON not found" >&2; exit 2; }

# Node 20 runs python.wasm; 18 needs a flag for WASI; no node, no column.
node_major=$($NODE -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
NODE_CMD="$NODE --no-warnings --max-old-space-size=4096"
[ "$node_major" -lt 20 ] && NODE_CMD="$NODE_CMD --experimental-wasi-unstable-preview1"
[ "$node_major" -eq 0 ] && { NODE_CMD=""; echo "bench: node not found, no node column" >&2; }
if [ -z "${RUNNERS:-}" ]; then
  RUNNERS="native aot interp"
  [ -n "$NODE_CMD" ] && RUNNERS="$RUNNERS node"
  [ -x "$NOCHECK" ] && RUNNERS="$RUNNERS aot-nochecks"
fi

# cmd RUNNER WORKLOAD: the command line that runs WORKLOAD under RUNNER,
# split on spaces by both hyperfine -N and run (no path here contains
# one). `startup` is `-c pass`; a workload is its script, by relative
# path for native and krait (krait grants the script's directory) and by
# absolute path for Node, whose preopen maps bench/python/ at its host path.
cmd() {
  if [ "$2" = startup ]; then args="-c pass"; else args="bench/python/$2.py"; fi
  case $1 in
    native) echo "$PYTHON $args" ;;
    aot|interp) echo "$KRAIT python --tier $1 $args" ;;
    aot-nochecks) echo "$NOCHECK python --python-home $(pwd)/build/python --tier aot $args" ;;
    node)
      [ "$2" = startup ] || args="$BENCHDIR/$2.py"
      echo "$NODE_CMD tests/python/node-wasi.mjs --dir $LIB:/usr/local/lib/python3.11" \
           "--dir $BENCHDIR:$BENCHDIR build/python/python.wasm $args" ;;
  esac
}

# run RUNNER WORKLOAD: runs cmd's command line once, split on spaces.
run() {
  line=$(cmd "$1" "$2")
  $line
}

bad=0
# check_all WORKLOAD: runs WORKLOAD once under every runner and compares
# each one's stdout with native's. Records the runners that exited 0 in
# $D/WORKLOAD.ok (only those are timed) and prints native's output.
check_all() {
  want=$(run native "$1" 2>"$D/$1.native.err")
  rc=$?
  : >"$D/$1.ok"
  for r in $RUNNERS; do
    if [ "$r" = native ]; then got=$want; else got=$(run "$r" "$1" 2>"$D/$1.$r.err"); rc=$?; fi
    if [ $rc -ne 0 ]; then
      echo "bench: $1 under $r exited $rc (stderr: $D/$1.$r.err)" >&2
      bad=1
      continue
    fi
    echo "$r" >>"$D/$1.ok"
    if [ "$got" != "$want" ]; then
      echo "bench: CHECKSUM MISMATCH $1 $r: want '$want', got '$got'" >&2
      bad=1
    fi
  done
  echo "  $1: ${want:-(no output)}"
}

case " $RUNNERS " in
  *" aot "*) echo "bench: krait compile build/python/python.wasm (cached after the first time; minutes otherwise)"
             "$KRAIT" compile build/python/python.wasm >/dev/null ||
               { echo "bench: krait compile build/python/python.wasm failed" >&2; exit 2; } ;;
esac
case " $RUNNERS " in
  *" aot-nochecks "*) "$NOCHECK" compile build/python/python.wasm >/dev/null ||
               { echo "bench: $NOCHECK compile build/python/python.wasm failed" >&2; exit 2; } ;;
esac

echo "bench: checksums"
for w in $WORKLOADS; do
  [ "$w" = startup ] || [ -f "bench/python/$w.py" ] || { echo "bench: no bench/python/$w.py" >&2; exit 2; }
  check_all "$w"
done

echo "bench: timing with hyperfine ($RUNS runs, $WARMUP warmup)"
for w in $WORKLOADS; do
  rm -f "$D/$w".*.csv
  n=$RUNS  # startup is short and noisy: at least 20 runs
  [ "$w" = startup ] && [ "$n" -lt 20 ] && n=20
  while read -r r; do
    hyperfine -N -r "$n" -w "$WARMUP" --style none --export-csv "$D/$w.$r.csv" \
      "$(cmd "$r" "$w")" </dev/null >/dev/null 2>&1 ||
      { echo "bench: hyperfine failed on $w under $r" >&2; bad=1; rm -f "$D/$w.$r.csv"; }
  done <"$D/$w.ok"
done

# secs WORKLOAD RUNNER: the median wall time in seconds from hyperfine's
# CSV (column 4), or "-" when that runner was not timed.
secs() {
  if [ -f "$D/$1.$2.csv" ]; then
    awk -F, 'NR == 2 { printf "%.4f", $4 }' "$D/$1.$2.csv"
  else
    echo -
  fi
}

{
  for w in $WORKLOADS; do
    echo "$w $(secs "$w" native) $(secs "$w" aot) $(secs "$w" interp) $(secs "$w" node) $(secs "$w" aot-nochecks)"
  done
} | awk -v runs="$RUNS" -v warmup="$WARMUP" -v py="$PYTHON" '
  # cell T BASE: "T (Rx)", or "-" when either time is missing.
  function cell(t, base) {
    if (t == "-" || base == "-" || base <= 0) return "-"
    return sprintf("%.3f (%.2fx)", t, t / base)
  }
  function gm(s, n) { return n ? sprintf("(%.2fx)", exp(s / n)) : "-" }
  function v(x) { return x == "" ? "UNKNOWN" : x ? "MET" : "MISSED" }
  BEGIN {
    printf "Python 3.11 workloads: median wall time of %d runs (startup: at least 20; %d warmup); ratio = x native (%s)\n\n", runs, warmup, py
    print "| workload | native s | krait AOT s (ratio) | krait interpreter s (ratio) | node s (ratio) | AOT without checks s (ratio; benchmark-only build) |"
    print "|---|---:|---:|---:|---:|---:|"
  }
  {
    name = ($1 == "startup") ? "startup (-c pass)" : $1
    printf "| %s | %s | %s | %s | %s | %s |\n", name, $2, cell($3, $2), cell($4, $2), cell($5, $2), cell($6, $2)
    if ($1 == "startup") { if ($2 != "-" && $3 != "-" && $2 > 0) start = $3 / $2; next }
    if ($2 == "-" || $2 <= 0) next
    if ($3 != "-") { la += log($3 / $2); na++ }
    if ($4 != "-") { li += log($4 / $2); ni++ }
    if ($5 != "-") { ln += log($5 / $2); nn++ }
    if ($6 != "-") { lx += log($6 / $2); nx++ }
    if ($3 != "-" && $6 != "-") { lc += log($3 / $6); nc++ }
  }
  END {
    printf "| geomean (excl. startup) | | %s | %s | %s | %s |\n", gm(la, na), gm(li, ni), gm(ln, nn), gm(lx, nx)
    print ""
    print "| target | measured | verdict |"
    print "|---|---|---|"
    printf "| AOT geomean <= 1.3x native | %s | %s |\n", gm(la, na), v(na ? exp(la / na) <= 1.3 : "")
    printf "| krait python -c pass <= 2x native | %s | %s |\n", start == "" ? "-" : sprintf("%.2fx", start),
           v(start == "" ? "" : start <= 2)
    if (nc) printf "| fuel/deadline checks with no limit < 3%% | AOT / AOT without checks, geomean %.3f | %s |\n",
                   exp(lc / nc), v(exp(lc / nc) < 1.03)
  }' >"$OUT"
echo
cat "$OUT"
echo
echo "bench: table written to $OUT"

[ $bad -eq 0 ] || { echo "bench: some runners failed or printed a different checksum" >&2; exit 1; }
