#!/bin/sh
# tests/install/run.sh -- the install tier: `make install` into a fresh
# temporary prefix, then, with the source tree hidden (an empty tmpfs
# mounted over it in a private mount namespace, `unshare -rm`), the
# installed krait must work alone: `krait python`, `krait new` + `krait
# build` + `krait serve`, `krait serve --playground` when a browser build
# was installed, and a C program built against the installed krait.h and
# libkrait.a. Python runs as native code from the installed Python home's
# aot/ object, with an empty AOT cache and no C compiler on PATH (tier
# aot would have to compile, and cannot), and nothing is compiled. Prints "ok NAME" / "FAIL NAME: why" and "N passed, N
# failed". Needs `make all python` (make test-install does it) and
# wat2wasm. Does not own the install itself (scripts/install.sh,
# mk/install.mk) nor where krait looks (src/cli/paths.c).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/krait-install-XXXXXX")
trap 'rm -rf "$W"' EXIT
P=$W/prefix
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# ---- make install -------------------------------------------------------
if ${MAKE:-make} --no-print-directory install PREFIX="$P" >"$W/install.log" 2>&1; then
  ok "make install PREFIX=tmp"
else
  bad "make install" "$(tail -n 3 "$W/install.log")"
  echo "$pass passed, $fail failed"; exit 1
fi
missing=""
for f in bin/krait lib/krait/python/python.wasm lib/krait/python/lib/python3.11/os.py \
         lib/krait/python/lib/python311.zip share/krait/sdk/krait_runtime.py \
         share/krait/sdk/spin_sdk/__init__.py include/krait.h lib/libkrait.a; do
  [ -e "$P/$f" ] || missing="$missing $f"
