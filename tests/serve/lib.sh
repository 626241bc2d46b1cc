# tests/serve/lib.sh -- helpers shared by the serve tests (sourced after
# ROOT is set): K (the krait binary), PY (Debian's Python), a scratch
# directory T removed at exit with every process in PIDS killed,
# ok/bad/check/expect counting, a free port, background servers and
# waiting for them, starting `krait serve`, [[app]] tables, a test CA, URL
# encoding, timing and peak memory.
# shellcheck shell=bash
K="$ROOT/build/krait"
PY=/usr/bin/python3.11   # Debian's Python, for helpers and test servers
T=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
# check NAME GOT WANT
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
# expect NAME GOT PATTERN (a case glob)
expect() {
  # shellcheck disable=SC2254
  case $2 in $3) ok "$1" ;; *) bad "$1" "$2" ;; esac
}

# free_port: a TCP port nobody listens on.
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# spawn CMD [ARG...]: CMD in the background, killed at exit (its pid
# added to PIDS); redirections given to spawn apply to CMD.
spawn() { "$@" & PIDS="$PIDS $!"; }

# wait_until TENTHS CMD [ARG...]: runs CMD every tenth of a second until
# it succeeds (true) or has failed TENTHS times (false).
wait_until() {
  local n=$1 _
  shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# start DIR PORT ADMIN [ARG...]: krait serve [ARG...] in DIR in the
# background (SERVER is its pid); waits for /healthz ($START_WAIT tenths
# of a second, default 100).
start() {
  (cd "$1" && exec "$K" serve "${@:4}" --listen "127.0.0.1:$2" --admin "127.0.0.1:$3" >>"$1/server.log" 2>&1) &
  SERVER=$!
  PIDS="$PIDS $SERVER"
  for _ in $(seq "${START_WAIT:-100}"); do
    curl -sf "http://127.0.0.1:$3/healthz" >/dev/null 2>&1 && return 0
    kill -0 $SERVER 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; tail -n 20 "$1/server.log"; return 1
}

# serve_apps DIR [ARG...]: start on two free ports (P, AP; U is the base
# URL); when the server does not start, the summary with that failure
# added, and exit 1.
serve_apps() {
  P=$(free_port) AP=$(free_port)
  U="http://127.0.0.1:$P"
  serve_again "$@"
}

# serve_again DIR [ARG...]: start on P and AP again (after the server was
# stopped), or the summary with that failure added, and exit 1.
serve_again() { start "$1" "$P" "$AP" "${@:2}" || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }; }

# app_toml NAME STYLE [LINE...]: one [[app]] table of krait.toml for the
# app in folder NAME routed at /NAME/..., then each LINE (more keys,
# [app.limits] and its keys), then a blank line.
app_toml() {
  printf '[[app]]\nname = "%s"\nstyle = "%s"\ndir = "%s"\nroute = "/%s/..."\n' "$1" "$2" "$1" "$1"
  shift 2
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
  echo
}

# make_test_ca DIR CN SAN: in DIR, by the openssl CLI, a test CA named CN
# (ca.pem, ca.key) and a server certificate for tls.test.example it signed
# (server.pem, server.key) with subjectAltName SAN; when openssl fails,
# its log and "0 passed, 1 failed", and exit 1.
make_test_ca() {
  (cd "$1" &&
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
     -days 30 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
     -addext "keyUsage=critical,keyCertSign,cRLSign" &&
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
     -subj "/CN=tls.test.example" &&
   printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" >ext &&
   openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 \
     -extfile ext) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; echo "0 passed, 1 failed"; exit 1; }
}

# py_servers SCRIPT DIR: $PY SCRIPT DIR in the background
# (a test's loopback servers), waiting up to 10 s for the ports it writes
# to DIR/ports; false if none came.
py_servers() {
  spawn $PY "$1" "$2"
  wait_until 100 test -s "$2/ports"
}

# urlenc TEXT: TEXT percent-encoded for a query string (no byte kept but
# letters, digits and _.-~).
urlenc() { $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# timed CMD [ARG...]: runs CMD; its output in GOT, its wall time in MS
# (milliseconds).
timed() {
  local t0
  t0=$(date +%s%N)
  GOT=$("$@")
  MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# peak_kib PID: the peak resident memory of process PID (VmHWM), in KiB.
peak_kib() { sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
