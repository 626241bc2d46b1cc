#!/bin/sh
# scripts/build-web.sh -- `make web`: the static site of krait in the
# browser, in build/web/: web/krait*.js (krait.js, the worker, the snapshot
# reader, the page API), krait-constants.js generated from the C headers
# (scripts/gen-web-constants.py: the snapshot format, the ABI's error codes
# and imports), the playground,
# @bjorn3/browser_wasi_shim from npm (web/node_modules, installed here with
# `npm ci` when missing) as vendor/browser_wasi_shim/, and python/ with
# python.wasm (build/python's, stripped with llvm-strip-16), the stdlib zip
# (python311.zip) and python/sdk as sdk.zip; every package set built in
# build/python/sets/NAME/ (scripts/build-packages.py) in python/sets/NAME/
# (its python.wasm stripped, its site-packages.zip and its own snapshot)
# with their index python/sets/index.json (scripts/web-sets.py), which
# only pages asking for packages read; last, beside every file of
# 1 KiB or more, its precompressed FILE.br and FILE.gz
# (scripts/web-compress.sh), which `krait serve --playground` sends by the
# request's Accept-Encoding. Needs `make python` first, and brotli.
# Does not own: the JS code (web/), the tests (tests/web/).
set -eu
cd "$(dirname "$0")/.."
OUT=build/web
[ -f build/python/python.wasm ] || { echo "web: build/python/python.wasm missing (make python)" >&2; exit 2; }
command -v brotli >/dev/null 2>&1 || { echo "web: brotli not found (sh scripts/bootstrap.sh)" >&2; exit 2; }
if [ ! -f web/node_modules/@bjorn3/browser_wasi_shim/dist/index.js ]; then
  echo "web: npm ci (web/package-lock.json)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
rm -rf "$OUT"
mkdir -p "$OUT/python" "$OUT/vendor/browser_wasi_shim"
cp web/krait.js web/krait-worker.js web/krait-page.js web/krait-snapfile.js "$OUT/"
/usr/bin/python3.11 scripts/gen-web-constants.py "$OUT/krait-constants.js"
# The page's .js files are ES modules. tests/web/run.mjs imports two of them
# in Node, and Debian 12's Node 18 reads .js as CommonJS unless the nearest
# package.json says "module" (Node 20.19+ detects the syntax itself).
printf '{ "type": "module", "private": true }\n' >"$OUT/package.json"
cp -r web/playground web/examples "$OUT/"
rm -rf "$OUT/examples/greet"
/usr/bin/python3.11 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").write(sys.argv[2], "greet/__init__.py")' \
  "$OUT/examples/greet.zip" web/examples/greet/__init__.py
cp web/node_modules/@bjorn3/browser_wasi_shim/dist/*.js "$OUT/vendor/browser_wasi_shim/"
cp web/node_modules/@bjorn3/browser_wasi_shim/LICENSE* "$OUT/vendor/browser_wasi_shim/" 2>/dev/null || true
llvm-strip-16 -o "$OUT/python/python.wasm" build/python/python.wasm
# The stdlib for the page: python311.zip's compiled modules only, stored
# (not deflated: the server's brotli then does far better, and zipimport
# need not inflate), without what cannot work in a browser tab or is only
# for developers of CPython itself (multiprocessing, distutils, lib2to3,
# pydoc's topic data, Windows' msilib, _pydecimal beside the C _decimal).
# Data files stay: the tzdata package's zone files (TZif) and its list
# tzdata/zones, which zoneinfo reads through importlib.resources; checked.
/usr/bin/python3.11 - build/python/lib/python311.zip "$OUT/python/python311.zip" <<'PY'
import sys, zipfile
DROP = ("distutils/", "pydoc_data/", "multiprocessing/", "lib2to3/", "msilib/", "ensurepip/",
        "idlelib/", "tkinter/", "turtledemo/", "venv/", "turtle.pyc", "_pydecimal.pyc")
kept = set()
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as out:
    for info in src.infolist():
        name = info.filename
        if name.endswith(".py") and name[:-3] + ".pyc" in src.NameToInfo:
            continue
        if name.startswith(DROP):
            continue
        out.writestr(zipfile.ZipInfo(name, info.date_time), src.read(name))
        kept.add(name)
    tz = [n for n in src.NameToInfo if n.startswith("tzdata/") and not n.endswith((".py", ".pyc"))]
    lost = [n for n in tz if n not in kept]
    if not tz or lost:
        sys.exit("web: the stdlib zip %s tzdata's data files (%s)"
                 % ("lacks" if not tz else "would lose", sys.argv[1] if not tz else ", ".join(lost[:3])))
PY
/usr/bin/python3.11 - "$OUT/python/sdk.zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk("python/sdk"):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(root, f)
                z.write(path, os.path.relpath(path, "python/sdk"))
PY
/usr/bin/python3.11 scripts/web-sets.py build/python/sets "$OUT"
# The "python ready" snapshot krait.js can start from, made by booting
# this very python.wasm over these very zips as the worker would; each
# set's from the set's own python.wasm (never the base's).
if [ -x build/krait ]; then
  build/krait web-snapshot "$OUT"
  for d in "$OUT"/python/sets/*/; do
    if [ -f "$d/python.wasm" ]; then build/krait web-snapshot --set "$(basename "$d")" "$OUT"; fi
  done
else echo "web: build/krait missing (make): no python.snapshot"; fi
# The precompressed siblings (brotli -q 11, cached by content; gzip -9),
# biggest files first, one per core at a time. tzdata's small zone files
# live inside the zip, so this is a few dozen files.
find "$OUT" -type f -size +1k ! -name '*.br' ! -name '*.gz' ! -name '*.png' -printf '%s %p\n' |
  sort -rn | cut -d' ' -f2- | xargs -r -n 1 -P "$(nproc)" sh scripts/web-compress.sh
size() { if [ -f "$1" ]; then wc -c <"$1"; else echo -; fi; }
for f in python.wasm python311.zip sdk.zip python.snapshot; do
  p="$OUT/python/$f"
  [ -f "$p" ] || continue
  printf 'web: %-15s %9s bytes, %9s .br, %9s .gz\n' "$f" "$(size "$p")" "$(size "$p.br")" "$(size "$p.gz")"
done
for p in "$OUT"/python/sets/*/*; do
  case "$p" in *.br|*.gz) continue ;; esac
  [ -f "$p" ] || continue
  printf 'web: %-15s %9s bytes, %9s .br, %9s .gz\n' "${p#"$OUT"/python/}" "$(size "$p")" "$(size "$p.br")" "$(size "$p.gz")"
done
echo "web: built $OUT/ (serve it with: node tests/web/server.mjs $OUT)"
