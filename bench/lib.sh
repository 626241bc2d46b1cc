# bench/lib.sh -- helpers the server benchmarks share (bench/kv-write.sh,
# outbound.sh, serve.sh, sqlite.sh; POSIX sh, sourced from the repo root):
# ROOT, KRAIT (absolute), PYTHON and WRK with their defaults; tool checks,
# servers in the background stopped at exit (PIDS), a free port, waiting
# for a URL, wrk's figures and medians. Does not own what is measured.
ROOT=$(pwd)
KRAIT=${KRAIT:-build/krait}
case $KRAIT in /*) ;; *) KRAIT=$ROOT/$KRAIT ;; esac
PYTHON=${PYTHON:-/usr/bin/python3.11}
WRK=${WRK:-wrk}
PIDS=""

# bench_need NAME TOOL...: exits 2 ("NAME: TOOL not found") unless every
# TOOL is a command.
bench_need() {
  _bn_name=$1; shift
  for _bn_t in "$@"; do
    command -v "$_bn_t" >/dev/null 2>&1 || { echo "$_bn_name: $_bn_t not found (sh scripts/bootstrap.sh)" >&2; exit 2; }
  done
}

# stop PID: SIGTERM (graceful), SIGKILL after 15 s; waits for it and
# takes it out of PIDS.
stop() {
  kill -TERM "$1" 2>/dev/null
  _st_i=0
  while kill -0 "$1" 2>/dev/null && [ $_st_i -lt 150 ]; do sleep 0.1; _st_i=$((_st_i + 1)); done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}
cleanup() { for _cl_p in $PIDS; do stop "$_cl_p"; done; }
trap cleanup EXIT

# free_port: a TCP port nobody listens on.
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ready URL PID: waits up to 60 s for URL to answer 2xx; false if PID
# died first or the time ran out.
ready() {
  _rd_i=0
  while [ $_rd_i -lt 600 ]; do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1; _rd_i=$((_rd_i + 1))
  done
  return 1
}

# serve_bg DIR PORT LOG [ARG...]: krait serve --quiet [ARG...] in DIR on
# 127.0.0.1:PORT in the background, its output in LOG; SERVER is its pid
# (in PIDS, stopped at exit).
serve_bg() {
  _sb_dir=$1 _sb_port=$2 _sb_log=$3; shift 3
  (cd "$_sb_dir" && exec "$KRAIT" serve --listen "127.0.0.1:$_sb_port" --quiet "$@") >"$_sb_log" 2>&1 &
  SERVER=$!
  PIDS="$PIDS $SERVER"
}

# serve_up NAME DIR PATH LOG: serve_bg on a free port (P), then waits for
# http://127.0.0.1:$P/PATH to answer (ready_or_exit).
serve_up() {
  P=$(free_port)
  serve_bg "$2" "$P" "$4"
  ready_or_exit "$1" "http://127.0.0.1:$P$3" "$SERVER" "$4"
}

# ready_or_exit NAME URL PID LOG: ready, or exits 1 with LOG's tail
# ("NAME: LOG's server did not start").
ready_or_exit() {
  ready "$2" "$3" && return 0
  echo "$1: the server logging to $4 did not start:" >&2; tail -n 20 "$4" >&2; exit 1
}

# wrk_stats FILE: "req/s p50-ms p99-ms non-2xx socket-errors" from the
# output of `wrk --latency` in FILE ("-" for a figure it lacks).
wrk_stats() {
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
                        if (v ~ /s$/) return v * 1000; return v + 0 }
       BEGIN { rps = p50 = p99 = "-"; non2xx = sock = 0 }
       /^Requests\/sec:/ { rps = $2 }
       /^ *50%/ { p50 = ms($2) }
       /^ *99%/ { p99 = ms($2) }
       /Non-2xx or 3xx responses:/ { non2xx += $NF }
       /Socket errors:/ { sock += $4 + $6 + $8 + $10 }
       END { print rps, p50, p99, non2xx, sock }' "$1"
}

# median FILE [COLUMN]: the median (the lower one of an even count) of
# COLUMN (default 1) over FILE's lines.
median() {
  awk -v c="${2:-1}" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
