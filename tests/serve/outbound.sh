#!/bin/bash
# tests/serve/outbound.sh -- the host side of outbound networking (the net.*
# operations of python/c/krait_abi.h, src/app/netops.c) from real guests
# calling _krait.call directly (tests/serve/outbound_kn.py, no SDK) against
# real loopback servers (tests/serve/outbound_servers.py): an http.server,
# an HTTPS server with a test CA made here by the openssl CLI, a server
# counting accepts (a denied destination must see none) and one that never
# answers. krait python: no --allow-net, allowed literal, denied host and
# port, names resolving (--resolve) to loopback refused unless the address
# is listed, 169.254.169.254, wildcard entries, TLS verified with --ca-file,
# refused without it and for a wrong name, ALPN and certificate fields,
# timeouts, malformed payloads, bad --ca-file / --resolve. krait serve:
# allowed_outbound_hosts, max_outbound_connections, 16 open at once,
# max_outbound_mb, the request's deadline, connections closed at the end
# of the request, TLS, manifest range errors. Ends with "N passed, N
# failed". Needs build/krait, `make python` and the openssl CLI.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"

# ---- the test CA and the server's certificate ------------------------------
S=$T/srv
mkdir -p "$S/www"
echo hello >"$S/www/hello.txt"
head -c 3000000 /dev/zero >"$S/www/big.bin"
make_test_ca "$S" "krait test CA" "DNS:tls.test.example,IP:127.0.0.1"
echo "not a certificate" >"$S/junk.pem"

py_servers "$ROOT/tests/serve/outbound_servers.py" "$S"
read -r HTTP COUNT SILENT TLS <"$S/ports" || { echo "0 passed, 1 failed"; exit 1; }
CLOSED_PORT=$(free_port)
count() { cat "$S/count" 2>/dev/null || echo 0; }
closed() { cat "$S/closed" 2>/dev/null || echo 0; }

# ---- krait python ------------------------------------------------------------
cat "$ROOT/tests/serve/outbound_kn.py" >"$T/cli.py"
printf '\nimport sys\nprint(run(sys.argv[1:]))\n' >>"$T/cli.py"
kp() { timeout 60 "$K" python "$@" 2>&1; }   # krait python [options] -- then cli.py args
cli() { local opts=(); while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift; kp "${opts[@]}" "$T/cli.py" "$@"; }

expect cli-no-allow-net "$(cli -- connect 127.0.0.1 "$COUNT")" \
  "DENIED *denied: krait python has no network access unless granted with --allow-net*"
check cli-no-allow-net-no-accept "$(count)" 0
check cli-allowed-literal "$(cli --allow-net "127.0.0.1:$HTTP" -- get 127.0.0.1 "$HTTP" /hello.txt)" "hello"
check cli-shutdown-write-then-read "$(cli --allow-net "127.0.0.1:$HTTP" -- echo 127.0.0.1 "$HTTP")" "hello"
expect cli-denied-port "$(cli --allow-net "127.0.0.1:$HTTP" -- connect 127.0.0.1 "$COUNT")" \
  "DENIED *127.0.0.1:$COUNT denied: no --allow-net allows it; add --allow-net 127.0.0.1:$COUNT"
expect cli-denied-host "$(cli --allow-net "ok.test.example:$COUNT" --resolve "other.test.example:127.0.0.1" \
  -- connect other.test.example "$COUNT")" "DENIED *other.test.example:$COUNT denied*"
check cli-denied-no-accept "$(count)" 0
expect cli-name-to-loopback-refused "$(cli --allow-net "a.test.example:$COUNT" --resolve a.test.example:127.0.0.1 \
  -- connect a.test.example "$COUNT")" "DENIED *a.test.example resolves to 127.0.0.1, a loopback address*--allow-net*"
check cli-name-to-loopback-no-accept "$(count)" 0
check cli-name-to-loopback-listed "$(cli --allow-net "a.test.example:$COUNT" --allow-net "127.0.0.1:$COUNT" \
  --resolve a.test.example:127.0.0.1 -- connect a.test.example "$COUNT")" "connected 127.0.0.1 $COUNT"
check cli-listed-accepted-once "$(count)" 1
expect cli-metadata-refused "$(cli --allow-net '*' -- connect 169.254.169.254 80)" \
  "DENIED *169.254.169.254 is a link-local address*"
expect cli-metadata-by-name-refused "$(cli --allow-net '*' --resolve meta.test.example:169.254.169.254 \
  -- connect meta.test.example 80)" "DENIED *resolves to 169.254.169.254, a link-local address*"
expect cli-star-no-loopback "$(cli --allow-net '*' -- connect 127.0.0.1 "$COUNT")" "DENIED *loopback*"
check cli-star-no-accept "$(count)" 1
W=(--allow-net "http://*.test.example:$COUNT" --allow-net "127.0.0.1:$COUNT" --resolve a.test.example:127.0.0.1
   --resolve b.test.example:127.0.0.1 --resolve test.example:127.0.0.1)
