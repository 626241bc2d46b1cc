#!/bin/bash
# tests/serve/redis.sh -- the outbound redis binding (spin_sdk.redis) against
# a real redis-server this script starts on a free loopback port (password,
# no persistence, stopped at exit): every Connection method, execute with
# each parameter and result type, binary values, MULTI/EXEC, PUBLISH seen by
# a subscriber, user:password, /db and [::1] addresses; the policy: an address
# allowed_outbound_hosts does not allow is refused naming it and the key,
# with no connection made (the server's connection count), "localhost"
# only through an entry naming it, "*" never reaching loopback; bad
# addresses, a wrong password, 9 connections, SUBSCRIBE refused (also
# inside MULTI, unseen by the server's MONITOR), BLPOP and
# AUTH to a server that never answers stopped at the deadline, replies over 16 MiB refused without the host
# buffering them (a 64 MiB GET), a closed connection. The same from a WSGI
# app. Ends with "N passed, N failed". Needs build/krait, `make python`
# and redis-server. Does not own the binding (src/app/redisdb.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
command -v redis-server >/dev/null || { echo "redis-server missing (scripts/bootstrap.sh)"; echo "0 passed, 1 failed"; exit 1; }

RP=$(free_port) CP=$(free_port) SP=$(free_port)
PASS=s3cret
mkdir -p "$T/redis"
spawn redis-server --port "$RP" --bind "127.0.0.1 -::1" --save "" --appendonly no --dir "$T/redis" \
  --requirepass "$PASS" --daemonize no >"$T/redis/log" 2>&1
rc() { redis-cli -p "$RP" -a "$PASS" --no-auth-warning "$@"; }
redis_up() { [ "$(rc ping 2>/dev/null)" = PONG ]; }
wait_until 50 redis_up
# a server that accepts and never answers (SP)
spawn $PY -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True: held.append(s.accept()[0])' "$SP"
conns() { rc info stats | tr -d '\r' | sed -n 's/^total_connections_received://p'; }

A=$T/apps
mkdir -p "$A/rd" "$A/any" "$A/none" "$A/slow" "$A/wsgi" "$A/cf"
cat >"$A/rd/app.py" <<'EOF'
import os
from urllib.parse import parse_qs
from spin_sdk import http, redis
from spin_sdk.http import Response
from spin_sdk.redis import (RedisParameter_Int64, RedisParameter_Binary, RedisResult_Nil,
                            RedisResult_Status, RedisResult_Int64, RedisResult_Binary)
from spin_sdk.wit.imports.redis import Connection, Error_Other
from spin_sdk.wit.types import Err

