#!/bin/bash
# tests/serve/postgres.sh -- the postgres binding (spin_sdk.postgres) against
# a real PostgreSQL 15 server the test starts (initdb in a scratch dir, run
# as 'nobody', 127.0.0.1 on a free port, scram passwords, TLS with a
# self-signed certificate; stopped at exit): every value type both ways,
# query/execute, parameters carrying injection attempts, NULLs, the
# server's errors (syntax, constraint) as Err with its message, Spin's
# Uint refusal, key=value and URL addresses with quoting and escapes,
# allowed vs denied addresses (a counting listener sees no connection), a
# name resolving to 127.0.0.1 refused unless listed literally, refused
# keywords (sslkey, service, passfile, hostaddr, Unix sockets...), the
# host's PG* environment and ~/.pgpass never used, dbname never read as a
# connection string, server notices kept off krait's log, TLS by sslmode, the
# deadline (pg_sleep cancelled on the server), the 16 MiB result cap, the
# 8-connection cap, the cancel request alone ending a statement whose
# guest turned statement_timeout and the connection check off, a hostile
# fake server (SCRAM i=2147483647 ends at the deadline; ParameterStatus
# floods and a 256 MiB DataRow stopped by the byte limits, the server's
# bytes sent and the host's peak memory measured; a 2 GiB one). Ends with
# "N passed, N failed". Needs build/krait, `make python` and postgresql-15.
# Does not own the binding (src/app/pg*.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
PGBIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PGBIN/postgres" ]; then echo "postgresql-15 is not installed (scripts/bootstrap.sh)"; echo "0 passed, 1 failed"; exit 1; fi

