#!/bin/sh
# bench/run.sh -- times the kernels with hyperfine and prints two tables:
#  1. native (gcc -O2) vs `krait run` vs Node's WASI, full workloads;
#  2. wabt's wasm-interp vs `krait run --invoke run`, the -nostdlib builds
#     with the smaller BENCH_SMALL workloads.
# First checks that every runner prints the same checksum as the native
# build (exits 1 at the end on a mismatch). Env: KRAIT (build/krait),
# BENCH_RUNS (3), BENCH_WARMUP (1), KERNELS (all), NODE (node).
# Does not own: building the kernels (mk/bench.mk, into build/bench/).
set -u
cd "$(dirname "$0")/.." || exit 2
KRAIT=${KRAIT:-build/krait}
NODE=${NODE:-node}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
D=build/bench
KERNELS=${KERNELS:-$(cd bench && ls *.c | sed -n 's/\.c$//p' | grep -vx nolibc)}
mkdir -p "$D/csv"

# Node 18 needs a flag for WASI; 20 and later do not.
node_major=$($NODE -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
NODE_CMD="$NODE --no-warnings"
[ "$node_major" -lt 20 ] && NODE_CMD="$NODE_CMD --experimental-wasi-unstable-preview1"
[ "$node_major" -eq 0 ] && NODE_CMD=""
command -v wasm-interp >/dev/null 2>&1 || echo "bench: wasm-interp not found (apt-get install wabt)" >&2

# u32 TEXT: the last integer in TEXT as an unsigned 32-bit decimal.
u32() {
  echo "$1" | grep '[0-9]' | tail -n 1 | tr -c -- '-0123456789\n' ' ' | awk '{
    for (i = NF; i > 0; i--) if ($i ~ /^-?[0-9]+$/) {
      v = $i + 0; if (v < 0) v += 4294967296; printf "%.0f\n", v; exit
    } }'
}

bad=0
# check KERNEL WHAT WANT GOT: reports a checksum mismatch.
check() {
  if [ "$3" != "$4" ]; then
    echo "bench: CHECKSUM MISMATCH $1 $2: want '$3', got '$4'" >&2
    bad=1
  fi
}

echo "bench: checksums"
for k in $KERNELS; do
  want=$(u32 "$("$D/native/$k")")
  check "$k" "krait run" "$want" "$(u32 "$("$KRAIT" run "$D/wasi/$k.wasm")")"
  [ -n "$NODE_CMD" ] && check "$k" "node" "$want" "$(u32 "$($NODE_CMD bench/node-wasi.mjs "$D/wasi/$k.wasm")")"
  small=$(u32 "$("$D/native-small/$k")")
  check "$k" "krait --invoke run" "$small" "$(u32 "$("$KRAIT" run --invoke run "$D/nowasi/$k.wasm")")"
  command -v wasm-interp >/dev/null 2>&1 &&
    check "$k" "wasm-interp" "$small" "$(u32 "$(wasm-interp "$D/nowasi/$k.wasm" --run-all-exports)")"
  echo "  $k: $want (small: $small)"
done

# ms CSV ROW: the median of row ROW (1-based command) in seconds -> ms.
ms() {
  awk -F, -v row="$2" 'NR == row + 1 { printf "%.1f", $4 * 1000 }' "$1"
}

echo "bench: timing with hyperfine ($RUNS runs, $WARMUP warmup)"
for k in $KERNELS; do
  set -- "$D/native/$k" "$KRAIT run $D/wasi/$k.wasm"
  [ -n "$NODE_CMD" ] && set -- "$@" "$NODE_CMD bench/node-wasi.mjs $D/wasi/$k.wasm"
  hyperfine -N -r "$RUNS" -w "$WARMUP" --style none --export-csv "$D/csv/$k.csv" "$@" >/dev/null 2>&1 ||
    { echo "bench: hyperfine failed on $k" >&2; bad=1; }
  set -- "$KRAIT run --invoke run $D/nowasi/$k.wasm"
  command -v wasm-interp >/dev/null 2>&1 && set -- "$@" "wasm-interp $D/nowasi/$k.wasm --run-all-exports"
  hyperfine -N -r "$RUNS" -w "$WARMUP" --style none --export-csv "$D/csv/$k.small.csv" "$@" >/dev/null 2>&1 ||
    { echo "bench: hyperfine failed on $k (small)" >&2; bad=1; }
done

# Table 1.
{
  for k in $KERNELS; do
    echo "$k $(ms "$D/csv/$k.csv" 1) $(ms "$D/csv/$k.csv" 2) $(ms "$D/csv/$k.csv" 3)"
  done
} | awk '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  BEGIN {
    print ""
    print "Table 1: wasm32-wasi programs (median wall time; ratio = x native)"
    printf "%-10s %11s %22s %22s\n", "kernel", "native ms", "krait ms (ratio)", "node ms (ratio)"
  }
  {
    kr = $3 / $2; rk[++n] = kr
    node = ($4 == "") ? "-" : sprintf("%.1f (%.1fx)", $4, $4 / $2)
    if ($4 != "") rn[++m] = $4 / $2
    printf "%-10s %11.1f %22s %22s\n", $1, $2, sprintf("%.1f (%.1fx)", $3, kr), node
  }
  END {
    printf "%-10s %11s %22s %22s\n", "median", "", sprintf("(%.1fx)", median(rk, n)),
           m ? sprintf("(%.1fx)", median(rn, m)) : "-"
  }'

# Table 2.
{
  for k in $KERNELS; do
    echo "$k $(ms "$D/csv/$k.small.csv" 2) $(ms "$D/csv/$k.small.csv" 1)"
  done
} | awk '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  BEGIN {
    print ""
    print "Table 2: -nostdlib kernels calling run() directly, small workloads"
    print "         (median wall time; ratio = wasm-interp / krait, >1 = krait faster)"
    printf "%-10s %15s %22s\n", "kernel", "wasm-interp ms", "krait --invoke ms"
  }
  {
    if ($3 == "") { printf "%-10s %15s %22.1f\n", $1, "-", $2; next }
    r[++n] = $2 / $3
    printf "%-10s %15.1f %22s\n", $1, $2, sprintf("%.1f (%.1fx)", $3, $2 / $3)
  }
  END { if (n) printf "%-10s %15s %22s\n", "median", "", sprintf("(%.1fx)", median(r, n)) }'

[ $bad -eq 0 ] || { echo "bench: some checksums differ or timings failed" >&2; exit 1; }