def show(rs):
    return " ".join(type(r).__name__[12:] + ":" + (repr(r.value) if hasattr(r, "value") else "-") for r in rs)

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        q = {k: v[0] for k, v in parse_qs(query).items()}
        op = path.split("/")[2]
        addr = q.get("a", "redis://:" + q.get("pw", "") + "@127.0.0.1:" + q.get("port", ""))
        try:
            if op == "open":
                redis.open(addr)
                return Response(200, {}, b"opened")
            c = redis.open(addr)
            if op == "methods":
                c.set("k1", b"v\x00\xff1")
                out = [repr(c.get("k1")), repr(c.get("nokey"))]
                c.del_(["n"])
                out += [str(c.incr("n")), str(c.incr("n"))]
                out += [str(c.del_(["k1", "n", "nokey"])), repr(c.get("k1"))]
                out += [str(c.sadd("s", ["a", "b", "c"])), str(c.sadd("s", ["a", "d"]))]
                out += [",".join(sorted(c.smembers("s"))), str(c.srem("s", ["a", "zz"]))]
                out += [",".join(sorted(c.smembers("s"))), repr(c.smembers("nos"))]
                c.del_(["s"])
                c.publish("chan", b"hello \x01")
                return Response(200, {}, " ".join(out).encode())
            if op == "execute":
                rs = c.execute("SET", [RedisParameter_Binary(b"e1"), RedisParameter_Int64(-42)])
                rs += c.execute("GET", [RedisParameter_Binary(b"e1")])
                rs += c.execute("INCRBY", [RedisParameter_Binary(b"e1"), RedisParameter_Int64(2)])
                rs += c.execute("GET", [RedisParameter_Binary(b"missing")])
                rs += c.execute("PING", [])
                c.execute("DEL", [RedisParameter_Binary(b"l")])
                c.execute("RPUSH", [RedisParameter_Binary(b"l"), RedisParameter_Binary(b"\x00x"),
                                    RedisParameter_Int64(7)])
                rs += c.execute("LRANGE", [RedisParameter_Binary(b"l"), RedisParameter_Int64(0),
                                           RedisParameter_Int64(-1)])
                rs += c.execute("MULTI", [])
                c.execute("INCR", [RedisParameter_Binary(b"e1")])
                c.execute("GET", [RedisParameter_Binary(b"nothere")])
                rs += c.execute("EXEC", [])
                return Response(200, {}, show(rs).encode())
            if op == "binary":   # every byte value, through set/get and execute
                v = bytes(range(256)) * 3
                c.set("bin", v)
                a = c.get("bin") == v
                b = c.execute("GET", [RedisParameter_Binary(b"bin")])[0].value == v
                c.execute("SET", [RedisParameter_Binary(b"\x00k\r\n"), RedisParameter_Binary(b"\r\n$-1\r\n")])
                d = c.get("\x00k\r\n") == b"\r\n$-1\r\n"
                return Response(200, {}, f"{a} {b} {d}".encode())
            if op == "execerr":   # an error inside EXEC's array raises
                c.execute("SET", [RedisParameter_Binary(b"str"), RedisParameter_Binary(b"abc")])
                c.execute("MULTI", [])
                c.execute("INCR", [RedisParameter_Binary(b"str")])
                c.execute("EXEC", [])
                return Response(200, {}, b"no error")
            if op == "errreply":   # an error reply; the connection stays usable
                try:
                    c.execute("NOSUCHCMD", [])
                except Err as e:
                    first = f"{type(e.value).__name__}: {e}"
                return Response(200, {}, f"{first} | {show(c.execute('PING', []))}".encode())
            if op == "typeerr":   # a typed method on a key of another type
                c.set("strkey", b"x")
                c.smembers("strkey")
            if op == "cmd":   # any command, arguments as bytes
                args = [RedisParameter_Binary(a.encode()) for a in q.get("args", "").split(",") if a]
                return Response(200, {}, show(c.execute(q["c"], args)).encode())
            if op == "setbig":
                c.set("big", b"B" * int(q["n"]))
                return Response(200, {}, b"set")
            if op == "getbig":
                r = c.get("big")
                return Response(200, {}, str(len(r)).encode())
            if op == "getbig2":   # the connection is dropped after the limit: later calls say why
                try:
                    c.get("big")
                except Err:
                    pass
                c.execute("PING", [])
            if op == "toomany":
                more = [redis.open(addr) for _ in range(7)]   # 8 open
                try:
                    redis.open(addr)
                    over = "opened a 9th"
                except Err as e:
                    over = f"{type(e.value).__name__} {isinstance(e, PermissionError)}: {e}"
                more[0].__exit__(None, None, None)
                again = redis.open(addr)   # a closed slot is reused
                return Response(200, {}, f"{over} | {show(again.execute('PING', []))}".encode())
            if op == "closed":
                with Connection.open(addr) as c2:
                    c2.execute("PING", [])
                c2.get("x")
            if op == "db":
                c.set("which", b"db0")
                d1 = redis.open(addr + "/1")
                d1.set("which", b"db1")
                return Response(200, {}, c.get("which") + b" " + d1.get("which"))
            if op == "multisub":   # SUBSCRIBE/CLIENT REPLY stay refused inside MULTI
                c.execute("MULTI", [])
                out = []
                for cmd, args in (("SUBSCRIBE", [b"ch"]), ("CLIENT", [b"REPLY", b"OFF"]), ("ssubscribe", [b"ch"])):
                    try:
                        c.execute(cmd, [RedisParameter_Binary(a) for a in args])
                        out.append("sent " + cmd)
                    except Err as e:
                        out.append(f"{type(e.value).__name__}: {e}")
                rs = c.execute("EXEC", []) + c.execute("PING", [])
                return Response(200, {}, f"{'; '.join(out)} | {show(rs)}".encode())
            if op == "opens":   # n connections, counted against max_outbound_connections
                for i in range(int(q["n"])):
                    redis.open(addr).__exit__(None, None, None)
                return Response(200, {}, b"opened")
            if op == "user":
                return Response(200, {}, show(c.execute("ACL", [RedisParameter_Binary(b"WHOAMI")])).encode())
            return Response(404, {}, b"no")
        except Err as e:
            return Response(400, {}, f"{type(e.value).__name__} {isinstance(e, PermissionError)}: {e}".encode())
