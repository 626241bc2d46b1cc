#!/bin/sh
# bench/llm/rss.sh -- bench/llm.sh's memory part: `krait serve` with MODEL
# granted to one app (bench/llm/rss/app.py; [llm] max_concurrent 8,
# threads BENCH_RSS_THREADS, 2), and VmRSS, RssFile and RssAnon from
# /proc/PID/status: booted with the workers started, after one request (the
# weights paged in), then the largest sample with 1 and with 8 generations
# in flight. Weights are mapped once, so RssFile stays at about the model's
# size and 8 requests add only their KV caches and scratch (RssAnon).
# Prints a Markdown table.   sh bench/llm/rss.sh MODEL.gguf WORKDIR
# Does not own the engine's memory (src/llm/engine.c, model.c).
set -u
cd "$(dirname "$0")/../.." || exit 2
. bench/lib.sh
M=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$2
THR=${BENCH_RSS_THREADS:-2}
NTOK=${BENCH_RSS_TOKENS:-32}
rm -rf "$D"
mkdir -p "$D/app"
cp bench/llm/rss/app.py "$D/app/"
cat >"$D/krait.toml" <<EOF2
[llm]
threads = $THR
max_concurrent = 8
max_queued = 8

[llm.models.bench]
path = "$M"

[[app]]
name = "rss"
style = "spin"
dir = "app"
route = "/rss/..."
ai_models = ["bench"]
[app.limits]
timeout_ms = 300000
EOF2
P=$(free_port)
serve_bg "$D" "$P" "$D/server.log" --workers 16
ready_or_exit bench-llm "http://127.0.0.1:$P/rss/ping" "$SERVER" "$D/server.log"
U=http://127.0.0.1:$P/rss

# mem: "VmRSS RssFile RssAnon RssShmem" of the server in MB.
mem() {
  awk '/^(VmRSS|RssFile|RssAnon|RssShmem):/ { v[$1] = $2 / 1024 }
       END { printf "%.1f %.1f %.1f %.1f\n", v["VmRSS:"], v["RssFile:"], v["RssAnon:"],
             v["RssShmem:"] }' "/proc/$SERVER/status"
}
# burst N PATH: N requests to PATH at once; waits for them.
burst() {
  _bp=""
  for _i in $(seq "$1"); do curl -s -o /dev/null "$U$2" & _bp="$_bp $!"; done
  # shellcheck disable=SC2086
  wait $_bp
}
# peak N: N generations of NTOK tokens in flight; mem's sample with the
# largest VmRSS, taken every 0.1 s until they are answered.
peak() {
  : >"$D/samples"
  _bp=""
  for _i in $(seq "$1"); do curl -s -o "$D/gen.$_i" "$U/gen?n=$NTOK" & _bp="$_bp $!"; done
  _left=$1
  while [ "$_left" -gt 0 ]; do
    mem >>"$D/samples"
    sleep 0.1
    _left=0
    for _p in $_bp; do kill -0 "$_p" 2>/dev/null && _left=$((_left + 1)); done
  done
  # shellcheck disable=SC2086
  wait $_bp
  sort -n -k1 "$D/samples" | tail -n 1
}
# row LABEL "VmRSS RssFile RssAnon RssShmem" BASE: a table row, with
# VmRSS - BASE.
row() {
  # shellcheck disable=SC2086 # the four figures split on purpose
  set -- "$1" $2 "$3"
  echo "| $1 | $2 | $3 | $4 | $5 | $(awk -v a="$2" -v b="$6" 'BEGIN { printf "%+.1f", a - b }') |"
}

burst 16 /ping; burst 16 /ping
boot=$(mem)
curl -s -o /dev/null "$U/gen?n=4"
warm=$(mem)
one=$(peak 1)
eight=$(peak 8)
ok=0
for f in "$D"/gen.*; do [ "$(cat "$f")" = "$NTOK" ] && ok=$((ok + 1)); done
base=$(echo "$warm" | cut -d' ' -f1)
echo
echo "krait serve, the Q8_0 model ($(du -m "$M" | cut -f1) MB file) granted to one app, [llm] threads $THR, max_concurrent 8, 16 workers; generations of $NTOK tokens ($ok of the last 8 answered with all $NTOK tokens); /proc/PID/status in MB"
echo
echo "| state | VmRSS | RssFile | RssAnon | RssShmem | VmRSS vs idle |"
echo "|---|---|---|---|---|---|"
row "booted, workers started, model not yet used" "$boot" "$base"
row "idle after one request (weights paged in)" "$warm" "$base"
row "1 request in flight (peak)" "$one" "$base"
row "8 requests in flight (peak)" "$eight" "$base"
stop "$SERVER"
