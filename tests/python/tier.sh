#!/bin/sh
# tests/python/tier.sh -- the `python` tier of `make test`: makes sure
# build/python/ exists (`make python`: from the cache, else a build of a
# few minutes), then runs python.wasm under `krait run` in both stdlib
# layouts (tests/python/run.sh krait) and `krait python` (tests/python/
# cli.sh). Ends with the summed "N passed, N failed"; a failed build counts
# one failure. Does not own: CPython's own suite (tests/python/cpython.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=0 F=0
# add LOG: adds the counts of LOG's last "N passed, N failed" line.
add() {
  set -- $(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1)
  P=$((P + ${1:-0})) F=$((F + ${2:-1}))
}
if ! sh "$ROOT/scripts/build-python.sh"; then
  echo "0 passed, 1 failed"
  exit 1
fi
T=$(mktemp)
trap 'rm -f "$T"' EXIT
for s in "run.sh krait" "cli.sh"; do
  echo "== tests/python/$s"
  sh "$ROOT/tests/python/"$s >"$T" 2>&1
  cat "$T"
  add "$T"
done
echo "$P passed, $F failed"
[ $F -eq 0 ]
