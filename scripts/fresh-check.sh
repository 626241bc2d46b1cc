#!/bin/sh
# scripts/fresh-check.sh -- the README's two commands on a clean Debian 12
# root, as a new user on a fresh machine would run them.
#
#   sh scripts/fresh-check.sh [--keep] [--only base|demo|test]
#   (--only base: just make the pristine root's tarball, ahead of a run)
#
# Owns: bootstrapping a clean Debian 12 (bookworm) root with debootstrap
# into a scratch folder (FRESH_DIR, default /var/tmp/krait-fresh; the
# pristine root is kept as a tarball there so later runs skip the download,
# and every run starts from a fresh copy of it), the same apt sources as
# this machine (and its extra CA certificates and NODE_EXTRA_CA_CERTS),
# the repository's committed tree (git archive HEAD, so
# uncommitted files cannot hide a missing step), and running in it with
# chroot (/proc, /dev, /dev/pts and /dev/shm mounted):
#   1. `make demo` (after `sh scripts/bootstrap.sh` when the root has no
#      make, as the README says);
#   2. `make test`.
# Prints each command's outcome, its time and the tail of its log, then a
# summary; exits non-zero when either fails. Logs stay in FRESH_DIR/logs.
# Slow (a full python.wasm build in the root): run it before resolving a
# change to the build, not in CI. Needs root (chroot, mount).
# Does not own: the build itself (Makefile, mk/, scripts/bootstrap.sh).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${FRESH_DIR:-/var/tmp/krait-fresh}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
KEEP=0 ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=1 ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: sh scripts/fresh-check.sh [--keep] [--only base|demo|test]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (chroot and mount)" >&2; exit 2; }

say() { printf 'fresh-check: %s\n' "$*"; }
RFS=$DIR/root
BASE=$DIR/bookworm-base.tar
LOGS=$DIR/logs
mkdir -p "$DIR" "$LOGS"

# umount_all: undoes the mounts (deepest first); safe to call twice.
umount_all() {
  for m in dev/shm dev/pts dev proc; do
    mountpoint -q "$RFS/$m" 2>/dev/null && umount -l "$RFS/$m"
  done
  return 0
}
cleanup() {
  umount_all
  if [ $KEEP = 0 ] && [ -d "$RFS" ]; then rm -rf "$RFS"; fi
}
trap cleanup EXIT INT TERM

# ---- a pristine root -------------------------------------------------------
command -v debootstrap >/dev/null 2>&1 || {
  say "installing debootstrap (Debian package)"
  apt-get install -y -q debootstrap >/dev/null
}
umount_all
rm -rf "$RFS"
if [ ! -s "$BASE" ]; then
  say "debootstrap bookworm from $MIRROR (once; kept as $BASE)"
  t0=$(date +%s)
  debootstrap --variant=minbase bookworm "$RFS" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1 ||
    { tail -n 20 "$LOGS/debootstrap.log"; say "debootstrap failed"; exit 1; }
  tar -C "$RFS" -cf "$BASE.part" . && mv "$BASE.part" "$BASE"
  say "debootstrap took $(( $(date +%s) - t0 )) s"
elif [ "$ONLY" = base ]; then
  say "the pristine root is there: $BASE"
else
  mkdir -p "$RFS"
  tar -C "$RFS" -xf "$BASE"
fi

[ "$ONLY" = base ] && exit 0

# The machine's own apt sources (a fresh machine has the updates and
# security suites too), its DNS, and nothing else of the host.
rm -f "$RFS/etc/apt/sources.list"
mkdir -p "$RFS/etc/apt/sources.list.d"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  case $f in *krait-deb-src*) continue ;; esac   # what bootstrap.sh adds: the check must add it itself
  if grep -q '^[[:space:]]*[^#[:space:]]' "$f" && grep -qi 'debian' "$f"; then
    cp "$f" "$RFS$f"
  fi
done
cp /etc/resolv.conf "$RFS/etc/resolv.conf" 2>/dev/null || true
# debootstrap writes no /etc/hosts; an installed Debian 12 has one that
# names localhost (the installer's), so the root gets that one.
[ -s "$RFS/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$RFS/etc/hosts"
# The machine's own extra CA certificates (here: the workplace's egress
# proxy, which re-signs TLS), which a fresh machine of this network carries
# too; the root's ca-certificates package adds them to its bundle when
# bootstrap installs it. Without them npm's registry is
# SELF_SIGNED_CERT_IN_CHAIN.
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
  mkdir -p "$RFS/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$RFS/usr/local/share/ca-certificates/"
fi

# The committed tree, as a clone would have it.
mkdir -p "$RFS/root/krait"
git -C "$ROOT" archive --format=tar HEAD | tar -C "$RFS/root/krait" -xf -
# ../shared (the spec suite), beside the tree as CI lays it out.
if [ -d "$ROOT/../shared" ]; then
  mkdir -p "$RFS/root/shared"
  cp -R "$ROOT/../shared/." "$RFS/root/shared/"
fi

mount -t proc proc "$RFS/proc"
mount --bind /dev "$RFS/dev"
mount --bind /dev/pts "$RFS/dev/pts"
mount -t tmpfs -o size=4g tmpfs "$RFS/dev/shm"

# run NAME CMD: runs CMD in the root (login shell of root, in the tree),
# logs it, prints its outcome and time.
RESULTS=""
run() {
  name=$1 cmd=$2
  say "$name: $cmd"
  t0=$(date +%s)
  if chroot "$RFS" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
       LANG=C.UTF-8 CI="${CI:-}" ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"} /bin/sh -c "cd /root/krait && $cmd" </dev/null >"$LOGS/$name.log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
  dt=$(( $(date +%s) - t0 ))
  tail -n 15 "$LOGS/$name.log" | sed 's/^/    /'
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGS/$name.log" | tail -n 1 || true)
  line=$(printf '%-10s %-7s %5d s  %s' "$name" "$( [ $rc = 0 ] && echo ok || echo "FAILED($rc)")" "$dt" "$last")
  RESULTS="$RESULTS$line
"
  return $rc
}

fail=0
if [ "$ONLY" != test ]; then
  # The README: "If even make is missing, run sh scripts/bootstrap.sh first."
  run demo "command -v make >/dev/null || sh scripts/bootstrap.sh; make demo" || fail=1
fi
if [ "$ONLY" != demo ]; then
  run test "command -v make >/dev/null || sh scripts/bootstrap.sh; make test" || fail=1
fi

say "summary (a clean Debian 12 root; logs in $LOGS):"
printf '%s' "$RESULTS" | sed 's/^/  /'
[ $fail = 0 ] && say "both README commands passed" || say "a README command failed"
exit $fail