# ---- the server: initdb as nobody, scram, TLS, 127.0.0.1:PGPORT -------------
chmod 711 "$T"
PGD=$T/pg
# postgres refuses to run as root: as root it runs as nobody, else as is
if [ "$(id -u)" = 0 ]; then OWN="chown -R nobody:nogroup"; as_pg() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
else OWN=true; as_pg() { "$@"; }; fi
mkdir -p "$PGD/data" && $OWN "$PGD" && chmod 700 "$PGD"
PASS="p@ss w'rd"                                 # quoting and URL escapes
printf 'admin\n' >"$PGD/pw" && $OWN "$PGD/pw"
as_pg "$PGBIN/initdb" -D "$PGD/data" -U postgres --pwfile="$PGD/pw" --auth=scram-sha-256 -E UTF8 \
  --no-sync >"$T/initdb.log" 2>&1 || { cat "$T/initdb.log"; echo "0 passed, 1 failed"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=pgtest" \
  -keyout "$PGD/server.key" -out "$PGD/server.crt" >/dev/null 2>&1
$OWN "$PGD/server.key" "$PGD/server.crt" && chmod 600 "$PGD/server.key"
PGPORT=$(free_port)
spawn as_pg "$PGBIN/postgres" -D "$PGD/data" -p "$PGPORT" -k "$PGD" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c ssl=on -c ssl_cert_file="$PGD/server.crt" -c ssl_key_file="$PGD/server.key" \
  >"$T/postgres.log" 2>&1
# stop the server (and its backends) before lib.sh's cleanup kills what is left
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate -w stop >/dev/null 2>&1; cleanup' EXIT
psql_admin() { PGPASSWORD=admin psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d "${DB:-postgres}" "$@"; }
wait_until 100 psql_admin -c 'SELECT 1' >/dev/null 2>&1
psql_admin -c "CREATE ROLE app LOGIN PASSWORD 'p@ss w''rd'" -c "CREATE DATABASE appdb OWNER app" \
  >/dev/null || { tail "$T/postgres.log"; echo "0 passed, 1 failed"; exit 1; }

# a hostile fake server (FPORT): answers every login with SCRAM-SHA-256 and
# i=2147483647 iterations (2^31 HMACs: libpq has no cap), then waits;
# with "stream" as the user it sends ParameterStatus messages without end;
# "flood", "huge" and "huge2g" log in, then answer the statement with
# ParameterStatus messages without end, or with a DataRow announcing 256 MiB
# (~2 GiB) and zeros without end, logging "USER sent N" (bytes) once the
# connection is closed
FPORT=$(free_port)
cat >"$T/fakepg.py" <<'PYEOF'
import socket, struct, sys, threading, time
def msg(t, body): return t + struct.pack("!I", len(body) + 4) + body
def serve(c):
    try:
        n, = struct.unpack("!I", c.recv(4, socket.MSG_WAITALL)); body = c.recv(n - 4, socket.MSG_WAITALL)
        if struct.unpack("!I", body[:4])[0] == 80877102:   # CancelRequest: logged, never closed
            open(sys.argv[2], "a").write("cancel %d %d\n" % struct.unpack("!II", body[4:12])); time.sleep(600)
        if struct.unpack("!I", body[:4])[0] == 80877103:   # SSLRequest: no
            c.sendall(b"N"); n, = struct.unpack("!I", c.recv(4, socket.MSG_WAITALL)); body = c.recv(n - 4, socket.MSG_WAITALL)
        def flood():
            i = 0
            while True:
                i += 1; c.sendall(b"".join(msg(b"S", b"p%d_%d\0%s\0" % (i % 4, j, b"v" * 2000)) for j in range(30)))
        if b"user\0stream\0" in body:
            c.sendall(msg(b"R", struct.pack("!I", 0))); flood()
        user = body.split(b"user\0", 1)[-1].split(b"\0", 1)[0]
        if user in (b"flood", b"huge", b"huge2g", b"hang"):
            c.sendall(msg(b"R", struct.pack("!I", 0)) + msg(b"K", struct.pack("!II", 7, 7)) + msg(b"Z", b"I"))
            c.recv(65536)
            if user == b"flood": flood()
            if user == b"hang": time.sleep(600)
            c.sendall(b"D" + struct.pack("!I", 0x10000000 if user == b"huge" else 0x7ffffff0))
            sent = 0
            try:
                while True: c.sendall(bytes(65536)); sent += 65536
            finally:
                open(sys.argv[2], "a").write("%s sent %d\n" % (user.decode(), sent))
        c.sendall(msg(b"R", struct.pack("!I", 10) + b"SCRAM-SHA-256\0\0"))
        head = c.recv(5, socket.MSG_WAITALL); rest = c.recv(struct.unpack("!I", head[1:])[0] - 4, socket.MSG_WAITALL)
        nonce = rest.split(b"r=", 1)[1].split(b",")[0]
        c.sendall(msg(b"R", struct.pack("!I", 11) + b"r=" + nonce + b"srv,s=c2FsdHNhbHQ=,i=2147483647"))
        open(sys.argv[2], "a").write("scram\n")
        time.sleep(600)
    except OSError: pass
    finally: c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
spawn $PY "$T/fakepg.py" "$FPORT" "$T/fakelog"

# a counting TCP listener: an address the apps may not reach
CPORT=$(free_port)
spawn $PY -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); n=0
open(sys.argv[2], "w").write("0")
while True:
    c, _ = s.accept(); n += 1; open(sys.argv[2], "w").write(str(n)); c.close()' "$CPORT" "$T/count"

# ---- the apps -----------------------------------------------------------------
A=$T/apps
mkdir -p "$A/pg" "$A/wild" "$A/slow" "$A/wsgi" "$A/cf" "$A/few"
cat >"$A/pg/app.py" <<'EOF'
from urllib.parse import parse_qs
from spin_sdk import http, postgres
from spin_sdk.http import Response
from spin_sdk.wit.imports.rdbms_types import (
    ParameterValue_Boolean, ParameterValue_Int8, ParameterValue_Int16, ParameterValue_Int32,
    ParameterValue_Int64, ParameterValue_Uint8, ParameterValue_Floating32, ParameterValue_Floating64,
    ParameterValue_Str, ParameterValue_Binary, ParameterValue_DbNull, DbValue_DbNull,
    DbValue_Unsupported)
from spin_sdk.wit.types import Err

def show(v):
    if isinstance(v, (DbValue_DbNull, DbValue_Unsupported)):
        return type(v).__name__[8:]
    return f"{type(v).__name__[8:]}:{v.value!r}"

