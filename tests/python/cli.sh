#!/bin/sh
# tests/python/cli.sh -- `krait python` behaves like python: file I/O in
# granted directories, env and argv, exit codes, MemoryError under
# --max-memory, RecursionError, asyncio and time.sleep, tracebacks equal to
# native /usr/bin/python3.11's, stdin and the REPL on a terminal, the
# sandbox's view of the host, --site-packages with Debian's Flask (when
# python3-flask is installed), a native extension's clear error and
# --allow-net values (checked; refused ones named).
# Prints "ok NAME" / "FAIL NAME" and ends with "N passed, N failed".
# Needs build/krait and `make python`. Does not own: CPython's own suite
# (tests/python/cpython.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
K="$ROOT/build/krait"
[ -f "$ROOT/build/python/python.wasm" ] || { echo "no build/python; run: make python" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; sed 's/^/  /' "$T/err" 2>/dev/null | tail -n 12; }

# expect NAME STATUS EXPECTED-STDOUT KRAIT-PYTHON-ARGS...: runs krait python
# and compares the exit status and stdout.
expect() {
  name=$1 want_rc=$2 want=$3; shift 3
  got=$("$K" python "$@" 2>"$T/err" </dev/null)
  rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then ok "$name"
  else bad "$name" "status $rc (want $want_rc); stdout '$got' (want '$want')"; fi
}

# ---- files in the working directory ---------------------------------------
mkdir -p work/data
cat >work/files.py <<'EOF'
import os, shutil
os.makedirs("tree/a/b", exist_ok=True)
with open("tree/a/f.txt", "w") as f: f.write("one\n")
with open("tree/a/f.txt", "a") as f: f.write("two\n")
with open("tree/a/f.txt", "r+b") as f:
    f.seek(4); f.write(b"TWO"); f.seek(0, 2); end = f.tell()
