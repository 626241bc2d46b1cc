# tests/lib.sh -- shell helpers shared by the test tier scripts (sourced).
# Owns: where tier results go and how they are written and parsed.
# Does not own: running tiers in order and the total (tests/run_tiers.sh).
# shellcheck shell=sh

KT_RESULTS=${KT_RESULTS:-build/test/results}
KT_XRUN=${KT_XRUN:-build/test/xrun}

# kt_record TIER PASSED FAILED: stores a tier's counts for the total.
kt_record() {
  mkdir -p "$KT_RESULTS"
  echo "$2 $3" >"$KT_RESULTS/$1"
  echo "== $1: $2 passed, $3 failed"
}

# kt_counts FILE: prints "P F" from the last line of FILE that says
# "<P> passed" and "<F> failed"; prints nothing when there is none.
kt_counts() {
  sed -n 's/^\(.*[^0-9]\)\{0,1\}\([0-9][0-9]*\) passed\(.*[^0-9]\)\{0,1\}\([0-9][0-9]*\) failed.*$/\2 \4/p' "$1" | tail -n 1
}
