#!/bin/sh
# bench/interrupts.sh -- what the fuel/deadline checks cost when disabled:
# times every wasm32-wasi kernel under build/krait (checks compiled in,
# no --fuel or --timeout) and under build/nocheck/krait (built with
# -DKRAIT_NO_INTERRUPT_CHECKS=1), side by side, and prints the ratios.
# Does not own: building the kernels (mk/bench.mk) or the two builds.
set -u
cd "$(dirname "$0")/.." || exit 2
D=build/bench
RUNS=${BENCH_RUNS:-5}
KERNELS=${KERNELS:-$(cd bench && ls *.c | sed -n 's/\.c$//p' | grep -vx nolibc)}
printf '%-10s %12s %12s %8s\n' kernel "checks ms" "none ms" ratio
for k in $KERNELS; do
  hyperfine -N -w 1 -r "$RUNS" --export-csv "$D/int.csv" \
    "build/krait run $D/wasi/$k.wasm" "build/nocheck/krait run $D/wasi/$k.wasm" >/dev/null 2>&1 || exit 1
  awk -F, -v k="$k" 'NR == 2 { a = $4 } NR == 3 { b = $4 }
    END { printf "%-10s %12.1f %12.1f %8.3f\n", k, a * 1000, b * 1000, a / b }' "$D/int.csv"
done | tee "$D/int.txt"
awk '{ s += log($4); n++ } END { printf "geomean ratio %.3f (checks on / compiled out)\n", exp(s / n) }' "$D/int.txt"