EOF
cp "$A/rd/app.py" "$A/any/app.py"
cp "$A/rd/app.py" "$A/none/app.py"
cp "$A/rd/app.py" "$A/slow/app.py"
mkdir -p "$A/few" && cp "$A/rd/app.py" "$A/few/app.py"
cat >"$A/wsgi/app.py" <<'EOF'
from spin_sdk import redis
from spin_sdk.wit.types import Err

def app(environ, start_response):
    port = environ["QUERY_STRING"]
    try:
        c = redis.open(f"redis://:s3cret@127.0.0.1:{port}")
        c.set("w", b"from wsgi")
        body = c.get("w") + b" " + str(c.incr("wn")).encode()
    except Err as e:
        body = f"{type(e.value).__name__}: {e}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
EOF
cat >"$A/cf/app.py" <<'EOF'
# a Cloudflare-style app uses the same Spin module
from spin_sdk import redis
from workers import Response

async def on_fetch(request, env):
    port = request.url.split("?", 1)[1]
    c = redis.open(f"redis://:s3cret@127.0.0.1:{port}")
    c.set("cf", b"from cloudflare")
    return Response((c.get("cf") + b" " + str(c.incr("cfn")).encode()).decode())
EOF
{
  app_toml cf cloudflare "allowed_outbound_hosts = [\"redis://127.0.0.1:$RP\"]"
  app_toml rd spin "allowed_outbound_hosts = [\"redis://127.0.0.1:$RP\", \"redis://localhost:$RP\", \"redis://[::1]:$RP\"]" \
    "[app.limits]" "timeout_ms = 20000"
  app_toml any spin "allowed_outbound_hosts = [\"redis://*:$RP\", \"redis://*:$CP\"]"
  app_toml none spin
  app_toml slow spin "allowed_outbound_hosts = [\"redis://127.0.0.1:$RP\", \"redis://127.0.0.1:$SP\"]" \
    "[app.limits]" "timeout_ms = 1500"
  app_toml few spin "allowed_outbound_hosts = [\"redis://127.0.0.1:$RP\"]" \
    "[app.limits]" "max_outbound_connections = 3" "max_outbound_mb = 1"
  app_toml wsgi wsgi 'wsgi = "app:app"' "allowed_outbound_hosts = [\"redis://127.0.0.1:$RP\"]"
} >"$A/krait.toml"

serve_apps "$A"
R="pw=$PASS&port=$RP"

# ---- every method --------------------------------------------------------------
spawn rc subscribe chan >"$T/sub.out" 2>&1
sleep 0.3
check methods "$(curl -s "$U/rd/methods?$R")" "b'v\\x00\\xff1' None 1 2 2 None 3 1 a,b,c,d 1 b,c,d []"
sleep 0.2
check publish-seen "$(tr -d '\r' <"$T/sub.out" | tail -n 1)" "$(printf 'hello \001')"
check execute-types "$(curl -s "$U/rd/execute?$R")" \
  "Status:'OK' Binary:b'-42' Int64:-40 Nil:- Status:'PONG' Binary:b'\\x00x' Binary:b'7' Status:'OK' Int64:-39 Nil:-"
