#!/bin/sh
# tests/wasi/run.sh -- the wasi-full tier: tests/wasi/fs.c (every fd_* and
# path_* call, with error cases) and tests/wasi/escape.c (the sandbox-escape
# battery) under `krait run --dir`, each with openat2 and with the
# component-by-component fallback (KRAIT_WASI_NO_OPENAT2=1), and
# tests/wasi/proc.c (args, environ, clocks, poll_oneoff, random_get,
# sched_yield, proc_raise, proc_exit, called directly with error cases). Host-side
# checks prove nothing outside the writable preopen changed. Prints
# "N passed, N failed"; exits non-zero on any failure. Does not own the
# WASI subset smoke tests (tests/wasi-smoke/).
set -u
cd "$(dirname "$0")/../.." || exit 2
KRAIT=${KRAIT:-build/krait}
W=$(pwd)/build/test/wasi-full
mkdir -p "$W"
for g in fs escape proc; do
  clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wno-unused-result \
    tests/wasi/$g.c tests/guest/compat/wasm_compat.c -o "$W/$g.wasm" || exit 2
done
P=0 F=0
T=$W/tree

# ok NAME / bad NAME WHY: one host-side result.
ok() { P=$((P + 1)); echo "ok   $1"; }
bad() { F=$((F + 1)); echo "FAIL $1: $2"; }

# Builds a fresh tree: the writable preopen, the read-only one, a sentinel
# directory outside both, and symlinks that point out (absolute, relative,
# chained, looping) or stay inside.
setup() {
  rm -rf "$T"
  mkdir -p "$T/sandbox/sub" "$T/outside/keepdir" "$T/ro/sub"
  echo secret >"$T/outside/secret.txt"
  echo "read only" >"$T/ro/file.txt"
  echo inside >"$T/sandbox/inside.txt"
  ln -s "$T/outside" "$T/sandbox/abs"
  ln -s "$T/outside/secret.txt" "$T/sandbox/filelink"
  ln -s ../outside "$T/sandbox/rel"
  ln -s ../outside/nothing "$T/sandbox/dangle"
  ln -s ../../outside "$T/sandbox/sub/up"
  ln -s .. "$T/sandbox/sub/back"
  ln -s .. "$T/sandbox/dotdot"
  ln -s loop2 "$T/sandbox/loop1"
  ln -s loop1 "$T/sandbox/loop2"
  ln -s self "$T/sandbox/self"
  ln -s chain2 "$T/sandbox/chain1"
  ln -s chain3 "$T/sandbox/chain2"
  ln -s ../outside "$T/sandbox/chain3"
  ln -s inside.txt "$T/sandbox/inlink"
  ln -s ../sandbox "$T/ro/back"
  mkfifo "$T/sandbox/fifo"
}

# A digest of everything outside the writable preopen: names, types,
# sizes, modes, mtimes, link counts and file contents of outside/ and ro/,
# and the names next to them.
snap() {
  (cd "$T" && find outside ro -printf '%p %y %s %m %T@ %n %l\n' | sort &&
   find outside ro -type f -exec sha256sum {} + | sort && ls -a "$T") |
    sha256sum
}

# The symlinks in the writable preopen (relative names), one per line.
links() { (cd "$T/sandbox" && find . -type l | sort); }

# links_inside NAME BEFORE: every symlink in the sandbox that is not in
# BEFORE (the guest made it) resolves inside the sandbox on the host,
# where nothing confines the programs that follow it.
links_inside() {
  out=""
  for l in $(links); do
    case "
$2
" in *"
$l
"*) continue ;; esac
    r=$(realpath -m "$T/sandbox/$l")
    case $r in "$T/sandbox"|"$T/sandbox/"*) ;; *) out="$out $l->$r" ;; esac
  done
  [ -z "$out" ] && ok "$1: every symlink the guest made stays inside" ||
    bad "$1: host check" "symlinks point outside:$out"
}

# run NAME MODE GUEST: one guest run in a fresh tree; counts its ok/FAIL
# lines, then checks exit status and that the outside is unchanged.
run() {
  name=$1 mode=$2 guest=$3
  setup
  before=$(snap)
  links_before=$(links)
  if [ "$mode" = fallback ]; then
    KRAIT_WASI_NO_OPENAT2=1 timeout 60 $KRAIT run --dir "$T/sandbox::/sandbox" \
      --dir "$T/ro::/ro:ro" "$W/$guest.wasm" >"$W/out" 2>&1
  else
    timeout 60 $KRAIT run --dir "$T/sandbox::/sandbox" \
      --dir "$T/ro::/ro:ro" "$W/$guest.wasm" >"$W/out" 2>&1
  fi
  rc=$?
  sed -e "s|^ok   |ok   $name: |" -e "s|^FAIL |FAIL $name: |" "$W/out" | grep -E '^(ok|FAIL) '
  p=$(grep -c '^ok ' "$W/out") f=$(grep -c '^FAIL ' "$W/out")
  P=$((P + p)) F=$((F + f))
  if [ "$rc" -eq 0 ] && grep -q "^$p passed, 0 failed" "$W/out"; then
    ok "$name: guest exit status 0"
  else
    bad "$name: guest exit status" "exit $rc"; tail -n 5 "$W/out"
  fi
  if [ "$(snap)" = "$before" ]; then
    ok "$name: nothing outside the sandbox changed"
  else
    bad "$name: host check" "outside/ or ro/ changed"
  fi
  if [ -e "$T/outside/new.txt" ] || [ -e "$T/outside/moved" ] ||
     [ -e "$T/outside/linked" ] || [ -e "$T/outside/nd" ]; then
    bad "$name: host check" "a file appeared outside"
  else
    ok "$name: no file appeared outside"
  fi
  links_inside "$name" "$links_before"
  if [ "$guest" = escape ]; then
    planted=""
    for l in x x2 up1 sub/up2 sub/mixed dotup viadot evil2 l2 l3 d1top deep3 sub/viafd2; do
      [ -e "$T/sandbox/$l" ] || [ -L "$T/sandbox/$l" ] && planted="$planted $l"
    done
    [ -z "$planted" ] && ok "$name: no refused symlink exists on the host" ||
      bad "$name: host check" "planted:$planted"
    if [ "$(readlink "$T/sandbox/sub/okup")" = ../inside.txt ] &&
       [ "$(cat "$T/sandbox/sub/okup")" = inside ] &&
       [ "$(readlink "$T/sandbox/sub/deep2/l5")" = ../../inside.txt ] &&
       [ "$(cat "$T/sandbox/sub/deep2/l5")" = inside ]; then
      ok "$name: links that stay inside were made and work on the host"
    else
      bad "$name: host check" "sub/okup or sub/deep2/l5 is missing or wrong"
    fi
  fi
}

