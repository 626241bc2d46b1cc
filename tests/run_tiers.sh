#!/bin/sh
# tests/run_tiers.sh -- runs test tiers in order and prints the total.
# usage: MAKE=make tests/run_tiers.sh TIER...   (called by `make test`)
# Each tier is `make test-<tier>`, which stores "PASSED FAILED" in
# $TEST_RES/<tier>; a tier that stored nothing (it could not build or run)
# counts as one failure. Prints a per-tier table with times, then exactly
# "N passed, N failed" as the last line; exits 1 when anything failed.
# Does not own: the tiers themselves (mk/tests.mk, tests/*).
set -u
cd "$(dirname "$0")/.." || exit 2
MAKE=${MAKE:-make}
TEST_RES=${TEST_RES:-build/test/results}
rm -rf "$TEST_RES"
mkdir -p "$TEST_RES"
table=""
P=0 F=0
for t in "$@"; do
  echo "==== tier $t"
  t0=$(date +%s)
  $MAKE --no-print-directory "test-$t"
  rc=$?
  dt=$(($(date +%s) - t0))
  if [ -f "$TEST_RES/$t" ]; then
    read -r p f <"$TEST_RES/$t"
  else
    echo "== $t: did not run to completion (make exited $rc)"
    p=0 f=1
  fi
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  P=$((P + p)) F=$((F + f))
  table="$table$(printf '%-20s %7d %7d %6ds' "$t" "$p" "$f" "$dt")
"
done
echo "==== summary"
printf '%-20s %7s %7s %7s\n' tier passed failed time
printf '%s' "$table"
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
