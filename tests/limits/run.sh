#!/bin/sh
# tests/limits/run.sh -- the limits tier: `krait run` against resource
# limits and memory edges, each case in both bounds modes (LIMIT_BOUNDS).
# Asserts the exit status (134 = trap, else the expected code), that
# stderr names the trap, that stdout has the expected text, and that krait
# itself was not killed by a signal (tests/tools/xrun tells them apart).
# Items: one per case per bounds mode. LIMIT_TIER=aot runs every case
# under the AOT tier (recorded as tier limits-aot).
# Does not own: building the modules (mk/tests.mk: build/test/limits/).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
KRAIT=${KRAIT:-build/krait}
LIMIT_BOUNDS=${LIMIT_BOUNDS:-guard explicit}
LIMIT_TIER=${LIMIT_TIER:-interp}
TRAP_STATUS=134
W=build/test/limits
out=build/test/out/limits
mkdir -p "$out"
P=0 F=0

# verdict OK_STATUS OK_TEXT FAIL_TEXT: counts one check (OK_STATUS 0 = ok)
# and prints its line.
verdict() {
  if [ "$1" -eq 0 ]; then echo "ok   limits $2"; P=$((P + 1))
  else echo "FAIL limits $3"; F=$((F + 1)); fi
}

# lim NAME EXPECT STDOUT_RE KRAIT_RUN_ARGS...
# EXPECT is "trap:<message>" or "exit:<code>"; STDOUT_RE (grep -E) must
# match stdout unless empty.
lim() {
  name=$1 expect=$2 re=$3
  shift 3
  for b in $LIMIT_BOUNDS; do
    o=$out/$name.$b
    t0=$(date +%s)
    st=$("$KT_XRUN" 60 "$o.out" "$o.err" "$KRAIT" run --bounds "$b" --tier "$LIMIT_TIER" "$@")
    dt=$(($(date +%s) - t0))
    why=""
    case $expect in
      trap:*)
        [ "$st" = "exit $TRAP_STATUS" ] || why="status is '$st', want 'exit $TRAP_STATUS' (trap)"
        [ -n "$why" ] || grep -qF "${expect#trap:}" "$o.err" ||
          why="stderr does not name '${expect#trap:}'" ;;
      exit:*)
        [ "$st" = "exit ${expect#exit:}" ] || why="status is '$st', want 'exit ${expect#exit:}'" ;;
    esac
    [ -n "$why" ] || [ -z "$re" ] || grep -qE "$re" "$o.out" || why="stdout does not match /$re/"
    if [ -z "$why" ]; then
      echo "ok   limits $name ($b): $st, ${dt}s"
      P=$((P + 1))
    else
      echo "FAIL limits $name ($b): $why"
      echo "     krait run --bounds $b $*"
      sed -n '1,3s/^/     stdout: /p' "$o.out"
      sed -n '1,3s/^/     stderr: /p' "$o.err"
      F=$((F + 1))
    fi
  done
}

# Time and fuel limits on an infinite loop; unbounded recursion.
lim spin-timeout   "trap:deadline exceeded"      "" --timeout 1 $W/spin.wasm
lim spin-timeout-ms "trap:deadline exceeded"     "" --timeout 300ms $W/spin.wasm
lim spin-fuel      "trap:fuel exhausted"         "" --fuel 10000000 $W/spin.wasm

# The deadline check reads the clock less often as a loop runs fast
# (src/interp/vm.c ki_deadline_chunk) but must still stop it promptly: a
# 100 ms timeout on the infinite loop ends within a second, startup
# included. bulk.wasm loops on 64 MiB memory.fill, one fuel unit each:
# without the bulk ops' own clock reads (ki_bulk_late) 10,000 units of it
# run for seconds before the first check.
for m in spin bulk; do
  for b in $LIMIT_BOUNDS; do
    o=$out/$m-timeout-prompt.$b
    t0=$(date +%s%N)
    st=$("$KT_XRUN" 60 "$o.out" "$o.err" "$KRAIT" run --bounds "$b" --tier "$LIMIT_TIER" --timeout 100ms $W/$m.wasm)
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$st" = "exit $TRAP_STATUS" ] && grep -qF "deadline exceeded" "$o.err" && [ "$ms" -ge 100 ] && [ "$ms" -lt 1000 ]
    verdict $? "$m-timeout-prompt ($b): trapped after $ms ms (timeout 100 ms)" \
      "$m-timeout-prompt ($b): status '$st' after $ms ms, want the deadline trap within 100..999 ms"
  done
done
lim recurse        "trap:call stack exhausted"   "" $W/recurse.wasm
lim recurse-fuel   "trap:fuel exhausted"         "" --fuel 1000 $W/recurse.wasm

# memory.grow against --max-memory (the module exits 0 when the grow past
# the cap returns -1; 2 when it succeeds, as it must without a cap).
lim grow-capped    "exit:0" "" --max-memory 1048576 $W/grow.wasm
lim grow-capped-k  "exit:0" "" --max-memory 1024K $W/grow.wasm
lim grow-uncapped  "exit:2" "" $W/grow.wasm
lim malloc-capped  "exit:0" "^malloc returned NULL after (9|1[0-6]) MiB$" \
    --max-memory 16M $W/malloc_fail.wasm

