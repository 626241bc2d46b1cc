#!/bin/sh
# tests/guest/run.sh -- the guest tier: C programs run natively and under
# `krait run`, compared byte for byte (stdout) and by exit status.
# Items: one per program per bounds mode (GUEST_BOUNDS, default both).
# Every program gets the same arguments and GUEST_* environment both ways.
# GUEST_TIER=aot runs every program under the AOT tier (native code,
# recorded as tier guest-aot).
# Does not own: compiling the programs (mk/tests.mk builds
# build/test/guest/native/NAME and build/test/guest/wasm/NAME.wasm).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
KRAIT=${KRAIT:-build/krait}
GUEST_BOUNDS=${GUEST_BOUNDS:-guard explicit}
GUEST_TIER=${GUEST_TIER:-interp}
tier=guest$([ "$GUEST_TIER" = interp ] || echo "-$GUEST_TIER")
dir=build/test/guest
out=build/test/out/$tier
mkdir -p "$out"

P=0 F=0
for native in "$dir"/native/*; do
  name=$(basename "$native")
  wasm=$dir/wasm/$name.wasm
  want=$("$KT_XRUN" 120 "$out/$name.native.out" "$out/$name.native.err" \
    env -i GUEST_GREETING='hello world' GUEST_EMPTY= GUEST_EQ='a=b=c' \
    GUEST_UTF8='ünïcödé' "$native" 7 'two words' '' -3 'ünïcödé')
  for b in $GUEST_BOUNDS; do
    o=$out/$name.$b
    got=$("$KT_XRUN" 120 "$o.out" "$o.err" "$KRAIT" run --bounds "$b" --tier "$GUEST_TIER" \
      --env GUEST_GREETING='hello world' --env GUEST_EMPTY= --env GUEST_EQ='a=b=c' \
      --env GUEST_UTF8='ünïcödé' "$wasm" 7 'two words' '' -3 'ünïcödé')
    if [ "$got" = "$want" ] && cmp -s "$out/$name.native.out" "$o.out"; then
      echo "ok   $tier $name ($b): $got, $(wc -c <"$o.out") bytes"
      P=$((P + 1))
    else
      echo "FAIL $tier $name ($b): native $want, krait $got"
      diff "$out/$name.native.out" "$o.out" | head -n 10
      sed -n '1,5p' "$o.err"
      F=$((F + 1))
    fi
  done
done
kt_record "$tier" "$P" "$F"
[ "$F" -eq 0 ]
