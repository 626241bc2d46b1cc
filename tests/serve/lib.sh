# tests/serve/lib.sh -- helpers shared by the serve tests (sourced after
# ROOT is set): K (the krait binary), a scratch directory T removed at exit
# with every process in PIDS killed, ok/bad/check counting, a free port,
# and starting `krait serve` in the background.
# shellcheck shell=bash
K="$ROOT/build/krait"
T=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
# check NAME GOT WANT
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }

# free_port: a TCP port nobody listens on.
free_port() { /usr/bin/python3.11 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