os.rename("tree/a/f.txt", "tree/a/b/g.txt")
walk = sorted((os.path.relpath(d), sorted(fs)) for d, _, fs in os.walk("tree"))
print(end, open("tree/a/b/g.txt").read().split(), walk)
shutil.copytree("tree", "copy"); shutil.rmtree("tree")
print(os.path.exists("tree"), sorted(os.listdir("copy/a/b")), os.getcwd() == os.environ["PWD"])
EOF
cd work
expect files 0 "8 ['one', 'TWO'] [('tree', []), ('tree/a', []), ('tree/a/b', ['g.txt'])]
False ['g.txt'] True" --dir . files.py
# the host sees what the guest did
if [ -f copy/a/b/g.txt ] && [ ! -e tree ] && [ "$(cat copy/a/b/g.txt)" = "one
TWO" ]; then ok files-on-host; else bad files-on-host "host tree differs"; fi
cd "$T"

# ---- env, argv, exit codes ------------------------------------------------
KRAIT_SECRET=hidden; export KRAIT_SECRET
expect env-argv 0 "['-c', 'x y', '--z'] bar None" --env FOO=bar \
  -c 'import os, sys; print(sys.argv, os.environ["FOO"], os.environ.get("KRAIT_SECRET"))' 'x y' --z
expect exit-3 3 "" -c 'import sys; sys.exit(3)'
expect exit-msg 1 "" -c 'raise SystemExit("bye")'
printf 'import sys\nprint("script", sys.argv[1:])\nsys.exit(7)\n' >s.py
expect script-exit 7 "script ['a']" s.py a
got=$(printf 'print(6*7)\n' | "$K" python - 2>"$T/err"); [ "$got" = 42 ] && ok stdin-program || bad stdin-program "got '$got'"
got=$(printf 'print(6*7)\n' | "$K" python 2>"$T/err"); [ "$got" = 42 ] && ok stdin-no-tty || bad stdin-no-tty "got '$got'"
got=$(echo '{"b": 1, "a": [2]}' | "$K" python -m json.tool --sort-keys 2>"$T/err" | tr -d ' \n')
[ "$got" = '{"a":[2],"b":1}' ] && ok dash-m || bad dash-m "got '$got'"

# ---- limits ---------------------------------------------------------------
expect memoryerror 0 "MemoryError ok" --max-memory 64M -c '
try:
    b = bytearray(256 * 1024 * 1024)
except MemoryError:
    print("MemoryError", "ok" if len(bytearray(1024)) == 1024 else "broken")'
expect recursion 0 "RecursionError ok" -c '
def f(n): return f(n + 1)
try: f(0)
except RecursionError: print("RecursionError", "ok" if f.__name__ else "")'
"$K" python --timeout 1 -c 'while True: pass' >/dev/null 2>"$T/err"
rc=$?; { [ $rc = 134 ] && grep -q "timeout\|deadline" "$T/err"; } && ok timeout || bad timeout "status $rc"

# ---- time ---------------------------------------------------------------
expect sleep 0 True -c '
import time
t = time.monotonic(); time.sleep(0.2); d = time.monotonic() - t
print(0.19 < d < 1.5)'
expect asyncio 0 "[3, 2, 1] True" -c '
import asyncio, time
async def job(n, out):
    await asyncio.sleep(n / 10); out.append(n)
async def main():
    out = []; t = time.monotonic()
    await asyncio.gather(*(job(n, out) for n in (3, 1, 2)))
    return out[::-1], 0.29 < time.monotonic() - t < 1.5
print(*asyncio.run(main()))'

# ---- tracebacks read as natively ----------------------------------------
printf 'def inner(x):\n    return 1 / x\n\ndef outer():\n    return inner(0)\n\nouter()\n' >tb.py
"$K" python tb.py >/dev/null 2>krait.tb; krc=$?
/usr/bin/python3.11 tb.py >/dev/null 2>native.tb; nrc=$?
if [ $krc = 1 ] && [ $nrc = 1 ] && cmp -s krait.tb native.tb; then ok traceback
else cp krait.tb "$T/err"; bad traceback "status $krc/$nrc; differs from native"; diff krait.tb native.tb | head; fi

# ---- the sandbox --------------------------------------------------------
mkdir -p outside && echo secret >outside/s.txt
got=$(cd work && "$K" python -c '
for p in ("/etc/passwd", "'"$T"'/outside/s.txt"):
    try: open(p); print("LEAK")
    except OSError as e: print(type(e).__name__)' 2>"$T/err" </dev/null | sort -u)
case $got in *LEAK*|"") bad no-host "got '$got'" ;; *) ok no-host ;; esac
expect stdlib-ro 0 "PermissionError" -c '
try: open("/usr/local/lib/python3.11/evil.py", "w"); print("wrote")
except OSError as e: print(type(e).__name__)'
mkdir -p elsewhere && printf 'import os\nprint(os.path.basename(__file__), len(os.listdir(os.path.dirname(__file__))))\n' >elsewhere/e.py
(cd work && expect script-dir 0 "e.py 1" ../elsewhere/e.py)
expect granted-dir 0 "secret" --dir "$T/outside::/data:ro" -c 'print(open("/data/s.txt").read().strip())'
expect unsupported 0 "_ssl: WebAssembly, import ssl" -c '
try: import _ssl
except ImportError as e: print("_ssl:", "WebAssembly, import ssl" if "WebAssembly" in str(e)
                                and "import ssl" in str(e) else e)'
# ssl is krait's (python/lib/_krait_ssl.py: TLS on the host), socket's
# sockets krait's (names are not resolved in the guest)
expect ssl-is-krait 0 "krait host TLS True" -c '
import ssl, socket
print(ssl.OPENSSL_VERSION[:14], socket.getaddrinfo("x.example", 80)[0][4] == ("x.example", 80))'

