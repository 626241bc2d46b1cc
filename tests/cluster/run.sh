#!/bin/bash
# tests/cluster/run.sh -- several hosts (the `cluster` tier): three
# `krait serve` hosts on 127.0.0.2-4 serving one artifact (`krait build`)
# behind a real haproxy that health-checks their /healthz, key-value data
# in a shared redis-server, SQL data (when the Postgres binding is there)
# in a shared PostgreSQL 15, all started here on free ports and stopped on
# exit. Under a bounded load of writes (tests/cluster/load.py: unique ids,
# a write counts only when it got a 2xx) one host is killed with -9: the
# others keep serving, haproxy marks it down, and every acknowledged write
# is read back; the host rejoins; then each host in turn is reloaded with
# kill -HUP onto a new artifact version: no request fails, a slow request
# begun before the signal returns the old version's marker and the next
# ones the new; then the same writes into a Postgres table with a host
# killed. CLUSTER_SQL=1/0 forces that SQL part on/off (default: on when
# python/sdk/spin_sdk/postgres.py exists). Prints "ok NAME" / "FAIL
# NAME" and ends with "N passed, N failed". Needs build/krait, `make
# python`, haproxy, redis-server and (SQL) postgresql-15.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
K=${KRAIT_BIN:-$K}              # e.g. build/asan/krait
PY=/usr/bin/python3.11
export KRAIT_CACHE=$T/cache       # artifacts unpack here, not in ~/.cache
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
IPS=(127.0.0.2 127.0.0.3 127.0.0.4)
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$2', want it to contain '$3'" ;; esac; }
die() { echo "$1"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
for tool in "$HAPROXY" redis-server; do command -v "$tool" >/dev/null || die "cluster: $tool is not installed (scripts/bootstrap.sh)"; done
SQL=${CLUSTER_SQL:-auto}
[ "$SQL" = auto ] && { [ -f "$ROOT/python/sdk/spin_sdk/postgres.py" ] && SQL=1 || SQL=0; }

# Postgres runs as an unprivileged user (it refuses root) in a directory of
# its own; stopped (fast shutdown) before the scratch directory goes.
PGD= PGPID=
cluster_cleanup() {
  [ -n "$PGPID" ] && kill -INT "$PGPID" 2>/dev/null && for _ in $(seq 50); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done
  [ -n "$PGD" ] && rm -rf "$PGD"
  cleanup
}
trap cluster_cleanup EXIT

# ---- shared data: redis-server, and PostgreSQL for the SQL part ------------------
RP=$(free_port) PGP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
if [ "$SQL" = 1 ]; then
  PGD=$(mktemp -d /tmp/krait-cluster-pg.XXXXXX)
  AS=
  [ "$(id -u)" = 0 ] && { chown nobody "$PGD"; AS="setpriv --reuid=nobody --regid=nogroup --clear-groups --"; }
  PGPW="pw-$$-$RANDOM"            # the app gets it through the variables file
  echo "$PGPW" >"$PGD/pw"
  $AS "$PGBIN/initdb" -D "$PGD/data" -U krait --pwfile="$PGD/pw" --auth=scram-sha-256 --no-sync \
    >"$T/initdb.log" 2>&1 || die "initdb failed: $(tail -n 3 "$T/initdb.log")"
  export PGPASSWORD=$PGPW
  $AS "$PGBIN/postgres" -D "$PGD/data" -p "$PGP" -k "$PGD" -c listen_addresses=127.0.0.1 -c fsync=off \
    >"$T/postgres.log" 2>&1 &
  PGPID=$!
  for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGP" && break; sleep 0.1; done
  psql -q -h 127.0.0.1 -p "$PGP" -U krait -d postgres \
    -c "CREATE TABLE writes (id text PRIMARY KEY, marker text NOT NULL)" >"$T/psql.log" 2>&1 \
    || die "postgres did not start: $(tail -n 3 "$T/postgres.log" "$T/psql.log")"
fi

# ---- the app, built into two artifact versions -------------------------------------
S=$T/src
mkdir -p "$S"
cp "$ROOT/tests/cluster/app/app.py" "$ROOT/tests/cluster/app/sql.py" "$S/"
cat >"$S/krait.toml" <<EOF
[variables]
host = { default = "unnamed" }
pg_address = { required = true, secret = true }

[app]
name = "cl"
style = "spin"
route = "/..."
key_value_stores = ["shared"]
allowed_outbound_hosts = ["postgres://127.0.0.1:$PGP"]
[app.variables]
host = "{{ host }}"
pg_address = "{{ pg_address }}"

[key_value_stores.shared]
backend = "redis"
url = "redis://127.0.0.1:$RP/0"
EOF
(cd "$S" && "$K" build >"$T/build-v1.log" 2>&1) && cp "$S/.krait/cl.krait" "$T/v1.krait" || die "build v1: $(tail -n 5 "$T/build-v1.log")"
sed -i 's/^VERSION = .*/VERSION = "v2"/' "$S/app.py"
(cd "$S" && "$K" build >"$T/build-v2.log" 2>&1) && cp "$S/.krait/cl.krait" "$T/v2.krait" || die "build v2: $(tail -n 5 "$T/build-v2.log")"
printf 'pg_address = "postgres://krait:%s@127.0.0.1:%s/postgres?sslmode=disable"\n' "${PGPW:-none}" "$PGP" >"$T/vars.toml"
chmod 600 "$T/vars.toml"

# ---- three hosts and haproxy ---------------------------------------------------------
declare -a HP HAP HPID
# host N: starts host N (1-3) from $T/hN/cl.krait; waits for its /healthz.
host() {
  local n=$1 ip=${IPS[$(($1 - 1))]} d=$T/h$1
  mkdir -p "$d"
  [ -f "$d/cl.krait" ] || cp "$T/v1.krait" "$d/cl.krait"
  (cd "$d" && KRAIT_VARIABLE_HOST=h$n exec "$K" serve cl.krait --listen "$ip:${HP[$n]}" --admin "$ip:${HAP[$n]}" \
     --variables-file "$T/vars.toml" --quiet >>"$d/server.log" 2>&1) &
  HPID[$n]=$!
  PIDS="$PIDS ${HPID[$n]}"
  for _ in $(seq 200); do
    curl -sf "http://$ip:${HAP[$n]}/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${HPID[$n]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "host h$n did not start:"; tail -n 5 "$d/server.log"; return 1
}
for n in 1 2 3; do HP[$n]=$(free_port) HAP[$n]=$(free_port); done
for n in 1 2 3; do host "$n" || die "host h$n"; done
LB=$(free_port)
{
  cat <<EOF
global
    stats socket $T/haproxy.sock mode 600 level admin
    maxconn 512
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend www
    bind 127.0.0.1:$LB
    default_backend krait
backend krait
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
EOF
  for n in 1 2 3; do
    echo "    server h$n ${IPS[$((n - 1))]}:${HP[$n]} check port ${HAP[$n]} inter 200ms fall 2 rise 2"
  done
} >"$T/haproxy.cfg"
"$HAPROXY" -c -q -f "$T/haproxy.cfg" || die "haproxy refuses the generated config"
"$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
U=http://127.0.0.1:$LB

# state H: host H's state as haproxy's stats socket says (UP, DOWN, ...).
state() {
  $PY - "$T/haproxy.sock" "$1" 2>/dev/null <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536): data += chunk
lines = data.decode().splitlines()
cols = lines[0].lstrip("# ").split(",")
for l in lines[1:]:
    f = l.split(",")
    if len(f) == len(cols) and f[0] == "krait" and f[1] == sys.argv[2]: print(f[cols.index("status")].split()[0])
PY
}
# until_state H STATE: waits (at most 10 s) until haproxy sees host H so.
until_state() { for _ in $(seq 100); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
# spread N: the hosts N requests of /version through haproxy reached, and
# their versions, sorted and counted ("v1 h1 v1 h2 ..." once each; a
# failed request shows as its status).
spread() {
  for _ in $(seq "$1"); do curl -s -w ' %{http_code}\n' "$U/version"; done | sort -u | sed 's/ 200$//' | tr '\n' ' ' | sed 's/ $//'
}
for n in 1 2 3; do until_state "h$n" UP || die "haproxy never saw h$n up"; done
ok cluster-up
check lb-spreads-over-three-hosts "$(spread 9)" "v1 h1 v1 h2 v1 h3"

# load TAG WRITERS READERS [PREFIX]: load.py in the background (LOAD: its
# pid; it stops when $T/stop-TAG appears; JSON in $T/load-TAG.json, the
# acknowledged ids in $T/acked-TAG).
load() {
  rm -f "$T/stop-$1"
  $PY "$ROOT/tests/cluster/load.py" "$LB" "$1" "$2" "$3" "$T/stop-$1" "$T/acked-$1" "${4:-/kv}" >"$T/load-$1.json" 2>"$T/load-$1.err" &
  LOAD=$!
}
# finish TAG: stops load TAG and waits for it.
finish() { touch "$T/stop-$1"; wait "$LOAD"; }
# field TAG EXPR: a value of load TAG's JSON (a Python expression over j).
field() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$T/load-$1.json" 2>/dev/null; }
# readback TAG [PREFIX]: what the cluster says of load TAG's acknowledged ids.
readback() { curl -s --data-binary @"$T/acked-$1" "$U${2:-/kv}/missing"; }

# ---- kill -9 one host under a load of writes --------------------------------------
load kill 3 1
sleep 1.5
kill -9 "${HPID[2]}"
if until_state h2 DOWN; then ok haproxy-marks-killed-host-down; else bad haproxy-marks-killed-host-down "h2: $(state h2)"; fi
sleep 1.5
finish kill
A=$(field kill 'j["acked"]')
echo "kill: $(cat "$T/load-kill.json")"
[ "${A:-0}" -ge 30 ] && ok kill-load-wrote || bad kill-load-wrote "only ${A:-0} writes acknowledged: $(cat "$T/load-kill.err")"
check kill-writes-reached-every-host "$(field kill '" ".join(sorted(h for h, c in j["hosts"].items() if c > 0))')" "h1 h2 h3"
check every-acknowledged-write-present "$(readback kill)" "$A checked, 0 missing"
check others-keep-serving "$(spread 9)" "v1 h1 v1 h3"
host 2 || bad killed-host-restarts "no server"
if until_state h2 UP; then ok killed-host-rejoins; else bad killed-host-rejoins "h2: $(state h2)"; fi
check rejoined-host-serves "$(spread 9)" "v1 h1 v1 h2 v1 h3"

# ---- kill -HUP each host in turn onto v2, under load -------------------------------
load reload 3 2
sleep 1
for n in 1 2 3; do
  ip=${IPS[$((n - 1))]} d=$T/h$n
  curl -s "http://$ip:${HP[$n]}/slow?s=3&tag=reload$n" >"$T/slow-$n" &
  slow=$!
  started=no
  for _ in $(seq 100); do                   # until the slow request runs (on v1)
    [ "$(redis-cli -p "$RP" exists "krait:kv:shared:k:slow:reload$n")" = 1 ] && { started=yes; break; }
    sleep 0.05
  done
  check "h$n-slow-request-started-before-hup" "$started" "yes"
  cp "$T/v2.krait" "$d/cl.krait.new" && mv "$d/cl.krait.new" "$d/cl.krait"
  kill -HUP "${HPID[$n]}"
  for _ in $(seq 200); do grep -q "reloaded in" "$d/server.log" && break; sleep 0.1; done
  check "h$n-reloaded" "$(grep -c 'reloaded in' "$d/server.log")" "1"
  kill -0 "$slow" 2>/dev/null && ok "h$n-slow-request-outlives-reload" || bad "h$n-slow-request-outlives-reload" "it ended first"
  check "h$n-new-requests-get-v2" "$(curl -s "http://$ip:${HP[$n]}/version")" "v2 h$n"
  wait "$slow"
  check "h$n-inflight-request-finished-on-v1" "$(cat "$T/slow-$n")" "slow v1 h$n"
done
sleep 0.5
finish reload
echo "reload: $(cat "$T/load-reload.json")"
A=$(field reload 'j["acked"]')
check reload-no-request-failed "$(field reload 'j["failed"]')" "0"
[ "${A:-0}" -ge 30 ] && ok reload-load-wrote || bad reload-load-wrote "only ${A:-0} writes acknowledged: $(cat "$T/load-reload.err")"
check reload-acknowledged-writes-present "$(readback reload)" "$A checked, 0 missing"
check reload-readers-saw-both "$(field reload '" ".join(sorted(set(j["versions"])))')" "v1 v2"
check all-hosts-on-v2 "$(spread 9)" "v2 h1 v2 h2 v2 h3"

# ---- SQL: the same writes into the shared Postgres, a host killed --------------------
if [ "$SQL" = 1 ]; then
  load sql 3 0 /sql
  sleep 1.5
  kill -9 "${HPID[3]}"
  if until_state h3 DOWN; then ok sql-haproxy-marks-killed-host-down; else bad sql-haproxy-marks-killed-host-down "h3: $(state h3)"; fi
  sleep 1.5
  finish sql
  echo "sql: $(cat "$T/load-sql.json")"
  A=$(field sql 'j["acked"]')
  [ "${A:-0}" -ge 30 ] && ok sql-load-wrote || bad sql-load-wrote "only ${A:-0} writes acknowledged: $(cat "$T/load-sql.json")"
  check sql-every-acknowledged-write-present "$(readback sql /sql)" "$A checked, 0 missing"
  rows=$(psql -At -h 127.0.0.1 -p "$PGP" -U krait -d postgres -c "SELECT count(*) FROM writes WHERE id LIKE 'sql-%'")
  [ "${rows:-0}" -ge "${A:-1}" ] && ok sql-rows-in-postgres || bad sql-rows-in-postgres "$rows rows for $A acknowledged writes"
else
  echo "skip sql: CLUSTER_SQL=0, or python/sdk/spin_sdk/postgres.py is absent"
fi

for n in 1 2 3; do kill -TERM "${HPID[$n]}" 2>/dev/null; wait "${HPID[$n]}" 2>/dev/null; done
check no-sanitizer-report "$(grep -h -A12 'Sanitizer\|runtime error' "$T"/h?/server.log | head -n 40)" ""

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