# Loads and stores at the last byte of memory and near 4 GiB.
lim byte-last      "exit:0" "^42" --invoke byte_last $W/oob.wasm
lim i32-fits       "exit:0" "^704643072" --invoke i32_fits $W/oob.wasm
lim i32-last       "trap:out of bounds memory access" "" --invoke i32_last $W/oob.wasm
lim i64-last       "trap:out of bounds memory access" "" --invoke i64_last $W/oob.wasm
lim store-last     "trap:out of bounds memory access" "" --invoke store_last $W/oob.wasm
lim byte-4g        "trap:out of bounds memory access" "" --invoke byte_4g $W/oob.wasm
lim i32-4g         "trap:out of bounds memory access" "" --invoke i32_4g $W/oob.wasm
lim offset-4g      "trap:out of bounds memory access" "" --invoke offset_4g $W/oob.wasm
lim i64-8g         "trap:out of bounds memory access" "" --invoke i64_8g $W/oob.wasm
lim fill-last      "trap:out of bounds memory access" "" --invoke fill_last $W/oob.wasm
lim copy-last      "trap:out of bounds memory access" "" --invoke copy_last $W/oob.wasm
lim grown-fits     "exit:0" "^0" --invoke grown_fits $W/oob.wasm
lim grown-last     "trap:out of bounds memory access" "" --invoke grown_last $W/oob.wasm
lim grown-capped   "trap:out of bounds memory access" "" --max-memory 64K --invoke grown_fits $W/oob.wasm

# The shadow stack (clang's C stack in linear memory) run out by deep
# recursion is named as such, both as wasm-ld lays memory out by default
# (stack above the data) and with --stack-first (as python.wasm is); an
# ordinary out-of-bounds store keeps its own message.
clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -Wall \
  -Wl,--stack-first,-z,stack-size=65536 tests/limits/stack_overflow.c \
  -o $W/stack_first.wasm || F=$((F + 1))
lim stack-overflow "trap:guest stack overflow (the shadow stack ran out)" "^recursing" $W/stack_overflow.wasm
lim stack-overflow-first "trap:guest stack overflow (the shadow stack ran out)" "^recursing" $W/stack_first.wasm
lim stack-intact-oob "trap:out of bounds memory access" "" $W/stack_overflow.wasm oob
lim stack-first-intact-oob "trap:out of bounds memory access" "" $W/stack_first.wasm oob
for b in $LIMIT_BOUNDS; do
  if grep -q "stack overflow" "$out/stack-intact-oob.$b.err" "$out/stack-first-intact-oob.$b.err"; then
    echo "FAIL limits stack-intact-oob ($b): an ordinary out-of-bounds store was called a stack overflow"
    F=$((F + 1))
  fi
done

# The disk quota: disk.c tries to add more than --max-disk to its
# preopen through write, pwrite, fallocate and ftruncate (and gets bytes
# back by shrinking); on the host, the directory must hold exactly what
# the guest was allowed to leave there, never more than the quota.
all_bounds=$LIMIT_BOUNDS
for b in $all_bounds; do
  D=$W/disk.$b
  rm -rf "$D" && mkdir -p "$D"
  LIMIT_BOUNDS=$b
  lim disk-quota "exit:0" "^[0-9]+ passed, 0 failed" --max-disk 1M --dir "$D::/d" $W/disk.wasm
  LIMIT_BOUNDS=$all_bounds
  bytes=$(find "$D" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  [ "$bytes" -eq 1024000 ]
  verdict $? "disk-on-host ($b): $bytes bytes, within 1048576" \
    "disk-on-host ($b): the preopen holds $bytes bytes, want 1024000 (quota 1048576)"
done
lim disk-bad-value "exit:2" "" --max-disk 0 $W/disk.wasm
lim disk-bad-suffix "exit:2" "" --max-disk 1T $W/disk.wasm

# krait serve's per-app quota, [app.limits] max_disk_mb: a bad value is
# refused naming file:line (krait build reads the manifest before booting
# anything); a good one is a known key (the error names the key after it).
# disk_manifest NAME VALUE WANT [EXTRA]: `krait build` of a manifest with
# max_disk_mb = VALUE (and the line EXTRA after it) must fail naming WANT.
disk_manifest() {
  d=$W/manifest.$1
  rm -rf "$d" && mkdir -p "$d" && : >"$d/app.py"
  printf '[[app]]\nname = "a"\nstyle = "spin"\n[app.limits]\nmax_disk_mb = %s\n%s\n' "$2" "${4:-}" >"$d/krait.toml"
  "$KRAIT" build "$d" >"$d/out" 2>&1
  st=$?
  if [ $st -ne 0 ] && grep -qF "$3" "$d/out"; then
    echo "ok   limits manifest-max-disk $1: $(head -n 1 "$d/out")"
    P=$((P + 1))
  else
    echo "FAIL limits manifest-max-disk $1: status $st, want an error naming '$3'"
    sed 's/^/     /' "$d/out" | head -n 3
    F=$((F + 1))
  fi
}
disk_manifest string '"64M"' "krait.toml:5: max_disk_mb must be a non-negative integer"
disk_manifest negative -1 "krait.toml:5: max_disk_mb must be a non-negative integer"
disk_manifest huge 99999999999999999 "krait.toml:5: max_disk_mb is too large"
disk_manifest known 16 'krait.toml:6: unknown key "bogus" in [app.limits]' "bogus = 1"

kt_record "limits$([ "$LIMIT_TIER" = interp ] || echo "-$LIMIT_TIER")" "$P" "$F"
[ "$F" -eq 0 ]
