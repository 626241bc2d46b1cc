#!/bin/sh
# tests/python/tier.sh -- the `python` tier of `make test`: makes sure
# build/python/ exists (`make python`: from the cache, else a build of a
# few minutes; and its native code, scripts/python-aot.sh), then runs python.wasm under `krait run` in both stdlib
# layouts (tests/python/run.sh krait) and `krait python` (tests/python/
# cli.sh), Python as natively where users notice (tests/python/compat.sh:
# the recursion limit, zoneinfo), and the serve SDK's tests (tests/sdk/) natively and under krait
# python. Ends with the summed "N passed, N failed"; a failed build counts
# one failure. Does not own: CPython's own suite (tests/python/cpython.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=0 F=0
# add LOG: adds the counts of LOG's last "N passed, N failed" line.
add() {
  set -- $(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1)
  P=$((P + ${1:-0})) F=$((F + ${2:-1}))
}
if ! sh "$ROOT/scripts/build-python.sh" || ! sh "$ROOT/scripts/python-aot.sh"; then
  echo "0 passed, 1 failed"
  exit 1
fi
T=$(mktemp)
trap 'rm -f "$T" "$T.c"' EXIT
for s in "run.sh krait" "cli.sh" "compat.sh"; do
  echo "== tests/python/$s"
  bash "$ROOT/tests/python/"$s >"$T" 2>&1
  cat "$T"
  add "$T"
done
# The serve SDK's own tests (tests/sdk/), natively and inside krait.
# unittest_counts LOG: "N passed, N failed" from unittest's summary.
unittest_counts() {
  awk '/^Ran [0-9]+ tests? in/ { ran = $2 }
       /^(OK|FAILED)/ { ok = ($1 == "OK")
         while (match($0, /(failures|errors)=[0-9]+/)) {
           bad += substr($0, RSTART, RLENGTH) ~ /=/ ? substr($0, RSTART + index(substr($0, RSTART, RLENGTH), "="), RLENGTH) + 0 : 0
           $0 = substr($0, RSTART + RLENGTH) } }
       END { if (!ok && bad == 0) bad = 1; printf "%d passed, %d failed\n", ran - bad, bad }' "$1"
}
echo "== tests/sdk natively"
(cd "$ROOT" && /usr/bin/python3.11 -m unittest discover -s tests/sdk) >"$T" 2>&1
tail -n 3 "$T"; unittest_counts "$T" >"$T.c"; cat "$T.c"; add "$T.c"
echo "== tests/sdk under krait python"
(cd "$ROOT" && build/krait python --dir . --site-packages /usr/lib/python3/dist-packages \
   -m unittest discover -s tests/sdk) >"$T" 2>&1
tail -n 3 "$T"; unittest_counts "$T" >"$T.c"; cat "$T.c"; add "$T.c"
echo "$P passed, $F failed"
[ $F -eq 0 ]
