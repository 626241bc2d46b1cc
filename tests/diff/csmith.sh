#!/bin/sh
# tests/diff/csmith.sh -- differential test of krait against V8: random C
# programs from csmith, compiled with clang-16 for wasm32-wasi at several
# optimisation levels (each level gives different code shapes, so different
# fusions in src/interp/fuse.c), run under krait in both bounds modes and
# under Node's WASI on the very same .wasm; stdout and exit status must
# match. csmith programs print a checksum of their globals.
#   sh tests/diff/csmith.sh [COUNT] [SEED]
# COUNT programs (default 50) from consecutive csmith seeds starting at SEED
# (default 1, so a run is deterministic). One line per program and level,
# "ok SEED-OPT", "FAIL SEED-OPT" or "skip SEED-OPT (why)", then exactly
# "N passed, N failed"; exits 1 when anything failed.
# Environment: KRAIT (build/krait), DIFF_OPTS (O2 Os O1 O0), DIFF_BOUNDS
# (guard explicit), DIFF_TIMEOUT (seconds for the reference, 10),
# DIFF_KRAIT_TIMEOUT (seconds for krait, 60), DIFF_CSMITH_FLAGS.
# The reference is Node, not a native gcc build: csmith's checksums depend
# on the width of long (32-bit on wasm32, 64-bit natively), so a native run
# may legitimately differ. Cases whose reference does not finish in time
# (csmith programs may loop for very long) are skipped, not failed.
# Owns: generating, building, running and comparing the programs; keeps
# each failing case under build/test/diff/SEED/ with a reproduce command.
# Does not own: the Node WASI runner (tests/python/node-wasi.mjs) or
# installing csmith, libcsmith-dev, clang-16 and node (scripts/bootstrap.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2

COUNT=${1:-50}
SEED=${2:-1}
KRAIT=${KRAIT:-build/krait}
DIFF_OPTS=${DIFF_OPTS:-O2 Os O1 O0}
DIFF_BOUNDS=${DIFF_BOUNDS:-guard explicit}
DIFF_TIMEOUT=${DIFF_TIMEOUT:-10}
DIFF_KRAIT_TIMEOUT=${DIFF_KRAIT_TIMEOUT:-60}
DIFF_CSMITH_FLAGS=${DIFF_CSMITH_FLAGS:---no-packed-struct}
WASI_CC=${WASI_CC:-clang-16}
CSMITH_INC=${CSMITH_INC:-/usr/include/csmith}
NODE_WASI=tests/python/node-wasi.mjs
COMPAT=tests/guest/compat/wasm_compat.c
OUT=$PWD/build/test/diff
WORK=$OUT/work

for tool in csmith "$WASI_CC" node timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "diff: '$tool' not found (sh scripts/bootstrap.sh installs it)" >&2
    exit 2
  fi
done
if [ ! -f "$CSMITH_INC/csmith.h" ]; then
  echo "diff: $CSMITH_INC/csmith.h missing (Debian package libcsmith-dev)" >&2
  exit 2
fi
if [ ! -x "$KRAIT" ]; then
  echo "diff: $KRAIT missing (run make)" >&2
  exit 2
fi
mkdir -p "$WORK"

# build_wasm SRC OPT WASM: compiles the csmith program SRC for wasm32-wasi
# at -OPT with the project's guest flags (mk/vars.inc) into WASM.
build_wasm() {
  "$WASI_CC" --target=wasm32-wasi --sysroot=/usr "-$2" -w -I"$CSMITH_INC" \
    -Wl,-z,stack-size=1048576 "$1" "$COMPAT" -o "$3" 2>"$WORK/cc.err"
}

# run_ref WASM OUTFILE: runs WASM under Node's WASI with DIFF_TIMEOUT,
# stdout to OUTFILE; prints the exit status (124 when it timed out). A
# trap (Node reports an uncaught WebAssembly.RuntimeError and exits 1)
# prints 134, krait's status for a trap.
run_ref() {
  timeout -k 2 "$DIFF_TIMEOUT" node --no-warnings "$NODE_WASI" "$1" \
    >"$2" 2>"$2.err" </dev/null
  rc=$?
  if [ $rc -eq 1 ] && grep -q 'RuntimeError' "$2.err"; then rc=134; fi
  echo $rc
}

