#!/bin/bash
# tests/serve/variables.sh -- variables and secrets end to end over real
# sockets: a manifest's [variables] mapped by {{ name }} templates into a
# spin, a cloudflare (env.NAME, WorkerEntrypoint self.env) and a WSGI app
# (spin_sdk.variables); values from KRAIT_VARIABLE_<NAME>, then
# --variables-file, then the default; a required one missing stops serve
# naming it; a variables file readable by others, not a file or naming an
# undeclared variable is refused; template errors name file:line; a secret
# is in no log line, /metrics, error page or artifact (built with it in the
# environment), and artifacts resolve their variables when served. Prints
# "ok NAME" / "FAIL NAME" and ends with "N passed, N failed". Needs
# build/krait and `make python`. Does not own the manifest's unit tests
# (tests/host/test_toml.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
K=${KRAIT_BIN:-$K}
EDIT="python3 $ROOT/tests/serve/artifact_edit.py"
export KRAIT_CACHE=$T/cache
SECRET="s3cret-$$-$RANDOM-value"
unset "${!KRAIT_VARIABLE_@}" 2>/dev/null
# contains NAME GOT WANT: WANT is a substring of GOT
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$(echo "$2" | tail -n 3)', want it to contain '$3'" ;; esac; }
# lacks NAME TEXT: the secret is not in TEXT
lacks() { case $2 in *"$SECRET"*) bad "$1" "the secret is in: $(echo "$2" | grep -m1 -- "$SECRET")" ;; *) ok "$1" ;; esac; }

A=$T/site
mkdir -p "$A/spin" "$A/cf" "$A/cfclass" "$A/wsgi"
cat >"$A/krait.toml" <<'EOF'
[variables]
color = { default = "red" }
size = { default = "s" }
shape = { default = "circle" }
api_key = { required = true, secret = true }

[[app]]
name = "spin"
style = "spin"
dir = "spin"
route = "/spin/..."
debug = true
[app.variables]
color = "{{ color }}"
size = "{{size}}"
sentence = "a {{ shape }} of size {{ size }}, {{color}}."
key = "{{ api_key }}"
dsn = "postgres://app:{{ api_key }}@db/main"
plain = "literal {text}"

[[app]]
name = "cf"
style = "cloudflare"
dir = "cf"
route = "/cf/..."
[app.variables]
COLOR = "{{ color }}"
API_KEY = "{{ api_key }}"

[[app]]
name = "cfclass"
style = "cloudflare"
dir = "cfclass"
route = "/cfclass/..."
[app.variables]
SHAPE = "{{ shape }}"

[[app]]
name = "wsgi"
style = "wsgi"
wsgi = "app:app"
dir = "wsgi"
route = "/wsgi/..."
debug = true
[app.variables]
greeting = "{{ color }} hello"
auth = "Bearer {{ api_key }}"
EOF
cat >"$A/spin/app.py" <<'EOF'
from urllib.parse import parse_qs, urlparse
from spin_sdk import http, variables
from spin_sdk.http import Response

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        url = urlparse(request.uri)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/spin/get":
            try:
                return Response(200, {}, variables.get(q["k"]).encode())
            except KeyError as e:
                return Response(404, {}, str(e).encode())
        if url.path == "/spin/boom":
            raise RuntimeError("cannot connect to " + variables.get("dsn") + " with " + variables.get("key"))
        if url.path == "/spin/part":
            raise RuntimeError("token " + variables.get("dsn").split(":")[2].split("@")[0] + " refused")
        if url.path == "/spin/log":
            import _krait   # the host's log call: krait redacts the raw secret
            _krait.log(40, "the key is " + variables.get("dsn").split(":")[2].split("@")[0])
            return Response(200, {}, b"logged")
        return Response(404, {}, b"no")
EOF
cat >"$A/cf/app.py" <<'EOF'
from js import Response
async def on_fetch(request, env):
    name = request.url.rsplit("/", 1)[1]
    try:
        return Response.new(getattr(env, name))
    except AttributeError as e:
        return Response.new(str(e), status=404)
EOF
cat >"$A/cfclass/app.py" <<'EOF'
from workers import WorkerEntrypoint, Response
class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(self.env.SHAPE)
EOF
cat >"$A/wsgi/app.py" <<'EOF'
from spin_sdk import variables
def app(environ, start_response):
    if environ["PATH_INFO"].endswith("/boom"):
        raise ValueError("token " + variables.get("auth")[len("Bearer "):] + " refused")
    start_response("200 OK", [("content-type", "text/plain")])
    return [variables.get("greeting").encode()]