check binary-values "$(curl -s "$U/rd/binary?$R")" "True True True"
got=$(curl -s "$U/rd/execerr?$R")
case $got in "Error_Other False: redis: WRONGTYPE"*|"Error_Other False: redis: ERR value is not an integer"*) ok exec-array-error-raises ;; *) bad exec-array-error-raises "$got" ;; esac
got=$(curl -s "$U/rd/errreply?$R")
case $got in "Error_Other: redis: ERR unknown command"*"| Status:'PONG'") ok error-reply-then-usable ;; *) bad error-reply-then-usable "$got" ;; esac
check type-error "$(curl -s "$U/rd/typeerr?$R" | cut -d: -f1)" "Error_Other False"
check db-select "$(curl -s "$U/rd/db?$R")" "db0 db1"
rc acl setuser 'u@x' on '>p@ss:w/rd%' '~*' '+@all' >/dev/null
check user-password-escaped "$(curl -s "$U/rd/user?a=$(urlenc "redis://u%40x:p%40ss%3Aw%2Frd%25@127.0.0.1:$RP")")" "Binary:b'u@x'"
check user-password "$(curl -s "$U/rd/user?a=redis://default:$PASS@127.0.0.1:$RP")" "Binary:b'default'"
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  check ipv6-literal "$(curl -s "$U/rd/cmd?c=PING&a=redis://:$PASS@%5B::1%5D:$RP")" "Status:'PONG'"
else
  echo "skip ipv6-literal: no ::1 here"
fi
check localhost-named "$(curl -s "$U/rd/cmd?c=PING&a=redis://:$PASS@localhost:$RP")" "Status:'PONG'"
got=$(curl -s "$U/rd/toomany?$R")
case $got in "Error_TooManyConnections False: redis: 8 connections are open in this request (the limit): close one first | Status:'PONG'") ok too-many-then-reuse ;; *) bad too-many-then-reuse "$got" ;; esac
got=$(curl -s "$U/rd/closed?$R")
case $got in "Error_Other False: redis: the connection is closed") ok closed-connection ;; *) bad closed-connection "$got" ;; esac
for c in SUBSCRIBE PSUBSCRIBE MONITOR HELLO; do
  got=$(curl -s "$U/rd/cmd?$R&c=$c&args=x")
  case $got in "Error_Other False: redis.command: $c is refused"*) ok "refused-$c" ;; *) bad "refused-$c" "$got" ;; esac
done
check after-refusal-usable "$(curl -s "$U/rd/cmd?$R&c=ECHO&args=still")" "Binary:b'still'"
# refused before sending, so never queued by MULTI: each call fails naming
# the command, EXEC runs an empty transaction (no results), and the
# server's MONITOR (which shows queued commands when EXEC runs them) sees
# the request's AUTH (redis.open), MULTI, EXEC and PING only (redis-server
# queues SUBSCRIBE and CLIENT REPLY inside MULTI and runs them at EXEC)
spawn redis-cli -p "$RP" -a "$PASS" --no-auth-warning monitor >"$T/monitor.out" 2>&1
MON=$!
wait_until 20 grep -q OK "$T/monitor.out"
got=$(curl -s "$U/rd/multisub?$R")
sleep 0.3
kill "$MON"
seen=$(sed -n 's/^[0-9.]* \[[^]]*\] "\([^"]*\)".*/\1/p' "$T/monitor.out" | tr '\n' ' ')
why="is refused: it would take the connection out of request/reply step (docs/BINDINGS.md)"
want="Error_Other: redis.command: SUBSCRIBE $why; Error_Other: redis.command: CLIENT REPLY $why; Error_Other: redis.command: SSUBSCRIBE $why | Status:'PONG'"
if [ "$got" = "$want" ] && [ "$seen" = "AUTH MULTI EXEC PING " ]; then ok refused-inside-multi
else bad refused-inside-multi "got '$got', the server saw '$seen'"; fi