# run_krait BOUNDS WASM OUTFILE: runs WASM under krait with --bounds
# BOUNDS and DIFF_KRAIT_TIMEOUT, stdout to OUTFILE, stderr to OUTFILE.err;
# prints the exit status (124 when it timed out).
run_krait() {
  timeout -k 2 "$DIFF_KRAIT_TIMEOUT" "$KRAIT" run --bounds "$1" "$2" \
    >"$3" 2>"$3.err" </dev/null
  echo $?
}

# keep_case S OPT SRC WASM MODES: copies a failing case's program, module
# and outputs to $OUT/S/ and prints how to reproduce it in each failing
# bounds mode of MODES.
keep_case() {
  dir=$OUT/$1
  mkdir -p "$dir"
  cp "$3" "$dir/prog.c"
  cp "$4" "$dir/prog-$2.wasm"
  cp "$WORK/ref.out" "$dir/ref-$2.out"
  for b in $DIFF_BOUNDS; do
    cp "$WORK/krait-$b.out" "$dir/krait-$2-$b.out"
    cp "$WORK/krait-$b.out.err" "$dir/krait-$2-$b.err"
  done
  for b in $5; do
    echo "  reproduce: $KRAIT run --bounds $b $dir/prog-$2.wasm"
  done
  echo "  reference: node --no-warnings $NODE_WASI $dir/prog-$2.wasm"
  echo "  rebuild:   $WASI_CC --target=wasm32-wasi --sysroot=/usr -$2 -w" \
    "-I$CSMITH_INC -Wl,-z,stack-size=1048576 $dir/prog.c $COMPAT -o prog.wasm"
}

P=0 F=0 S=0
s=$SEED
end=$((SEED + COUNT))
while [ "$s" -lt "$end" ]; do
  src=$WORK/prog.c
  # csmith writes platform.info into its working directory: run it in $WORK
  # shellcheck disable=SC2086
  if ! (cd "$WORK" && csmith --seed "$s" $DIFF_CSMITH_FLAGS -o "$src") >/dev/null 2>&1; then
    echo "skip $s (csmith failed)"; S=$((S + 1)); s=$((s + 1)); continue
  fi
  first=1
  for opt in $DIFF_OPTS; do
    case_id=$s-$opt
    wasm=$WORK/prog-$opt.wasm
    if ! build_wasm "$src" "$opt" "$wasm"; then
      echo "skip $case_id (clang failed: $(head -n 1 "$WORK/cc.err"))"
      S=$((S + 1)); continue
    fi
    want=$(run_ref "$wasm" "$WORK/ref.out")
    # A trap (134) is compared like any result; a timeout (124) or a
    # signal (e.g. Node out of memory) makes the case unusable.
    if [ "$want" -eq 124 ] || { [ "$want" -ge 128 ] && [ "$want" -ne 134 ]; }; then
      # The first level is the fastest build: when even it does not finish,
      # the others will not either, so the whole program is skipped.
      if [ $first -eq 1 ]; then
        echo "skip $s (reference: status $want, timeout ${DIFF_TIMEOUT}s)"
        S=$((S + 1)); break
      fi
      echo "skip $case_id (reference: status $want, timeout ${DIFF_TIMEOUT}s)"
      S=$((S + 1)); continue
    fi
    first=0
    bad="" badb=""
    for b in $DIFF_BOUNDS; do
      got=$(run_krait "$b" "$wasm" "$WORK/krait-$b.out")
      if [ "$got" != "$want" ] || ! cmp -s "$WORK/ref.out" "$WORK/krait-$b.out"; then
        badb="$badb $b"
        bad="$bad $b: status $got (reference $want), stdout"
        bad="$bad '$(tail -n 1 "$WORK/krait-$b.out")' (reference '$(tail -n 1 "$WORK/ref.out")');"
      fi
    done
    if [ -z "$bad" ]; then
      echo "ok $case_id"; P=$((P + 1))
    else
      echo "FAIL $case_id:$bad"; F=$((F + 1))
      keep_case "$s" "$opt" "$src" "$wasm" "$badb"
    fi
  done
  s=$((s + 1))
done
[ $S -eq 0 ] || echo "($S skipped)"
echo "$P passed, $F failed"
[ $F -eq 0 ]