EOF
printf 'size = "m"\ncolor = "green"\n' >"$A/vars.toml"
chmod 600 "$A/vars.toml"

# serve_out ARGS...: `krait serve ARGS` in $A that must stop at start:
# its status and output in RC and OUT.
serve_out() {
  OUT=$(cd "$A" && timeout 60 "$K" serve "$@" --listen "127.0.0.1:$(free_port)" 2>&1); RC=$?
}

# ---- a required variable missing -------------------------------------------
serve_out --quiet
check missing-required-exits-1 "$RC" 1
contains missing-required-named "$OUT" 'required variable "api_key" (KRAIT_VARIABLE_API_KEY) has no value'
check missing-required-not-booted "$(echo "$OUT" | grep -c 'booted')" 0

# ---- the variables file refused ---------------------------------------------
chmod 644 "$A/vars.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file vars.toml
check file-0644-exits-1 "$RC" 1
contains file-0644-refused "$OUT" "--variables-file vars.toml can be read or written by group or others (mode 0644)"
chmod 620 "$A/vars.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file vars.toml
contains file-0620-refused "$OUT" "(mode 0620)"
chmod 600 "$A/vars.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file "$A"
contains file-dir-refused "$OUT" "is not a regular file"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file "$A/nope.toml"
contains file-missing-refused "$OUT" "--variables-file $A/nope.toml: cannot read: No such file"
printf 'size = "m"\ncolour = "x"\nweight = "y"\n' >"$A/bad.toml"; chmod 600 "$A/bad.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file bad.toml
contains file-unknown-names "$OUT" "sets \"colour\", \"weight\", which the manifest's [variables] table does not declare"
printf 'size = "m"\ncolor = 3\n' >"$A/bad.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file bad.toml
contains file-not-string-line "$OUT" "--variables-file bad.toml:2: color must be a string"
printf 'size = "m\n' >"$A/bad.toml"
KRAIT_VARIABLE_API_KEY=$SECRET serve_out --quiet --variables-file bad.toml
contains file-toml-error-line "$OUT" "bad.toml:1:"

# ---- serving: env over file over default ------------------------------------
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
export KRAIT_VARIABLE_COLOR=blue KRAIT_VARIABLE_API_KEY=$SECRET
if start "$A" "$P" "$AP" --variables-file vars.toml; then
  check env-wins-over-file "$(curl -s "$U/spin/get?k=color")" "blue"
  check file-wins-over-default "$(curl -s "$U/spin/get?k=size")" "m"
  check default-and-templates "$(curl -s "$U/spin/get?k=sentence")" "a circle of size m, blue."
  check secret-to-the-app "$(curl -s "$U/spin/get?k=key")" "$SECRET"
  check literal-kept "$(curl -s "$U/spin/get?k=plain")" "literal {text}"
  check spin-unknown-404 "$(curl -s -o /dev/null -w '%{http_code}' "$U/spin/get?k=nope")" "404"
  contains spin-unknown-says "$(curl -s "$U/spin/get?k=nope")" "app variable 'nope' is not defined"
  check cloudflare-env-attr "$(curl -s "$U/cf/COLOR")" "blue"
  check cloudflare-env-secret "$(curl -s "$U/cf/API_KEY")" "$SECRET"
  contains cloudflare-env-unknown "$(curl -s "$U/cf/NOPE")" "env has no binding 'NOPE'"
  check cloudflare-class-self-env "$(curl -s "$U/cfclass/x")" "circle"
  check wsgi-spin-variables "$(curl -s "$U/wsgi/")" "blue hello"
  body=$(curl -s "$U/spin/boom")
  contains boom-500-debug-traceback "$body" "RuntimeError: cannot connect to postgres://app:[secret]@db/main with [secret]"
  lacks boom-500-body-no-secret "$body"
  check log-call "$(curl -s "$U/spin/log")" "logged"
  body=$(curl -s "$U/wsgi/boom")
  contains wsgi-500-debug-traceback "$body" "ValueError: token [secret] refused"
  lacks wsgi-500-body-no-secret "$body"
  body=$(curl -s "$U/spin/part")
  contains part-500-debug-traceback "$body" "RuntimeError: token [secret] refused"
  lacks part-500-body-no-secret "$body"
  metrics=$(curl -s "http://127.0.0.1:$AP/metrics")
  contains metrics-served "$metrics" "krait_"
  lacks metrics-no-secret "$metrics"
  sleep 0.3
  log=$(cat "$A/server.log")
  contains log-has-traceback "$log" "RuntimeError: cannot connect to"
  contains log-has-wsgi-traceback "$log" "ValueError: token"
  lacks log-no-secret "$log"
  contains log-redacted "$log" "ValueError: token [secret] refused"
  contains log-host-redacts "$log" "ERROR: the key is [secret]"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