def rows(rs):
    return ",".join(f"{c.name}:{c.data_type.name}" for c in rs.columns) + "|" + \
        ";".join(" ".join(show(v) for v in r) for r in rs.rows)

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        q = {k: v[0] for k, v in parse_qs(query).items()}
        op = path.split("/")[2]
        addr = q.get("a", "")
        try:
            if op == "open":       # just open and close
                with postgres.open(addr) as db:
                    return Response(200, {}, b"opened")
            db = postgres.open(addr)
            if op == "setup":
                db.execute("DROP TABLE IF EXISTS t", [])
                db.execute("CREATE TABLE t (id int PRIMARY KEY, b bool, i2 smallint, i4 int, "
                           "i8 bigint, f4 real, f8 double precision, s text, v varchar(20), "
                           "c char(4), by bytea, ts timestamptz)", [])
                return Response(200, {}, b"ready")
            if op == "put":        # every parameter type in, the count back
                n = db.execute("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())",
                               [ParameterValue_Int32(int(q["id"])), ParameterValue_Boolean(True),
                                ParameterValue_Int16(-32768), ParameterValue_Int32(2147483647),
                                ParameterValue_Int64(-9223372036854775808),
                                ParameterValue_Floating32(1.5), ParameterValue_Floating64(-2.25e300),
                                ParameterValue_Str(q.get("s", "h\u00e9llo \u2603")),
                                ParameterValue_Str("v"), ParameterValue_Str("ab"),
                                ParameterValue_Binary(b"\x00\xff\x01'")])
                return Response(200, {}, str(n).encode())
            if op == "nulls":
                n = db.execute("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                               [ParameterValue_Int32(int(q["id"]))] + [ParameterValue_DbNull()] * 11)
                return Response(200, {}, str(n).encode())
            if op == "get":
                rs = db.query("SELECT * FROM t WHERE id = $1", [ParameterValue_Int64(int(q["id"]))])
                return Response(200, {}, rows(rs).encode())
            if op == "find":       # a string parameter compared as data
                rs = db.query("SELECT id FROM t WHERE s = $1 ORDER BY id", [ParameterValue_Str(q["s"])])
                return Response(200, {}, rows(rs).encode())
            if op == "sql":        # one statement, no parameters
                return Response(200, {}, rows(db.query(q["s"], [])).encode())
            if op == "exec":
                return Response(200, {}, str(db.execute(q["s"], [])).encode())
            if op == "echo":       # the parameter kinds of Spin that are not columns above
                rs = db.query("SELECT $1, $2, $3::int", [ParameterValue_Int8(65), ParameterValue_Str("42"),
                                                        ParameterValue_Str("7")])
                return Response(200, {}, rows(rs).encode())
            if op == "uint":
                out = []
                for f in (db.query, db.execute):
                    try:
                        f("SELECT $1", [ParameterValue_Uint8(1)])
                    except Err as e:
                        out.append(f"{type(e.value).__name__}: {e.value.value}")
                return Response(200, {}, "\n".join(out).encode())
            if op == "again":      # an error, then the same connection works on
                try:
                    db.query(q["s"], [])
                except Err as e:
                    first = f"{type(e.value).__name__}: {e.value.value}"
                return Response(200, {}, f"{first}\n{rows(db.query('SELECT 1 AS one', []))}".encode())
            if op == "many":       # nine open at once: the ninth is refused
                held = [postgres.open(addr) for _ in range(7)]
                try:
                    postgres.open(addr)
                    return Response(200, {}, b"opened a ninth")
                except Err as e:
                    return Response(200, {}, f"{type(e.value).__name__}: {e.value.value}".encode())
            if op == "closed":
                with postgres.open(addr) as c:
                    pass
                c.query("SELECT 1", [])
            if op == "sleepy":     # the guest turns the server's own limits off: only the cancel is left
                db.execute("SET statement_timeout = 0", [])
                db.execute("SET client_connection_check_interval = 0", [])
                db.query("SELECT pg_sleep(10.5)", [])
            if op == "big":
                db.query("SELECT repeat('x', 1000000) FROM generate_series(1, 20)", [])
                return Response(200, {}, b"no limit")
            return Response(404, {}, b"no")
        except Err as e:
            return Response(400, {}, f"{type(e.value).__name__} {isinstance(e, PermissionError)}: "
                            f"{e.value.value}".encode())
EOF
cp "$A/pg/app.py" "$A/wild/app.py"
cp "$A/pg/app.py" "$A/slow/app.py"
cp "$A/pg/app.py" "$A/few/app.py"
cat >"$A/wsgi/app.py" <<'EOF'
# a WSGI app uses the same Spin module
from urllib.parse import parse_qs
from spin_sdk import postgres
from spin_sdk.wit.imports.rdbms_types import ParameterValue_Int32

def app(environ, start_response):
    a = parse_qs(environ["QUERY_STRING"])["a"][0]
    with postgres.open(a) as db:
        r = db.query("SELECT $1::int * 2 AS twice", [ParameterValue_Int32(21)])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"wsgi {r.columns[0].name}={r.rows[0][0].value}".encode()]