done
for h in include/*.h; do [ -e "$P/$h" ] || missing="$missing $h"; done
n=$(ls "$P"/lib/krait/python/aot/*.so 2>/dev/null | wc -l)
[ "$n" = 1 ] || missing="$missing lib/krait/python/aot/KEY.so($n)"
for a in build/lib*.a; do [ -e "$P/lib/${a#build/}" ] || missing="$missing lib/${a#build/}"; done
[ -z "$missing" ] && ok "installed files in place" || bad "installed files" "missing:$missing"
extra=$(cd "$P" && find . -name testlib -o -name _krait_fake.py -o -path ./share/krait/sdk/examples \
         -o -path './share/krait/sdk/*' -name __pycache__)
[ -z "$extra" ] && ok "no test library, test double or examples installed" || bad "installed extras" "$extra"

# ---- what the hidden run needs, made while the tree is visible ------------
cp examples/embed/embed.c "$W/"
${WAT2WASM:-wat2wasm} examples/embed/fib.wat -o "$W/fib.wasm" || bad "wat2wasm" "examples/embed/fib.wat"
printf 'import sys, json, zoneinfo\nprint(sys.argv[1], json.dumps({"v": sys.version_info[:2]}), zoneinfo.ZoneInfo("Europe/Paris").key)\n' >"$W/hello.py"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The checks that run with the source tree hidden; $1 is "hidden" when it
# is. Prints ok/FAIL lines.
cat >"$W/inner.sh" <<'EOF'
set -u
ROOT=$1 P=$2 W=$3 PORT=$4 PORT2=$5 MODE=$6
K=$P/bin/krait
unset KRAIT_PYTHON_HOME KRAIT_SDK KRAIT_WEB KRAIT_TIER KRAIT_CC
export KRAIT_CACHE=$W/cache   # empty: native code only from the install
if [ "$MODE" = hidden ]; then
  mount -t tmpfs none "$ROOT" || { echo "FAIL hide the source tree: mount"; exit 1; }
  [ ! -e "$ROOT/python/sdk" ] && [ ! -e "$ROOT/build/python" ] && echo "ok source tree hidden" ||
    echo "FAIL source tree hidden: $ROOT/python/sdk still there"
fi
cd "$W" || exit 1
# wait_http URL: up to 60 s for a 200.
wait_http() {
  i=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && return 1; sleep 0.1
  done
}
out=$("$K" python --dir "$W" "$W/hello.py" installed 2>&1)
[ "$out" = 'installed {"v": [3, 11]} Europe/Paris' ] && echo "ok krait python (stdlib, json, zoneinfo)" ||
  echo "FAIL krait python: $out"
out=$("$K" python -c 'import sys; print(sys.prefix)' 2>&1)
[ "$out" = /usr/local ] && echo "ok krait python -c" || echo "FAIL krait python -c: $out"
# native code without a compiler: tier aot finds the installed object by
# the key under the gcc identity krait was built with (else it would
# compile, and no compiler is on PATH)
out=$(PATH=/nonexistent "$K" python --tier aot -c 'print(sum(range(10**6)))' 2>&1)
[ "$out" = 499999500000 ] && echo "ok native code from lib/krait/python/aot, no compiler on PATH" ||
  echo "FAIL krait python --tier aot without a compiler: $out"
# a package set, when make python built one (the packages tier does)
if [ -f "$P/lib/krait/python/sets/markupsafe/python.wasm" ]; then
  out=$("$K" python --packages markupsafe -c 'import markupsafe, markupsafe._speedups as s; print(markupsafe.escape is s.escape, markupsafe.escape("<"))' 2>&1)
  [ "$out" = "True &lt;" ] && echo "ok a package set from lib/krait/python/sets (--packages markupsafe)" ||
    echo "FAIL krait python --packages markupsafe installed: $out"
fi
out=$(KRAIT_PYTHON_HOME="$W" "$K" python -c 1 2>&1)
case $out in *"'$W' (from KRAIT_PYTHON_HOME) is not a Python home"*) echo "ok a bad KRAIT_PYTHON_HOME is named" ;;
  *) echo "FAIL bad KRAIT_PYTHON_HOME: $out" ;; esac
mkdir -p lone/bin && cp "$K" lone/bin/krait
out=$(lone/bin/krait python -c 1 2>&1)
case $out in *"Python is not installed next to krait"*"$W/lone/bin"*) echo "ok a krait without its files says where it looked" ;;
  *) echo "FAIL lone krait: $out" ;; esac
if "$K" new spin-http hello >new.log 2>&1 && [ -f hello/krait.toml ]; then echo "ok krait new spin-http"
else echo "FAIL krait new: $(tail -n 2 new.log)"; fi
if (cd hello && PATH=/nonexistent "$K" build) >build.log 2>&1 && ls hello/.krait/*.krait >/dev/null 2>&1; then echo "ok krait build"
else echo "FAIL krait build: $(tail -n 2 build.log)"; fi
grep -q 'booted in .*, native code$' build.log && echo "ok krait build boots native code (tier auto)" ||
  echo "FAIL krait build's tier: $(grep booted build.log)"
(cd hello && exec "$K" serve --listen "127.0.0.1:$PORT" --quiet) >serve.log 2>&1 &
S=$!
if wait_http "http://127.0.0.1:$PORT/"; then
  body=$(curl -s "http://127.0.0.1:$PORT/")
  case $body in "Hello from hello!"*) echo "ok krait serve answers" ;; *) echo "FAIL krait serve body: $body" ;; esac
else echo "FAIL krait serve: $(tail -n 3 serve.log)"; fi
kill $S 2>/dev/null; wait $S 2>/dev/null
grep -q 'loaded its built snapshot in .*, native code$' serve.log && echo "ok krait serve runs native code (tier auto)" ||
  echo "FAIL krait serve's tier: $(grep 'app "hello"' serve.log)"
n=$(ls "$W"/cache/aot/*.so 2>/dev/null | wc -l)
[ "$n" = 0 ] && echo "ok nothing compiled into the cache" || echo "FAIL $n objects compiled into $W/cache/aot"
if [ -d "$P/share/krait/web" ]; then
  ("$K" serve --playground --listen "127.0.0.1:$PORT2" --quiet) >pg.log 2>&1 &
  S=$!
  if wait_http "http://127.0.0.1:$PORT2/web/playground/"; then echo "ok krait serve --playground from share/krait/web"
  else echo "FAIL krait serve --playground: $(tail -n 3 pg.log)"; fi
  kill $S 2>/dev/null; wait $S 2>/dev/null
fi
if cc -std=gnu11 -I"$P/include" embed.c "$P/lib/libkrait.a" -lm -lpthread -o embed 2>cc.log; then
  echo "ok a program builds against the installed krait.h and libkrait.a"
  out=$(./embed fib.wasm fib 50 2>&1)
  [ "$out" = 12586269025 ] && echo "ok it runs: fib 50" || echo "FAIL embed fib 50: $out"
else echo "FAIL cc against the install: $(head -n 3 cc.log)"; fi
EOF

if unshare -rm true 2>/dev/null; then
  unshare -rm sh "$W/inner.sh" "$ROOT" "$P" "$W" "$PORT" "$PORT2" hidden >"$W/inner.out" 2>&1
else
  echo "(unshare -rm is not allowed here: the source tree stays visible)"
  sh "$W/inner.sh" "$ROOT" "$P" "$W" "$PORT" "$PORT2" visible >"$W/inner.out" 2>&1
fi
cat "$W/inner.out"
pass=$((pass + $(grep -c '^ok ' "$W/inner.out"))) fail=$((fail + $(grep -c '^FAIL ' "$W/inner.out")))
[ "$(grep -c '^ok ' "$W/inner.out")" -ge 14 ] || bad "hidden run" "fewer checks ran than expected"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
