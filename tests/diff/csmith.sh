#!/bin/sh
# tests/diff/csmith.sh -- differential test of krait against V8: random C
# programs from csmith, compiled with clang-16 for wasm32-wasi at several
# optimisation levels (each level gives different code shapes, so different
# fusions in src/interp/fuse.c and different C from src/aot), run under
# krait's interpreter in both bounds modes, under its AOT tier (native code
# from the system C compiler) and under Node's WASI on the very same
# .wasm; stdout and exit status must match. csmith programs print a
# checksum of their globals.
#   sh tests/diff/csmith.sh [COUNT] [SEED]
# COUNT programs (default 50) from consecutive csmith seeds starting at SEED
# (default 1, so a run is deterministic). One line per program and level,
# "ok SEED-OPT (runners; krait's time)", "FAIL SEED-OPT" or
# "skip SEED-OPT (why)", then exactly
# "N passed, N failed"; exits 1 when anything failed.
# Environment: KRAIT (build/krait), DIFF_OPTS (O2 Os O1 O0), DIFF_BOUNDS
# (the interpreter's bounds modes: guard explicit), DIFF_TIMEOUT (seconds
# for the reference, 10), DIFF_KRAIT_TIMEOUT (seconds for krait, AOT
# compile included, 60), DIFF_CSMITH_FLAGS, and:
#   DIFF_ROTATE      0: every program at every level of DIFF_OPTS; 1: each
#                    program at one level, the seed's turn in DIFF_OPTS
#                    (long runs: more programs per hour)
#   DIFF_AOT_LEVELS  one: the AOT tier runs each program at one level, the
#                    seed's turn in DIFF_OPTS (compiling is its main cost);
#                    all: at every level built
#   DIFF_AOT_EXPLICIT  N (4): the AOT tier runs explicit bounds checks on
#                    one block of programs in N, a block being as many
#                    consecutive seeds as DIFF_OPTS has levels (so each
#                    level gets its share); 1: on every program; 0: never
#   DIFF_AOT_GUARD   rest: the AOT tier runs guard mode on the programs
#                    that do not run explicit (one compile per program,
#                    what `make test` runs); all: on every program
#   DIFF_AOT_CACHE   the AOT tier's KRAIT_CACHE (build/test/diff/aot-cache;
#                    seeds are deterministic, so a rerun reuses its objects)
#   DIFF_WORK        scratch directory (build/test/diff/work); parallel
#                    runs each need their own (tests/diff/long.sh)
# The reference is Node, not a native gcc build: csmith's checksums depend
# on the width of long (32-bit on wasm32, 64-bit natively), so a native run
# may legitimately differ. Cases whose reference does not finish in time
# (csmith programs may loop for very long) are skipped, not failed.
# Programs link tests/diff/csmith_rt.c (a small printf and main) instead of
# wasi-libc's printf: that keeps libc out of every module, so the AOT tier
# compiles about 5x less C per program (see that file).
# Owns: generating, building, running and comparing the programs; keeps
# each failing case under build/test/diff/SEED/ with a reproduce command.
# Does not own: the Node WASI runner (tests/python/node-wasi.mjs) or
# installing csmith, libcsmith-dev, clang-16, gcc and node
# (scripts/bootstrap.sh).
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
DIFF_ROTATE=${DIFF_ROTATE:-0}
DIFF_AOT_LEVELS=${DIFF_AOT_LEVELS:-one}
DIFF_AOT_EXPLICIT=${DIFF_AOT_EXPLICIT:-4}
DIFF_AOT_GUARD=${DIFF_AOT_GUARD:-rest}
WASI_CC=${WASI_CC:-clang-16}
CSMITH_INC=${CSMITH_INC:-/usr/include/csmith}
NODE_WASI=tests/python/node-wasi.mjs
COMPAT=tests/guest/compat/wasm_compat.c
RT=tests/diff/csmith_rt.c
OUT=$PWD/build/test/diff
WORK=${DIFF_WORK:-$OUT/work}
DIFF_AOT_CACHE=${DIFF_AOT_CACHE:-$OUT/aot-cache}

for tool in csmith "$WASI_CC" node timeout "${KRAIT_CC:-gcc}"; do
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
case "$DIFF_ROTATE/$DIFF_AOT_LEVELS/$DIFF_AOT_GUARD" in
  [01]/one/rest|[01]/all/rest|[01]/one/all|[01]/all/all) ;;
  *) echo "diff: bad DIFF_ROTATE (0|1), DIFF_AOT_LEVELS (one|all) or DIFF_AOT_GUARD (rest|all)" >&2; exit 2 ;;
esac
case "$DIFF_AOT_EXPLICIT" in
  ''|*[!0-9]*) echo "diff: bad DIFF_AOT_EXPLICIT '$DIFF_AOT_EXPLICIT' (a count)" >&2; exit 2 ;;
