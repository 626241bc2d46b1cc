#!/bin/sh
# tests/unit/test_embed.sh -- runs the embedding example (examples/embed/)
# and checks its output: results of each type, a trap, bad input, and that
# the binary needs none of the host library's external libraries. mk/tests.mk
# installs it as BINDIR/test_embed beside the unit test binaries, with the
# example at BINDIR/../embed; its link (libkrait.a, --whole-archive, -lm
# -lpthread only) is itself the check that the engine library is whole.
# Does not own: building the example or its module (mk/tests.mk).
here=$(dirname "$0")
embed=$here/../embed
wasm=$here/../../embed/fib.wasm
P=0 F=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# check NAME WANT_STATUS WANT_STDOUT WANT_IN_STDERR ARGS...: one item.
check() {
  name=$1 want_rc=$2 want_out=$3 want_err=$4
  shift 4
  "$embed" "$@" >"$out" 2>"$err"
  rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$(cat "$out")" = "$want_out" ] &&
     { [ -z "$want_err" ] || grep -qF -- "$want_err" "$err"; }; then
    echo "ok embed: $name"; P=$((P + 1))
  else
    echo "FAIL embed: $name (status $rc, want $want_rc)"
    echo "  stdout: $(cat "$out")  (want: $want_out)"
    echo "  stderr: $(cat "$err")  (want: $want_err)"
    F=$((F + 1))
  fi
}

check "fib 90 (i64)" 0 2880067194370816120 "" "$wasm" fib 90
check "fib 0" 0 0 "" "$wasm" fib 0
check "mean 1.5 2 (f64)" 0 1.75 "" "$wasm" mean 1.5 2
check "div 7 -2 (i32)" 0 -3 "" "$wasm" div 7 -2
check "div 1 0 traps" 1 "" "integer divide by zero (in function div" "$wasm" div 1 0
check "no such export" 1 "" "no exported function nope" "$wasm" nope
check "wrong argument count" 1 "" "fib takes 1 numbers (signature I:I)" "$wasm" fib
check "not a module" 1 "" "embed: " "$0" fib 1
check "usage" 2 "" "usage: embed" "$wasm"

# The example's dynamic dependencies: none of the host library's.
needed=$(readelf -d "$embed" | grep NEEDED)
if [ -n "$needed" ] && ! echo "$needed" | grep -Eq 'jansson|sqlite|hiredis|libz\.|lzma|crypto|ssl'; then
  echo "ok embed: needs no host library"; P=$((P + 1))
else
  echo "FAIL embed: needs a host library (or readelf failed):"; echo "$needed"; F=$((F + 1))
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
