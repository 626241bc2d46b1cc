#!/bin/sh
# scripts/bootstrap.sh -- installs the Debian 12 packages krait's build,
# tests, benches and demo need. Idempotent: checks each package with dpkg
# and runs apt-get (update first) only when something is missing.
# Does not own: anything outside apt (node is used as found, never replaced).
set -eu

#   sh scripts/bootstrap.sh          what `make`, `make test`, bench, demo need
#     (including the key-value store's backends: libsqlite3-dev and
#     libhiredis-dev to build src/kv/ and the redis binding, redis-server
#     that tests/host/test_kv.c and tests/serve/redis.sh start on a free port, sqlite3 to inspect store files; zlib (deflate)
#     and OpenSSL's libcrypto (SHA-256) for snapshot files; wrk and gunicorn
#     for `make bench-serve`: the load generator and the no-isolation WSGI
#     baseline; chromium for the browser tests, which playwright-core from
#     npm drives; brotli for `make web`'s precompressed FILE.br siblings,
#     which krait serve --playground sends to browsers that accept br;
#     curl, which the demo and the serve and web tests talk HTTP with; procps
#     (ps, for the demo's pid check); the openssl command, which
#     tests/serve/security.sh makes keys with; ca-certificates, so npm can
#     reach its registry over TLS -- a minimal Debian root has none of these;
#     libicu-dev, ICU's Unicode character data (categories, lowercase,
#     NFD) for the WordPiece tokenizer (src/llm/ucd.c),
#     libpq-dev, the PostgreSQL client library the postgres binding
#     (src/app/pgdb.c) links, and postgresql-15, the server
#     tests/serve/postgres.sh starts on a free port; haproxy, the load
#     balancer of tests/cluster/, which starts it and postgresql-15 too;
#     python3-numpy, for Debian's /usr/bin/python3: the LLM tests' GGUF
#     writer, quantizers and numpy reference forward pass, tests/llm/)
#   sh scripts/bootstrap.sh python   what `make python` needs in addition:
#     a deb-src entry (for `apt-get source`) and the wasm32-wasi toolchain,
#     the build python (python3.11), dpkg-dev (apt-get source), pkg-config,
#     tcl (tclsh generates SQLite's amalgamation), xz-utils and bzip2 (to
#     unpack the tarballs), wabt (wasm-objdump for the build summary),
#     python3-flask (pure-Python packages that tests/python/cli.sh imports
#     under krait with --site-packages), python3-requests (with urllib3,
#     idna, certifi, chardet, charset-normalizer: what tests/sdk/test_net.py
#     and tests/serve/http_out.sh's WSGI app call out with), util-linux (script(1): a pty for
#     the REPL check), tzdata (the time zone database python.wasm ships
#     as its `tzdata` package), python3-pytest (pure Python: the package
#     tests run packages' own suites with it under krait, tests/packages/,
#     against Debian's python3-msgpack natively), cython3 (Cython for
#     recipes with .pyx sources), libc++-16-dev-wasm32 and
#     libc++abi-16-dev-wasm32 (C++ extensions, e.g. msgpack's).
PKGS="build-essential gcc make clang clang-16 lld-16 llvm-16
      wasi-libc libclang-rt-16-dev libclang-rt-16-dev-wasm32
      wabt libjansson-dev hyperfine valgrind
      csmith libcsmith-dev
      libsqlite3-dev libhiredis-dev redis-server sqlite3
      zlib1g-dev liblzma-dev libssl-dev
      wrk gunicorn chromium brotli
      curl procps openssl ca-certificates libpq-dev postgresql-15
      haproxy libicu-dev python3-numpy"
PY_PKGS="clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32
      python3.11 dpkg-dev pkg-config make gcc wabt tcl xz-utils bzip2
      python3-flask python3-requests util-linux tzdata python3-pytest
      python3-msgpack cython3 libc++-16-dev-wasm32 libc++abi-16-dev-wasm32"

MODE="${1:-default}"
case "$MODE" in
  default) ;;
  python) PKGS="$PY_PKGS" ;;
  *) echo "bootstrap: unknown mode '$MODE' (expected: python or nothing)" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# need_root WHAT: fail clearly when neither root nor sudo is available.
need_root() {
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "bootstrap: need root (or sudo) to $1" >&2; exit 1
  fi
}

# has_deb_src: true when some enabled apt source already has deb-src.
has_deb_src() {
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -Eiq '^[[:space:]]*Types:.*deb-src' "$f" && return 0
  done
  return 1
}

# add_deb_src: mirrors every enabled Debian `deb` source (one-line .list
# entries and deb822 .sources stanzas, e.g. bookworm, bookworm-updates,
# bookworm-security) as `deb-src` in /etc/apt/sources.list.d/krait-deb-src.*
# and runs apt-get update. Does nothing when a deb-src entry exists.
SRC_LIST=/etc/apt/sources.list.d/krait-deb-src.list
SRC_822=/etc/apt/sources.list.d/krait-deb-src.sources
add_deb_src() {
  has_deb_src && return 0
  need_root "add a deb-src apt source"
  tmp_l=$(mktemp); tmp_s=$(mktemp)
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb\([[:space:]].*debian.*\)$/deb-src\1/p' "$f" >>"$tmp_l"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One stanza per blank-line-separated block; keep those whose Types has
    # `deb` and whose URIs name a Debian archive, with Types: deb-src.
    awk 'function flush() { if (blk != "" && isdeb && isdebian) print blk "\n";
                             blk = ""; isdeb = 0; isdebian = 0 }
         /^[[:space:]]*$/ { flush(); next }
         /^[[:space:]]*#/ { next }
         tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1;
                                   blk = blk "Types: deb-src\n"; next }
         tolower($1) == "uris:" && /debian/ { isdebian = 1 }
         { blk = blk $0 "\n" }
         END { flush() }' "$f" >>"$tmp_s"
  done
  if [ ! -s "$tmp_l" ] && [ ! -s "$tmp_s" ]; then
    rm -f "$tmp_l" "$tmp_s"
    echo "bootstrap: no Debian 'deb' source found to mirror as deb-src" >&2; exit 1
  fi
  if [ -s "$tmp_l" ]; then $SUDO install -m 644 "$tmp_l" "$SRC_LIST"; echo "bootstrap: wrote $SRC_LIST"; fi
  if [ -s "$tmp_s" ]; then $SUDO install -m 644 "$tmp_s" "$SRC_822"; echo "bootstrap: wrote $SRC_822"; fi
  rm -f "$tmp_l" "$tmp_s"
  $SUDO apt-get update -q
}

if [ "$MODE" = python ]; then
  add_deb_src
fi

# installed PKG: true when dpkg reports PKG as fully installed.
installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=""
for p in $PKGS; do
  installed "$p" || missing="$missing $p"
done

# Node: any node >= 18 already on PATH is kept as it is (the machine may
# carry a non-Debian build, e.g. nodesource's). Only when there is no node
# at all is Debian's nodejs package installed.
if ! command -v node >/dev/null 2>&1; then
  installed nodejs || missing="$missing nodejs"
fi
# npm is a package of its own in Debian (make web runs `npm ci` for
# playwright-core and the WASI shim); installed when none is on PATH.
if ! command -v npm >/dev/null 2>&1; then
  installed npm || missing="$missing npm"
fi

if [ -z "$missing" ]; then
  echo "bootstrap: all packages present"
  exit 0
fi

echo "bootstrap: installing:$missing"
need_root "install:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
echo "bootstrap: done"
