#!/bin/sh
# bench/interrupts.sh -- what the fuel/deadline checks cost when no limit
# is set: times every wasm32-wasi kernel under build/krait (checks in, no
# --fuel or --timeout) and under build/nocheck/krait (built with
# -DKRAIT_NO_INTERRUPT_CHECKS=1: the interpreter drops its checks and the
# AOT translator emits no countdown, under its own cache key), in both
# tiers, side by side, and prints the ratios and their geometric means.
# With PYTHON_WORKLOADS (names of bench/python/*.py, e.g. "fib float")
# it also times those under `krait python --tier aot` both ways; the
# no-checks python.wasm object is a separate compile of several minutes.
# The table also goes to build/bench/interrupts.md.
# Env: BENCH_RUNS (5), KERNELS (all), TIERS ("interp aot"), PYTHON_WORKLOADS.
# Does not own: building the kernels (mk/bench.mk) or the two builds.
set -u
cd "$(dirname "$0")/.." || exit 2
D=build/bench
RUNS=${BENCH_RUNS:-5}
TIERS=${TIERS:-interp aot}
OUT=$D/interrupts.md
KERNELS=${KERNELS:-$(cd bench && ls *.c | sed -n 's/\.c$//p' | grep -vx nolibc)}
PYW=${PYTHON_WORKLOADS:-}
export KRAIT_PYTHON_HOME="${KRAIT_PYTHON_HOME:-$(pwd)/build/python}"
mkdir -p "$D"

# time_pair NAME TIER ARGS...: one line "NAME TIER checks-ms none-ms ratio";
# both builds are run once first (which compiles their AOT objects) and
# must print the same output.
time_pair() {
  n=$1 t=$2; shift 2
  a=$(build/krait "$@" 2>&1) || { echo "bench: build/krait $* failed" >&2; return 1; }
  b=$(build/nocheck/krait "$@" 2>&1) || { echo "bench: build/nocheck/krait $* failed" >&2; return 1; }
  [ "$a" = "$b" ] || { echo "bench: $n: the two builds print different output" >&2; return 1; }
  hyperfine -N -w 1 -r "$RUNS" --export-csv "$D/int.csv" \
    "build/krait $*" "build/nocheck/krait $*" </dev/null >/dev/null 2>&1 || return 1
  awk -F, -v k="$n" -v t="$t" 'NR == 2 { a = $4 } NR == 3 { b = $4 }
    END { printf "%s %s %.1f %.1f %.3f\n", k, t, a * 1000, b * 1000, a / b }' "$D/int.csv"
}

bad=0
: >"$D/int.txt"
for t in $TIERS; do
  for k in $KERNELS; do
    time_pair "$k" "$t" run --tier "$t" "$D/wasi/$k.wasm" >>"$D/int.txt" || bad=1
  done
  for w in $PYW; do
    [ "$t" = aot ] || continue
    time_pair "py:$w" "$t" python --tier "$t" "bench/python/$w.py" >>"$D/int.txt" || bad=1
  done
done

{
  echo "Fuel/deadline checks with no limit set: build/krait vs build/nocheck/krait"
  echo "(-DKRAIT_NO_INTERRUPT_CHECKS=1), median of $RUNS runs; ratio > 1: the checks cost"
  echo
  echo "| benchmark | tier | checks ms | none ms | ratio |"
  echo "|---|---|---:|---:|---:|"
  awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$D/int.txt"
  awk '{ k = $2 (($1 ~ /^py:/) ? " python" : " kernels"); s[k] += log($5); n[k]++ }
    END { for (k in s) printf "| geomean | %s | | | %.3f |\n", k, exp(s[k] / n[k]) }' "$D/int.txt" | sort
} >"$OUT"
cat "$OUT"
[ $bad -eq 0 ] || { echo "bench: some runs failed" >&2; exit 1; }