EOF
cat >"$A/cf/app.py" <<'EOF'
# a Cloudflare-style app uses the same Spin module
from urllib.parse import parse_qs, urlsplit
from spin_sdk import postgres
from spin_sdk.wit.imports.rdbms_types import ParameterValue_Str
from workers import Response

async def on_fetch(request, env):
    a = parse_qs(urlsplit(request.url).query)["a"][0]
    with postgres.open(a) as db:
        r = db.query("SELECT upper($1) AS up", [ParameterValue_Str("cloudflare")])
    return Response(f"cf {r.columns[0].name}={r.rows[0][0].value}")
EOF
PGHOST="allowed_outbound_hosts = [\"postgres://127.0.0.1:$PGPORT\"]"
{
  app_toml wsgi wsgi 'wsgi = "app:app"' "$PGHOST"
  app_toml cf cloudflare "$PGHOST"
  app_toml pg spin "$PGHOST"
  app_toml wild spin "allowed_outbound_hosts = [\"postgres://*:$CPORT\", \"postgres://*:$PGPORT\"]"
  app_toml few spin "$PGHOST" "[app.limits]" "max_outbound_connections = 2"
  app_toml slow spin "allowed_outbound_hosts = [\"postgres://127.0.0.1:$PGPORT\", \"postgres://127.0.0.1:$FPORT\"]" \
    "[app.limits]" "timeout_ms = 1000"
} >"$A/krait.toml"

# krait serve with libpq's environment set and a ~/.pgpass holding the
# password: neither may reach the apps' connections
printf '127.0.0.1:%s:*:app:%s\n*:*:*:*:%s\n' "$PGPORT" "$PASS" "$PASS" >"$T/.pgpass" && chmod 600 "$T/.pgpass"
cp "$T/.pgpass" "$T/pgpass2"
export KRAIT_CACHE=${KRAIT_CACHE:-$HOME/.cache/krait}
HOME=$T PGPASSWORD=$PASS PGPASSFILE=$T/pgpass2 PGUSER=app PGDATABASE=appdb PGSSLKEY=/etc/shadow serve_apps "$A"

KV=$(urlenc "host=127.0.0.1 port=$PGPORT user=app password='p@ss w\\'rd' dbname=appdb sslmode=disable")
URL=$(urlenc "postgres://app:p%40ss%20w'rd@127.0.0.1:$PGPORT/appdb?sslmode=disable")
get() { curl -s --max-time 20 "$U/$1"; }

# ---- values both ways, query/execute ------------------------------------------
check setup "$(get "pg/setup?a=$KV")" "ready"
check wsgi-style "$(get "wsgi/?a=$KV")" "wsgi twice=42"
check cloudflare-style "$(get "cf/?a=$KV")" "cf up=CLOUDFLARE"
check execute-count "$(get "pg/put?a=$KV&id=1")" "1"
check every-type-both-ways "$(get "pg/get?a=$KV&id=1")" \
  "id:INT32,b:BOOLEAN,i2:INT16,i4:INT32,i8:INT64,f4:FLOATING32,f8:FLOATING64,s:STR,v:STR,c:STR,by:BINARY,ts:OTHER|Int32:1 Boolean:True Int16:-32768 Int32:2147483647 Int64:-9223372036854775808 Floating32:1.5 Floating64:-2.25e+300 Str:'héllo ☃' Str:'v' Str:'ab  ' Binary:b\"\\x00\\xff\\x01'\" Unsupported"