# ---- addresses and passwords ------------------------------------------------------
got=$(curl -s "$U/rd/open?a=redis://:wrong@127.0.0.1:$RP")
case $got in "Error_Other False: redis.open: AUTH failed: WRONGPASS"*) ok wrong-password ;; *) bad wrong-password "$got" ;; esac
got=$(curl -s "$U/rd/open?a=redis://127.0.0.1:$RP")
check no-password-opens "$got" "opened"
got=$(curl -s "$U/rd/cmd?c=GET&args=k&a=redis://127.0.0.1:$RP")
case $got in "Error_Other False: redis: NOAUTH"*) ok no-password-noauth ;; *) bad no-password-noauth "$got" ;; esac
for a in "redis//127.0.0.1:$RP" "rediss://127.0.0.1:$RP" "redis://127.0.0.1:$RP/x" "redis://127.0.0.1:$RP?db=2" "redis://[::1" "" "redis://127.0.0.1:99999"; do
  got=$(curl -s "$U/rd/open?a=$(urlenc "$a")")
  case $got in "Error_InvalidAddress False: redis: invalid address: "*) ok "bad-address '$a'" ;; *) bad "bad-address '$a'" "$got" ;; esac
done

# a password holding '#' (not percent-encoded) is never quoted in the message
got=$(curl -s "$U/rd/open?a=$(urlenc "redis://default:s3cr#t@127.0.0.1:$RP")")
case $got in *s3cr*) bad password-not-shown "$got" ;; "Error_InvalidAddress False: redis: invalid address: "*) ok password-not-shown ;; *) bad password-not-shown "$got" ;; esac
got=$(curl -s "$U/rd/open?a=$(urlenc "redis://default:a/b?c@127.0.0.1:$RP/x")")
case $got in *a/b*) bad password-slash-not-shown "$got" ;; "Error_InvalidAddress False: redis: invalid address: "*) ok password-slash-not-shown ;; *) bad password-slash-not-shown "$got" ;; esac

# ---- the policy: no connection is made for a refused address ----------------------
before=$(conns)
got=$(curl -s "$U/none/open?a=redis://127.0.0.1:$RP")
case $got in "Error_InvalidAddress True: redis: "*"redis://127.0.0.1:$RP"*"allowed_outbound_hosts"*) ok denied-no-list ;; *) bad denied-no-list "$got" ;; esac
got=$(curl -s "$U/rd/open?a=redis://127.0.0.2:$RP")
case $got in "Error_InvalidAddress True: redis: "*"redis://127.0.0.2:$RP"*"allowed_outbound_hosts"*) ok denied-other-host ;; *) bad denied-other-host "$got" ;; esac
got=$(curl -s "$U/any/open?a=redis://:$PASS@localhost:$RP")
case $got in "Error_InvalidAddress True: redis: "*"localhost"*"loopback"*"allowed_outbound_hosts"*) ok star-not-loopback ;; *) bad star-not-loopback "$got" ;; esac
got=$(curl -s "$U/any/open?a=redis://:$PASS@127.0.0.1:$RP")
case $got in "Error_InvalidAddress True: redis: "*"127.0.0.1"*"allowed_outbound_hosts"*) ok star-not-literal-loopback ;; *) bad star-not-literal-loopback "$got" ;; esac
got=$(curl -s "$U/rd/open?a=redis://:$PASS@127.0.0.1:$CP")
case $got in "Error_InvalidAddress True: redis: "*":$CP"*"allowed_outbound_hosts"*) ok denied-other-port ;; *) bad denied-other-port "$got" ;; esac
after=$(conns)
check denied-made-no-connection "$((after - before))" "1"

