#!/bin/sh
# tests/fuzz/run_parser.sh -- fuzz smoke for one of krait's text parsers:
# runs build/fuzz/fuzz_NAME (tests/fuzz/fuzz_NAME.c) for SECONDS with the
# seeds in tests/fuzz/NAME-seeds/ and the dictionary tests/fuzz/NAME.dict.
# usage: tests/fuzz/run_parser.sh NAME SECONDS [TIER]
# New inputs go to build/fuzz/NAME-corpus, crashes to build/fuzz/crashes/.
# With TIER, records one item (passed when libFuzzer found nothing).
# FUZZ_TIMEOUT: libFuzzer's per-input -timeout (default 10 s).
# Does not own: building the target (mk/fuzz.mk), the module fuzzer
# (tests/fuzz/run.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
name=$1 secs=${2:-60} tier=${3:-}
F=build/fuzz
mkdir -p "$F/$name-corpus" "$F/crashes"
dict=""
[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
echo "fuzz $name: $(ls "tests/fuzz/$name-seeds" | wc -l) seeds, $(ls "$F/$name-corpus" | wc -l) corpus inputs, ${secs}s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$F/fuzz_$name" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
  -max_len=16384 $dict -print_final_stats=1 -artifact_prefix="$F/crashes/$name-" \
  "$F/$name-corpus" "tests/fuzz/$name-seeds" >"$F/$name.log" 2>&1
rc=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' "$F/$name.log" | head -n 6
if [ $rc -ne 0 ]; then
  echo "fuzz $name: libFuzzer exited $rc; log: $F/$name.log"
  grep -m1 -A25 -E '==[0-9]+==ERROR|runtime error|deadly signal|timeout|out-of-memory' "$F/$name.log"
fi
if [ -n "$tier" ]; then
  if [ $rc -eq 0 ]; then kt_record "$tier" 1 0; else kt_record "$tier" 0 1; fi
fi
exit $rc
