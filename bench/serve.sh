#!/bin/sh
# bench/serve.sh -- `make bench-serve`: one run of `krait serve` on
# loopback against Debian's gunicorn, printing a markdown table (also
# written to build/bench/serve.md) of:
#   1. throughput and latency: requests/s, p50 and p99 from
#      `wrk -t2 -c64 -d$BENCH_DURATION --latency` on a hello world in each
#      style (bench/serve/{spin,cf,wsgi}) and a Flask hello world
#      (bench/serve/flask) under krait serve (default workers: 4 per core,
#      at least 8) on each tier of SERVE_TIERS, and the no-isolation
#      baseline, the plain WSGI function and the same Flask app under
#      `gunicorn -w $(nproc) -k sync`; ratio = krait / gunicorn req/s;
#   2. cold start (snapshot -> ready instance): p50/p99 estimated from the
#      buckets of the server's krait_instance_start_seconds{app=...}
#      histogram on the admin port's /metrics (linear interpolation inside
#      the bucket, so only the bucket is exact; the smallest bucket is
#      0.5 ms), its exact mean (_sum / _count), and the exact p50/p99 that
#      build/test/host/bin/test_app measures in-process (200 spin hello
#      worlds), when that binary exists;
#   3. memory per in-flight request: the server's Private_Dirty
#      (/proc/PID/smaps_rollup) and VmRSS (/proc/PID/status) idle vs. peak
#      while wrk keeps 64 requests open on bench/serve/sleep (0.5 s each),
#      with the default workers and with --workers 64; in-flight instances
#      are bounded by the workers, so the measured average in flight
#      (req/s x 0.5 s) is shown too;
#   4. artifact size: `krait build` on a copy of bench/serve writes each
#      app's deployable artifact (.krait/APP.krait: snapshot, manifest and
#      bundle; python.wasm is referenced by hash), and the servers above run
#      from them; plus build/python/python.wasm, full and stripped
#      (build/python/sizes.txt);
# then which targets are met: cold start p50 <= 0.1 ms, throughput >= the
# gunicorn baseline, <= 2 MiB private memory per in-flight instance, a
# hello-world artifact <= 1 MB (10^6 bytes). Checks each endpoint's body first; a wrong
# body or a server that does not start exits 1 at the end. Every server it
# starts is stopped on exit. Raw outputs go to build/bench/serve/.
# Tiers: when `krait serve --help` offers --tier, SERVE_TIERS (default
# "aot interp") are measured one after the other (the AOT object of
# python.wasm is compiled first if the cache lacks it: minutes); memory is
# measured on the first. Without --tier the server runs on its default
# tier, labelled "default".
# Env: KRAIT (build/krait), BENCH_DURATION (10s), MEM_DURATION (3s),
# GUNICORN (gunicorn), WRK (wrk), PYTHON (/usr/bin/python3.11, for ports),
# SERVE_TIERS.
# Does not own: building krait, python.wasm or test_app (mk/bench.mk), the
# server itself (src/serve, src/deploy).
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
DUR=${BENCH_DURATION:-10s}
MEM_DUR=${MEM_DURATION:-3s}
GUNICORN=${GUNICORN:-gunicorn}
D=build/bench/serve
APPS=$ROOT/$D/apps
OUT=build/bench/serve.md
COLD_TEST=build/test/host/bin/test_app
NPROC=$(nproc)
mkdir -p "$D"
rm -rf "$D"/*
cp -r "$ROOT/bench/serve" "$APPS"

bench_need bench "$KRAIT" "$WRK" "$GUNICORN" "$PYTHON" curl
[ -f build/python/python.wasm ] || { echo "bench: build/python/python.wasm missing (make python)" >&2; exit 2; }

if "$KRAIT" serve --help 2>&1 | grep -q -- '--tier'; then
  SERVE_TIERS=${SERVE_TIERS:-aot interp}
else
  echo "bench: this krait serve has no --tier option: it runs on its default tier" >&2
  SERVE_TIERS=default
fi
FIRST_TIER=${SERVE_TIERS%% *}
case " $SERVE_TIERS " in
  *" aot "*) echo "bench: krait compile build/python/python.wasm (cached after the first time)"
             "$KRAIT" compile build/python/python.wasm >"$D/compile.log" 2>&1 ||
               { echo "bench: krait compile failed:" >&2; tail -n 5 "$D/compile.log" >&2; exit 1; } ;;
esac

trap 'exit 130' INT TERM

bad=0

# krait_start LOG [OPTIONS...]: krait serve on bench/serve/krait.toml;
# sets SERVER, U (base URL), ADMIN (admin base URL).
krait_start() {
  log=$1; shift
  P=$(free_port); AP=$(free_port)
  serve_bg "$APPS" "$P" "$log" --admin "127.0.0.1:$AP" "$@"
  U=http://127.0.0.1:$P ADMIN=http://127.0.0.1:$AP
  ready "$ADMIN/healthz" $SERVER && return 0
  echo "bench: krait serve $* did not start:" >&2; tail -n 20 "$log" >&2
  bad=1; stop $SERVER; return 1
}

# gunicorn_start DIR LOG: the app:app of DIR under gunicorn sync workers.
gunicorn_start() {
  P=$(free_port)
  (cd "$1" && exec "$GUNICORN" -w "$NPROC" -k sync -b "127.0.0.1:$P" --log-level warning app:app) >"$2" 2>&1 &
  SERVER=$!
  PIDS="$PIDS $SERVER"
  U=http://127.0.0.1:$P
  ready "$U/flask/" $SERVER && return 0
  echo "bench: gunicorn in $1 did not start:" >&2; tail -n 20 "$2" >&2
  bad=1; stop $SERVER; return 1
}

# body NAME URL WANT: checks that URL answers WANT.
body() {
  got=$(curl -s "$2")
  [ "$got" = "$3" ] || { echo "bench: $1: $2 answered '$got', want '$3'" >&2; bad=1; }
}

# load NAME URL: wrk on URL into $D/NAME.wrk.
load() {
  echo "bench: wrk $1 ($DUR)"
  "$WRK" -t2 -c64 -d"$DUR" --latency "$2" >"$D/$1.wrk" 2>&1 || { echo "bench: wrk failed on $1" >&2; bad=1; }
}

# stats NAME: "req/s p50-ms p99-ms errors" from $D/NAME.wrk ("-" if none;
# errors: non-2xx answers and socket errors).
stats() {
  [ -s "$D/$1.wrk" ] || { echo "- - - -"; return; }
  wrk_stats "$D/$1.wrk" | awk '{ print $1, $2, $3, $4 + $5 }'
}

# kib PID: "Private_Dirty VmRSS" of PID in KiB.
kib() {
  pd=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
  echo "${pd:-0} ${rss:-0}"
}

# memory LABEL: with the running server, idle vs. peak memory while wrk
# keeps 64 requests open on /sleep/; appends a line to $D/memory.txt:
# LABEL workers threads idle-pd idle-rss peak-pd peak-rss after-pd after-rss req/s.
memory() {
  body "sleep ($1)" "$U/sleep/" slept
  sleep 0.5
  set -- "$1" $(kib $SERVER)
  idle_pd=$2 idle_rss=$3 peak_pd=$2 peak_rss=$3
  echo "bench: memory, $1: wrk -c64 on /sleep/ ($MEM_DUR)"
  "$WRK" -t2 -c64 -d"$MEM_DUR" --timeout 60s "$U/sleep/" >"$D/mem-$1.wrk" 2>&1 &
  W=$!
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$SERVER/status")
  while kill -0 $W 2>/dev/null; do
    set -- "$1" $(kib $SERVER)
    [ "$2" -gt "$peak_pd" ] && peak_pd=$2
    [ "$3" -gt "$peak_rss" ] && peak_rss=$3
    sleep 0.2
  done
  wait $W
  sleep 1
  set -- "$1" $(kib $SERVER)
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$D/mem-$1.wrk")
  echo "$1 $threads $idle_pd $idle_rss $peak_pd $peak_rss $2 $3 ${rps:--}" >>"$D/memory.txt"
}

# ---- krait build: the artifacts the servers start from ---------------------------
echo "bench: krait build (artifacts)"
(cd "$APPS" && "$KRAIT" build) >"$D/build.log" 2>&1 || { echo "bench: krait build failed:" >&2; tail -n 5 "$D/build.log" >&2; bad=1; }

# path APP: the path krait serve routes to APP's hello world.
path() { case $1 in cf) echo /cf ;; *) echo "/$1/" ;; esac; }

# ---- krait serve, default workers, each tier; memory on the first -------------
for t in $SERVE_TIERS; do
  topt=""
  [ "$t" = default ] || topt="--tier $t"
  echo "bench: krait serve, $t tier (workers: default, max(4 x cores, 8), cores = $NPROC)"
  if krait_start "$D/krait-$t.log" $topt; then
    for a in spin cf wsgi flask; do body "$a ($t)" "$U$(path $a)" hi; done
    for a in spin cf wsgi flask; do load "krait-$t-$a" "$U$(path $a)"; done
    curl -s "$ADMIN/metrics" >"$D/metrics-$t.txt"
    [ "$t" = "$FIRST_TIER" ] && memory "default($NPROC)"
    stop $SERVER
  fi
  [ "$t" = "$FIRST_TIER" ] || continue
  echo "bench: krait serve --workers 64 ($t tier)"
  if krait_start "$D/krait-w64.log" --workers 64 $topt; then
    memory 64
    stop $SERVER
  fi
done

# ---- gunicorn ------------------------------------------------------------------
for g in wsgi flask; do
  echo "bench: gunicorn $g (-w $NPROC -k sync)"
  if gunicorn_start "$APPS/$g" "$D/gunicorn-$g.log"; then
    body "gunicorn $g" "$U/flask/" hi
    load "gunicorn-$g" "$U/flask/"
    stop $SERVER
  fi
done

# ---- the in-process cold start figure ------------------------------------------
if [ -x "$COLD_TEST" ]; then
  echo "bench: $COLD_TEST (cold start, in-process)"
  "$COLD_TEST" >"$D/test_app.txt" 2>&1 || { echo "bench: $COLD_TEST failed" >&2; bad=1; }
fi
COLD=$(sed -n 's/^cold start (snapshot -> instance ready): p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms$/\1 \2/p' "$D/test_app.txt" 2>/dev/null)
[ -n "$COLD" ] || COLD="- -"
REQ=$(sed -n 's/^request (snapshot -> response): p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*$/\1 \2/p' "$D/test_app.txt" 2>/dev/null)
[ -n "$REQ" ] || REQ="- -"

# ---- the tables ----------------------------------------------------------------
# hist TIER APP: "count mean-ms p50-est p50-lo p50-hi p99-est p99-lo p99-hi"
# (ms) from krait_instance_start_seconds{app="APP"} in $D/metrics-TIER.txt.
hist() {
  [ -s "$D/metrics-$1.txt" ] || { echo "0 - - - - - - -"; return; }
  awk -v app="$2" '
    # q QUANTILE: "est lo hi" in ms, Prometheus-style interpolation.
    function q(x,   rank, i, lo, prev) {
      rank = x * total; lo = 0; prev = 0
      for (i = 1; i <= n; i++) {
        if (cum[i] >= rank) {
          if (le[i] == "+Inf") return sprintf("%s %s %s", lo * 1000, lo * 1000, "inf")
          est = lo + (le[i] - lo) * (cum[i] > prev ? (rank - prev) / (cum[i] - prev) : 1)
          return sprintf("%.3f %g %g", est * 1000, lo * 1000, le[i] * 1000)
        }
        lo = le[i]; prev = cum[i]
      }
      return "- - -"
    }
    index($0, "krait_instance_start_seconds_bucket{app=\"" app "\",") == 1 {
      split($1, a, "le=\""); v = a[2]; sub(/".*/, "", v); le[++n] = v; cum[n] = $2 }
    index($0, "krait_instance_start_seconds_sum{app=\"" app "\"}") == 1 { sum = $2 }
    index($0, "krait_instance_start_seconds_count{app=\"" app "\"}") == 1 { total = $2 }
    END {
      if (!total) { print "0 - - - - - - -"; exit }
      printf "%d %.3f %s %s\n", total, sum / total * 1000, q(0.5), q(0.99)
    }' "$D/metrics-$1.txt"
}