check nulls-in "$(get "pg/nulls?a=$KV&id=2")" "1"
check nulls-out "$(get "pg/get?a=$KV&id=2" | cut -d'|' -f2)" "Int32:2 DbNull DbNull DbNull DbNull DbNull DbNull DbNull DbNull DbNull DbNull DbNull"
check url-address "$(get "pg/get?a=$URL&id=2" | cut -d'|' -f2 | cut -d' ' -f1)" "Int32:2"
check no-rows-no-columns "$(get "pg/get?a=$KV&id=99")" "|"
check execute-rows-affected "$(get "pg/exec?a=$KV&s=$(urlenc 'UPDATE t SET i4 = i4 - 1')")" "2"
check parameter-kinds "$(get "pg/echo?a=$KV")" "?column?:OTHER,?column?:STR,int4:INT32|Unsupported Str:'42' Int32:7"
check uint-refused "$(get "pg/uint?a=$KV")" "Error_BadParameter: Postgres does not support unsigned integers
Error_ValueConversionFailed: Postgres does not support unsigned integers"

# ---- parameters stay data ---------------------------------------------------------
EVIL="x'); DROP TABLE t; --"
check injection-insert "$(get "pg/put?a=$KV&id=3&s=$(urlenc "$EVIL")")" "1"
check injection-stored-verbatim "$(get "pg/find?a=$KV&s=$(urlenc "$EVIL")")" "id:INT32|Int32:3"
check injection-or-true "$(get "pg/find?a=$KV&s=$(urlenc "x' OR '1'='1")")" "|"
check injection-dollar "$(get "pg/find?a=$KV&s=$(urlenc '$1; DELETE FROM t')")" "|"
check injection-table-intact "$(get "pg/sql?a=$KV&s=$(urlenc 'SELECT count(*) FROM t')")" "count:INT64|Int64:3"

# ---- the server's errors ------------------------------------------------------------
got=$(get "pg/sql?a=$KV&s=SELEC%201")
case $got in *'Error_QueryFailed False: postgres.query: ERROR: syntax error at or near "SELEC" (SQLSTATE 42601)'*) ok syntax-error ;; *) bad syntax-error "$got" ;; esac
got=$(get "pg/put?a=$KV&id=1")
case $got in *'Error_QueryFailed False: postgres.execute: ERROR: duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505): Key (id)=(1) already exists.'*) ok constraint-error ;; *) bad constraint-error "$got" ;; esac
check error-then-usable "$(get "pg/again?a=$KV&s=$(urlenc 'SELECT 1/0')")" "Error_QueryFailed: postgres.query: ERROR: division by zero (SQLSTATE 22012)
one:INT32|Int32:1"
got=$(get "pg/sql?a=$KV&s=$(urlenc 'SELECT 1; SELECT 2')")
case $got in *"Error_QueryFailed False: postgres.query: ERROR: cannot insert multiple commands into a prepared statement"*) ok one-statement ;; *) bad one-statement "$got" ;; esac

got=$(get "pg/open?a=$(urlenc "host=127.0.0.1 port=$PGPORT user=app password='p@ss w\\'rd' sslmode=disable dbname='host=10.0.0.1 port=1'")")
case $got in *'database "host=10.0.0.1 port=1" does not exist'*) ok dbname-never-a-connection-string ;; *) bad dbname-never-a-connection-string "$got" ;; esac
check notice-runs "$(get "pg/sql?a=$KV&s=$(urlenc "DO \$\$BEGIN RAISE NOTICE 'krait-notice-marker'; END\$\$")")" "|"
check notice-not-on-stderr "$(grep -c "NOTICE: *krait-notice-marker" "$A/server.log")" "0"

