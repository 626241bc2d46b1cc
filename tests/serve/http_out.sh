#!/bin/bash
# tests/serve/http_out.sh -- outbound HTTP from guest Python end to end:
# krait serve apps in each style calling real loopback servers
# (tests/serve/http_out_servers.py) -- spin (spin_sdk.http.send), cloudflare
# (js fetch, pyodide.http.pyfetch), wsgi (requests from Debian's
# dist-packages, through site_packages) -- over HTTP and over HTTPS with a
# test CA made here by the openssl CLI (krait serve --ca-file); a denied
# host with a connection-counting server that must see no connection; a
# redirect to a denied host refused; Spin not following redirects; TLS name
# mismatches; the artifact krait build makes serving requests with the
# site-packages dir gone; and krait python --allow-net with urllib and
# requests. Ends with "N passed, N failed". Needs build/krait, `make
# python`, the openssl CLI and python3-requests. Does not own the host side
# (tests/serve/outbound.sh) nor the guest units (tests/sdk/test_net.py).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"

# ---- the test CA, the servers ------------------------------------------------
S=$T/srv
mkdir -p "$S"
make_test_ca "$S" "krait http_out CA" "DNS:tls.test.example"
py_servers "$ROOT/tests/serve/http_out_servers.py" "$S"
read -r HTTP TLS COUNT <"$S/ports" || { echo "0 passed, 1 failed"; exit 1; }
count() { cat "$S/count" 2>/dev/null || echo 0; }
H="http://127.0.0.1:$HTTP"
HS="https://tls.test.example:$TLS"
DENIED="http://127.0.0.1:$COUNT/"

# ---- the apps ----------------------------------------------------------------
A=$T/apps
mkdir -p "$A/sp" "$A/cf" "$A/ws"
cat >"$A/sp/app.py" <<'EOF'
from urllib.parse import parse_qs
from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.types import Err

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        q = {k: v[0] for k, v in parse_qs(request.uri.partition("?")[2]).items()}
        body = q["b"].encode() if "b" in q else None
        try:
            r = http.send(Request(q.get("m", "GET"), q["u"], {"x-in": "spin"}, body))
        except Err as e:
            out = f"Err {type(e.value).__name__} {isinstance(e, PermissionError)} {e}"
            return Response(200, {}, out.encode())
        return Response(200, {}, f"{r.status} {r.headers.get('x-out')} {r.body.decode()}".encode())
EOF
cat >"$A/cf/app.py" <<'EOF'
from urllib.parse import parse_qs, urlsplit
from js import Response, fetch
from pyodide.http import pyfetch

async def on_fetch(request, env):
    q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    try:
        if "py" in q:
            r = await pyfetch(q["u"])
            return Response.new(f"{r.status} {r.redirected} {await r.text()}")
        r = await fetch(q["u"], method=q.get("m", "GET"), headers={"x-in": "cf"}, body=q.get("b"))
        return Response.new(f"{r.status} {r.redirected} {await r.text()}")
    except PermissionError as e:
        return Response.new(f"PermissionError {e}")
EOF
cat >"$A/ws/app.py" <<'EOF'
from urllib.parse import parse_qs
import requests