# snap APP: "artifact-bytes snapshot-memory-KiB" (the artifact file from
# krait build; the memory from the server's boot log).
snap() {
  f=$APPS/.krait/$1.krait
  mem=$(sed -n "s/^krait[a-z ]*: app \"$1\" .* snapshot[a-z ]* \([0-9]*\) KiB$/\1/p" "$D/krait-$FIRST_TIER.log" 2>/dev/null | head -n 1)
  echo "$( [ -f "$f" ] && wc -c <"$f" || echo -) ${mem:--}"
}

WASM=$(wc -c <build/python/python.wasm)
STRIP=$(awk '/^python.wasm strip/ { print $3 }' build/python/sizes.txt 2>/dev/null)
{
  for t in $SERVE_TIERS; do
    for a in spin cf wsgi flask; do echo "T krait-$t-$a $(stats "krait-$t-$a")"; done
    for a in spin cf wsgi flask; do echo "H $t-$a $(hist "$t" "$a")"; done
  done
  for g in wsgi flask; do echo "T gunicorn-$g $(stats gunicorn-$g)"; done
  echo "C $COLD $REQ"
  [ -s "$D/memory.txt" ] && sed 's/^/M /' "$D/memory.txt"
  for a in spin cf flask sleep; do echo "S $a $(snap $a)"; done
  echo "W ${WASM:-} ${STRIP:-}"
} | awk -v dur="$DUR" -v mdur="$MEM_DUR" -v nproc="$NPROC" -v cold_test="$COLD_TEST" -v tiers="$SERVE_TIERS" '
  function mib(k) { return sprintf("%.1f", k / 1024) }
  function verdict(ok) { return ok == "" ? "UNKNOWN" : ok ? "MET" : "MISSED" }
  $1 == "T" { rps[$2] = $3; p50[$2] = $4; p99[$2] = $5; err[$2] = $6; next }
  $1 == "H" { hn[$2] = $3; hmean[$2] = $4; h50[$2] = $5; h50lo[$2] = $6; h50hi[$2] = $7
              h99[$2] = $8; h99lo[$2] = $9; h99hi[$2] = $10; next }
  $1 == "C" { c50 = $2; c99 = $3; r50 = $4; r99 = $5; next }
  $1 == "M" { m[++nm] = $2; mth[nm] = $3; ipd[nm] = $4; irss[nm] = $5; ppd[nm] = $6; prss[nm] = $7
              apd[nm] = $8; arss[nm] = $9; mrps[nm] = $10; next }
  $1 == "S" { artb[$2] = $3; snapk[$2] = $4; next }
  $1 == "W" { wasm = $2; strip = $3; next }
  END {
    label["spin"] = "spin hello"; label["cf"] = "cloudflare hello"; label["wsgi"] = "WSGI hello (plain function)"
    label["flask"] = "Flask hello (wsgi)"
    label["gunicorn-wsgi"] = "plain WSGI function (gunicorn)"; label["gunicorn-flask"] = "Flask hello (gunicorn)"
    nt = split(tiers, T, " ")
    printf "## krait serve vs gunicorn: loopback, %s cores\n\n", nproc
    printf "### Throughput: wrk -t2 -c64 -d%s --latency (krait: default workers; gunicorn: -w %s -k sync)\n\n", dur, nproc
    print "| handler | server | req/s | p50 ms | p99 ms | errors | ratio (krait / gunicorn req/s) |"
    print "|---|---|---:|---:|---:|---:|---:|"
    split("spin cf wsgi flask", apps, " ")
    for (ti = 1; ti <= nt; ti++) {
      t = T[ti]
      for (i = 1; i <= 4; i++) {
        a = apps[i]; k = "krait-" t "-" a; b = (a == "flask") ? "gunicorn-flask" : "gunicorn-wsgi"
        ratio = "-"
        if (rps[k] != "-" && rps[b] != "-" && rps[b] > 0) {
          r = rps[k] / rps[b]; ratio = sprintf("%.2fx", r)
          if (ti == 1 && a != "flask" && (tput == "" || r < tput)) tput = r
          if (ti == 1 && a == "flask") ftput = r
        }
        printf "| %s | krait serve (%s tier) | %s | %s | %s | %s | %s |\n", label[a], t, rps[k], p50[k], p99[k], err[k], ratio
      }
    }
    for (i = 1; i <= 2; i++) {
      k = (i == 1) ? "gunicorn-wsgi" : "gunicorn-flask"
      printf "| %s | gunicorn | %s | %s | %s | %s | 1.00x |\n", label[k], rps[k], p50[k], p99[k], err[k]
    }
    print ""
    print "### Cold start: snapshot -> ready instance, measured inside the host"
    print ""
    print "From the krait_instance_start_seconds histogram (admin /metrics) after the runs above, so"
    print "under full load: p50/p99 are estimated by linear interpolation inside the bucket that"
    print "holds them (only the bucket, shown as (lo, hi], is exact; the smallest bucket is 0.5 ms);"
    print "the mean is exact (_sum / _count)."
    print ""
    print "| app | tier | instances | p50 ms (bucket) | p99 ms (bucket) | mean ms |"
    print "|---|---|---:|---:|---:|---:|"
    for (ti = 1; ti <= nt; ti++) for (i = 1; i <= 4; i++) {
      a = T[ti] "-" apps[i]
      if (!hn[a]) { printf "| %s | %s | 0 | - | - | - |\n", apps[i], T[ti]; continue }
      printf "| %s | %s | %d | %s (%s, %s] | %s (%s, %s] | %s |\n", apps[i], T[ti], hn[a], h50[a], h50lo[a], h50hi[a],
             h99[a], h99lo[a], h99hi[a], hmean[a]
      if (ti == 1 && (worst == "" || hmean[a] + 0 > worst)) worst = hmean[a] + 0
    }
    if (c50 != "-") {
      printf "| spin, in-process (%s, 200 sequential, exact) | its engine default | 200 | %s | %s | |\n", cold_test, c50, c99
      printf "| the same, snapshot -> response | | 200 | %s | %s | |\n", r50, r99
    } else
      printf "| spin, in-process (%s) | | - | not run (make test-host builds it) | | |\n", cold_test
    print ""
    print "### Memory per in-flight request: wrk -c64 on a handler that sleeps 0.5 s (" mdur ")"
    print ""
    print "Server process: Private_Dirty (smaps_rollup) and VmRSS, idle after one request vs. the"
    print "peak while wrk holds 64 connections; in flight = measured req/s x 0.5 s (instances are"
    print "bounded by the worker threads). Growth is divided by 64 and by the measured in flight."
    print ""
    print "| workers (threads) | in flight | Private_Dirty idle -> peak MiB | per request (/64) | per in-flight | RSS idle -> peak MiB | RSS /64 | after MiB (PD/RSS) |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    mem = ""
    for (i = 1; i <= nm; i++) {
      fl = (mrps[i] != "-") ? mrps[i] * 0.5 : 0
      g = ppd[i] - ipd[i]; gr = prss[i] - irss[i]
      printf "| %s (%s) | %.1f | %s -> %s | %.2f MiB | %s | %s -> %s | %.2f MiB | %s / %s |\n", m[i], mth[i], fl,
             mib(ipd[i]), mib(ppd[i]), g / 64 / 1024, (fl >= 1 ? sprintf("%.2f MiB", g / fl / 1024) : "-"),
             mib(irss[i]), mib(prss[i]), gr / 64 / 1024, mib(apd[i]), mib(arss[i])
      if (m[i] == "64") mem = g / 64 / 1024
    }
    print ""
    print "### Artifact size"
    print ""
    print "| artifact | size | snapshot memory |"
    print "|---|---:|---:|"
    split("spin cf flask sleep", sa, " ")
    for (i = 1; i <= 4; i++)
      printf "| .krait/%s.krait (krait build) | %s | %s |\n", sa[i],
             (artb[sa[i]] != "-" ? sprintf("%d bytes (%.0f KiB)", artb[sa[i]], artb[sa[i]] / 1024) : "-"),
             (snapk[sa[i]] != "-" ? snapk[sa[i]] " KiB" : "-")
    printf "| build/python/python.wasm (shared, by hash) | %s bytes | |\n", wasm
    printf "| python.wasm stripped (sizes.txt) | %s bytes | |\n", (strip != "" ? strip : "-")
    print ""
    print "### Targets"
    print ""
    print "| target | measured | verdict |"
    print "|---|---|---|"
    cs = (c50 == "-") ? "" : (c50 <= 0.1)
    printf "| cold start p50 <= 0.1 ms | in-process p50 %s ms; worst mean under load (%s tier) %s ms | %s |\n",
           c50, T[1], (worst == "" ? "-" : worst), verdict(cs)
    printf "| hello world, each style, >= gunicorn (%s tier) | lowest krait / gunicorn ratio %s | %s |\n", T[1],
           (tput == "" ? "-" : sprintf("%.2fx", tput)), verdict(tput == "" ? "" : tput >= 1)
    printf "| Flask on krait >= Flask on gunicorn (%s tier) | %s | %s |\n", T[1],
           (ftput == "" ? "-" : sprintf("%.2fx", ftput)), verdict(ftput == "" ? "" : ftput >= 1)
    printf "| <= 2 MiB private memory per in-flight instance | %s | %s |\n",
           (mem == "" ? "-" : sprintf("Private_Dirty growth / 64 with --workers 64: %.2f MiB", mem)),
           verdict(mem == "" ? "" : mem <= 2)
    sk = artb["spin"]
    printf "| hello-world artifact <= 1 MB | .krait/spin.krait %s bytes (python.wasm, shared, not included) | %s |\n",
           sk, verdict(sk == "-" ? "" : sk <= 1000000)
  }' >"$OUT"
echo
cat "$OUT"
echo
echo "bench: table written to $OUT (raw outputs in $D/)"

[ $bad -eq 0 ] || { echo "bench: some checks or servers failed" >&2; exit 1; }
