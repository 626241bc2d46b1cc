#!/bin/sh
# bench/web.sh -- `make bench-web`: krait.js (build/web, `make web`)
# against Pyodide (npm `pyodide`, installed into bench/web/node_modules) in
# one headless Chromium run: time to first output, cold and warm, with and
# without krait's snapshot, and the bytes transferred with brotli
# (bench/web/run.mjs). Not a test.
set -eu
cd "$(dirname "$0")/.."
[ -f build/web/krait.js ] || sh scripts/build-web.sh
if [ ! -f bench/web/node_modules/pyodide/pyodide.js ]; then
  (cd bench/web && npm install --no-audit --no-fund --loglevel=error)
fi
R=build/bench/web-root
rm -rf "$R"
mkdir -p "$R"
ln -s "$(pwd)/build/web" "$R/krait"
ln -s "$(pwd)/bench/web/node_modules/pyodide" "$R/pyodide"
cp bench/web/krait.html bench/web/pyodide.html "$R/"
# the same page, started from make web's snapshot
sed 's/await load({ onStdout/await load({ snapshot: true, onStdout/; s/(no snapshot: python.wasm boots CPython in the worker)/(from the snapshot of make web)/' \
  bench/web/krait.html >"$R/krait-snapshot.html"
grep -q 'snapshot: true' "$R/krait-snapshot.html" || { echo "bench: cannot make krait-snapshot.html" >&2; exit 1; }
node bench/web/run.mjs "$R" "${RUNS:-5}"
