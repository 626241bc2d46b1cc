#!/bin/sh
# tests/run_unit.sh -- runs the unit test binaries of one build.
# usage: tests/run_unit.sh TIER BINDIR
# Each binary prints "ok|FAIL name" per test and "N passed, N failed".
# Items are test functions. A binary that dies (signal, sanitizer report,
# timeout) or exits nonzero with no failed test adds one failure.
# Does not own: building the binaries (mk/tests.mk).
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib.sh
tier=$1 bindir=$2
out=build/test/out/$tier
mkdir -p "$out"
P=0 F=0
for bin in "$bindir"/test_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  st=$("$KT_XRUN" 300 "$out/$name.out" "$out/$name.err" "$bin")
  cat "$out/$name.out"
  counts=$(kt_counts "$out/$name.out")
  if [ -n "$counts" ]; then
    set -- $counts
    p=$1 f=$2
  else
    p=$(grep -c '^ok ' "$out/$name.out") f=$(grep -c '^FAIL ' "$out/$name.out")
  fi
  if [ "$st" != "exit 0" ] && { [ -z "$counts" ] || [ "$f" -eq 0 ]; }; then
    # Died before its summary, or exited nonzero with every test passed
    # (e.g. a leak report): one more failure.
    echo "FAIL $name: $st${counts:+ after its summary}${counts:- before its summary}"
    sed -n '1,40p' "$out/$name.err"
    f=$((f + 1))
  elif [ -s "$out/$name.err" ]; then
    sed -n '1,20p' "$out/$name.err"
  fi
  P=$((P + p)) F=$((F + f))
done
kt_record "$tier" "$P" "$F"
[ "$F" -eq 0 ]
