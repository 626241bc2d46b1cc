#!/bin/bash
# tests/packages/run.sh -- the `packages` tier of `make test`: package sets
# (scripts/build-packages.py, python/packages/) under krait python.
# Makes sure the base python.wasm is there (build-python.sh, from the
# cache), builds the markupsafe set (cached by its inputs; its native code
# too unless PKG_AOT=0) and checks: the set's layout; the base python.wasm
# untouched; the C speedups in use, on the AOT tier too; clear errors for
# an unbuilt set, a bad name and bad recipes. Then the set of markupsafe
# and msgpack (a Cython extension in C++): both extensions in use, and each
# package's own test suite (Debian's pytest, pure Python) under krait
# against the same suite run natively on Debian's python3-markupsafe and
# python3-msgpack. One "ok"/"FAIL" line per check, then "N passed, N failed".
# Does not own: the builder, serve's and the browser's use of sets
# (tests/serve/, tests/web/).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
K=build/krait
SET=build/python/sets/markupsafe
P=0 F=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok $1"; P=$((P + 1)); }
fail() { echo "FAIL $1: $2"; F=$((F + 1)); }
# check NAME WANT GOT: ok when GOT is WANT.
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want [$2], got [$3]"; fi; }

# the base and its native code (build-python.sh reinstalls build/python/
# but for sets/, so python-aot.sh puts aot/ back, from the cache)
if ! { sh scripts/build-python.sh && sh scripts/python-aot.sh; } >"$T/base.log" 2>&1; then
  tail -n 20 "$T/base.log"; echo "0 passed, 1 failed"; exit 1
fi
aot=--no-aot
[ "${PKG_AOT:-1}" = 1 ] && aot=""
base_sha=$(sha256sum <build/python/python.wasm)   # building sets must not touch it
if /usr/bin/python3.11 scripts/build-packages.py $aot markupsafe >"$T/build.log" 2>&1; then
  ok build-set
else
  tail -n 30 "$T/build.log"; fail build-set "build-packages.py markupsafe failed"
  echo "$P passed, $F failed"; exit 1
fi
grep -q 'check markupsafe: markupsafe 2.1.2 speedups: markupsafe._speedups' "$T/build.log" &&
  ok recipe-check || fail recipe-check "the recipe's check did not run in the build"

# ---- layout and the base ------------------------------------------------
for f in python.wasm bin/python3.11 lib/python3.11/os.py site-packages/markupsafe/__init__.py \
         site-packages/markupsafe/__pycache__/__init__.cpython-311.pyc \
         site-packages/markupsafe-2.1.2.dist-info/METADATA packages.txt; do
  [ -e "$SET/$f" ] && ok "layout $f" || fail "layout $f" "missing"
done
[ ! -e "$SET/site-packages/markupsafe/_speedups.c" ] && ok "layout no C sources" ||
  fail "layout no C sources" "_speedups.c was copied"
base=$(wc -c <build/python/python.wasm)
check base-python-untouched "$base_sha" "$(sha256sum <build/python/python.wasm)"
grow=$(( $(wc -c <"$SET/python.wasm") - base ))
[ $grow -gt 0 ] && [ $grow -lt 200000 ] && ok "set python.wasm grows by $grow bytes" ||
  fail set-size "grows by $grow bytes"
DOTTED='import sys; print(sorted(n for n in sys.builtin_module_names if "." in n))'
check base-no-dotted-builtins "[]" "$($K python --tier interp -c "$DOTTED" 2>&1)"
check set-dotted-builtins "['markupsafe._speedups']" \
  "$($K python --tier interp --packages markupsafe -c "$DOTTED" 2>&1)"
check base-no-markupsafe "ModuleNotFoundError" \
  "$($K python --tier interp -c 'import markupsafe' 2>&1 | tail -n 1 | cut -d: -f1)"

# ---- the speedups are the ones in use ------------------------------------
USE='import importlib.metadata as m, markupsafe, markupsafe._speedups as s
print(markupsafe.escape is s.escape, s.__spec__.origin, m.version("markupsafe"),
      markupsafe.escape("<&>"), markupsafe.Markup("<b>%s</b>") % "<i>")'
WANT='True built-in 2.1.2 &lt;&amp;&gt; <b>&lt;i&gt;</b>'
check speedups-interp "$WANT" "$($K python --tier interp --packages markupsafe -c "$USE" 2>&1)"