def app(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        r = requests.request(q.get("m", "GET"), q["u"], data=q.get("b"),
                             headers={"X-In": "wsgi"}, timeout=5)
        out = f"{r.status_code} {r.text}"
    except requests.exceptions.RequestException as e:
        out = f"{type(e).__name__} {e}"
    start_response("200 OK", [("content-type", "text/plain")])
    return [out.encode()]
EOF
GRANTS="allowed_outbound_hosts = [\"http://127.0.0.1:$HTTP\", \"https://tls.test.example:$TLS\", \"https://127.0.0.1:$TLS\"]"
{
  app_toml sp spin "$GRANTS"
  app_toml cf cloudflare "$GRANTS"
  app_toml ws wsgi 'wsgi = "app:app"' 'site_packages = ["/usr/lib/python3/dist-packages"]' "$GRANTS"
} >"$A/krait.toml"
NETOPTS=(--ca-file "$S/ca.pem" --resolve tls.test.example:127.0.0.1)
serve_apps "$A" "${NETOPTS[@]}"
q() {   # q APP NAME=VALUE...: the app's answer to GET /APP/?NAME=VALUE...
  local app=$1 a=() x; shift
  for x in "$@"; do a+=(--data-urlencode "$x"); done
  curl -s --max-time 30 -G "$U/$app/" "${a[@]}"
}

# Spin
check spin-http "$(q sp "u=$H/hello")" "200 1 hello"
check spin-https "$(q sp "u=$HS/json")" '200 None {"n": 42}'
check spin-post "$(q sp "u=$HS/echo" m=POST b=data)" '200 None {"method": "POST", "body": "data", "x": "spin"}'
check spin-no-redirect "$(q sp "u=$H/redirect?to=/hello")" "302 None "
expect spin-denied "$(q sp "u=$DENIED")" "Err ErrorCode_HttpRequestDenied True *127.0.0.1:$COUNT*allowed_outbound_hosts*"
expect spin-tls-name-mismatch "$(q sp "u=https://127.0.0.1:$TLS/hello")" \
  "Err ErrorCode_TlsCertificateError False *certificate verify failed*"
# Cloudflare
check cf-fetch-https "$(q cf "u=$HS/json")" '200 False {"n": 42}'
check cf-fetch-post "$(q cf "u=$H/echo" m=POST b=hi)" '200 False {"method": "POST", "body": "hi", "x": "cf"}'
check cf-redirect-followed "$(q cf "u=$H/redirect?to=$HS/hello")" "200 True hello"
expect cf-redirect-to-denied "$(q cf "u=$H/redirect?to=$DENIED")" "PermissionError *127.0.0.1:$COUNT*allowed_outbound_hosts*"
expect cf-denied "$(q cf "u=$DENIED")" "PermissionError *allowed_outbound_hosts*"
check cf-pyfetch "$(q cf "u=$H/redirect?to=/json" py=1)" '200 True {"n": 42}'
# WSGI with requests
check ws-requests-http "$(q ws "u=$H/hello")" "200 hello"
check ws-requests-https "$(q ws "u=$HS/json")" '200 {"n": 42}'
check ws-requests-post "$(q ws "u=$HS/echo" m=POST b=x=1)" '200 {"method": "POST", "body": "x=1", "x": "wsgi"}'
expect ws-requests-denied "$(q ws "u=$DENIED")" "ConnectionError *allowed_outbound_hosts*"
# urllib3 turns check_hostname off and matches the name itself, from getpeercert()
expect ws-requests-tls-mismatch "$(q ws "u=https://127.0.0.1:$TLS/")" "SSLError *hostname '127.0.0.1' doesn't match 'tls.test.example'*"
check denied-host-saw-no-connection "$(count)" 0

# The artifact carries requests: served with the site-packages dir unreadable to it.
"$K" build "$A" >"$T/build.log" 2>&1 && ok build || bad build "$(tail -n 3 "$T/build.log")"
mkdir -p "$T/elsewhere"
cp "$A/.krait/ws.krait" "$T/elsewhere/"
P2=$(free_port) AP2=$(free_port)
if start "$T/elsewhere" "$P2" "$AP2" "$T/elsewhere/ws.krait" "${NETOPTS[@]}"; then
  check artifact-requests-https "$(curl -s --max-time 30 -G "http://127.0.0.1:$P2/ws/" \
    --data-urlencode "u=$HS/json")" '200 {"n": 42}'
else bad artifact-serve "did not start"; fi

# krait python
kp() { timeout 60 "$K" python "$@" 2>&1; }
check python-urllib "$(kp --allow-net "127.0.0.1:$HTTP" -c \
  "import urllib.request; print(urllib.request.urlopen('$H/hello').read().decode())")" "hello"
expect python-no-allow-net "$(kp -c "import urllib.request; urllib.request.urlopen('$H/hello')")" \
  "*URLError*--allow-net*"
check python-requests-https "$(kp --allow-net "tls.test.example:$TLS" --allow-net "127.0.0.1:$TLS" "${NETOPTS[@]}" \
  --site-packages /usr/lib/python3/dist-packages -c \
  "import requests; print(requests.get('$HS/json').json()['n'])")" "42"
check python-denied-no-connection "$(count)" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