# ---- grants ----------------------------------------------------------------------------
got=$(get "pg/open?a=$(urlenc "host=127.0.0.1 port=$CPORT user=app")")
case $got in *"Error_ConnectionFailed True: postgres: outbound connection to postgres://127.0.0.1:$CPORT denied"*"allowed_outbound_hosts"*) ok denied-port ;; *) bad denied-port "$got" ;; esac
got=$(get "pg/open?a=$(urlenc "postgres://app@localhost:$PGPORT/appdb")")
case $got in *"Error_ConnectionFailed True: "*"denied"*"allowed_outbound_hosts"*) ok denied-name-not-listed ;; *) bad denied-name-not-listed "$got" ;; esac
got=$(get "wild/open?a=$(urlenc "host=localhost port=$CPORT user=app")")
case $got in *"Error_ConnectionFailed True: "*"localhost resolves to a loopback address"*"(the app's log names it)"*) ok wildcard-name-to-loopback-refused ;; *) bad wildcard-name-to-loopback-refused "$got" ;; esac
# (the first refused address: 127.0.0.1, or ::1 where /etc/hosts lists that first)
if grep -Eq "postgres.open: localhost resolves to (127\.0\.0\.1|::1), not in allowed_outbound_hosts" "$A/server.log"
then ok refused-address-in-log; else bad refused-address-in-log "no log line"; fi
got=$(get "wild/open?a=$(urlenc "host=127.0.0.1 port=$CPORT user=app")")
case $got in *"Error_ConnectionFailed True: "*"127.0.0.1 is a loopback address, reached only when allowed_outbound_hosts names it"*) ok wildcard-loopback-literal-refused ;; *) bad wildcard-loopback-literal-refused "$got" ;; esac
check denied-host-saw-no-connection "$(cat "$T/count")" "0"

# ---- refused keywords and hosts -----------------------------------------------------
base="host=127.0.0.1 port=$PGPORT user=app"
for kw in "sslkey=/etc/shadow" "sslcert=/etc/ssl/private/x" "sslrootcert=/etc/shadow" "service=prod" \
          "passfile=/root/.pgpass" "requirepeer=root" "krbsrvname=x" "gssencmode=require" \
          "sslpassword=x" "replication=database" "client_encoding=LATIN1" "sslcrl=/x"; do
  got=$(get "pg/open?a=$(urlenc "$base $kw")")
  case $got in *"Error_ConnectionFailed False: postgres address: keyword \"${kw%%=*}\" is refused"*) ok "refused-${kw%%=*}" ;;
    *) bad "refused-${kw%%=*}" "$got" ;; esac
done
got=$(get "pg/open?a=$(urlenc "postgres://app@127.0.0.1:$PGPORT/appdb?sslkey=/etc/shadow")")
case $got in *'keyword "sslkey" is refused'*) ok refused-url-parameter ;; *) bad refused-url-parameter "$got" ;; esac
got=$(get "pg/open?a=$(urlenc "$base hostaddr=10.0.0.1")")
case $got in *'keyword "hostaddr" is refused'*) ok refused-hostaddr ;; *) bad refused-hostaddr "$got" ;; esac
for h in "/var/run/postgresql" "@abstract"; do
  got=$(get "pg/open?a=$(urlenc "host=$h user=app")")
  case $got in *"Unix-domain socket"*) ok "refused-unix-$h" ;; *) bad "refused-unix-$h" "$got" ;; esac
done
got=$(get "pg/open?a=$(urlenc "postgres://app@/appdb?host=/tmp")")
case $got in *"Unix-domain socket"*) ok refused-url-unix ;; *) bad refused-url-unix "$got" ;; esac
got=$(get "pg/open?a=$(urlenc "host=127.0.0.1,10.0.0.1 user=app")")
case $got in *"several hosts"*) ok refused-multi-host ;; *) bad refused-multi-host "$got" ;; esac
got=$(get "pg/open?a=$(urlenc "$base sslmode=verify-full")")
case $got in *"sslmode must be disable, prefer or require"*) ok refused-sslmode ;; *) bad refused-sslmode "$got" ;; esac
got=$(get "pg/open?a=$(urlenc "host=127.0.0.1 port=$PGPORT")")
case $got in *"no user"*) ok no-user ;; *) bad no-user "$got" ;; esac