check cli-wildcard-a "$(cli "${W[@]}" -- connect a.test.example "$COUNT")" "connected 127.0.0.1 $COUNT"
check cli-wildcard-b "$(cli "${W[@]}" -- connect b.test.example "$COUNT")" "connected 127.0.0.1 $COUNT"
expect cli-wildcard-not-apex "$(cli "${W[@]}" -- connect test.example "$COUNT")" "DENIED *test.example:$COUNT denied*"
check cli-wildcard-accepts "$(count)" 3
expect cli-refused-errno "$(cli --allow-net "127.0.0.1:$CLOSED_PORT" -- connect 127.0.0.1 "$CLOSED_PORT")" \
  "E-8 ECONNREFUSED: net.connect 127.0.0.1:$CLOSED_PORT: Connection refused"
expect cli-unresolvable "$(cli --allow-net "nx.invalid:80" -- connect nx.invalid 80)" "E-8 EAI_NONAME: *cannot resolve nx.invalid*"

TL=(--allow-net "tls.test.example:$TLS" --allow-net "wrong.test.example:$TLS" --allow-net "127.0.0.1:$TLS"
    --resolve tls.test.example:127.0.0.1 --resolve wrong.test.example:127.0.0.1)
check cli-tls-ca-file "$(cli "${TL[@]}" --ca-file "$S/ca.pem" -- get tls.test.example "$TLS" / tls.test.example)" "secure"
expect cli-tls-fields "$(cli "${TL[@]}" --ca-file "$S/ca.pem" -- tlsinfo tls.test.example "$TLS" tls.test.example)" \
  "TLSv1.3 cn=tls.test.example alpn=http/1.1 san=DNS:tls.test.example,IP Address:127.0.0.1 der=[1-9]* bits=[1-9]* after=[A-Z][a-z][a-z] [ 1-3][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] 20[0-9][0-9] GMT"
expect cli-tls-no-ca "$(cli "${TL[@]}" -- get tls.test.example "$TLS" / tls.test.example)" \
  "E-9 certificate verify failed: *"
expect cli-tls-wrong-name "$(cli "${TL[@]}" --ca-file "$S/ca.pem" -- get wrong.test.example "$TLS" / wrong.test.example)" \
  "E-9 certificate verify failed: Hostname mismatch, certificate is not valid for 'wrong.test.example'"
check cli-tls-ip-name "$(cli "${TL[@]}" --ca-file "$S/ca.pem" -- get 127.0.0.1 "$TLS" / 127.0.0.1)" "secure"
check cli-tls-no-verify "$(cli "${TL[@]}" -- get wrong.test.example "$TLS" / wrong.test.example 0)" "secure"
got=$(cli --allow-net "127.0.0.1:$SILENT" -- silent 127.0.0.1 "$SILENT" 400)
expect cli-timeout "$got" "elapsed [3-9][0-9][0-9]*E-7 net.recv: timed out after 400 ms"
got=$(cli --allow-net "127.0.0.1:$HTTP" -- misc 127.0.0.1 "$HTTP")
expect cli-poll "$got" "poll 0*"
expect cli-close-twice "$got" "*net.close E-2 net.close: no open connection 1 (closed already*"
expect cli-short-payload "$got" "*net.connect E-2 net.connect: malformed request*"
expect cli-userinfo-host "$got" "*net.connect E-2 *host holds a byte that is not in a host name or address*"
expect cli-bad-port "$got" "*net.connect E-2 *port 70000 is not 1..65535*"
expect cli-recv-zero "$got" "*net.recv E-2 *max 0 is not 1..1048576*"
expect cli-recv-unknown "$got" "*net.recv E-2 net.recv: no open connection 99*"
expect cli-tls-name-needs-verify "$got" "*net.tls E-2 *checking the hostname needs verifying the chain*"
expect cli-shutdown-how "$got" "*net.shutdown E-2 *how 7 is not 0*"
expect cli-send-short "$got" "*net.send E-2 *malformed request*"
expect cli-other-ops-nosys "$got" "*sqlite.open *not running under krait serve*"
expect cli-ca-file-missing "$(kp --ca-file "$T/nope.pem" -c 'print(1)'; echo "exit $?")" \
  "Error: --ca-file $T/nope.pem: No such file or directory*exit 1"
expect cli-ca-file-junk "$(kp --ca-file "$S/junk.pem" -c 'print(1)'; echo "exit $?")" \
  "Error: --ca-file $S/junk.pem: not a readable PEM bundle*exit 1"
expect cli-resolve-bad "$(kp --resolve nonsense -c 'print(1)'; echo "exit $?")" "*--resolve*expected NAME:ADDR*exit 2"
expect cli-resolve-bad-addr "$(kp --resolve a.test:1.2.3 -c 'print(1)'; echo "exit $?")" "*not an IPv4 or IPv6 address*exit 2"
expect cli-help "$(kp --help)" "*--ca-file FILE*--resolve NAME:ADDR*"