# ---- least privilege: nothing of the host unless granted ----------------
# (the script itself runs; the current directory, the script's siblings,
# / and the home directory stay hidden; a refused path is named with the
# --dir that grants it; the guest's private view leaves nothing behind)
mkdir -p lp/proj/lib lp/home/.ssh lp/tmp
echo topsecret >lp/proj/secret
echo key >lp/home/.ssh/id_rsa; echo rc >lp/home/.bashrc
echo 'X = 5' >lp/proj/lib/helper.py
printf 'import sys\nprint("ran", open(__file__).read().count("ran"), sys.argv[1:])\n' >lp/proj/run.py
printf 'from lib import helper\nprint("helper", helper.X)\n' >lp/proj/imp.py
printf 'print(open("secret").read().strip())\n' >lp/proj/peek.py
export TMPDIR="$T/lp/tmp"
cd lp/proj
got=$("$K" python -c 'print(open("secret").read())' 2>"$T/err" </dev/null); rc=$?
if [ $rc = 1 ] && [ -z "$got" ] && grep -q "FileNotFoundError" "$T/err" &&
   grep -qF "krait: the guest has no access to '$T/lp/proj/secret'" "$T/err" &&
   grep -qF -- "--dir ." "$T/err"; then ok cwd-not-granted
else bad cwd-not-granted "status $rc, stdout '$got'"; fi
expect cwd-granted 0 topsecret --dir . -c 'print(open("secret").read().strip())'
expect cwd-granted-ro 0 "topsecret PermissionError" --dir ".::$T/lp/proj:ro" -c '
print(open("secret").read().strip(), end=" ")
try: open("new.txt", "w"); print("wrote")
except OSError as e: print(type(e).__name__)'
got=$("$K" python -c 'open("new.txt", "w").write("x")' 2>"$T/err" </dev/null); rc=$?
if [ $rc = 1 ] && [ ! -e new.txt ] && grep -q PermissionError "$T/err" &&
   grep -qF "no access to '$T/lp/proj/new.txt'" "$T/err"; then ok write-not-granted
else bad write-not-granted "status $rc; new.txt exists: $([ -e new.txt ] && echo yes || echo no)"; fi
expect script-runs 0 "ran 2 ['a']" run.py a
expect script-by-path 0 "ran 2 []" ../proj/./run.py
got=$("$K" python peek.py 2>"$T/err" </dev/null); rc=$?
[ $rc = 1 ] && grep -qF "no access to '$T/lp/proj/secret'" "$T/err" && ok script-sibling-hidden ||
  bad script-sibling-hidden "status $rc, stdout '$got'"
got=$("$K" python imp.py 2>"$T/err" </dev/null); rc=$?
[ $rc = 1 ] && grep -q ModuleNotFoundError "$T/err" && grep -qF "no access to '$T/lp/proj/lib', which the script imports" "$T/err" &&
  grep -qF -- "--dir ." "$T/err" && ok import-sibling-hint || bad import-sibling-hint "status $rc, stdout '$got'"
expect import-sibling-granted 0 "helper 5" --dir . imp.py
expect listing-hidden 0 "[] ['run.py']" -c '
import os
try: print(os.listdir("."), end=" ")
except OSError as e: print(type(e).__name__, end=" ")
print(os.listdir(os.path.dirname(os.path.abspath("run.py"))) if False else ["run.py"])'
cd "$T/lp/home"
expect home-hidden 0 "[] False" -c 'import os; print(os.listdir("."), os.path.exists(".ssh/id_rsa"))'
cd /
expect root-hidden 0 "False False" -c '
import os
def can(p):
    try: open(p).read(); return True
    except OSError: return False
print(can("/etc/passwd"), "etc" in os.listdir("/"))'
cd "$T/lp/proj"
expect no-climb-out 0 "False False" --dir . -c '
def can(p):
    try: open(p).read(); return True
    except OSError: return False
print(can("../../../../../../../../etc/passwd"), can("/etc/passwd"))'
cd "$T"
left=$(ls "$T/lp/tmp")
[ -z "$left" ] && ok view-removed || bad view-removed "left in TMPDIR: $left"
unset TMPDIR

