#!/bin/sh
# bench/run.sh -- times the kernels with hyperfine and prints three tables
# of medians as ratios (also written to build/bench/kernels.md):
#  1. wasm32-wasi programs, full workloads: native (gcc -O2) vs krait's AOT
#     tier (guard pages and explicit bounds checks) vs krait's interpreter
#     vs Node's WASI (V8);
#  2. -nostdlib kernels, full workloads, `run` called directly: native vs
#     krait AOT (both bounds modes) vs wasm2c (Debian's wabt) compiled with
#     the AOT tier's own compiler and flags, in wasm2c's two bounds modes;
#  3. the same -nostdlib kernels with the smaller BENCH_SMALL workloads:
#     wabt's wasm-interp vs krait's interpreter (`--invoke run`);
# then issue 12's targets for the C kernels (AOT median <= 1.2x native,
# AOT faster than wasm2c). When build/nocheck/krait exists (`make
# bench-interrupts` builds it: -DKRAIT_NO_INTERRUPT_CHECKS=1, a
# benchmark-only build whose AOT code has no fuel/deadline countdown),
# tables 1 and 2 gain its AOT (guard) column, to show what the checks
# cost with no limit set. First checks that every runner prints the same
# checksum as the native build: a runner that fails or differs is not
# timed ("-") and the script exits 1 at the end. The first AOT run of a
# kernel compiles it into the cache ($KRAIT_CACHE/aot); the checksum pass
# does that before any timing.
# Env: KRAIT (build/krait), NOCHECK (build/nocheck/krait), BENCH_RUNS (3),
# BENCH_WARMUP (1), KERNELS (all), NODE (node), TABLES ("1 2 3").
# Does not own: building the kernels and the wasm2c programs (mk/bench.mk,
# into build/bench/).
set -u
cd "$(dirname "$0")/.." || exit 2
KRAIT=${KRAIT:-build/krait}
NOCHECK=${NOCHECK:-build/nocheck/krait}
NODE=${NODE:-node}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
TABLES=${TABLES:-1 2 3}
D=build/bench
OUT=$D/kernels.md
KERNELS=${KERNELS:-$(cd bench && ls *.c | sed -n 's/\.c$//p' | grep -vx nolibc)}
mkdir -p "$D/csv"
rm -f "$D"/csv/*.csv "$D"/csv/*.ok

# Node 18 needs a flag for WASI; 20 and later do not.
node_major=$($NODE -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
NODE_CMD="$NODE --no-warnings"
[ "$node_major" -lt 20 ] && NODE_CMD="$NODE_CMD --experimental-wasi-unstable-preview1"
[ "$node_major" -eq 0 ] && { NODE_CMD=""; echo "bench: node not found, no node column" >&2; }
command -v wasm-interp >/dev/null 2>&1 || echo "bench: wasm-interp not found (apt-get install wabt)" >&2
first=$(echo $KERNELS | cut -d' ' -f1)
[ -x "$D/wasm2c/$first-guard" ] ||
  echo "bench: no wasm2c programs in $D/wasm2c (wabt's wasm2c or its wasm-rt-impl.c missing)" >&2

# The runners of each table; the first is the baseline of the ratios.
T1="native aot-guard aot-explicit interp node"
T2="native aot-guard aot-explicit wasm2c-guard wasm2c-explicit"
if [ -x "$NOCHECK" ]; then
  T1="$T1 aot-nochecks"
  T2="$T2 aot-nochecks"
fi
T3="wasm-interp interp-invoke"

# cmd TABLE RUNNER KERNEL: the command line (split on spaces by hyperfine
# -N and by run), or nothing when the runner is not available.
cmd() {
  case $1.$2 in
    1.native|2.native) echo "$D/native/$3" ;;
    3.native) echo "$D/native-small/$3" ;;
    1.aot-guard) echo "$KRAIT run --tier aot --bounds guard $D/wasi/$3.wasm" ;;
    1.aot-explicit) echo "$KRAIT run --tier aot --bounds explicit $D/wasi/$3.wasm" ;;
    1.interp) echo "$KRAIT run --tier interp $D/wasi/$3.wasm" ;;
    1.aot-nochecks) echo "$NOCHECK run --tier aot --bounds guard $D/wasi/$3.wasm" ;;
    2.aot-nochecks) echo "$NOCHECK run --tier aot --bounds guard --invoke run $D/nowasi-full/$3.wasm" ;;
    1.node) [ -n "$NODE_CMD" ] && echo "$NODE_CMD bench/node-wasi.mjs $D/wasi/$3.wasm" ;;
    2.aot-guard) echo "$KRAIT run --tier aot --bounds guard --invoke run $D/nowasi-full/$3.wasm" ;;
    2.aot-explicit) echo "$KRAIT run --tier aot --bounds explicit --invoke run $D/nowasi-full/$3.wasm" ;;
    2.wasm2c-*) [ -x "$D/wasm2c/$3-${2#wasm2c-}" ] && echo "$D/wasm2c/$3-${2#wasm2c-}" ;;
    3.wasm-interp) command -v wasm-interp >/dev/null 2>&1 &&
                     echo "wasm-interp $D/nowasi/$3.wasm --run-all-exports" ;;
    3.interp-invoke) echo "$KRAIT run --tier interp --invoke run $D/nowasi/$3.wasm" ;;
  esac
}

# u32 TEXT: the last integer in TEXT as an unsigned 32-bit decimal.
u32() {
  echo "$1" | grep '[0-9]' | tail -n 1 | tr -c -- '-0123456789\n' ' ' | awk '{
    for (i = NF; i > 0; i--) if ($i ~ /^-?[0-9]+$/) {
      v = $i + 0; if (v < 0) v += 4294967296; printf "%.0f\n", v; exit
    } }'
}

bad=0
# check TABLE KERNEL: runs every runner of TABLE once on KERNEL and compares
# its checksum with the native build's; the runners that agree go into
# $D/csv/KERNEL.TABLE.ok, one a line (only those are timed).
check() {
  eval "runners=\$T$1"
  want=$(u32 "$($(cmd "$1" native "$2"))")
  : >"$D/csv/$2.$1.ok"
  for r in $runners; do
    line=$(cmd "$1" "$r" "$2")
    [ -n "$line" ] || continue
    out=$($line 2>"$D/csv/$2.$1.$r.err") || {
      echo "bench: $2 under $r (table $1) exited $? (stderr: $D/csv/$2.$1.$r.err)" >&2; bad=1; continue; }
    got=$(u32 "$out")
    if [ "$got" != "$want" ]; then
      echo "bench: CHECKSUM MISMATCH $2 $r (table $1): want '$want', got '$got'" >&2
      bad=1
      continue
    fi
    echo "$r" >>"$D/csv/$2.$1.ok"
  done
  echo "  table $1 $2: $want ($(tr '\n' ' ' <"$D/csv/$2.$1.ok"))"
}

echo "bench: checksums (compiles the AOT objects on first use)"
for t in $TABLES; do
  for k in $KERNELS; do check "$t" "$k"; done
done

echo "bench: timing with hyperfine ($RUNS runs, $WARMUP warmup)"
for t in $TABLES; do
  for k in $KERNELS; do
    while read -r r; do
      hyperfine -N -r "$RUNS" -w "$WARMUP" --style none --export-csv "$D/csv/$k.$t.$r.csv" \
        "$(cmd "$t" "$r" "$k")" </dev/null >/dev/null 2>&1 ||
        { echo "bench: hyperfine failed on $k under $r (table $t)" >&2; bad=1; rm -f "$D/csv/$k.$t.$r.csv"; }
    done <"$D/csv/$k.$t.ok"
  done
done

# ms TABLE RUNNER KERNEL: hyperfine's median in ms, or "-" if not timed.
ms() {
  f=$D/csv/$3.$1.$2.csv
  if [ -f "$f" ]; then awk -F, 'NR == 2 { printf "%.1f", $4 * 1000 }' "$f"; else echo -; fi
}

# table TABLE TITLE: the markdown table of TABLE, a ratio to its first
# runner in every cell and the median ratio in the last row; also appends
# "TABLE RUNNER MEDIAN" lines to $D/csv/medians.
table() {
  eval "runners=\$T$1"
  for k in $KERNELS; do
    printf '%s' "$k"
    for r in $runners; do printf ' %s' "$(ms "$1" "$r" "$k")"; done
    echo
  done | awk -v t="$1" -v title="$2" -v runners="$runners" -v med="$D/csv/medians" '
    function median(a, n,   i, j, x) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    BEGIN {
      nr = split(runners, R, " ")
      print title; print ""
      printf "| kernel | %s ms |", R[1]
      for (i = 2; i <= nr; i++) printf " %s ms (ratio) |", R[i]
      printf "\n|---|"; for (i = 1; i <= nr; i++) printf "---:|"; print ""
    }
    {
      printf "| %s | %s |", $1, $2
      for (i = 2; i <= nr; i++) {
        v = $(i + 1)
        if (v == "-" || $2 == "-" || $2 <= 0) { printf " - |"; continue }
        x = v / $2; ratios[i, ++cnt[i]] = x
        printf " %s (%.2fx) |", v, x
      }
      print ""
    }
    END {
      printf "| median | |"
      for (i = 2; i <= nr; i++) {
        if (!cnt[i]) { printf " - |"; continue }
        n = 0; delete a; for (j = 1; j <= cnt[i]; j++) a[++n] = ratios[i, j]
        m = median(a, n); printf " (%.2fx) |", m
        print t, R[i], m >>med
      }
      print ""
    }'
  echo
}

: >"$D/csv/medians"
{
  echo "# krait benchmark kernels: median wall time of $RUNS runs ($WARMUP warmup), ratio = x the first column"
  echo
  for t in $TABLES; do
    case $t in
      1) table 1 "## Table 1: wasm32-wasi programs (native gcc -O2; krait run --tier aot / interp; Node WASI)" ;;
      2) table 2 "## Table 2: -nostdlib kernels, run() called directly (krait run --tier aot --invoke run; wasm2c + gcc with the AOT tier's flags)" ;;
      3) table 3 "## Table 3: -nostdlib kernels, small workloads: wabt's wasm-interp vs krait's interpreter (ratio < 1: krait faster)" ;;
    esac
  done
  # The check cost: sum of log(AOT / AOT without checks) over table 2's kernels.
  cl=0 cn=0
  for k in $KERNELS; do
    a=$(ms 2 aot-guard "$k") b=$(ms 2 aot-nochecks "$k")
    [ "$a" = - ] || [ "$b" = - ] && continue
    cl=$(awk -v s="$cl" -v a="$a" -v b="$b" 'BEGIN { printf "%.6f", s + log(a / b) }'); cn=$((cn + 1))
  done
  # The targets (issue 12), from table 2: same module, same compiler and flags.
  awk '$1 == 2 { m[$2] = $3 } $1 == 1 { w[$2] = $3 }
    function v(x) { return x == "" ? "UNKNOWN" : x ? "MET" : "MISSED" }
    END {
      if (!(("aot-guard") in m)) exit
      print "## Targets (table 2)"; print ""
      print "| target | measured | verdict |"; print "|---|---|---|"
      printf "| AOT (guard) median <= 1.2x native | %.2fx (explicit bounds: %s; wasi table 1: %s) | %s |\n", m["aot-guard"],
             ("aot-explicit" in m) ? sprintf("%.2fx", m["aot-explicit"]) : "-",
             ("aot-guard" in w) ? sprintf("%.2fx", w["aot-guard"]) : "-", v(m["aot-guard"] <= 1.2)
      if ("wasm2c-guard" in m)
        printf "| AOT faster than wasm2c, guard pages | AOT %.2fx vs wasm2c %.2fx native | %s |\n",
               m["aot-guard"], m["wasm2c-guard"], v(m["aot-guard"] < m["wasm2c-guard"])
      if ("wasm2c-explicit" in m && "aot-explicit" in m)
        printf "| AOT faster than wasm2c, explicit checks | AOT %.2fx vs wasm2c %.2fx native | %s |\n",
               m["aot-explicit"], m["wasm2c-explicit"], v(m["aot-explicit"] < m["wasm2c-explicit"])
      if (cn) printf "| fuel/deadline checks with no limit < 3%% | AOT / AOT without checks, geomean over %d kernels %.3f | %s |\n",
                     cn, exp(cl / cn), v(exp(cl / cn) < 1.03)
    }' "$D/csv/medians" cl="$cl" cn="$cn"
} >"$OUT"
echo
cat "$OUT"
echo "bench: tables written to $OUT"

[ $bad -eq 0 ] || { echo "bench: some runners failed or printed a different checksum" >&2; exit 1; }