# ---- the host's environment and files ------------------------------------------------
got=$(get "pg/open?a=$(urlenc "host=127.0.0.1 port=$PGPORT user=app dbname=appdb sslmode=disable")")
case $got in *"Error_ConnectionFailed False: postgres.open: "*"password"*) ok env-and-pgpass-unused ;; *) bad env-and-pgpass-unused "$got" ;; esac
check password-given-works "$(get "pg/open?a=$KV")" "opened"

# ---- TLS -------------------------------------------------------------------------------
SSLQ=$(urlenc 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
check tls-prefer "$(get "pg/sql?a=$(urlenc "host=127.0.0.1 port=$PGPORT user=app password='p@ss w\\'rd' dbname=appdb")&s=$SSLQ")" "ssl:BOOLEAN|Boolean:True"
check tls-disable "$(get "pg/sql?a=$KV&s=$SSLQ")" "ssl:BOOLEAN|Boolean:False"
got=$(get "pg/open?a=$(urlenc "host=127.0.0.1 port=$PGPORT user=app password=x sslmode=require")")
case $got in *"Error_ConnectionFailed False: postgres.open: "*"certificate"*) ok tls-require-verifies ;; *) bad tls-require-verifies "$got" ;; esac

# ---- limits ----------------------------------------------------------------------------
timed get "slow/sql?a=$KV&s=$(urlenc 'SELECT pg_sleep(10)')"
if [ "$MS" -lt 3000 ]; then ok "deadline-ends-call (${MS} ms)"; else bad deadline-ends-call "${MS} ms: $GOT"; fi
sleep 1
check deadline-cancels-server-query "$(psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)'")" "0"
get "slow/sleepy?a=$KV" >/dev/null
sleep 1
check deadline-cancel-request "$(psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10.5)'")" "0"
got=$(get "pg/big?a=$KV")
case $got in *"Error_QueryFailed False: postgres.query: the result is over the 16 MiB limit"*) ok result-cap ;; *) bad result-cap "$got" ;; esac
check after-result-cap "$(get "pg/sql?a=$KV&s=$(urlenc 'SELECT 2 AS two')")" "two:INT32|Int32:2"
got=$(get "pg/many?a=$KV")
case $got in *"Error_ConnectionFailed: postgres.open: 8 connections are open in this request"*) ok connection-cap ;; *) bad connection-cap "$got" ;; esac
got=$(get "few/many?a=$KV")   # the third postgres.open of the request
case $got in *"postgres.open: this request already opened 2 outbound connections, the most max_outbound_connections"*) ok outbound-connections-limit ;; *) bad outbound-connections-limit "$got" ;; esac
# a hostile server's SCRAM iteration count: the login runs on a helper
# thread, the request ends at its 1 s deadline (without: minutes)
FKV=$(urlenc "host=127.0.0.1 port=$FPORT user=app password=x dbname=x sslmode=disable")
timed get "slow/open?a=$FKV"
# (the guest's timeout error, or the 504 when the deadline has already ended the request)
case $GOT in *"postgres.open: connecting to 127.0.0.1:$FPORT did not finish before the request's deadline"*|*"504 Gateway Timeout"*)
  if [ "$MS" -lt 3000 ]; then ok "scram-iterations-deadline (${MS} ms)"; else bad scram-iterations-deadline "${MS} ms"; fi ;;
  *) bad scram-iterations-deadline "${MS} ms: $GOT" ;; esac
