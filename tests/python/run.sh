#!/bin/sh
# tests/python/run.sh -- `make python-test`: checks build/python/python.wasm
# (from `make python`) under Node's WASI (tests/python/node-wasi.mjs)
# with the trimmed stdlib preopened, in both layouts: lib/python311.zip
# and the lib/python3.11/ directory. Prints "ok NAME" / "FAIL NAME" per
# case and a final "N passed, N failed"; exits non-zero on any failure.
# Not part of `make test` (needs `make python` first).
#   sh tests/python/run.sh [node|krait]   the runner (default node)
# Does not own: building python (scripts/build-python.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P="$ROOT/build/python"
# Runner: node (default) or krait (`sh tests/python/run.sh krait`, needs
# build/krait with --dir). Both take --dir HOST<sep>GUEST and --env.
RUNNER=${1:-node}
case $RUNNER in
  # --max-old-space-size: see node-wasi.mjs (SIGSEGV on large guest memory).
  node) RUN="node --no-warnings --max-old-space-size=4096 $ROOT/tests/python/node-wasi.mjs"; SEP=: ;;
  krait) RUN="$ROOT/build/krait run --timeout 120"; SEP=:: ;;
  *) echo "usage: sh tests/python/run.sh [node|krait]" >&2; exit 2 ;;
esac
[ -f "$P/python.wasm" ] || { echo "no $P/python.wasm; run: make python" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Layouts: the zip alone at /usr/local/lib, or the directory alone at
# /usr/local/lib/python3.11 (Node's WASI does not follow symlinks that
# leave a preopen, hence no symlink tricks).
mkdir -p "$TMP/zip" "$TMP/scratch"
cp "$P/lib/python311.zip" "$TMP/zip/"

pass=0 fail=0
# check NAME LAYOUT EXPECTED CODE: runs `python -c CODE`, compares stdout.
check() {
  case $2 in
    zip) lib="$TMP/zip$SEP/usr/local/lib" ;;
    dir) lib="$P/lib/python3.11$SEP/usr/local/lib/python3.11" ;;
  esac
  got=$($RUN --dir "$lib" --dir "$TMP/scratch$SEP/tmp" "$P/python.wasm" -c "$4" 2>"$TMP/err")
  rc=$?
  if [ $rc -eq 0 ] && [ "$got" = "$3" ]; then
    pass=$((pass + 1)); echo "ok $1 ($2)"
  else
    fail=$((fail + 1)); echo "FAIL $1 ($2): status $rc"
    echo "  expected: $3"; echo "  got:      $got"; sed 's/^/  stderr: /' "$TMP/err" | tail -n 8
  fi
}
for layout in zip dir; do
  check arith $layout 2 'print(1+1)'
  check imports $layout ok 'import json, re, zlib, math; print("ok")'
  check json $layout '{"a": [1, 2.5, null]}' 'import json; print(json.dumps(json.loads("{\"a\":[1,2.5,null]}")))'
  check re $layout 'a-b-c' 'import re; print(re.sub(r"\s+", "-", "a  b\tc"))'
  check zlib $layout 'True 10000' 'import zlib; d=b"krait"*2000; c=zlib.compress(d, 9); print(zlib.decompress(c)==d, len(d))'
  check bz2 $layout True 'import bz2; d=b"x"*5000; print(bz2.decompress(bz2.compress(d))==d)'
  check lzma $layout True 'import lzma; d=b"y"*5000; print(lzma.decompress(lzma.compress(d))==d)'
  check math $layout '3.141593 120 1.4142135623730951' 'import math; print(f"{math.pi:.6f}", math.factorial(5), math.sqrt(2))'
  check stdlib $layout ok 'import collections, itertools, functools, datetime, decimal, fractions, hashlib, base64, struct, textwrap, dataclasses, typing, enum, statistics, csv, io, pathlib, heapq, bisect, random; print("ok")'
  check decimal $layout 0.3 'from decimal import Decimal as D; print(D("0.1")+D("0.2"))'
  check sha256 $layout ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 'import hashlib; print(hashlib.sha256(b"abc").hexdigest())'
  check sqlite-mem $layout "[(1, 'a'), (2, 'b')]" 'import sqlite3; c=sqlite3.connect(":memory:"); c.execute("create table t(i,s)"); c.executemany("insert into t values(?,?)", [(1,"a"),(2,"b")]); print(c.execute("select * from t order by i").fetchall())'
  check sqlite-file $layout 3 'import sqlite3; c=sqlite3.connect("/tmp/t.db"); c.execute("create table if not exists t(i)"); c.executemany("insert into t values(?)", [(1,),(2,),(3,)]); c.commit(); c.close(); print(sqlite3.connect("/tmp/t.db").execute("select count(*) from t").fetchone()[0])'
  rm -f "$TMP/scratch/t.db"
  # pymalloc (build-python.sh's --with-pymalloc): blocks counted by it
  check pymalloc $layout '1 True' 'import sys, sysconfig; print(sysconfig.get_config_var("WITH_PYMALLOC"), sys.getallocatedblocks() > 0)'
  check file-io $layout 'hello 5' 'open("/tmp/t.txt","w").write("hello"); s=open("/tmp/t.txt").read(); print(s, len(s))'
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
