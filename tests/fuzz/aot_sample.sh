#!/bin/sh
# tests/fuzz/aot_sample.sh -- compiles a sample of the AOT fuzzer's inputs:
# the translator must emit C the compiler accepts for every valid module.
# usage: tests/fuzz/aot_sample.sh [COUNT] [TIER]
# Takes the first COUNT (default 12) valid modules of build/fuzz/aot-corpus
# (what `make test-fuzz-aot` found; names are hashes, so the pick is
# spread) and every seed of tests/fuzz/aot-seeds, and runs `krait compile`
# on each in both bounds modes, with a cache of its own. An input the decoder or validator refuses
# is skipped (fuzz_aot covers those paths); a valid module whose translation,
# compile or load fails ("aot: ..." from src/aot/build.c) is a failure, kept
# with its message under build/fuzz/aot-sample/. Prints "N passed, N failed";
# with TIER, records them. Does not own: the fuzzer (tests/fuzz/fuzz_aot.c).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
count=${1:-12} tier=${2:-}
KRAIT=${KRAIT:-build/krait}
OUT=build/fuzz/aot-sample
rm -rf "$OUT"; mkdir -p "$OUT/cache"
P=0 F=0 S=0
# try F B: compiles F in bounds mode B; counts it, and returns 1 when the
# decoder or validator refused it (skipped).
try() {
  n=$(basename "$1")
  if KRAIT_CACHE="$PWD/$OUT/cache" "$KRAIT" compile --bounds "$2" "$1" >"$OUT/$n.$2.log" 2>&1; then
    P=$((P + 1)); echo "ok   $n ($2)"
  elif grep -q 'aot: ' "$OUT/$n.$2.log"; then
    F=$((F + 1)); cp "$1" "$OUT/${n%.wasm}.wasm"
    echo "FAIL $n ($2): $(head -c 300 "$OUT/$n.$2.log")"
    echo "     reproduce: $KRAIT compile --bounds $2 $OUT/${n%.wasm}.wasm"
  else
    S=$((S + 1)); return 1
  fi
}
valid=0
for f in $(ls -d build/fuzz/aot-corpus/* 2>/dev/null); do
  [ "$valid" -ge "$count" ] && break
  try "$f" guard && { valid=$((valid + 1)); try "$f" explicit; }
done
for f in tests/fuzz/aot-seeds/*; do try "$f" guard; try "$f" explicit; done
rm -rf "$OUT/cache"
echo "aot sample: $S refused by the decoder or validator (skipped)"
echo "$P passed, $F failed"
[ -n "$tier" ] && kt_record "$tier" "$P" "$F"
[ "$F" -eq 0 ]
