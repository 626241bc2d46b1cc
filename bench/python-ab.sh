#!/bin/sh
# bench/python-ab.sh -- A/B of two python.wasm builds under the same krait:
# the Python workloads (bench/python/*.py and startup, `-c pass`) run
# under native python3.11, `krait python --tier aot --python-home A` and
# the same with B, interleaved round by round so that the machine's load
# falls on all three alike; prints median wall times, each build's ratio
# to native, B / A, and geomeans over the CPU workloads (not startup).
#
#   sh bench/python-ab.sh A_HOME B_HOME    (each a build/python/ directory)
#
# Env: KRAIT (build/krait), KRAIT_A (KRAIT; the krait that runs A, to
# compare two krait builds too), PYTHON (/usr/bin/python3.11), ROUNDS (5),
# WORKLOADS (startup and every bench/python/*.py, by name without .py).
# Does not own: building either python.wasm (scripts/build-python.sh),
# the workloads, the four-runner table (bench/python.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -eq 2 ] || { echo "usage: sh bench/python-ab.sh A_HOME B_HOME" >&2; exit 2; }
A=$(cd "$1" && pwd) && B=$(cd "$2" && pwd) || exit 2
KRAIT=${KRAIT:-build/krait}
KRAIT_A=${KRAIT_A:-$KRAIT}
PYTHON=${PYTHON:-/usr/bin/python3.11}
ROUNDS=${ROUNDS:-5}
D=build/bench/python-ab
if [ -z "${WORKLOADS:-}" ]; then
  WORKLOADS=startup
  for f in bench/python/*.py; do WORKLOADS="$WORKLOADS $(basename "$f" .py)"; done
fi
mkdir -p "$D"
rm -f "$D"/*.times

# cmd RUNNER WORKLOAD: the command line (split on spaces) for one run.
cmd() {
  if [ "$2" = startup ]; then args="-c pass"; else args="bench/python/$2.py"; fi
  case $1 in
    native) echo "$PYTHON $args" ;;
    a) echo "$KRAIT_A python --python-home $A --tier aot $args" ;;
    b) echo "$KRAIT python --python-home $B --tier aot $args" ;;
  esac
}

for h in "A $A" "B $B"; do
  set -- $h
  k=$KRAIT; [ "$1" = A ] && k=$KRAIT_A
  [ -f "$2/python.wasm" ] || { echo "bench: $2/python.wasm missing" >&2; exit 2; }
  "$k" compile "$2/python.wasm" >/dev/null 2>&1 ||
    { echo "bench: krait compile $2/python.wasm failed" >&2; exit 2; }
done

echo "bench: checksums (A = $A, B = $B)"
for w in $WORKLOADS; do
  want=$($(cmd native "$w")) || { echo "bench: $w failed natively" >&2; exit 1; }
  for r in a b; do
    got=$($(cmd "$r" "$w") 2>"$D/$w.$r.err") ||
      { echo "bench: $w under $r failed (stderr: $D/$w.$r.err)" >&2; exit 1; }
    [ "$got" = "$want" ] ||
      { echo "bench: CHECKSUM MISMATCH $w $r: want '$want', got '$got'" >&2; exit 1; }
  done
done

# One untimed warm-up round, then ROUNDS rounds of every runner once per
# workload; each wall time (seconds) is appended to $D/WORKLOAD.RUNNER.times.
echo "bench: $ROUNDS rounds, interleaved"
for i in $(seq 0 "$ROUNDS"); do
  for w in $WORKLOADS; do
    for r in native a b; do
      t0=$(date +%s%N)
      $(cmd "$r" "$w") >/dev/null 2>&1 </dev/null
      t1=$(date +%s%N)
      [ "$i" -gt 0 ] && echo "$(( (t1 - t0) / 1000 ))" | awk '{ printf "%.6f\n", $1 / 1e6 }' >>"$D/$w.$r.times"
    done
  done
done

# median FILE: the median of the numbers in FILE, one a line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for w in $WORKLOADS; do
  echo "$w $(median "$D/$w.native.times") $(median "$D/$w.a.times") $(median "$D/$w.b.times")"
done | awk -v rounds="$ROUNDS" -v a="$A" -v b="$B" -v ka="$KRAIT_A" -v kb="$KRAIT" '
  BEGIN {
    printf "median wall time of %d interleaved rounds; x = ratio to native\nA = %s (%s)\nB = %s (%s)\n\n", rounds, a, ka, b, kb
    print "| workload | native s | A s (x) | B s (x) | B / A |"
    print "|---|---:|---:|---:|---:|"
  }
  {
    printf "| %s | %.4f | %.3f (%.2fx) | %.3f (%.2fx) | %.3f |\n", $1, $2, $3, $3 / $2, $4, $4 / $2, $4 / $3
    if ($1 == "startup") next
    la += log($3 / $2); lb += log($4 / $2); lab += log($4 / $3); n++
  }
  END {
    if (n) printf "| geomean (excl. startup) | | (%.2fx) | (%.2fx) | %.3f |\n", exp(la / n), exp(lb / n), exp(lab / n)
  }'
