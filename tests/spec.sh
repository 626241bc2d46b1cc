#!/bin/sh
# tests/spec.sh -- runs the WebAssembly 2.0 spec tests with `krait wast`.
# Converts $SPEC_DIR/*.wast with wast2json into build/spec/<name>/ (only
# when out of date), skipping tests/spec-skip.txt entries, then runs them.
# Env: SPEC_DIR (default ../shared/wasm-spec/core-2.0), BOUNDS (guard or
# explicit; default guard), TIER (interp or aot; default interp), KRAIT
# (default build/krait), SPEC_OUT (default build/spec). Exit status is krait's (1 if any test or conversion failed).
set -u
cd "$(dirname "$0")/.." || exit 2

SPEC_DIR=${SPEC_DIR:-../shared/wasm-spec/core-2.0}
BOUNDS=${BOUNDS:-guard}
TIER=${TIER:-interp}
KRAIT=${KRAIT:-build/krait}
SPEC_OUT=${SPEC_OUT:-build/spec}
SKIP=tests/spec-skip.txt

# Prints the skip reason for a JSON basename ($1); fails when not listed.
skip_reason() {
  while read -r pat reason; do
    case $pat in '' | '#'*) continue ;; esac
    case $1 in $pat) printf '%s\n' "$reason"; return 0 ;; esac
  done <"$SKIP"
  return 1
}

# Converts one .wast ($1) into $SPEC_OUT/<name>/<name>.json unless that is
# newer than the .wast. Fails (with a message) when wast2json does.
convert() {
  name=$(basename "$1" .wast)
  dir=$SPEC_OUT/$name
  json=$dir/$name.json
  [ -f "$json" ] && [ "$json" -nt "$1" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  if ! wast2json --enable-all "$1" -o "$json" >"$dir/wast2json.log" 2>&1; then
    echo "spec.sh: wast2json failed on $1: $(head -n 1 "$dir/wast2json.log")" >&2
    rm -f "$json"
    return 1
  fi
}

command -v wast2json >/dev/null 2>&1 || { echo "spec.sh: wast2json not found (apt-get install wabt)" >&2; exit 2; }
[ -d "$SPEC_DIR" ] || { echo "spec.sh: no spec test directory $SPEC_DIR (set SPEC_DIR)" >&2; exit 2; }
[ -x "$KRAIT" ] || { echo "spec.sh: $KRAIT is not built (run make, or set KRAIT)" >&2; exit 2; }

status=0
set --
for wast in "$SPEC_DIR"/*.wast; do
  name=$(basename "$wast" .wast)
  skip_reason "$name.json" >/dev/null && continue
  if convert "$wast"; then
    set -- "$@" "$SPEC_OUT/$name/$name.json"
  else
    status=1
  fi
done
[ $# -gt 0 ] || { echo "spec.sh: no .wast files converted from $SPEC_DIR" >&2; exit 2; }

echo "spec.sh: $KRAIT wast --bounds $BOUNDS --tier $TIER ($# files)"
"$KRAIT" wast --bounds "$BOUNDS" --tier "$TIER" --skip "$SKIP" "$@"
rc=$?
[ $rc -eq 0 ] && rc=$status
exit $rc
