#!/bin/sh
# tests/run_spec.sh -- runs the spec suite (tests/spec.sh) for one tier.
# usage: tests/run_spec.sh TIER BOUNDS KRAIT [interp|aot]
# Items are the spec runner's own totals (assertions and modules as
# `krait wast` counts them). When the runner prints no totals, the tier
# counts as one item, passed or failed by exit status.
# Does not own: converting or running the .wast files (tests/spec.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib.sh
tier=$1 bounds=$2 krait=$3 exec_tier=${4:-interp}
log=build/test/out/$tier.log
mkdir -p build/test/out
BOUNDS=$bounds TIER=$exec_tier KRAIT=$krait sh tests/spec.sh >"$log" 2>&1
rc=$?
# Everything but the per-file lines without failures, then the totals.
grep -Ev '^[^ ]+\.json: [0-9]+ passed, 0 failed' "$log" | tail -n 60
counts=$(kt_counts "$log")
if [ -n "$counts" ]; then
  set -- $counts
  p=$1 f=$2
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && { echo "spec.sh exited $rc"; f=1; }
else
  if [ $rc -eq 0 ]; then p=1 f=0; else p=0 f=1; fi
fi
kt_record "$tier" "$p" "$f"
[ "$f" -eq 0 ]