esac
mkdir -p "$WORK" "$DIFF_AOT_CACHE"
# shellcheck disable=SC2086
NOPTS=$(set -- $DIFF_OPTS; echo $#)

# build_wasm SRC OPT WASM: compiles the csmith program SRC for wasm32-wasi
# at -OPT with the project's guest flags (mk/vars.inc) and the diff
# runtime (csmith_rt.c, compiled once per level by build_rt) into WASM.
build_wasm() {
  "$WASI_CC" --target=wasm32-wasi --sysroot=/usr "-$2" -w -I"$CSMITH_INC" \
    -Dmain=csmith_main -Wl,-z,stack-size=1048576 "$1" "$WORK/rt-$2.o" \
    "$WORK/compat-$2.o" -o "$3" 2>"$WORK/cc.err"
}

# build_rt: compiles csmith_rt.c and the compat file once per level of
# DIFF_OPTS (the module is the same as from sources on one command line;
# this saves a tenth of a second per case).
build_rt() {
  for opt in $DIFF_OPTS; do
    for f in rt:$RT compat:$COMPAT; do
      if ! "$WASI_CC" --target=wasm32-wasi --sysroot=/usr "-$opt" -w -c \
          "${f#*:}" -o "$WORK/${f%%:*}-$opt.o"; then
        echo "diff: cannot compile ${f#*:} at -$opt" >&2
        exit 2
      fi
    done
  done
}

# level_of S: seed S's level in DIFF_OPTS (its turn in the rotation).
level_of() {
  k=$(($1 % NOPTS))
  # shellcheck disable=SC2086
  set -- $DIFF_OPTS
  shift "$k"
  echo "$1"
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

# run_krait RUNNER WASM OUTFILE: runs WASM under krait as RUNNER
# (interp-BOUNDS or aot-BOUNDS) with DIFF_KRAIT_TIMEOUT, stdout to OUTFILE,
# stderr to OUTFILE.err; prints the exit status (124 when it timed out).
run_krait() {
  timeout -k 2 "$DIFF_KRAIT_TIMEOUT" env KRAIT_CACHE="$DIFF_AOT_CACHE" \
    "$KRAIT" run --tier "${1%%-*}" --bounds "${1#*-}" "$2" \
    >"$3" 2>"$3.err" </dev/null
  echo $?
}

# runners S OPT: the krait runners of seed S at level OPT: the
# interpreter in each mode of DIFF_BOUNDS; at the seed's level (every
# level with DIFF_AOT_LEVELS=all) AOT explicit on one block of seeds in
# DIFF_AOT_EXPLICIT, AOT guard on the others (all with DIFF_AOT_GUARD=all).
runners() {
  r=""
  for b in $DIFF_BOUNDS; do r="$r interp-$b"; done
  if [ "$DIFF_AOT_LEVELS" = all ] || [ "$2" = "$(level_of "$1")" ]; then
    ex=0
    [ "$DIFF_AOT_EXPLICIT" -gt 0 ] && [ $(($1 / NOPTS % DIFF_AOT_EXPLICIT)) -eq 0 ] && ex=1
    [ $ex -eq 0 ] || [ "$DIFF_AOT_GUARD" = all ] && r="$r aot-guard"
    [ $ex -eq 1 ] && r="$r aot-explicit"
  fi
  echo "$r"
}

# keep_case S OPT SRC WASM RUNNERS BAD: copies a failing case's program,
# module and outputs (each of RUNNERS) to $OUT/S/ and prints how to
# reproduce it under each failing runner of BAD.
keep_case() {
  dir=$OUT/$1
  mkdir -p "$dir"
  cp "$3" "$dir/prog.c"
  cp "$4" "$dir/prog-$2.wasm"
  cp "$WORK/ref.out" "$dir/ref-$2.out"
  for r in $5; do
    cp "$WORK/$r.out" "$dir/krait-$2-$r.out"
    cp "$WORK/$r.out.err" "$dir/krait-$2-$r.err"
  done
  for r in $6; do
    echo "  reproduce: KRAIT_CACHE=$DIFF_AOT_CACHE $KRAIT run --tier ${r%%-*} --bounds ${r#*-} $dir/prog-$2.wasm"
  done
  echo "  reference: node --no-warnings $NODE_WASI $dir/prog-$2.wasm"
  echo "  rebuild:   $WASI_CC --target=wasm32-wasi --sysroot=/usr -$2 -w" \
    "-I$CSMITH_INC -Dmain=csmith_main -Wl,-z,stack-size=1048576 $dir/prog.c $PWD/$RT $PWD/$COMPAT -o prog.wasm"
}

build_rt
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
  opts=$DIFF_OPTS
  [ "$DIFF_ROTATE" = 1 ] && opts=$(level_of "$s")
  first=1
  for opt in $opts; do
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
    bad="" badr="" t0=$(date +%s%N)
    rs=$(runners "$s" "$opt")
    for r in $rs; do
      got=$(run_krait "$r" "$wasm" "$WORK/$r.out")
      if [ "$got" != "$want" ] || ! cmp -s "$WORK/ref.out" "$WORK/$r.out"; then
        badr="$badr $r"
        bad="$bad $r: status $got (reference $want), stdout"
        bad="$bad '$(tail -n 1 "$WORK/$r.out")' (reference '$(tail -n 1 "$WORK/ref.out")');"
      fi
    done
    if [ -z "$bad" ]; then
      t=$((($(date +%s%N) - t0) / 1000000))
      echo "ok $case_id ($(echo $rs | tr ' ' ,); krait ${t} ms)"; P=$((P + 1))
    else
      echo "FAIL $case_id:$bad"; F=$((F + 1))
      keep_case "$s" "$opt" "$src" "$wasm" "$rs" "$badr"
    fi
  done
  s=$((s + 1))
done
[ $S -eq 0 ] || echo "($S skipped)"
echo "$P passed, $F failed"
[ $F -eq 0 ]