# ---- krait serve -------------------------------------------------------------
A=$T/apps
mkdir -p "$A/o" "$A/h"
cp "$ROOT/tests/serve/outbound_kn.py" "$A/o/kn.py"
cat >"$A/o/app.py" <<'EOF2'
from urllib.parse import parse_qs
from spin_sdk import http
from spin_sdk.http import Response
import kn

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        path, _, query = request.uri.partition("?")
        args = parse_qs(query)["a"][0].split(",")
        return Response(200, {}, kn.run(args).encode())
EOF2
cp "$A/o/kn.py" "$A/o/app.py" "$A/h/"
{
  app_toml o spin "allowed_outbound_hosts = [\"http://127.0.0.1:$HTTP\", \"tcp://127.0.0.1:$COUNT\", \"tcp://127.0.0.1:$SILENT\",
                          \"https://tls.test.example:$TLS\", \"https://127.0.0.1:$TLS\", \"http://*.test.example:$COUNT\"]" \
    "[app.limits]" "timeout_ms = 2000" "max_outbound_connections = 5" "max_outbound_mb = 1"
  app_toml h spin "allowed_outbound_hosts = [\"tcp://127.0.0.1:$COUNT\"]"
} >"$A/krait.toml"
serve_apps "$A" --ca-file "$S/ca.pem" --resolve tls.test.example:127.0.0.1 --resolve a.test.example:127.0.0.1
q() { curl -s --max-time 30 "$U/$1?a=$2"; }
check serve-allowed "$(q o "get,127.0.0.1,$HTTP,/hello.txt")" "hello"
before=$(count)
expect serve-denied-port "$(q o "connect,127.0.0.1,$CLOSED_PORT")" \
  "DENIED *denied: no entry of allowed_outbound_hosts allows it; add \"tcp://127.0.0.1:$CLOSED_PORT\" to the app's allowed_outbound_hosts in krait.toml"
expect serve-denied-other-app "$(q h "connect,127.0.0.1,$HTTP")" "DENIED *allowed_outbound_hosts*"
got=$(q o "connect,a.test.example,$COUNT")   # the guest gets the class, the operator's log the address
expect serve-wildcard-name-to-loopback "$got" \
  "DENIED *a.test.example resolves to a loopback address, reached only when allowed_outbound_hosts names that address (the app's log names it)*"
case $got in *127.0.0.1*) check serve-denial-hides-address "$got" "(no address)" ;; esac
check serve-denial-logged "$(grep -rh "a.test.example resolves to 127.0.0.1 (loopback)" "$A" | wc -l | tr -d " ")" 1
check serve-denied-no-accept "$(count)" "$before"
check serve-tls "$(q o "get,tls.test.example,$TLS,/,tls.test.example")" "secure"
check serve-conns-limit "$(q o "conns,127.0.0.1,$COUNT,9")" \
  "5 E-4 net.connect: this request already opened 5 outbound connections, the most max_outbound_connections (in [app.limits]) allows"
check serve-conns-limit-per-request "$(q o "conns,127.0.0.1,$COUNT,2")" "2 all"
check serve-open-at-once "$(q h "hold,127.0.0.1,$COUNT,20")" \
  "16 E-4 net.connect: 16 outbound connections are open at once, the most a request of krait serve allows; close one first"
expect serve-bytes-limit "$(q o "big,127.0.0.1,$HTTP,/big.bin")" \
  "E-4 net.recv: this request received 1 MiB, the most max_outbound_mb (in ?app.limits?) allows"
for _ in $(seq 50); do [ "$(closed)" = "$(count)" ] && break; sleep 0.1; done
check serve-held-closed-at-end "$(closed)" "$(count)"
before=$(closed)
check serve-leak "$(q o "leak,127.0.0.1,$COUNT")" "leaked"
for _ in $(seq 50); do [ "$(closed)" -gt "$before" ] && break; sleep 0.1; done
check serve-leaked-closed-at-end "$(closed)" "$((before + 1))"
timed curl -s --max-time 30 -w " %{http_code}" "$U/o?a=silent,127.0.0.1,$SILENT,0"
expect serve-deadline "$GOT" "*50[34]"
if [ "$MS" -lt 5000 ] && [ "$MS" -ge 1500 ]; then ok "serve-deadline-bounded (${MS} ms for timeout_ms 2000)"
else bad serve-deadline-bounded "$MS ms"; fi
check serve-stays-up "$(q o "get,127.0.0.1,$HTTP,/hello.txt")" "hello"

# manifest limits: checked ranges at their line
mkdir -p "$T/m"
for bad_line in "max_outbound_connections = 0" "max_outbound_mb = 0" "max_outbound_connections = 100001" \
                "max_outbound_mb = \"big\""; do
  printf '[[app]]\nname = "x"\nstyle = "spin"\n[app.limits]\n%s\n' "$bad_line" >"$T/m/krait.toml"
  got=$(timeout 20 "$K" serve "$T/m" --listen "127.0.0.1:$(free_port)" 2>&1 | head -n 1)
  expect "manifest ${bad_line%% *} ${bad_line##* }" "$got" "Error: $T/m/krait.toml:5:*max_outbound_*"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
