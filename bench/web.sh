#!/bin/sh
# bench/web.sh -- `make bench-web`: krait.js (build/web, `make web`)
# against Pyodide (npm `pyodide`, installed into bench/web/node_modules) in
# one headless Chromium run: time to first output, cold and warm, and the
# bytes transferred with brotli (bench/web/run.mjs). Not a test.
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
cp bench/web/krait.html bench/web/krait-snapshot.html bench/web/pyodide.html "$R/"
node bench/web/run.mjs "$R" "${RUNS:-5}"
