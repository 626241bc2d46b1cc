#!/bin/sh
# tests/diff/long.sh -- a long differential run: COUNT csmith programs
# through tests/diff/csmith.sh in chunks, each chunk under the shared
# build lock and split over JOBS parallel runs, so other work gets the CPU
# between chunks.
#   sh tests/diff/long.sh COUNT [SEED] [CHUNK] [JOBS]
# Programs SEED (default 1000) .. SEED+COUNT-1, CHUNK (100) programs per
# lock hold, JOBS (2) runs at once. The csmith.sh settings come from the
# environment; the defaults here are the long-run mix: DIFF_ROTATE=1 (one
# level per program), DIFF_TIMEOUT=2 (programs that run long are skipped),
# AOT guard on every program (DIFF_AOT_GUARD=all) and explicit on one
# block in 4. Each chunk's
# log is build/test/diff/long/SEED.log; every failing case is kept by
# csmith.sh under build/test/diff/SEED/. Ends with the summed
# "N passed, N failed" and the skipped count; exits 1 on any failure.
# Owns: chunking, locking and summing. Does not own: the cases (csmith.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
if [ "${1:-}" = --chunk ]; then MODE=chunk; shift; else MODE=all; fi
COUNT=${1:?usage: sh tests/diff/long.sh COUNT [SEED] [CHUNK] [JOBS]}
SEED=${2:-1000}
CHUNK=${3:-100}
JOBS=${4:-2}
LOCK=${KRAIT_LOCK:-/tmp/krait-build.lock}
LOG=build/test/diff/long
mkdir -p "$LOG"
export DIFF_ROTATE="${DIFF_ROTATE:-1}" DIFF_TIMEOUT="${DIFF_TIMEOUT:-2}"
export DIFF_AOT_GUARD="${DIFF_AOT_GUARD:-all}"
export DIFF_AOT_CACHE="${DIFF_AOT_CACHE:-$PWD/build/test/diff/aot-long}"

# chunk S N: runs programs S .. S+N-1 as JOBS parallel csmith.sh runs,
# each with its own scratch directory; their output goes to LOG/S.log.
chunk() {
  per=$((($2 + JOBS - 1) / JOBS)) j=0 pids=""
  while [ $j -lt "$JOBS" ]; do
    a=$(($1 + j * per)) n=$per
    [ $((a + n)) -gt $(($1 + $2)) ] && n=$(($1 + $2 - a))
    if [ $n -gt 0 ]; then
      DIFF_WORK=$PWD/build/test/diff/work-$j sh tests/diff/csmith.sh "$n" "$a" >"$LOG/$a.log" 2>&1 &
      pids="$pids $!"
    fi
    j=$((j + 1))
  done
  for p in $pids; do wait "$p"; done
  rm -rf "$DIFF_AOT_CACHE"  # a long run's objects are never reused
}

# One chunk (the script calls itself this way under the lock):
# sh tests/diff/long.sh --chunk N S JOBS.
if [ $MODE = chunk ]; then
  JOBS=$3
  chunk "$SEED" "$COUNT"
  exit 0
fi

s=$SEED
end=$((SEED + COUNT))
while [ $s -lt $end ]; do
  n=$CHUNK
  [ $((s + n)) -gt $end ] && n=$((end - s))
  flock "$LOCK" sh "$0" --chunk "$n" "$s" "$JOBS"
  echo "$(date -u +%H:%M:%S) programs $s..$((s + n - 1)): $(cat "$LOG"/*.log | grep -c '^ok ') ok so far, $(cat "$LOG"/*.log | grep -c '^FAIL ') failed"
  s=$((s + n))
done

# Sums over this run's logs (one per parallel run of each chunk).
P=0 F=0 S=0
s=$SEED
for f in "$LOG"/*.log; do
  a=${f##*/}; a=${a%.log}
  [ "$a" -ge "$SEED" ] && [ "$a" -lt "$end" ] || continue
  set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$f")
  if [ $# -ne 2 ]; then echo "long: $f has no total (run cut short?)"; F=$((F + 1)); continue; fi
  P=$((P + $1)) F=$((F + $2))
  k=$(sed -n 's/^(\([0-9]*\) skipped)$/\1/p' "$f"); S=$((S + ${k:-0}))
done
grep -h '^FAIL \|reproduce:' "$LOG"/*.log
echo "($S skipped)"
echo "$P passed, $F failed"
[ $F -eq 0 ]
