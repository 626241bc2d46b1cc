#!/bin/sh
# tests/run_wast_own.sh -- krait's own spec-format tests (tests/wast/*.wast)
# for one tier: converts them with wast2json into build/test/wast/ and runs
# `krait wast` in both bounds modes. usage: run_wast_own.sh TIER KRAIT
# Does not own: the official suite (tests/spec.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib.sh
tier=$1 krait=$2
out=build/test/wast log=build/test/out/$tier.log
mkdir -p "$out" build/test/out
: >"$log"
conv_fail=0
for w in tests/wast/*.wast; do
  n=$(basename "$w" .wast)
  if ! wast2json --enable-all "$w" -o "$out/$n.json" >>"$log" 2>&1; then
    echo "wast2json failed on $w" | tee -a "$log"
    conv_fail=$((conv_fail + 1))
  fi
done
P=0 F=$conv_fail
for b in guard explicit; do
  "$krait" wast --bounds "$b" "$out"/*.json >>"$log" 2>&1
  rc=$?
  set -- $(kt_counts "$log")
  p=${1:-0} f=${2:-1}
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  P=$((P + p)) F=$((F + f))
done
grep -E 'FAIL|failed on' "$log" | head -40
kt_record "$tier" "$P" "$F"
[ "$F" -eq 0 ]
