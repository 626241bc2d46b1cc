#!/bin/sh
# tests/aot/cache.sh -- the AOT tier's cache: an object is built once and
# reused; a corrupt, truncated or foreign file under a module's key is
# rebuilt, never run; the auto tier runs uncached modules interpreted and
# compiles nothing. Items: one check each.
# Does not own: building the modules (mk/tests.mk: build/test/aot/).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
KRAIT=${KRAIT:-build/krait}
W=build/test/aot
C=$W/cache
P=0 F=0
rm -rf "$C"
export KRAIT_CACHE=$(pwd)/$C

ok() { echo "ok   aot $1"; P=$((P + 1)); }
bad() { echo "FAIL aot $1: $2"; F=$((F + 1)); }
# check NAME EXPECTED KRAIT_ARGS...: stdout of krait must be EXPECTED.
check() {
  name=$1 want=$2
  shift 2
  got=$("$KRAIT" "$@" 2>"$W/$name.err")
  if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "got '$got', want '$want' ($(head -c 200 "$W/$name.err"))"; fi
}
objects() { ls "$C/aot" 2>/dev/null | grep -c '\.so$'; }
sum() { cksum "$1" | cut -d' ' -f1; }

check auto-uncached 5 run --tier auto --invoke add $W/add.wasm 2 3
[ "$(objects)" = 0 ] && ok auto-compiles-nothing || bad auto-compiles-nothing "$(objects) objects"
"$KRAIT" compile $W/add.wasm 2>/dev/null && [ "$(objects)" = 1 ] && ok compile || bad compile "$(objects) objects"
so=$(ls "$C"/aot/*.so)
check aot-cached 5 run --tier aot --invoke add $W/add.wasm 2 3
check auto-cached 5 run --tier auto --invoke add $W/add.wasm 2 3
good=$(sum "$so")

# Each damage must be noticed: the object is rebuilt (same bytes again,
# the build is deterministic) and the run still answers 5.
damage() {
  name=$1
  check "$name" 5 run --tier aot --invoke add $W/add.wasm 2 3
  [ "$(sum "$so")" = "$good" ] && ok "$name-rebuilt" || bad "$name-rebuilt" "object not rebuilt"
}
size=$(wc -c <"$so")
printf 'X' | dd of="$so" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
damage flipped-byte
head -c $((size / 2)) "$so" >"$so.tmp" && mv "$so.tmp" "$so"
damage truncated
"$KRAIT" compile $W/mul.wasm 2>/dev/null
other=$(ls "$C"/aot/*.so | grep -v "$so")
cp "$other" "$so"
damage foreign
printf 'not an object' >"$so"
damage garbage
# The auto tier ignores a damaged object (runs interpreted, answers 5).
printf 'X' | dd of="$so" bs=1 seek=100 conv=notrunc 2>/dev/null
check auto-damaged 5 run --tier auto --invoke add $W/add.wasm 2 3
check mul-still 6 run --tier aot --invoke add $W/mul.wasm 2 3

kt_record aot "$P" "$F"
[ "$F" -eq 0 ]