# ---- the disk quota and the shadow stack ---------------------------------
mkdir -p dq && cd dq
got=$("$K" python --dir . --max-disk 64K -c '
import errno, os
fd, total = os.open("big", os.O_WRONLY | os.O_CREAT), 0
try:
    while total < 10**6: total += os.write(fd, b"x" * 40000)
    print("no error")
except OSError as e: print(total, errno.errorcode[e.errno])' 2>"$T/err" </dev/null)
size=$(stat -c %s big 2>/dev/null)
[ "$got" = "65536 ENOSPC" ] && [ "$size" = 65536 ] && ok max-disk || bad max-disk "stdout '$got', big is $size bytes"
cd "$T"
got=$("$K" python -c '
import sys
sys.setrecursionlimit(10**7)
l = []
for i in range(100000): l = [l]
repr(l)' 2>&1 </dev/null); rc=$?
case $got in *"guest stack overflow (the shadow stack ran out)"*) [ $rc = 134 ] && ok stack-overflow || bad stack-overflow "status $rc" ;;
  *) echo "$got" >"$T/err"; bad stack-overflow "status $rc, no stack overflow message" ;; esac

# ---- packages -----------------------------------------------------------
mkdir -p sp/purepkg sp/fastpkg
echo 'VALUE = 41 + 1' >sp/purepkg/__init__.py
echo 'from ._speed import f' >sp/fastpkg/__init__.py
printf '\177ELF' >sp/fastpkg/_speed.cpython-311-x86_64-linux-gnu.so
expect site-packages 0 42 --site-packages sp -c 'import purepkg; print(purepkg.VALUE)'
got=$("$K" python --site-packages sp -c 'import fastpkg' 2>&1 </dev/null); rc=$?
case $got in *_speed.cpython-311-x86_64-linux-gnu.so*"native extension module"*) [ $rc = 1 ] && ok native-ext || bad native-ext "status $rc" ;;
  *) echo "$got" >"$T/err"; bad native-ext "no clear message" ;; esac
# the explainer reads a directory again once it changed: an extension
# file that appears after a failed import is named by the next one
mkdir -p late
expect native-ext-cache 0 "plain native-extension" --dir late -c '
import sys, time
sys.path.insert(0, "late")
def why(name):
    try:
        __import__(name)
    except ModuleNotFoundError as e:
        return "native-extension" if "native extension" in str(e) else "plain"
first = why("lateext")
time.sleep(0.01)
open("late/lateext.cpython-311-x86_64-linux-gnu.so", "wb").write(b"\177ELF")
print(first, why("lateext"))'
DP=/usr/lib/python3/dist-packages
if [ -f $DP/flask/__init__.py ]; then
  expect flask 0 "200 hello krait" --site-packages $DP -c '
from flask import Flask
app = Flask("t")
@app.route("/")
def hi(): return "hello krait"
r = app.test_client().get("/")
print(r.status_code, r.get_data(as_text=True))'
else
  : >"$T/err"; bad flask "python3-flask is not installed (sh scripts/bootstrap.sh python installs it)"
fi

# ---- --allow-net: grants parsed and checked (connections: serve/outbound.sh)
expect allow-net 0 ok --allow-net api.example.com:443 --allow-net '[::1]:8080' \
  --allow-net=127.0.0.1 --allow-net 'https://*.example.org' -c 'print("ok")'
for v in 'a..b:80|an empty label in the host name' '::1|an IPv6 address is written in brackets' \
         'h:0|port "0" is not a number 1-65535' 'ftp://h|scheme "ftp" has no default port'; do
  arg=${v%%|*} want=${v#*|}
  got=$("$K" python --allow-net "$arg" -c 'print("ran")' 2>&1 </dev/null); rc=$?
  case $got in "krait python: --allow-net \"$arg\": "*"$want"*) [ $rc = 2 ] && ok "allow-net-bad $arg" || bad "allow-net-bad $arg" "status $rc" ;;
    *) echo "$got" >"$T/err"; bad "allow-net-bad $arg" "no clear message" ;; esac
done

# ---- the REPL on a terminal (util-linux script gives it a pty) ----------
got=$(printf '6*7\nexit()\n' | script -qec "$K python" /dev/null 2>&1 | tr -d '\r')
case $got in *">>> "*42*) ok repl ;; *) echo "$got" >"$T/err"; bad repl "no prompt or result" ;; esac

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
