#!/bin/sh
# scripts/bootstrap.sh -- installs the Debian 12 packages krait's build,
# tests, benches and demo need. Idempotent: checks each package with dpkg
# and runs apt-get (update first) only when something is missing.
# Does not own: anything outside apt (node is used as found, never replaced).
set -eu

PKGS="build-essential gcc make clang clang-16 lld-16 llvm-16
      wasi-libc libclang-rt-16-dev libclang-rt-16-dev-wasm32
      wabt libjansson-dev hyperfine valgrind"

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

if [ -z "$missing" ]; then
  echo "bootstrap: all packages present"
  exit 0
fi

echo "bootstrap: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "bootstrap: need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
echo "bootstrap: done"
