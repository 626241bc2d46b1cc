#!/bin/sh
# scripts/python-aot.sh -- the AOT half of `make python`: compiles
# build/python/python.wasm to native code with `build/krait compile` (into
# the AOT cache, ${KRAIT_CACHE:-~/.cache/krait}/aot, by key: a few minutes
# of all cores the first time, progress shown on a terminal; found there
# afterwards) and copies the object into build/python/aot/, where krait --
# and `make install`'s copy of the Python home -- finds it without a C
# compiler (docs/AOT.md). Objects of other keys there are removed.
# Usage: sh scripts/python-aot.sh. Needs build/krait and build/python.
# Does not own: the compiling (src/aot/), the key (src/aot/build.c).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
K="$ROOT/build/krait"
P="$ROOT/build/python"
T0=$(date +%s)
say() { printf 'python: [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
[ -x "$K" ] || { echo "python: error: build/krait is missing (make all)" >&2; exit 1; }
[ -f "$P/python.wasm" ] || { echo "python: error: build/python/python.wasm is missing" >&2; exit 1; }
mkdir -p "$P/aot"
have=$(ls "$P"/aot/*.so 2>/dev/null || true)
say "native code for python.wasm: krait compile (minutes the first time, then cached)"
# krait compile's progress and status line go to stderr (the terminal),
# the copy's path to stdout.
if ! out=$("$K" compile --into "$P/aot" "$P/python.wasm"); then
  echo "python: error: krait compile failed (above); krait python interprets meanwhile" >&2
  exit 1
fi
for f in "$P"/aot/*.so; do
  [ "$f" = "$out" ] || rm -f "$f"
done
[ "$have" = "$out" ] || say "native code: build/python/aot/$(basename "$out") ($(du -h "$out" | cut -f1))"