# ---- the deadline and the limits ----------------------------------------------------
# the handler opens one connection, then n more
check outbound-conns-within "$(curl -s "$U/few/opens?$R&n=2")" "opened"
got=$(curl -s "$U/few/opens?$R&n=3")
case $got in *"redis.open: this request already opened 3 outbound connections, the most max_outbound_connections"*) ok outbound-conns-over ;; *) bad outbound-conns-over "$got" ;; esac
check set-2mib-few "$(curl -s "$U/few/setbig?$R&n=$((2 * 1048576))")" "set"   # sent bytes are not counted
got=$(curl -s "$U/few/getbig?$R")
case $got in *"redis.command: this request received over 1 MiB, the most max_outbound_mb"*) ok outbound-mb-over ;; *) bad outbound-mb-over "$got" ;; esac
timed curl -s --max-time 10 -o "$T/blpop.out" -w '%{http_code}' "$U/slow/cmd?$R&c=BLPOP&args=nolist,30"
# 504 when the runtime stops the guest first, else the guest's Err names the deadline
if { [ "$GOT" = 504 ] || grep -q "deadline passed" "$T/blpop.out"; } && [ "$MS" -lt 5000 ]; then ok "blpop-stopped-at-deadline (${MS} ms)"; else bad blpop-stopped-at-deadline "$GOT in $MS ms: $(cat "$T/blpop.out")"; fi

timed curl -s --max-time 10 -o "$T/auth.out" -w '%{http_code}' "$U/slow/open?a=redis://:x@127.0.0.1:$SP"
if { [ "$GOT" = 504 ] || grep -q "deadline passed" "$T/auth.out"; } && [ "$MS" -lt 5000 ]; then ok "silent-server-auth-stopped-at-deadline (${MS} ms)"; else bad silent-server-auth-stopped-at-deadline "$GOT in $MS ms: $(cat "$T/auth.out")"; fi
check server-up-after-deadline "$(curl -s "$U/rd/cmd?$R&c=PING")" "Status:'PONG'"
# 64 MiB in the server: the host must stop reading at the limit, not buffer it all
head -c $((64 * 1048576)) /dev/zero | tr '\0' 'x' | rc -x set big >/dev/null
h0=$(peak_kib "$SERVER")
got=$(curl -s "$U/rd/getbig?$R")
h1=$(peak_kib "$SERVER")
case $got in "Error_Other False: redis.command: the reply is over"*) ok reply-64mib-refused ;; *) bad reply-64mib-refused "$got" ;; esac
grow=$(( (h1 - h0) / 1024 ))
if [ "$grow" -lt 48 ]; then ok "reply-64mib-not-buffered (peak grew ${grow} MiB)"; else bad reply-64mib-not-buffered "peak RSS grew $grow MiB"; fi
rc del big >/dev/null
check set-16mib "$(curl -s "$U/rd/setbig?$R&n=$((16 * 1048576 - 64))")" "set"
check get-under-limit "$(curl -s "$U/rd/getbig?$R")" "$((16 * 1048576 - 64))"
check set-17mib "$(curl -s "$U/rd/setbig?$R&n=$((17 * 1048576))")" "set"
got=$(curl -s "$U/rd/getbig?$R")
case $got in "Error_Other False: redis.command: the reply is over the 16777216-byte limit (16 MiB)"*) ok reply-over-limit ;; *) bad reply-over-limit "$got" ;; esac
got=$(curl -s "$U/rd/getbig2?$R")
case $got in "Error_Other False: redis.command: the connection was closed after an earlier failure (redis.command: the reply is over"*) ok dropped-after-limit ;; *) bad dropped-after-limit "$got" ;; esac
check server-up-after-limit "$(curl -s "$U/rd/cmd?$R&c=PING")" "Status:'PONG'"

# ---- WSGI --------------------------------------------------------------------------------
check wsgi "$(curl -s "$U/wsgi/?$RP")" "from wsgi 1"
check cloudflare "$(curl -s "$U/cf/?$RP")" "from cloudflare 1"

[ "$fail" -eq 0 ] || tail -n 30 "$A/server.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
