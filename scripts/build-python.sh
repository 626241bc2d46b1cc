#!/bin/sh
# scripts/build-python.sh -- `make python`: CPython 3.11.2 for wasm32-wasi,
# built from Debian 12's source packages, cached outside the repo.
#
#   sh scripts/build-python.sh [--force]
#
# Owns: the pinned sources (the upstream orig tarballs of python3.11,
# zlib, bzip2, xz-utils and sqlite3, pinned by name and sha256 in PINNED,
# fetched by scripts/fetch-source.sh through `apt-get source
# --download-only PKG=VERSION` of whichever Debian version carries them;
# needs the deb-src entry that `sh scripts/bootstrap.sh python` adds;
# CPython unpatched), building zlib, bzip2, liblzma and SQLite as
# static wasm32-wasi libraries, configuring and building CPython with its
# own Tools/wasm/config.site-wasm32-wasi, the trimmed stdlib (directory and
# python311.zip, both with .pyc), and the cache:
#
#   ${KRAIT_CACHE:-$HOME/.cache/krait}/src/<package>/     downloaded sources
#   ${KRAIT_CACHE:-$HOME/.cache/krait}/python-<key>/      one finished build
#       python.wasm  lib/python3.11/  lib/python311.zip  modules.txt
#       sizes.txt  wasm-info.txt  build.log  COMPLETE
#       devkit/   what linking python.wasm again takes (python-devkit.py),
#                 for package sets (build-packages.py)
#
# <key> hashes every input: the orig tarballs' sha256, this script,
# tests/guest/compat/wasm_compat.c, krait's own python/c/*.c and
# python/lib/*.py, and the versions of the toolchain packages. A complete cache entry is copied to build/python/ without
# building. --force rebuilds even when the entry exists. The build tree
# (build/python-work/, with build.log) is kept for inspection.
# Output: build/python/{python.wasm,lib/,testlib/test/,modules.txt,sizes.txt,
# wasm-info.txt}; testlib/ is CPython's Lib/test for `make test-python`.
# Environment: KRAIT_CACHE, PY_JOBS (make -j, default 2).
# Does not own: installing packages (scripts/bootstrap.sh), running the
# result (tests/python/run.sh).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/build-python.sh"
CACHE="${KRAIT_CACHE:-$HOME/.cache/krait}"
OUT="$ROOT/build/python"
WORK="$ROOT/build/python-work"
JOBS="${PY_JOBS:-2}"
PYVER=3.11.2
CLANG=clang-16
BUILD_PY=/usr/bin/python3.11
TOOL_PKGS="clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 python3.11 tzdata"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

