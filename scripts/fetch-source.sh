#!/bin/sh
# scripts/fetch-source.sh -- one pinned upstream tarball of a Debian source
# package, fetched once into the cache: the fetching half of
# scripts/build-python.sh and scripts/build-packages.py.
#
#   sh scripts/fetch-source.sh PACKAGE FILE SHA256 [USED]
#
# Owns: finding the source versions apt knows of PACKAGE whose
# Checksums-Sha256 list FILE with SHA256 (newest first, by dpkg's order),
# `apt-get source --download-only PACKAGE=VERSION` of each until FILE
# arrives with that sha256, and keeping it in
# ${KRAIT_CACHE:-$HOME/.cache/krait}/src/PACKAGE/FILE (with FILE.version);
# a cached file whose sha256 matches is used without apt. Prints the file's
# path on stdout; appends "PACKAGE VERSION FILE" to USED when given.
# Pinning by file and sha256 means a new Debian upload or a security fix
# never changes a build by surprise. Needs the deb-src lines that
# `sh scripts/bootstrap.sh python` adds.
# Does not own: what is pinned (the callers' tables), unpacking.
set -eu
[ $# -ge 3 ] || { echo "usage: sh scripts/fetch-source.sh PACKAGE FILE SHA256 [USED]" >&2; exit 2; }
PKG=$1 FILE=$2 SHA=$3 USED=${4:-/dev/null}
CACHE="${KRAIT_CACHE:-$HOME/.cache/krait}"
say() { printf 'source: %s\n' "$*" >&2; }
die() { printf 'source: error: %s\n' "$*" >&2; exit 1; }

# src_versions: the source versions apt knows of PKG whose
# Checksums-Sha256 list FILE with SHA, newest first.
src_versions() {
  vs=$(apt-cache showsrc "$PKG" 2>/dev/null | awk -v f="$FILE" -v h="$SHA" '
    /^Package:/ { ver = "" }
    /^Version:/ { ver = $2 }
    /^Checksums-Sha256:/ { sums = 1; next }
    /^[^ ]/ { sums = 0 }
    sums && $1 == h && $3 == f && ver != "" { print ver }' | sort -u)
  # newest first, by dpkg's own ordering (a plain insertion sort)
  sorted=""
  for v in $vs; do
    out=""; placed=0
    for w in $sorted; do
      if [ $placed = 0 ] && dpkg --compare-versions "$v" gt "$w"; then out="$out $v"; placed=1; fi
      out="$out $w"
    done
    [ $placed = 0 ] && out="$out $v"
    sorted=$out
  done
  echo $sorted
}

d="$CACHE/src/$PKG"
mkdir -p "$d"
if [ -f "$d/$FILE" ] && echo "$SHA  $d/$FILE" | sha256sum -c --status; then
  echo "$PKG $(cat "$d/$FILE.version" 2>/dev/null || echo cached) $FILE" >>"$USED"
  echo "$d/$FILE"; exit 0
fi
versions=$(src_versions)
[ -n "$versions" ] || die "apt knows no source version of $PKG with $FILE (sha256 $SHA); is there a deb-src line? run: sh scripts/bootstrap.sh python"
: >"$d/fetch.log"
for v in $versions; do
  say "apt-get source --download-only $PKG=$v"
  tmp=$(mktemp -d "$d/get.XXXXXX")
  (cd "$tmp" && apt-get source -q --download-only "$PKG=$v") >>"$d/fetch.log" 2>&1 || true
  if [ -f "$tmp/$FILE" ] && echo "$SHA  $tmp/$FILE" | sha256sum -c --status; then
    mv "$tmp/$FILE" "$d/$FILE.part" && mv "$d/$FILE.part" "$d/$FILE"
    echo "$v" >"$d/$FILE.version"
    rm -rf "$tmp"
    echo "$PKG $v $FILE" >>"$USED"
    echo "$d/$FILE"; exit 0
  fi
  rm -rf "$tmp"
  say "$PKG=$v: $FILE did not arrive; trying an older version"
done
tail -n 5 "$d/fetch.log" >&2
die "could not fetch $FILE ($PKG, tried: $versions; log: $d/fetch.log)"