else
  bad serving "no server"
fi
unset KRAIT_VARIABLE_COLOR

# ---- krait build never bakes values in --------------------------------------
out=$(cd "$A" && "$K" build 2>&1); rc=$?
check build-ok "$rc" 0
found=""
for f in "$A"/.krait/*.krait; do
  grep -qa -- "$SECRET" "$f" && found="$found $f(raw)"
  $EDIT "$f" - contains "$SECRET" && found="$found $f"
done
check artifact-no-secret "${found:-none}" "none"
lacks build-output-no-secret "$out"
$EDIT "$A/.krait/spin.krait" - show >"$T/m.toml" 2>/dev/null
contains artifact-keeps-template "$(cat "$T/m.toml")" '"key" = "{{ api_key }}"'
contains artifact-keeps-declaration "$(cat "$T/m.toml")" 'api_key = { required = true, secret = true }'
# the built snapshot, served: values resolved now, not at build time
P=$(free_port) AP=$(free_port)
U=http://127.0.0.1:$P
: >"$A/server.log"
if KRAIT_VARIABLE_API_KEY=other-$SECRET KRAIT_VARIABLE_SHAPE=square start "$A" "$P" "$AP"; then
  contains built-snapshot-used "$(cat "$A/server.log")" "loaded its built snapshot"
  check built-resolves-at-serve "$(curl -s "$U/spin/get?k=key")" "other-$SECRET"
  check built-default-or-env "$(curl -s "$U/spin/get?k=sentence")" "a square of size s, red."
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
else
  bad built-snapshot "no server"
fi
# a stale artifact rebuilt while serving (app.py edited), the secret in the
# environment: the artifact written again holds no value either
echo "# edited" >>"$A/spin/app.py"
P=$(free_port) AP=$(free_port)
: >"$A/server.log"
if KRAIT_VARIABLE_API_KEY=stale-$SECRET start "$A" "$P" "$AP"; then
  check stale-serves-env-value "$(curl -s "http://127.0.0.1:$P/spin/get?k=key")" "stale-$SECRET"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
  contains stale-rebuilt "$(cat "$A/server.log")" "spin.krait was stale"
  contains stale-rewritten "$(cat "$A/server.log")" "wrote $A/.krait/spin.krait"
  found=""
  grep -qa -- "$SECRET" "$A/.krait/spin.krait" && found="raw"
  $EDIT "$A/.krait/spin.krait" - contains "$SECRET" && found="$found manifest"
  check stale-rebuilt-artifact-no-secret "${found:-none}" "none"
  contains stale-rebuilt-keeps-template "$($EDIT "$A/.krait/spin.krait" - show 2>/dev/null)" '"key" = "{{ api_key }}"'
  lacks stale-log-no-secret "$(cat "$A/server.log")"
else
  bad stale-rebuilt "no server"
fi
# an artifact served elsewhere: its declarations travel, values do not
unset KRAIT_VARIABLE_API_KEY
mkdir -p "$T/elsewhere"
cp "$A/.krait/spin.krait" "$T/elsewhere/"
out=$(cd "$T/elsewhere" && timeout 60 "$K" serve spin.krait --quiet --listen "127.0.0.1:$(free_port)" 2>&1); rc=$?
check artifact-missing-required-exits-1 "$rc" 1
contains artifact-missing-required-named "$out" 'required variable "api_key"'
P=$(free_port) AP=$(free_port)
if KRAIT_VARIABLE_API_KEY=art-$SECRET start "$T/elsewhere" "$P" "$AP" spin.krait; then
  check artifact-resolves-at-serve "$(curl -s "http://127.0.0.1:$P/spin/get?k=dsn")" "postgres://app:art-$SECRET@db/main"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
else
  bad artifact-elsewhere "no server"
fi

# ---- reading a variable while booting is refused ---------------------------
B=$T/early
mkdir -p "$B"
cat >"$B/krait.toml" <<'EOF'
[variables]
token = { required = true, secret = true }
[app]
style = "spin"
[app.variables]
token = "{{ token }}"
EOF
cat >"$B/app.py" <<'EOF'
from spin_sdk import http, variables
TOKEN = variables.get("token")
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        return http.Response(200, {}, TOKEN.encode())
EOF
out=$(cd "$B" && KRAIT_VARIABLE_TOKEN=$SECRET timeout 60 "$K" serve --quiet --listen "127.0.0.1:$(free_port)" 2>&1); rc=$?
check boot-read-exits-1 "$rc" 1
contains boot-read-refused "$out" 'app variable "token" is resolved when krait serve starts'
lacks boot-read-no-secret "$out"
out=$(cd "$B" && KRAIT_VARIABLE_TOKEN=$SECRET "$K" build 2>&1)
contains build-boot-read-refused "$out" 'read it in the handler'

# ---- a secret the template could split two ways ----------------------------
# "{{ user }}:{{ password }}@{{ host }}" with password "p@ss:w0rd": the
# SDK once redacted only "p", leaving "[secret]@ss:w0rd" in the debug 500
# body and, the log line no longer holding the whole password, in the log.
# A UTF-8 app variable key ("clé") once reached the SDK's list of secrets
# mangled (each byte its own \u00XX): its value was not redacted
D=$T/split
mkdir -p "$D"
cat >"$D/krait.toml" <<'EOF'
[variables]
user = { default = "app" }
host = { default = "db" }
password = { required = true, secret = true }
[app]
style = "spin"
debug = true
[app.variables]
dsn = "{{ user }}:{{ password }}@{{ host }}"
"clé" = "{{ password }}"
EOF
cat >"$D/app.py" <<'EOF'
from spin_sdk import http, variables
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        raise RuntimeError("cannot connect to " + variables.get("dsn") + " as " + variables.get("clé"))
EOF
P=$(free_port) AP=$(free_port)
if KRAIT_VARIABLE_PASSWORD='p@ss:w0rd' start "$D" "$P" "$AP"; then
  body=$(curl -s "http://127.0.0.1:$P/")
  contains split-500-redacted "$body" "RuntimeError: cannot connect to [secret] as [secret]"
  check split-500-no-part "$(echo "$body" | grep -c 'w0rd')" 0
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
  log=$(cat "$D/server.log")
  contains split-log-redacted "$log" "RuntimeError: cannot connect to [secret] as [secret]"
  check split-log-no-part "$(echo "$log" | grep -c 'w0rd')" 0
else
  bad split "no server"
fi

# ---- manifest errors name file:line ----------------------------------------
C=$T/bad
mkdir -p "$C"
echo 'def x(): pass' >"$C/app.py"
# bad_manifest NAME WANT TEXT: serve refuses the manifest TEXT saying WANT
bad_manifest() {
  printf '%b' "$3" >"$C/krait.toml"
  local o
  o=$(cd "$C" && timeout 30 "$K" serve --quiet --listen "127.0.0.1:$(free_port)" 2>&1)
  contains "$1" "$o" "$2"
}
bad_manifest tmpl-undeclared "$C/krait.toml:6: app \"app1\" variable \"k\": \"x{{ nope }}\" refers to variable \"nope\", which the [variables] table does not declare" \
  '[variables]\na = { default = "1" }\n[app]\nstyle = "spin"\n[app.variables]\nk = "x{{ nope }}"\n'
bad_manifest tmpl-unclosed "krait.toml:6: " '[variables]\na = { default = "1" }\n[app]\nstyle = "spin"\n[app.variables]\nk = "{{ a "\n'
bad_manifest tmpl-unclosed-says 'has a "{{" without its "}}"' '[variables]\na = { default = "1" }\n[app]\nstyle = "spin"\n[app.variables]\nk = "{{ a "\n'
bad_manifest tmpl-bad-name 'refers to "A", which is not a variable name' '[variables]\na = { default = "1" }\n[app]\nstyle = "spin"\n[app.variables]\nk = "{{ A }}"\n'
bad_manifest var-upper-name "krait.toml:2: variable name \"Api\" is not allowed" '[variables]\nApi = { default = "1" }\n[app]\nstyle = "spin"\n'
bad_manifest var-neither "krait.toml:2: variable \"a\" needs a default" '[variables]\na = { secret = true }\n[app]\nstyle = "spin"\n'
bad_manifest var-both "krait.toml:2: variable \"a\" needs either required = true or a default, not both" '[variables]\na = { default = "x", required = true }\n[app]\nstyle = "spin"\n'
bad_manifest var-secret-default "krait.toml:2: variable \"a\" is secret and has a default" '[variables]\na = { default = "x", secret = true }\n[app]\nstyle = "spin"\n'
bad_manifest var-unknown-key 'unknown key "secrett"' '[variables]\na = { default = "x", secrett = true }\n[app]\nstyle = "spin"\n'
bad_manifest var-not-table 'variable "a" must be a table' '[variables]\na = "x"\n[app]\nstyle = "spin"\n'
out=$(cd "$A" && "$K" build --variables-file vars.toml 2>&1); rc=$?
check build-no-variables-file "$rc" 2
contains build-no-variables-file-says "$out" "krait build resolves no variables"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