if [ -z "$aot" ]; then
  check speedups-aot "$WANT" "$($K python --tier aot --packages markupsafe -c "$USE" 2>&1)"
  ls "$SET"/aot/*.so >/dev/null 2>&1 && ok set-aot-object || fail set-aot-object "no $SET/aot/*.so"
fi

# ---- the packages' own tests: natively (Debian's python3-markupsafe and
# python3-msgpack) and under krait in the set of both
if /usr/bin/python3.11 scripts/build-packages.py $aot markupsafe,msgpack >"$T/both.log" 2>&1; then
  ok build-set-of-two
else
  tail -n 30 "$T/both.log"; fail build-set-of-two "build-packages.py markupsafe,msgpack failed"
fi
check set-of-two-builtins "['markupsafe._speedups', 'msgpack._cmsgpack']" \
  "$($K python --tier interp --packages msgpack,markupsafe -c "$DOTTED" 2>&1)"
MSG='import msgpack, msgpack._cmsgpack as c
d = {"a": [1, 2.5, None, True, b"\x00"], "n": -2**63}
print(msgpack.Packer is c.Packer, msgpack.unpackb(msgpack.packb(d)) == d, msgpack.packb(d).hex())'
check msgpack-extension "True True 82a1619501cb4004000000000000c0c3c40100a16ed38000000000000000" \
  "$($K python --tier interp --packages markupsafe,msgpack -c "$MSG" 2>&1)"
mkdir -p "$T/pytest"
# pytest and what it imports, from Debian's python3-pytest (pure Python),
# copied so the guest is granted only them
for p in _pytest pytest attr iniconfig packaging pluggy py py.py; do
  cp -R "/usr/lib/python3/dist-packages/$p" "$T/pytest/" 2>/dev/null ||
    fail pytest-files "/usr/lib/python3/dist-packages/$p is missing (apt-get install python3-pytest)"
done
PYTEST="-m pytest -q -rs -p no:cacheprovider -p no:faulthandler -p no:logging --capture=sys"
# summary LOG: "P passed F failed S skipped" from pytest's last line.
summary() {
  tail -n 1 "$1" | awk '{ for (i = 1; i < NF; i++) c[$(i + 1)] = $i }
    END { printf "%d passed %d failed %d skipped", c["passed"], c["failed"] + c["error"] + c["errors"], c["skipped"] }'
}
# suite NAME PACKAGE FILE SHA TESTS IMPL: the package's own tests (TESTS,
# a dir of its source tarball, copied alone so that the package imported
# is the installed one: Debian's natively, the set's under krait) natively
# and under krait; the counts must match, with nothing failed or skipped,
# and IMPL (Python printing the module of the package's implementation)
# must name its C extension on both sides.
suite() {
  src=$(KRAIT_CACHE="${KRAIT_CACHE:-$HOME/.cache/krait}" sh scripts/fetch-source.sh "$2" "$3" "$4" 2>/dev/null)
  mkdir -p "$T/$1/src" "$T/$1/run"
  tar -xf "$src" -C "$T/$1/src" --strip-components=1
  cp -R "$T/$1/src/$5" "$T/$1/run/"
  R="$T/$1/run"
  check "$1-native-impl" "$6" "$(cd "$R" && /usr/bin/python3.11 -c "$7" 2>&1)"
  check "$1-krait-impl" "$6" "$(cd "$R" && "$ROOT/$K" python --packages markupsafe,msgpack --dir "$R::$R:ro" -c "$7" 2>&1)"
  (cd "$R" && /usr/bin/python3.11 $PYTEST "$5") >"$T/$1-native.log" 2>&1
  native=$(summary "$T/$1-native.log")
  (cd "$R" && "$ROOT/$K" python --packages markupsafe,msgpack --site-packages "$T/pytest" \
     --dir "$R::$R:ro" -B $PYTEST "$5") >"$T/$1-krait.log" 2>&1
  got=$(summary "$T/$1-krait.log")
  echo "$1's own tests: native (Debian's package) $native; krait $got"
  case $native in
    [1-9]*" passed 0 failed 0 skipped") check "$1-suite" "$native" "$got" ;;
    *) fail "$1-suite-native" "natively: $native"; tail -n 5 "$T/$1-native.log" ;;
  esac
  [ "$native" = "$got" ] || tail -n 20 "$T/$1-krait.log"
}
suite markupsafe markupsafe markupsafe_2.1.2.orig.tar.gz \
  abcabc8c2b26036d62d4c746381a6f7cf60aafcc653198ad678306986b09450d tests \
  "markupsafe._speedups" 'import markupsafe; print(markupsafe.escape.__module__)'
suite msgpack python-msgpack python-msgpack_1.0.3.orig.tar.xz \
  aaf224d71056d291308a57ec2aa7dbe7f99d8fb4bea115d411b57827ed749197 test \
  "msgpack._cmsgpack" 'import msgpack; print(msgpack.Packer.__module__)'

# ---- errors --------------------------------------------------------------
out=$($K python --packages markupsafe,nosuch -c pass 2>&1); rc=$?
case "$rc:$out" in
  "1:Error: the package set 'markupsafe+nosuch' is not built"*"built sets: "*markupsafe*"make python PACKAGES=markupsafe+nosuch"*)
    ok error-unbuilt-set ;;
  *) fail error-unbuilt-set "rc $rc: $out" ;;
esac
out=$($K python --packages 'Numpy' -c pass 2>&1); rc=$?
check error-bad-name "1:Error: --packages 'Numpy': 'Numpy' is not a package name (lowercase letters, digits, '_' and '-', not first)" "$rc:$out"
out=$($K python --packages 'markupsafe,,msgpack' -c pass 2>&1); rc=$?
check error-empty-name "1:Error: --packages 'markupsafe,,msgpack': an empty name in 'markupsafe,,msgpack'" "$rc:$out"
# a set linked on another base python.wasm is refused (base.txt against the
# home's sizes.txt): a home of links whose sizes.txt names another key
mkdir -p "$T/home/sets"
ln -s "$ROOT/build/python/lib" "$T/home/lib"
ln -s "$ROOT/build/python/python.wasm" "$T/home/python.wasm"
printf 'key                 0123456789abcdef\n' >"$T/home/sizes.txt"
cp -a "$SET" "$T/home/sets/markupsafe"
out=$($K python --python-home "$T/home" --packages markupsafe -c pass 2>&1); rc=$?
case "$rc:$out" in
  "1:Error: the package set 'markupsafe' ("*") is out of date: it was linked on another build of python.wasm (key $(cat "$SET/base.txt"); this home's is 0123456789abcdef); run 'make python'"*)
    ok error-stale-set ;;
  *) fail error-stale-set "rc $rc: $out" ;;
esac
mkdir -p "$T/recipes"
cp python/packages/markupsafe.toml "$T/recipes/"
printf 'name = "bad"\nversion = "1"\ncolour = "red"\n' >"$T/recipes/bad.toml"
printf 'name = "half"\nversion = "1"\n' >"$T/recipes/half.toml"
printf 'name = "notoml"\nversion = \n' >"$T/recipes/notoml.toml"
# builder NAME: the builder's error for set NAME with the recipes in $T/recipes
builder() { KRAIT_RECIPES="$T/recipes" /usr/bin/python3.11 scripts/build-packages.py --no-aot "$1" 2>&1 | tail -n 1; }
check recipe-unknown-key "packages: error: $T/recipes/bad.toml: top level: unknown key 'colour' (allowed: check, extension, name, python, source, summary, version)" "$(builder bad)"
check recipe-missing-key "packages: error: $T/recipes/half.toml: top level: 'source' is missing" "$(builder half)"
case $(builder notoml) in
  "packages: error: $T/recipes/notoml.toml: Invalid value (at line 2, column 11)") ok recipe-not-toml ;;
  *) fail recipe-not-toml "$(builder notoml)" ;;
esac
check recipe-none "packages: error: no recipe for package 'nosuch' ($T/recipes/nosuch.toml); recipes: bad, half, markupsafe, notoml" "$(builder nosuch)"
printf 'name = "lang"\nversion = "1"\n[source]\npackage = "x"\nfile = "x"\nsha256 = "0"\n[python]\npackages = ["lang"]\n[[extension]]\nmodule = "lang._x"\nsources = ["x.c"]\nlanguage = "fortran"\n' >"$T/recipes/lang.toml"
check recipe-bad-language "packages: error: $T/recipes/lang.toml: extension[0]: language = 'fortran' (\"c\" or \"c++\")" "$(builder lang)"
echo "$P passed, $F failed"
[ $F -eq 0 ]
