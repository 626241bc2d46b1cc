#!/bin/sh
# tests/fuzz/run.sh -- fuzz smoke: runs build/fuzz/fuzz_module for SECONDS.
# usage: tests/fuzz/run.sh SECONDS [TIER]
# Seeds: every .wasm under build/spec/ (made by tests/spec.sh) up to 64 KiB,
# plus the unit, limits and guest test modules. New inputs go to
# build/fuzz/corpus, crashes to build/fuzz/crashes/. With TIER, records one
# item (passed when libFuzzer found nothing).
# Does not own: building the target (mk/fuzz.mk).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
secs=${1:-60} tier=${2:-}
F=build/fuzz
mkdir -p "$F/seeds" "$F/corpus" "$F/crashes"
if [ ! -d build/spec ]; then
  echo "fuzz: build/spec/ missing (run tests/spec.sh first): few seeds" >&2
fi
find build/spec build/test -name '*.wasm' -size -65k 2>/dev/null | while read -r w; do
  cp "$w" "$F/seeds/$(echo "$w" | tr '/' '_')"
done
echo "fuzz: $(ls "$F/seeds" | wc -l) seeds, $(ls "$F/corpus" | wc -l) corpus inputs, ${secs}s"
# Guard mode needs SIGSEGV for its out-of-bounds traps: neither libFuzzer
# nor ASan may take it over.
segv=""
[ "${KRAIT_FUZZ_BOUNDS:-}" = guard ] && segv="-handle_segv=0"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1${segv:+:handle_segv=0}} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$F/fuzz_module" $segv -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$F/crashes/" \
  "$F/corpus" "$F/seeds" >"$F/fuzz.log" 2>&1
rc=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)' "$F/fuzz.log" | head -n 8
if [ $rc -ne 0 ]; then
  echo "fuzz: libFuzzer exited $rc; log: $F/fuzz.log; artifacts:"
  ls -1 "$F/crashes" | head
  grep -m1 -A25 -E '==[0-9]+==ERROR|runtime error|deadly signal|timeout|out-of-memory' "$F/fuzz.log"
fi
if [ -n "$tier" ]; then
  if [ $rc -eq 0 ]; then kt_record "$tier" 1 0; else kt_record "$tier" 0 1; fi
fi
exit $rc