T0=$(date +%s)
say()  { printf 'python: [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die()  { printf 'python: error: %s\n' "$*" >&2; exit 1; }

for tool in $CLANG wasm-ld-16 llvm-ar-16 llvm-ranlib-16 llvm-strip-16 $BUILD_PY \
            apt-get dpkg-query sha256sum tar xz bzip2 gzip cc make tclsh; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool not found; run: sh scripts/bootstrap.sh python"
done

# ---- sources -------------------------------------------------------------
# The upstream (orig) tarballs the build expects, pinned by name and
# sha256: package, file, sha256. Whichever Debian source version carries a
# file is used to fetch it, newest first, so a security upload that the
# mirror lacks (it happened to zlib's +deb12u1) or a new upload never
# changes python.wasm by surprise. Only the orig tarballs are used
# (CPython unpatched); Debian's own patches are not applied.
PINNED="python3.11 python3.11_3.11.2.orig.tar.gz 2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
zlib zlib_1.2.13.dfsg.orig.tar.bz2 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
bzip2 bzip2_1.0.8.orig.tar.gz ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269
xz-utils xz-utils_5.4.1.orig.tar.xz 5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5
sqlite3 sqlite3_3.40.1.orig.tar.xz aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"

# fetch PKG: the pinned tarball of PKG (scripts/fetch-source.sh: apt-get
# source --download-only of whichever version carries it, cached in
# $CACHE/src/PKG/). Prints the file's path; appends "PKG VERSION FILE" to
# $SOURCES_USED.
fetch() {
  line=$(echo "$PINNED" | awk -v p="$1" '$1 == p')
  KRAIT_CACHE="$CACHE" sh "$ROOT/scripts/fetch-source.sh" "$1" \
    "$(echo "$line" | cut -d' ' -f2)" "$(echo "$line" | cut -d' ' -f3)" "$SOURCES_USED"
}

SOURCES_USED=$(mktemp)
trap 'rm -f "$SOURCES_USED"' EXIT
PY_TAR=$(fetch python3.11)
ZLIB_TAR=$(fetch zlib)
BZ2_TAR=$(fetch bzip2)
XZ_TAR=$(fetch xz-utils)
SQLITE_TAR=$(fetch sqlite3)

# ---- cache key -------------------------------------------------------------
versions=$(dpkg-query -W -f='${Package}=${Version}\n' $TOOL_PKGS 2>/dev/null) ||
  die "toolchain packages missing; run: sh scripts/bootstrap.sh python"
KEY=$( { sha256sum "$PY_TAR" "$ZLIB_TAR" "$BZ2_TAR" "$XZ_TAR" "$SQLITE_TAR" | cut -d' ' -f1
         sha256sum "$SELF" "$ROOT/scripts/python-devkit.py" "$ROOT/tests/guest/compat/wasm_compat.c" \
                   "$ROOT"/python/c/*.[ch] "$ROOT"/python/lib/*.py | cut -d' ' -f1
         echo "$versions"; } | sha256sum | cut -c1-16)
ENTRY="$CACHE/python-$KEY"

install_out() {
  # everything but sets/ (package sets: build-packages.py relinks them on
  # the new base when make python runs it next)
  mkdir -p "$OUT"
  find "$OUT" -mindepth 1 -maxdepth 1 ! -name sets -exec rm -rf {} +
  cp -R "$ENTRY/python.wasm" "$ENTRY/lib" "$ENTRY/testlib" "$ENTRY/modules.txt" "$ENTRY/sizes.txt" "$OUT/"
  if [ -f "$ENTRY/wasm-info.txt" ]; then cp "$ENTRY/wasm-info.txt" "$OUT/"; fi
  # bin/python3.11: sys.executable as the guest sees it (krait python
  # grants bin/ at /usr/local/bin), the same file as python.wasm.
  mkdir -p "$OUT/bin"
  ln "$OUT/python.wasm" "$OUT/bin/python3.11" 2>/dev/null ||
    cp "$OUT/python.wasm" "$OUT/bin/python3.11"
  echo "$ENTRY" >"$OUT/CACHE_ENTRY"
}

if [ "$FORCE" = 0 ] && [ -f "$ENTRY/COMPLETE" ]; then
  install_out
  say "cached build $ENTRY -> build/python/"
  cat "$OUT/sizes.txt"
  exit 0
fi

say "building CPython $PYVER for wasm32-wasi (key $KEY, make -j$JOBS)"
rm -rf "$WORK"
mkdir -p "$WORK"
LOG="$WORK/build.log"
: >"$LOG"

# step NAME CMD...: runs CMD with output appended to the log; on failure
# shows the log's tail and stops.
step() {
  name=$1; shift
  say "$name"
  echo "==== $name: $*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "---- last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    die "step '$name' failed (full log: $LOG)"
  fi
}

# ---- toolchain -----------------------------------------------------------
# An isolated sysroot: only wasi-libc's headers and libraries, so no host
# header from /usr/include can leak into the build. clang's WASI driver
# looks in <sysroot>/{include,lib}/wasm32-wasi (multiarch layout).
SYSROOT="$WORK/sysroot"
mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -s /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
DEPS="$WORK/deps"
mkdir -p "$DEPS/include" "$DEPS/lib"
WCC="$CLANG --target=wasm32-wasi --sysroot=$SYSROOT"
DEP_CFLAGS="-O2 -fno-stack-protector"
AR=llvm-ar-16
RANLIB=llvm-ranlib-16

# Debian's libclang_rt.builtins-wasm32.a references __stack_chk_guard and
# __stack_chk_fail; the project's shim defines them (linked as an object).
step "compat shim" $WCC $DEP_CFLAGS -c "$ROOT/tests/guest/compat/wasm_compat.c" -o "$DEPS/lib/wasm_compat.o"
# krait's own C for python.wasm (python/c/krait_*.c): the starting
# directory, the utimensat/futimens fix (linked with --wrap). The _krait
# module (python/c/_kraitmodule.c) is built by CPython's own Makefile.
KRAIT_OBJS=""
for c in "$ROOT"/python/c/krait_*.c; do
  o="$DEPS/lib/$(basename "${c%.c}").o"
  step "python/c/$(basename "$c")" $WCC $DEP_CFLAGS -c "$c" -o "$o"
  KRAIT_OBJS="$KRAIT_OBJS $o"
done

# untar TARBALL DIR: unpacks into DIR (one top-level directory stripped).
untar() { mkdir -p "$2" && tar -xf "$1" -C "$2" --strip-components=1; }

# static_lib NAME SRCDIR FILES...: compiles FILES (in SRCDIR) into libNAME.a
# with $DEP_CFLAGS and $LIB_CFLAGS.
static_lib() {
  lib=$1 dir=$2; shift 2
  objs=""
  for s in "$@"; do
    $WCC $DEP_CFLAGS ${LIB_CFLAGS:-} -c "$dir/$s" -o "$dir/${s%.c}.o" || return 1
    objs="$objs $dir/${s%.c}.o"
  done
  rm -f "$DEPS/lib/lib$lib.a"
  $AR rc "$DEPS/lib/lib$lib.a" $objs && $RANLIB "$DEPS/lib/lib$lib.a"
}

step "unpack zlib ($(basename "$ZLIB_TAR"))" untar "$ZLIB_TAR" "$WORK/zlib"
LIB_CFLAGS="-DHAVE_UNISTD_H -D_LARGEFILE64_SOURCE=1 -Wno-deprecated-non-prototype"
step "build libz.a" static_lib z "$WORK/zlib" adler32.c compress.c crc32.c deflate.c \
  gzclose.c gzlib.c gzread.c gzwrite.c infback.c inffast.c inflate.c inftrees.c \
  trees.c uncompr.c zutil.c
cp "$WORK/zlib/zlib.h" "$WORK/zlib/zconf.h" "$DEPS/include/"

step "unpack bzip2 ($(basename "$BZ2_TAR"))" untar "$BZ2_TAR" "$WORK/bzip2"
LIB_CFLAGS="-D_FILE_OFFSET_BITS=64"
step "build libbz2.a" static_lib bz2 "$WORK/bzip2" blocksort.c huffman.c crctable.c \
  randtable.c compress.c decompress.c bzlib.c
cp "$WORK/bzip2/bzlib.h" "$DEPS/include/"

# liblzma through xz's own configure (a cross build: no xz tools, no
# threads). Its single-threaded sigprocmask() helper is unused by liblzma
# and does not compile against wasi-libc, so it is compiled out on WASI.
build_lzma() {
  sed -i 's/^#if !(defined(_WIN32) \&\& !defined(__CYGWIN__))$/& \&\& !defined(__wasi__)/' \
    "$WORK/xz/src/common/mythread.h" &&
  grep -q '__wasi__' "$WORK/xz/src/common/mythread.h" &&
  (cd "$WORK/xz" &&
   ./configure -q --host=wasm32-unknown-wasi --build="$(uname -m)-linux-gnu" \
     CC="$WCC" AR=$AR RANLIB=$RANLIB CFLAGS="$DEP_CFLAGS" \
     --prefix="$DEPS" --disable-shared --enable-static --disable-threads \
     --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
     --disable-lzma-links --disable-scripts --disable-doc --disable-nls) &&
  make -C "$WORK/xz/src/liblzma" -j"$JOBS" &&
  make -C "$WORK/xz/src/liblzma" install
}
step "unpack xz-utils ($(basename "$XZ_TAR"))" untar "$XZ_TAR" "$WORK/xz"
step "build liblzma.a (configure + make)" build_lzma

# SQLite: Debian ships the full source tree, so the amalgamation (sqlite3.c)
# is generated natively first (host cc + tclsh), then compiled for WASI with
# no threads, no WAL, no mmap, no extension loading, and the "unix-none"
# VFS (no file locking: wasi-libc has no fcntl locks) as the default. The
# shim declares what the unix VFS references and wasi-libc lacks.
build_sqlite() {
  command -v tclsh >/dev/null 2>&1 || { echo "tclsh not found (package tcl)"; return 1; }
  (cd "$WORK/sqlite" && env -u CC -u CFLAGS ./configure -q && make sqlite3.c) || return 1
  cat >"$WORK/sqlite/wasi_shim.h" <<'SHIM'
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
static inline int fchmod(int fd, mode_t m) { (void)fd; (void)m; return 0; }
static inline int fchown(int fd, uid_t u, gid_t g) { (void)fd; (void)u; (void)g; return 0; }
static inline uid_t geteuid(void) { return 0; }
SHIM
  LIB_CFLAGS="-include $WORK/sqlite/wasi_shim.h -D_WASI_EMULATED_GETPID
    -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL
    -DSQLITE_MAX_MMAP_SIZE=0
    -DSQLITE_DEFAULT_UNIX_VFS=\"unix-none\"" \
    static_lib sqlite3 "$WORK/sqlite" sqlite3.c &&
  cp "$WORK/sqlite/sqlite3.h" "$DEPS/include/"
}
step "unpack sqlite3 ($(basename "$SQLITE_TAR"))" untar "$SQLITE_TAR" "$WORK/sqlite"
step "build libsqlite3.a (amalgamation, then wasm32-wasi)" build_sqlite

# ---- CPython -------------------------------------------------------------
SRC="$WORK/Python-$PYVER"
step "unpack $(basename "$PY_TAR") (upstream, unpatched)" untar "$PY_TAR" "$SRC"
BLD="$SRC/builddir/wasi"
mkdir -p "$BLD"

# -Wno-error=int-conversion: clang 16 makes int-conversion an error and
# Modules/timemodule.c trips it on WASI.
# The recursion limit is native CPython's 1000 (WASI builds default to
# 600). The stack and first memory size are CPython's own WASI link flags
# (configure's CONFIGURE_LDFLAGS_NODIST: -z stack-size=524288,
# --stack-first, --initial-memory=10485760, placed after LDFLAGS, so they
# are the ones that count): a 512 KiB stack, first in memory, so an
# overflow leaves memory (a clean trap) instead of corrupting data; 1000
# levels of recursion through C fit in it (tests/python/run.sh checks 990
# levels of nested repr, json and pickle each way).
PY_CFLAGS="-O2 -Wno-error=int-conversion -DPy_DEFAULT_RECURSION_LIMIT=1000"
PY_LDFLAGS="-Wl,--wrap=utimensat,--wrap=futimens"  # python/c/krait_utimens.c
PY_LDFLAGS="$PY_LDFLAGS -Wl,--export=krait_handle_direct,--export-table"  # python/c/krait_abi.h
# pymalloc, which configure leaves off for WASI: without it every small
# object is a dlmalloc call. Sound on wasm32: 3.11's address_in_range()
# asks a radix tree of arena addresses (a static 128 KiB leaf array for
# 32-bit pointers) and reads no pool header of a foreign pointer; with no
# mmap (HAVE_MMAP unset) its 256 KiB arenas come from malloc().

configure_py() {
  cd "$BLD" &&
  env CONFIG_SITE="$SRC/Tools/wasm/config.site-wasm32-wasi" \
    CC="$WCC" CPP="$WCC -E" LDSHARED="$WCC" AR=$AR RANLIB=$RANLIB \
    CFLAGS="$PY_CFLAGS" LDFLAGS="$PY_LDFLAGS" LIBS="$DEPS/lib/wasm_compat.o$KRAIT_OBJS" \
    PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$DEPS/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$SYSROOT" \
    ZLIB_CFLAGS="-I$DEPS/include" ZLIB_LIBS="-L$DEPS/lib -lz" \
    BZIP2_CFLAGS="-I$DEPS/include" BZIP2_LIBS="-L$DEPS/lib -lbz2" \
    LIBLZMA_CFLAGS="-I$DEPS/include" LIBLZMA_LIBS="-L$DEPS/lib -llzma" \
    LIBSQLITE3_CFLAGS="-I$DEPS/include" LIBSQLITE3_LIBS="-L$DEPS/lib -lsqlite3" \
    "$SRC/configure" -C \
      --host=wasm32-unknown-wasi --build="$(uname -m)-linux-gnu" \
      --with-build-python="$BUILD_PY" --prefix=/usr/local \
      --without-ensurepip --with-pymalloc
}
step "configure" configure_py
# The _krait module (krait serve's host interface) and krait_init /
# krait_handle: a built-in module through Modules/Setup.local.
add_krait_module() {
  cp "$ROOT/python/c/_kraitmodule.c" "$ROOT/python/c/krait_abi.h" "$SRC/Modules/" &&
  mkdir -p "$BLD/Modules" &&
  printf '# krait: the host interface of krait serve\n_krait _kraitmodule.c\n' \
    >"$BLD/Modules/Setup.local"
}
step "Modules/Setup.local: _krait" add_krait_module
step "make -j$JOBS (the longest step)" make -C "$BLD" -j"$JOBS"
[ -f "$BLD/python.wasm" ] || die "no python.wasm after make (log: $LOG)"

# ---- result ------------------------------------------------------------
STAGE="$WORK/stage"
mkdir -p "$STAGE"
cp "$BLD/python.wasm" "$STAGE/python.wasm"
# The devkit: python.wasm's own link inputs and headers, kept in the cache
# entry (not in build/python/) for scripts/build-packages.py, which links
# package sets from it.
step "devkit (scripts/python-devkit.py)" "$BUILD_PY" "$ROOT/scripts/python-devkit.py" "$BLD" "$SRC" "$STAGE/devkit"

# The trimmed stdlib: Lib/ without tests, GUI, packaging bootstrap and demo
# code, plus the generated _sysconfigdata; as a directory and as a zip.
trim_stdlib() {
  TZDATA_VERSION=$(dpkg-query -W -f='${Version}' tzdata) "$BUILD_PY" - "$SRC/Lib" "$BLD" "$STAGE/lib" "$ROOT/python/lib" "$STAGE/testlib" <<'EOF'
import os, shutil, sys, zipfile, glob
src, bld, out, ours, testout = sys.argv[1:]
dst = os.path.join(out, "python3.11")
OMIT_DIRS = {"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo",
             "ensurepip", "__pycache__", "site-packages"}
OMIT_FILES = {"turtle.py"}
def skip(rel):
    parts = rel.split(os.sep)
    return any(p in OMIT_DIRS for p in parts[:-1]) or parts[-1] in OMIT_FILES
files = []
for base, dirs, names in os.walk(src):
    dirs[:] = sorted(d for d in dirs if d not in OMIT_DIRS)
    for n in sorted(names):
        rel = os.path.relpath(os.path.join(base, n), src)
        if skip(rel) or n.endswith((".pyc", ".exe", ".whl")):
            continue
        files.append(rel)
for rel in files:
    os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
    shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel))
# build/lib.wasi-wasm32-3.11/_sysconfigdata__wasi_wasm32-wasi.py
pybuilddir = open(os.path.join(bld, "pybuilddir.txt")).read().strip()
for f in glob.glob(os.path.join(bld, pybuilddir, "_sysconfigdata_*.py")):
    shutil.copy2(f, dst)
    files.append(os.path.basename(f))
# krait's additions (python/lib/: sitecustomize.py).
for f in sorted(glob.glob(os.path.join(ours, "*.py"))):
    shutil.copy2(f, dst)
    files.append(os.path.basename(f))
# The IANA time zone database (Debian's tzdata package, its version in the
# cache key), as the `tzdata` package zoneinfo falls back to (PyPI's
# layout: tzdata/zoneinfo/<Area>/<Zone>, a package per directory so
# importlib.resources finds them in the zip too, and tzdata/zones).
zi = "/usr/share/zoneinfo"
tzver = os.environ.get("TZDATA_VERSION", "unknown")
zones = []
for base, dirs, names in os.walk(zi):
    dirs[:] = sorted(d for d in dirs if d not in ("posix", "right"))
    for n in sorted(names):
        path = os.path.join(base, n)
        with open(path, "rb") as fh:
            if fh.read(4) != b"TZif":
                continue
        zones.append(os.path.relpath(path, zi))
pkgdirs = {"tzdata", "tzdata/zoneinfo"}
for z in zones:
    rel = os.path.join("tzdata", "zoneinfo", z)
    os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(zi, z), os.path.join(dst, rel))
    files.append(rel)
    d = os.path.dirname(rel)
    while d and d not in pkgdirs:
        pkgdirs.add(d)
        d = os.path.dirname(d)
for d in sorted(pkgdirs):
    init = os.path.join(d, "__init__.py")
    with open(os.path.join(dst, init), "w") as fh:
        if d == "tzdata":
            fh.write('"""The IANA time zone database, from Debian\'s tzdata %s."""\n'
                     'IANA_VERSION = "%s"\n' % (tzver, tzver.split("-")[0]))
    files.append(init)
with open(os.path.join(dst, "tzdata", "zones"), "w") as fh:
    fh.write("".join(z + "\n" for z in sorted(zones)))
files.append(os.path.join("tzdata", "zones"))
print(len(zones), "time zones (tzdata %s)" % tzver)
os.makedirs(os.path.join(dst, "lib-dynload"), exist_ok=True)
# Bytecode, so that the guest does not compile the stdlib on every run:
# the build python is the same 3.11.2 (same magic number); unchecked-hash
# pycs are never revalidated against the source. In the directory:
# __pycache__/NAME.cpython-311.pyc; in the zip: NAME.pyc next to NAME.py
# (zipimport's layout).
import py_compile
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
pycs = {}
for rel in files:
    if not rel.endswith(".py"):
        continue
    d, n = os.path.split(rel)
    cache = os.path.join(dst, d, "__pycache__", n[:-3] + ".cpython-311.pyc")
    try:
        py_compile.compile(os.path.join(dst, rel), cfile=cache, dfile=rel,
                           doraise=True, invalidation_mode=mode)
    except py_compile.PyCompileError as e:
        print("not compiled:", rel, e.msg.splitlines()[-1])
        continue
    pycs[rel[:-3] + ".pyc"] = cache
with zipfile.ZipFile(os.path.join(out, "python311.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for rel in sorted(files):
        z.write(os.path.join(dst, rel), rel)
    for rel in sorted(pycs):
        z.write(pycs[rel], rel)
print(len(files), "files,", len(pycs), "compiled")
# CPython's own test suite (Lib/test), kept apart from the stdlib for
# `make test-python`: testlib/test/, compiled the same way.
shutil.copytree(os.path.join(src, "test"), os.path.join(testout, "test"),
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
ntest = 0
for base, dirs, names in os.walk(os.path.join(testout, "test")):
    for n in names:
        if not n.endswith(".py"):
            continue
        rel = os.path.relpath(os.path.join(base, n), testout)
        try:
            py_compile.compile(os.path.join(base, n), dfile=rel, doraise=True,
                               invalidation_mode=mode)
            ntest += 1
        except py_compile.PyCompileError:
            pass  # a few test files are deliberately invalid
print("test suite:", ntest, "modules compiled")
EOF
}
step "trim stdlib (lib/python3.11/, lib/python311.zip)" trim_stdlib

# Modules: built-in (Modules/config.c) and configure's verdict for each
# optional one (MODULE_<NAME>_STATE in the Makefile).
{
  echo "# built into python.wasm (Modules/config.c)"
  sed -n 's/^ *{"\([^"]*\)", PyInit_.*/\1/p' "$BLD/Modules/config.c" | sort | tr '\n' ' '
  echo
  for st in missing disabled n/a; do
    echo "# $st (configure: MODULE_*_STATE=$st)"
    sed -n "s|^MODULE_\\(.*\\)_STATE=$st\$|\\1|p" "$BLD/Makefile" | tr 'A-Z' 'a-z' | sort | tr '\n' ' '
    echo
  done
} >"$STAGE/modules.txt"

STRIPPED="$WORK/python.stripped.wasm"
llvm-strip-16 -o "$STRIPPED" "$STAGE/python.wasm" 2>/dev/null || cp "$STAGE/python.wasm" "$STRIPPED"
# What the module needs from its host: imports (WASI calls) and the
# target_features section (wasm proposals used).
if command -v wasm-objdump >/dev/null 2>&1; then
  { echo "# imports"
    wasm-objdump -x -j Import "$STAGE/python.wasm" | sed -n 's/.*<- //p'
    echo "# target_features"
    wasm-objdump -x -j target_features "$STAGE/python.wasm" | sed -n 's/^ *- \[+\] //p'
    echo "# sections"
    wasm-objdump -h "$STAGE/python.wasm" | sed -n 's/^ *\([A-Za-z]*\) start=.*count: \([0-9]*\)$/\1 \2/p'
  } >"$STAGE/wasm-info.txt"
fi
size() { wc -c <"$1" | tr -d ' '; }
dsize() { du -sk "$1" | cut -f1; }
T1=$(date +%s)
{
  echo "key                 $KEY"
  echo "build seconds       $((T1 - T0))"
  echo "python.wasm         $(size "$STAGE/python.wasm") bytes"
  echo "python.wasm strip   $(size "$STRIPPED") bytes"
  echo "lib/python3.11/     $(dsize "$STAGE/lib/python3.11") KiB"
  echo "lib/python311.zip   $(size "$STAGE/lib/python311.zip") bytes"
  while read -r pkg ver file; do
    printf 'source %-12s %s (Debian %s)\n' "$pkg" "$file" "$ver"
  done <"$SOURCES_USED"
} >"$STAGE/sizes.txt"

# Publish atomically: build into a temporary entry, then rename.
rm -rf "$ENTRY.tmp" "$ENTRY"
mkdir -p "$CACHE"
cp -R "$STAGE" "$ENTRY.tmp"
cp "$LOG" "$ENTRY.tmp/build.log"
touch "$ENTRY.tmp/COMPLETE"
mv "$ENTRY.tmp" "$ENTRY"
install_out
say "done: build/python/ (cached in $ENTRY)"
cat "$OUT/modules.txt"
cat "$OUT/sizes.txt"
