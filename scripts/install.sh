#!/bin/sh
# scripts/install.sh -- `make install`: copies a built tree into DEST
# (DESTDIR + PREFIX) in the layout src/cli/paths.c looks for beside
# DEST/bin/krait:
#   bin/krait
#   lib/krait/python/     the Python home: python.wasm, bin/, lib/python3.11
#                         and python311.zip, aot/<key>.so (python.wasm as
#                         native code, scripts/python-aot.sh: the installed
#                         krait finds it without a compiler, docs/AOT.md),
#                         sets/NAME/ (package sets: make python
#                         PACKAGES=...), and whatever else `make python`
#                         puts there; not testlib/
#   share/krait/sdk/      the guest SDK (python/sdk, no __pycache__)
#   share/krait/web/      the browser build, when `make web` made one
#   include/krait*.h      the public headers
#   lib/libkrait*.a       the libraries (every build/lib*.a)
# Replaces what an earlier install left in lib/krait and share/krait.
# Usage: sh scripts/install.sh DEST. Does not own building any of it.
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: sh scripts/install.sh DEST" >&2; exit 2; }
DEST=$1
for f in build/krait build/python/python.wasm python/sdk/krait_runtime.py; do
  [ -e "$f" ] || { echo "install: $f is missing (make all python)" >&2; exit 1; }
done
ls build/python/aot/*.so >/dev/null 2>&1 ||
  echo "install: no build/python/aot/*.so (make python compiles it): the installed krait python interprets" >&2

# copy_tree SRC DST [EXCLUDES...]: SRC's contents into a fresh DST, hard
# links kept (python.wasm and bin/python3.11 are one file).
copy_tree() {
  src=$1 dst=$2
  shift 2
  rm -rf "$dst"
  mkdir -p "$dst"
  (cd "$src" && tar cf - "$@" .) | (cd "$dst" && tar xf - --no-same-owner)
}

mkdir -p "$DEST/bin" "$DEST/include" "$DEST/lib/krait" "$DEST/share/krait"
install -m 755 build/krait "$DEST/bin/krait.new"
mv -f "$DEST/bin/krait.new" "$DEST/bin/krait"
copy_tree build/python "$DEST/lib/krait/python" --exclude=./testlib --exclude=./CACHE_ENTRY \
  --exclude='./sets/*/CACHE_ENTRY'
copy_tree python/sdk "$DEST/share/krait/sdk" --exclude=__pycache__
if [ -f build/web/playground/index.html ]; then
  copy_tree build/web "$DEST/share/krait/web"
else
  rm -rf "$DEST/share/krait/web"
  echo "install: no browser build (make web), so no share/krait/web"
fi
for h in include/*.h; do install -m 644 "$h" "$DEST/include/"; done
for a in build/lib*.a; do install -m 644 "$a" "$DEST/lib/"; done
echo "install: krait into $DEST ($(du -sh "$DEST/lib/krait" "$DEST/share/krait" | awk '{printf "%s%s %s", s, $2, $1; s=", "}'))"
