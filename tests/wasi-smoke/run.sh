#!/bin/sh
# tests/wasi-smoke/run.sh -- smoke checks of `krait run` and its WASI subset
# with tests/wasi-smoke/smoke.c and a few tiny modules: stdio redirection,
# seek, stat/isatty, sleep, random, close, EFAULT, exit codes, traps,
# limits, --invoke and command-line errors. Prints "N passed, N failed".
# Does not own: the guest-program suite (tests/guest/), nor the spec tests.
set -u
cd "$(dirname "$0")/../.." || exit 2
KRAIT=${KRAIT:-build/krait}
W=build/test/wasi-smoke
mkdir -p "$W"
clang-16 --target=wasm32-wasi --sysroot=/usr -O2 tests/wasi-smoke/smoke.c \
  tests/guest/compat/wasm_compat.c -o "$W/smoke.wasm" || exit 2
wat2wasm tests/wasi-smoke/invoke.wat -o "$W/invoke.wasm" || exit 2
S=$W/smoke.wasm
P=0 F=0

# t NAME WANT_RC WANT_TEXT CMD...: runs CMD (stdin from $IN, default
# /dev/null); passes when it exits WANT_RC and stdout+stderr contain
# WANT_TEXT (a fixed string; empty matches anything).
t() {
  name=$1 want_rc=$2 want=$3
  shift 3
  timeout 60 "$@" <"${IN:-/dev/null}" >"$W/out" 2>&1
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && { [ -z "$want" ] || grep -qF -- "$want" "$W/out"; }; then
    P=$((P + 1))
    echo "ok   $name"
  else
    F=$((F + 1))
    echo "FAIL $name: exit $rc (want $want_rc), want text: $want"
    sed -n '1,8p' "$W/out"
  fi
}

printf 'hello, world\n' >"$W/in.txt"
IN=$W/in.txt t "stdin from file" 0 "read 13 bytes" $KRAIT run $S stdin
t "stdin from pipe" 0 "read 13 bytes" sh -c "cat $W/in.txt | $KRAIT run $S stdin"
t "stdin at EOF" 0 "read 0 bytes, sum 0, last 0" $KRAIT run $S stdin
IN=$W/in.txt t "seek on a redirected file" 0 "read 1 char e, tell 2" $KRAIT run $S seek
t "seek on a pipe is ESPIPE" 0 "lseek: Invalid seek" sh -c "cat $W/in.txt | $KRAIT run $S seek"
IN=$W/in.txt t "fstat of a file" 0 "fd 0: file size 13 isatty 0" $KRAIT run $S stat
t "fstat of /dev/null" 0 "fd 0: chardev size 0 isatty 0" $KRAIT run $S stat
if command -v script >/dev/null 2>&1; then
  t "isatty on a pty" 0 "fd 1: chardev size 0 isatty 1" \
    script -qec "$KRAIT run $S stat" /dev/null
fi
t "sleep and clocks" 0 "slept >= 50ms: 1, < 1s: 1, realtime agrees: 1" $KRAIT run $S sleep
t "poll on stdin" 0 "poll stdin: 1 revents in" $KRAIT run $S sleep
# A guest blocked in a host call still stops at the deadline.
t "timeout cuts a sleep" 134 "deadline exceeded" $KRAIT run --timeout 20ms $S sleep
t "timeout cuts a blocked read" 134 "deadline exceeded" sh -c "sleep 3 | $KRAIT run --timeout 0.2 $S stdin"
t "random_get" 0 "getentropy 0, varied 1" $KRAIT run $S random
t "close stdout" 0 "write -1 (Bad file descriptor)" $KRAIT run $S close
t "open without preopens" 0 "open: -1" $KRAIT run $S open
t "EFAULT on a bad iovec" 0 "fd_write bad iovec: 21" $KRAIT run $S fault
t "EFAULT on a bad buffer" 0 "random_get bad buf: 21" $KRAIT run $S fault
t "EBADF without preopens" 0 "fd_prestat_get fd 3: 8" $KRAIT run $S fault
t "exit code" 7 "" $KRAIT run $S exit 7
t "exit code shorthand" 9 "" $KRAIT $S exit 9
t "trap exits 134" 134 "Error: " $KRAIT run $S trap
t "fuel" 134 "fuel" $KRAIT run --fuel 100000 $S spin
t "timeout" 134 "deadline" $KRAIT run --timeout 200ms $S spin
t "max memory" 5 "malloc failed" $KRAIT run --max-memory 16M $S grow
t "explicit bounds" 7 "" $KRAIT run --bounds explicit $S exit 7
t "guest argv" 0 "argv0=$S argc=4" $KRAIT run $S argv '' 'a b'
t "invoke i32" 0 "5" $KRAIT run --invoke add $W/invoke.wasm 2 3
t "invoke hex and wrap" 0 "-1" $KRAIT run --invoke add $W/invoke.wasm 0xffffffff 0
t "invoke f64" 0 "1.5" $KRAIT run --invoke half $W/invoke.wasm 3
t "invoke f32 nan" 0 "NaN" $KRAIT run --invoke fneg $W/invoke.wasm nan
t "invoke multi" 0 "-7" $KRAIT run --invoke pair $W/invoke.wasm
t "invoke _initialize first" 0 "42" $KRAIT run --invoke get $W/invoke.wasm
t "invoke trap" 134 "integer divide by zero" $KRAIT run --invoke div $W/invoke.wasm 1 0
t "invoke bad arg" 2 "argument 2 of 'add' is i32" $KRAIT run --invoke add $W/invoke.wasm 1 x
t "invoke arg count" 2 "takes 2 arguments" $KRAIT run --invoke add $W/invoke.wasm 1
t "invoke missing" 1 "exports no function 'nope'" $KRAIT run --invoke nope $W/invoke.wasm
t "no _start" 1 "has no '_start'" $KRAIT run $W/invoke.wasm
t "missing file" 1 "cannot read" $KRAIT run $W/does-not-exist.wasm
t "directory" 1 "is a directory" $KRAIT run $W
t "malformed" 1 "Error: failed to load" $KRAIT run $W/in.txt
t "--dir accepted" 0 "" $KRAIT run --dir . $S exit 0
t "--dir of a missing directory" 1 "cannot preopen" $KRAIT run --dir "$W/no-such-dir" $S exit 0
t "unknown option" 2 "unknown option '--bogus'" $KRAIT run --bogus $S
t "missing value" 2 "needs a value" $KRAIT run --fuel
t "bad timeout" 2 "bad --timeout value" $KRAIT run --timeout 5x $S
t "unknown command" 2 "unknown command 'frobnicate'" $KRAIT frobnicate
t "help" 0 "Usage: krait <command>" $KRAIT --help
t "help run" 0 "Usage: krait run" $KRAIT help run
t "run --help" 0 "--max-memory BYTES" $KRAIT run --help
t "version" 0 "krait " $KRAIT --version
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
