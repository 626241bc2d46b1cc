#!/bin/sh
# bench/web.sh -- `make bench-web`: krait.js (build/web, `make web`) against
# Pyodide (npm `pyodide`, installed into bench/web/node_modules) in one
# headless Chromium run, everything served by `krait serve --playground`
# itself as a user would run it (its precompressed .br/.gz siblings, ETags,
# 304s): time to first output, cold and warm, with and without krait's
# snapshot, and the bytes transferred (bench/web/run.mjs). Pyodide's files
# get the same precompressed siblings (scripts/web-compress.sh). Not a test.
# Environment: RUNS (default 5); SERVER=node serves with tests/web/server.mjs
# --brotli instead (on-the-fly brotli, the earlier figures); KRAIT_BIN: another
# krait binary to serve with (e.g. an older one, for before/after);
# NET_MBPS=N (NET_RTT=ms, default 20): a link throttled to N Mbit/s.
set -eu
cd "$(dirname "$0")/.."
[ -f build/web/python/python.wasm.br ] || sh scripts/build-web.sh
if [ ! -f bench/web/node_modules/pyodide/pyodide.js ]; then
  (cd bench/web && npm install --no-audit --no-fund --loglevel=error)
fi
# The root krait serve gets as KRAIT_WEB: real files (hard links where the
# file system allows), since it serves nothing whose real path is outside.
R=build/bench/web-root
rm -rf "$R"
mkdir -p "$R"
cp -al build/web "$R/krait" 2>/dev/null || cp -a build/web "$R/krait"
cp -al build/web/playground "$R/playground" 2>/dev/null || cp -a build/web/playground "$R/playground"
cp -aL bench/web/node_modules/pyodide "$R/pyodide"
find "$R/pyodide" -type f -size +1k ! -name '*.map' ! -name '*.d.ts' ! -name '*.html' ! -name '*.md' -printf '%s %p\n' |
  sort -rn | cut -d' ' -f2- | xargs -r -n 1 -P "$(nproc)" sh scripts/web-compress.sh
cp bench/web/krait.html bench/web/pyodide.html "$R/"
# the same page, started from make web's snapshot
sed 's/await load({ onStdout/await load({ snapshot: true, onStdout/; s/(no snapshot: python.wasm boots CPython in the worker)/(from the snapshot of make web)/' \
  bench/web/krait.html >"$R/krait-snapshot.html"
grep -q 'snapshot: true' "$R/krait-snapshot.html" || { echo "bench: cannot make krait-snapshot.html" >&2; exit 1; }
node bench/web/run.mjs "$R" "${RUNS:-5}"