timed get "slow/open?a=$FKV"
case $GOT in *"did not finish before the request's deadline"*|*"504 Gateway Timeout"*) [ "$MS" -lt 3000 ] && ok scram-again || bad scram-again "${MS} ms" ;; *) bad scram-again "$GOT" ;; esac
check scram-server-reached "$(grep -c scram "$T/fakelog" 2>/dev/null)" "2"
FL=$(urlenc "host=127.0.0.1 port=$FPORT user=flood password=x dbname=x sslmode=disable")
got=$(get "slow/sql?a=$FL&s=$(urlenc 'SELECT 1')")
case $got in *"postgres.query: the server sent over 24 MiB in this call or 64 MiB over the connection's life (the limits) (the connection was closed)"*) ok statement-byte-cap ;; *) bad statement-byte-cap "$got" ;; esac
# huge USER: the statement on the fake server as USER: GOT the answer, SENT
# the MiB the server sent before the host closed, GROW the MiB the host's
# peak memory grew by
huge() {
  local h0
  h0=$(peak_kib "$SERVER")
  GOT=$(get "slow/sql?a=$(urlenc "host=127.0.0.1 port=$FPORT user=$1 password=x dbname=x sslmode=disable")&s=$(urlenc 'SELECT 1')")
  GROW=$(( ($(peak_kib "$SERVER") - h0) / 1024 ))
  wait_until 50 grep -q "^$1 sent" "$T/fakelog"
  SENT=$(( $(sed -n "s/^$1 sent //p" "$T/fakelog" | tail -n 1) / 1048576 ))
}
# a DataRow announcing 256 MiB: libpq sizes its buffer to it and reads on;
# the byte cap stops the host once 24 MiB came, so the server could send
# that and what the socket buffers hold (tcp_rmem's and tcp_wmem's most,
# and 4 MiB), and the host's peak memory did not grow by the 256 MiB
# (without the cap: both grow until the deadline)
SENT_MAX=$(( 24 + 4 + ($(cut -f3 /proc/sys/net/ipv4/tcp_rmem) + $(cut -f3 /proc/sys/net/ipv4/tcp_wmem)) / 1048576 ))
huge huge
case $GOT in *"postgres.query: the server sent over 24 MiB in this call"*)
  if [ "$SENT" -lt "$SENT_MAX" ] && [ "$GROW" -lt 96 ]; then ok "huge-message (the server sent $SENT MiB, the host's peak grew $GROW MiB)"
  else bad huge-message "the server sent $SENT MiB (at most $SENT_MAX), the host's peak grew $GROW MiB (at most 96)"; fi ;;
  *) bad huge-message "$GOT (the server sent $SENT MiB, the host's peak grew $GROW MiB)" ;; esac
# ~2 GiB announced: libpq refuses the buffer itself (its size overflows an
# int), or the byte cap stops it; the host reads no more either way
huge huge2g
case $GOT in *"postgres.query: the server sent over 24 MiB in this call"*|*"postgres.query: cannot allocate memory for input buffer"*)
  if [ "$SENT" -lt "$SENT_MAX" ] && [ "$GROW" -lt 96 ]; then ok "huge-message-2gib (the server sent $SENT MiB, the host's peak grew $GROW MiB)"
  else bad huge-message-2gib "the server sent $SENT MiB (at most $SENT_MAX), the host's peak grew $GROW MiB (at most 96)"; fi ;;
  *) bad huge-message-2gib "$GOT (the server sent $SENT MiB, the host's peak grew $GROW MiB)" ;; esac
# a statement at the deadline on a server that never closes the cancel
# connection: the cancel request carries the PID and key the server sent
get "slow/sql?a=$(urlenc "host=127.0.0.1 port=$FPORT user=hang password=x dbname=x sslmode=disable")&s=$(urlenc 'SELECT 1')" >/dev/null
sleep 1.5
check cancel-request-sent "$(grep -c '^cancel 7 7$' "$T/fakelog")" "1"
check after-scram "$(get "slow/sql?a=$KV&s=$(urlenc 'SELECT 3 AS three')")" "three:INT32|Int32:3"
# a server streaming ParameterStatus during login: refused at the login byte cap
got=$(get "slow/open?a=$(urlenc "host=127.0.0.1 port=$FPORT user=stream password=x dbname=x sslmode=disable")")
case $got in *"postgres.open: the server sent over 1024 KiB while logging in"*) ok login-byte-cap ;; *) bad login-byte-cap "$got" ;; esac
got=$(get "pg/closed?a=$KV")
case $got in *"Error_ConnectionFailed False: postgres: the connection is closed"*) ok closed-connection ;; *) bad closed-connection "$got" ;; esac
check server-connections-closed "$(DB=postgres psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")" "0"
check krait-still-up "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AP/healthz")" "200"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