for mode in openat2 fallback; do
  run "fs/$mode" $mode fs
  run "escape/$mode" $mode escape
done
run "proc" openat2 proc

# Races: a host loop flips sandbox/race between a directory inside and
# ../outside while the guest creates, mkdirs and renames through it.
for mode in openat2 fallback; do
  setup
  mkdir "$T/sandbox/racein"
  before=$(snap)
  rm -f "$W/stop"
  (while [ ! -e "$W/stop" ]; do
     ln -sfn racein "$T/sandbox/race"; ln -sfn ../outside "$T/sandbox/race"
   done) &
  flip=$!
  if [ $mode = fallback ]; then export KRAIT_WASI_NO_OPENAT2=1; fi
  timeout 120 $KRAIT run --dir "$T/sandbox::/sandbox" --dir "$T/ro::/ro:ro" \
    "$W/escape.wasm" race >"$W/race.out" 2>&1
  rc=$?
  unset KRAIT_WASI_NO_OPENAT2
  touch "$W/stop"
  wait $flip
  grep '^race:' "$W/race.out"
  [ $rc -eq 0 ] && ok "race/$mode: guest ran" || { bad "race/$mode" "exit $rc"; cat "$W/race.out"; }
  [ "$(snap)" = "$before" ] && ok "race/$mode: nothing outside changed" ||
    bad "race/$mode: host check" "outside/ or ro/ changed"
done

# Sockets: guest stdin/stdout is one end of a socketpair; the guest's
# check lines go to stderr.
python3 - "$KRAIT" "$W/fs.wasm" >"$W/sock.out" 2>&1 <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "run", sys.argv[2], "sock"], stdin=b,
                     stdout=b, stderr=subprocess.PIPE)
b.close()
a.sendall(b"ping")
a.settimeout(30)
reply = a.recv(16)
rest = a.recv(16)
err = p.communicate(timeout=30)[1].decode()
print(err, end="")
print("ok   host got pong" if reply == b"pong" else "FAIL host got %r" % reply)
print("ok   host saw shutdown" if rest == b"" else "FAIL host saw %r" % rest)
print("ok   exit 0" if p.returncode == 0 else "FAIL exit %d" % p.returncode)
c, d = socket.socketpair()
q = subprocess.Popen([sys.argv[1], "run", "--timeout", "0.3", sys.argv[2],
                      "sock"], stdin=d, stdout=d, stderr=subprocess.PIPE)
d.close()
err = q.communicate(timeout=30)[1].decode()
print("ok   deadline cuts a blocked sock_recv"
      if q.returncode == 134 and "deadline exceeded" in err
      else "FAIL deadline: exit %d %r" % (q.returncode, err))
PY
sed -e 's|^ok   |ok   sock: |' -e 's|^FAIL |FAIL sock: |' "$W/sock.out" | grep -E '^(ok|FAIL) '
P=$((P + $(grep -c '^ok ' "$W/sock.out"))) F=$((F + $(grep -c '^FAIL ' "$W/sock.out")))
grep -q '^ok   exit 0' "$W/sock.out" || { F=$((F + 1)); echo "FAIL sock: run"; cat "$W/sock.out"; }

# --dir forms: HOST alone keeps its name; HOST::GUEST and :ro rename it.
setup
out=$($KRAIT run --dir "$T/sandbox" --dir "$T/ro::data:ro" "$W/escape.wasm" names 2>&1)
case $out in
  *"preopen 3: $T/sandbox"*"preopen 4: data"*) ok "--dir forms name the preopens" ;;
  *) bad "--dir forms" "$out" ;;
esac
out=$($KRAIT run --dir "$T/nothing::/x" "$W/escape.wasm" names 2>&1); rc=$?
[ $rc -eq 1 ] && ok "--dir of a missing directory fails" || bad "--dir missing" "exit $rc: $out"
out=$($KRAIT run --dir "::x" "$W/escape.wasm" names 2>&1); rc=$?
[ $rc -eq 2 ] && ok "--dir without HOST is a usage error" || bad "--dir ::x" "exit $rc"

echo "$P passed, $F failed"
[ "$F" -eq 0 ]
