#!/bin/sh
# tests/web/tier.sh -- the `web` tier of `make test`: builds build/web
# (scripts/build-web.sh: krait.js, the playground, python.wasm and its
# zips; the markupsafe package set, built first with scripts/build-packages.py;
# npm ci for @bjorn3/browser_wasi_shim and playwright-core) and runs
# tests/web/run.mjs in Debian's Chromium. Ends with "N passed, N failed".
# Does not own the tests themselves.
set -u
cd "$(dirname "$0")/../.." || exit 2
for t in node npm /usr/bin/chromium; do
  command -v "$t" >/dev/null 2>&1 || { echo "web: $t not found (sh scripts/bootstrap.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
[ -f build/python/python.wasm ] || make --no-print-directory python || { echo "0 passed, 1 failed"; exit 1; }
# python.wasm's native code (cached: a second), for the snapshot made under
# the AOT tier (run.mjs: snapshot-made-under-either-tier)
sh scripts/python-aot.sh >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
# the markupsafe package set, which make web publishes for the package
# tests (cached: seconds; the browser needs no native code, so --no-aot)
/usr/bin/python3.11 scripts/build-packages.py --no-aot markupsafe || { echo "web: the markupsafe set failed"; echo "0 passed, 1 failed"; exit 1; }
if ! sh scripts/build-web.sh; then echo "web: build failed"; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -f web/node_modules/playwright-core/package.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error) || { echo "0 passed, 1 failed"; exit 1; }
fi
timeout 600 node tests/web/run.mjs build/web
