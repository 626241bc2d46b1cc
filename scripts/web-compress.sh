#!/bin/sh
# scripts/web-compress.sh -- the precompressed siblings of static files that
# `krait serve --playground` sends by the request's Accept-Encoding:
# FILE.br (brotli -q 11, cached by the file's SHA-256 in
# ${KRAIT_CACHE:-$HOME/.cache/krait}/web-br/, since quality 11 takes ~30 s
# per megabyte-scale asset) and FILE.gz (gzip -9 -n). A sibling is kept only
# when it is at most 90% of FILE's size, and gets FILE's mtime (krait serve
# ignores a sibling older than its file: a stale one is never sent).
# Usage: sh scripts/web-compress.sh FILE...   (make web runs it; so does
# bench/web.sh for Pyodide's files). Does not own what is served or how.
set -eu
command -v brotli >/dev/null 2>&1 || { echo "web-compress: brotli not found (sh scripts/bootstrap.sh)" >&2; exit 2; }
CACHE="${KRAIT_CACHE:-$HOME/.cache/krait}/web-br"
mkdir -p "$CACHE"

# keep SIBLING FILE: keeps SIBLING (with FILE's mtime) when it saves at
# least a tenth of FILE, else removes it.
keep() {
  if [ $(( $(wc -c <"$1") * 10 )) -le $(( $(wc -c <"$2") * 9 )) ]; then touch -r "$2" "$1"
  else rm -f "$1"; fi
}

for f in "$@"; do
  [ -f "$f" ] || { echo "web-compress: $f: not a file" >&2; exit 2; }
  rm -f "$f.br" "$f.gz"
  gzip -9 -n -c "$f" >"$f.gz.tmp" && mv "$f.gz.tmp" "$f.gz"
  keep "$f.gz" "$f"
  sum=$(sha256sum "$f" | cut -c1-64)
  # a cached entry is used only if it decodes to exactly this file
  if ! brotli -d -c "$CACHE/$sum.br" 2>/dev/null | cmp -s - "$f"; then
    brotli -q 11 -c "$f" >"$CACHE/$sum.br.$$"
    mv "$CACHE/$sum.br.$$" "$CACHE/$sum.br"
  fi
  touch "$CACHE/$sum.br"   # used now: kept by the pruning below
  cp "$CACHE/$sum.br" "$f.br"
  keep "$f.br" "$f"
done
# entries no build has used for 30 days go
find "$CACHE" -type f -name '*.br' -mtime +30 -delete 2>/dev/null || true
