#!/bin/bash
# tests/serve/remote_llm.sh -- krait as an inference server and as its
# client, end to end: host A (krait serve --llm-api --llm-api-token)
# exposes local test models (tests/llm/make_models.py) at its admin /v1;
# curl checks the endpoints with good and bad requests (OpenAI's error
# shapes, 401 without the token, /healthz open); host B's Spin app calls
# spin_sdk.llm on [llm.models.x] url = A's /v1 and on the same file
# locally: greedy text, usage, embeddings and (a Cloudflare app's
# env.AI.run) chat must be equal; a busy engine
# (host C, max_queued = 0) answers 503 with Retry-After. Then B against
# tests/llm/fake_openai.py: error mapping (400, 429, 500, garbage, a huge
# body, a server slower than the app's deadline) and the API key variable
# in the Authorization header, over HTTP and HTTPS (a test CA made with the
# openssl CLI, krait serve --ca-file). Ends with "N passed, N failed".
# Needs build/krait, `make python`, /usr/bin/python3 with numpy, curl and
# openssl. Does not own the backend (src/llm/remote.c) nor /v1 (src/serve/openai.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
unset "${!KRAIT_VARIABLE_@}" 2>/dev/null
# contains NAME GOT WANT: WANT is a substring of GOT
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "got '$(echo "$2" | tail -n 3)', want it to contain '$3'" ;; esac; }
# jq-like: the value at a Python expression over the JSON j
jget() { /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }

# ---- models, the test CA, the fake server ------------------------------------
M=$T/models
/usr/bin/python3 "$ROOT/tests/llm/make_models.py" --out "$M" >"$T/models.log" 2>&1 ||
  { tail -n 5 "$T/models.log"; echo "0 passed, 1 failed"; exit 1; }
S=$T/srv
mkdir -p "$S"
(cd "$S" &&
 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
   -days 30 -subj "/CN=krait remote_llm CA" -addext "basicConstraints=critical,CA:TRUE" \
   -addext "keyUsage=critical,keyCertSign,cRLSign" &&
 openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
   -subj "/CN=localhost" &&
 printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext &&
 openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 \
   -extfile ext) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 "$ROOT/tests/llm/fake_openai.py" "$S" "$S/server.pem" "$S/server.key" &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$S/ports" ] && break; sleep 0.1; done
read -r FHTTP FTLS <"$S/ports" || { echo "0 passed, 1 failed"; exit 1; }

# ---- host A: the models at /v1 ------------------------------------------------
A=$T/a
mkdir -p "$A/app"
cat >"$A/app/app.py" <<'EOF'
from spin_sdk import http
from spin_sdk.http import Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        return Response(200, {}, b"a")
EOF
cat >"$A/krait.toml" <<EOF
[variables]
api_token = { required = true, secret = true }

[llm]
threads = 1
context = 128

[llm.models.tiny]
path = "$M/llama-q8_0.gguf"

[llm.models.emb]
path = "$M/bert-f32.gguf"

[app]
name = "a"
style = "spin"
dir = "app"
route = "/..."
EOF
APORT=$(free_port) AADMIN=$(free_port)
TOKEN=tok-$RANDOM$RANDOM
KRAIT_VARIABLE_API_TOKEN=$TOKEN start "$A" "$APORT" "$AADMIN" --llm-api --llm-api-token api_token ||
  { echo "0 passed, 1 failed"; exit 1; }
V="http://127.0.0.1:$AADMIN/v1"
AUTH="Authorization: Bearer $TOKEN"
# post PATH JSON [curl args]: "STATUS BODY"
post() { curl -s -o "$T/body" -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$2" "${@:3}" "$V$1"; echo " $(cat "$T/body")"; }

contains a-banner "$(cat "$A/server.log")" "OpenAI-compatible API at http://127.0.0.1:$AADMIN/v1"
out=$(curl -s -w ' %{http_code}' "$V/models")
contains no-token-401 "$out" '"code":"invalid_api_key"'
contains no-token-status "$out" ' 401'
out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer wrong$TOKEN" "$V/models")
contains wrong-token-401 "$out" ' 401'
check healthz-open "$(curl -s "http://127.0.0.1:$AADMIN/healthz")" ok
contains metrics-open "$(curl -s "http://127.0.0.1:$AADMIN/metrics")" krait_http_requests_in_flight
check main-listener-no-v1 "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "http://127.0.0.1:$APORT/v1/models")" 200
out=$(curl -s -H "$AUTH" "http://127.0.0.1:$APORT/v1/models")
check main-listener-is-the-app "$out" a
out=$(curl -s -H "$AUTH" "$V/models")
check models-list "$(echo "$out" | jget '[(m["id"], m["kind"]) for m in j["data"]]')" "[('tiny', 'text'), ('emb', 'embeddings')]"
check models-one "$(curl -s -H "$AUTH" "$V/models/emb" | jget 'j["id"]')" emb
contains models-unknown "$(curl -s -w ' %{http_code}' -H "$AUTH" "$V/models/nope" | tr -d '\n')" '"code":"model_not_found"}} 404'

out=$(post /completions '{"model":"tiny","prompt":"The quick brown","max_tokens":8,"temperature":0}')
contains completion-200 "$out" '200 {'
LOCAL_A=$(echo "${out#200 }" | jget 'j["choices"][0]["text"]')
check completion-shape "$(echo "${out#200 }" | jget '(j["object"], j["usage"]["completion_tokens"] <= 8, j["choices"][0]["finish_reason"] in ("stop","length"))')" "('text_completion', True, True)"
out=$(post /completions '{"model":"tiny","prompt":["The quick brown"],"max_tokens":8,"temperature":0,"seed":7,"top_k":0,"repeat_penalty":1.0,"stream":false,"n":1,"stop":null}')
check completion-same-again "$(echo "${out#200 }" | jget 'j["choices"][0]["text"]')" "$LOCAL_A"
out=$(post /chat/completions '{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hello"}]}],"max_tokens":4,"temperature":0}')
contains chat-200 "$out" '"object":"chat.completion"'
contains chat-role "$out" '"role":"assistant"'
# Without max_tokens: a completion stops at OpenAI's 16, a chat at krait's 512 capped by the context.
out=$(post /completions '{"model":"tiny","prompt":"The quick brown","temperature":0}')
check completion-default-max "$(echo "${out#200 }" | jget 'j["usage"]["completion_tokens"] <= 16 and (j["usage"]["completion_tokens"] == 16 or j["choices"][0]["finish_reason"] == "stop")')" True
out=$(post /chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hello"}],"temperature":0}')
check chat-default-max "$(echo "${out#200 }" | jget 'j["usage"]["total_tokens"] <= 128')" True
check context-capped "$(curl -s -H "$AUTH" "$V/models/tiny" | jget 'j["context_length"]')" 128
out=$(post /embeddings '{"model":"emb","input":["hello world","the quick brown fox"]}')
check embeddings-shape "$(echo "${out#200 }" | jget '(len(j["data"]), [d["index"] for d in j["data"]], round(sum(x*x for x in j["data"][0]["embedding"]), 4), j["usage"]["prompt_tokens"] > 0)')" "(2, [0, 1], 1.0, True)"
E_A=$(echo "${out#200 }" | jget 'j["data"][1]["embedding"]')

# Bad requests: OpenAI's error shape, the field named.
err() { echo "$1" | sed 's/^\([0-9]*\) \(.*\)/\1 \2/' | { read -r st body; echo "$st $(echo "$body" | jget '(j["error"]["type"], j["error"]["param"], j["error"]["message"])')"; }; }
contains bad-json "$(err "$(post /completions '{"model":')")" "400 ('invalid_request_error', None, 'the body is not JSON"
contains not-object "$(err "$(post /completions '[1]')")" "400 ('invalid_request_error', None, 'the body must be a JSON object')"
contains no-model "$(err "$(post /completions '{"prompt":"x"}')")" "400 ('invalid_request_error', 'model',"
contains unknown-model "$(err "$(post /completions '{"model":"gpt-4","prompt":"x"}')")" "404 ('invalid_request_error', 'model', 'model \"gpt-4\" not found (this server has \"tiny\", \"emb\")')"
contains no-prompt "$(err "$(post /completions '{"model":"tiny"}')")" "400 ('invalid_request_error', 'prompt', 'prompt must be a string"
contains stream "$(err "$(post /completions '{"model":"tiny","prompt":"x","stream":true}')")" "400 ('invalid_request_error', 'stream', 'streaming (\"stream\": true) is not supported"
contains temperature "$(err "$(post /completions '{"model":"tiny","prompt":"x","temperature":-1}')")" "400 ('invalid_request_error', 'temperature', 'temperature must be a number from 0 to 100')"
contains max-tokens "$(err "$(post /completions '{"model":"tiny","prompt":"x","max_tokens":0}')")" "'max_tokens', 'max_tokens must be an integer from 1 to"
contains max-tokens-ctx "$(err "$(post /completions '{"model":"tiny","prompt":"x","max_tokens":100000}')")" "400 ('invalid_request_error', None, \"max_tokens 100000 is more than the model's context"
contains n-2 "$(err "$(post /completions '{"model":"tiny","prompt":"x","n":2}')")" "'n', 'n must be 1"
contains stop "$(err "$(post /completions '{"model":"tiny","prompt":"x","stop":["\n"]}')")" "'stop', 'stop sequences are not supported'"
contains bad-role "$(err "$(post /chat/completions '{"model":"tiny","messages":[{"role":"robot","content":"x"}]}')")" "'messages', 'messages[0] must be an object whose role is"
contains no-messages "$(err "$(post /chat/completions '{"model":"tiny","messages":[]}')")" "'messages', 'messages must be an array of 1 to"
contains embed-decoder "$(err "$(post /embeddings '{"model":"tiny","input":"x"}')")" "400 ('invalid_request_error', 'model', 'model \"tiny\" generates text"
contains generate-encoder "$(err "$(post /completions '{"model":"emb","prompt":"x"}')")" "400 ('invalid_request_error', 'model', 'model \"emb\" makes embeddings"
contains embed-tokens "$(err "$(post /embeddings '{"model":"emb","input":[[1,2]]}')")" "'input', 'input[0] must be a string (token arrays are not supported)'"
contains embed-dims "$(err "$(post /embeddings '{"model":"emb","input":"x","dimensions":3}')")" "'dimensions', 'model \"emb\" makes embeddings of"
# Review M4, H2, L2: bodies are shaped before jansson parses them; prompts,
# contents, their sum and texts are capped at 1 MiB as the llm binding's;
# a long non-ASCII model name is cut at a character (was a 500).
/usr/bin/python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
def w(name, obj):
    open("%s/%s.json" % (d, name), "w").write(obj if isinstance(obj, str) else json.dumps(obj))
w("values", '{"model":"tiny","prompt":"x","junk":[' + ",".join(["{}"] * 70000) + ']}')
w("deep", '{"model":"tiny","prompt":"x","junk":' + "[" * 40 + "]" * 40 + '}')
w("prompt", {"model": "tiny", "prompt": "a" * (1 << 20) + "b"})
w("content", {"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "a" * 400000}] * 3}]})
w("sum", {"model": "tiny", "messages": [{"role": "system", "content": "a" * 600000}, {"role": "user", "content": "b" * 600000}]})
w("input", {"model": "emb", "input": ["x", "a" * (1 << 20) + "b"]})
w("name", {"model": "a" + "\u00e9" * 100, "prompt": "x"})
PY
contains shape-values "$(err "$(post /completions "@$T/values.json")")" "400 ('invalid_request_error', None, \"the body holds more than 65536 JSON values; krait's /v1 takes at most that many"
contains shape-depth "$(err "$(post /completions "@$T/deep.json")")" "400 ('invalid_request_error', None, \"the body nests deeper than 32 levels; krait's /v1"
contains cap-prompt "$(err "$(post /completions "@$T/prompt.json")")" "400 ('invalid_request_error', 'prompt', 'prompt is 1048577 bytes; krait takes at most 1048576')"
contains cap-content "$(err "$(post /chat/completions "@$T/content.json")")" "400 ('invalid_request_error', 'messages', 'messages[0].content is 1200000 bytes; krait takes at most 1048576')"
contains cap-messages-sum "$(err "$(post /chat/completions "@$T/sum.json")")" "400 ('invalid_request_error', 'messages', \"the messages' contents come to more than 1048576 bytes (at messages[1])"
contains cap-input "$(err "$(post /embeddings "@$T/input.json")")" "400 ('invalid_request_error', 'input', 'input[1] is 1048577 bytes; krait takes at most 1048576')"
out=$(err "$(post /completions "@$T/name.json")")
contains name-cut-404 "$out" "404 ('invalid_request_error', 'model', 'model \"a"
contains name-cut-at-char "$out" "aééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\" not found"
out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer ${TOKEN%?}" "$V/models")
contains prefix-token-401 "$out" ' 401'
contains get-completions "$(curl -s -w ' %{http_code}' -H "$AUTH" "$V/completions")" ' 405'
contains unknown-endpoint "$(curl -s -w ' %{http_code}' -H "$AUTH" "$V/nope" | tr -d '\n')" '"code":"unknown_url"}} 404'
kill -0 "$SERVER" 2>/dev/null && ok a-alive || bad a-alive "host A died"

# A busy engine (one generation at a time, none waiting): 503 + Retry-After.
C=$T/c
mkdir -p "$C"
cp -r "$A/app" "$C/app"
sed 's/^threads = 1$/threads = 1\nmax_concurrent = 1\nmax_queued = 0/; /^context = /d; /^\[variables\]/,/^$/d' "$A/krait.toml" >"$C/krait.toml"
CPORT=$(free_port) CADMIN=$(free_port)
if start "$C" "$CPORT" "$CADMIN" --llm-api; then
  curls=""
  for i in $(seq 12); do
    curl -s -o "$C/out.$i" -D "$C/head.$i" -w '%{http_code}\n' "http://127.0.0.1:$CADMIN/v1/completions" \
      -d '{"model":"tiny","prompt":"The quick","max_tokens":250,"temperature":0}' >"$C/status.$i" &
    curls="$curls $!"
  done
  wait $curls
  codes=$(cat "$C"/status.* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
  case $codes in *503:*) ok "busy-503 ($codes)" ;; *) bad busy-503 "$codes" ;; esac
  case $(cat "$C"/status.* | sort -u | tr '\n' ' ') in "200 503 "|"503 ") ok busy-only-200-503 ;; *) bad busy-only-200-503 "$codes" ;; esac
  b=$(grep -l 503 "$C"/status.* | head -n 1)
  b=${b##*.}
  contains busy-retry-after "$(cat "$C/head.$b")" "Retry-After: 1"
  contains busy-error-code "$(cat "$C/out.$b")" '"code":"busy"'
else
  bad busy-server "host C did not start"
fi

# [llm] api_timeout_ms: a generation cut off at /v1's deadline keeps OpenAI's
# finish_reason "length" and says x-krait-finish: deadline; one cut off
# before any token (a prompt of several batches, the deadline checked
# between them) is a 504 in OpenAI's error shape. 4 ms: the tiny model
# (about 50 us a token here) makes some tokens, not 250, which take ~12 ms
# (the prompt is one batch, unchecked); host D keeps the model's own 256
# context so that 250 fit.
for d in cut none; do
  mkdir -p "$T/$d" && cp -r "$A/app" "$T/$d/app"
  ms=4; drop='^context = /d'
  [ "$d" = none ] && { ms=1; drop='^#keep#$/d'; }
  sed "s/^threads = 1$/threads = 1\napi_timeout_ms = $ms/; /^\[variables\]/,/^$/d; /$drop" "$A/krait.toml" >"$T/$d/krait.toml"
done
DPORT=$(free_port) DADMIN=$(free_port)
if start "$T/cut" "$DPORT" "$DADMIN" --llm-api; then
  code=$(curl -s -o "$T/cut/out" -D "$T/cut/head" -w '%{http_code}' "http://127.0.0.1:$DADMIN/v1/completions" \
    -d '{"model":"tiny","prompt":"The quick","max_tokens":250,"temperature":0}')
  check deadline-cut-200 "$code" 200
  check deadline-cut-length "$(jget '(j["choices"][0]["finish_reason"], j["usage"]["completion_tokens"] < 250)' <"$T/cut/out")" "('length', True)"
  contains deadline-cut-header "$(tr -d '\r' <"$T/cut/head")" "x-krait-finish: deadline"
  h=$(curl -s -D - -o /dev/null "http://127.0.0.1:$DADMIN/v1/completions" -d '{"model":"tiny","prompt":"The quick","max_tokens":2,"temperature":0}' | tr -d '\r')
  case $h in *x-krait-finish*) bad deadline-no-header-in-time "$h" ;; *) ok deadline-no-header-in-time ;; esac
else
  bad deadline-cut-server "host D did not start"
fi
EPORT=$(free_port) EADMIN=$(free_port)
if start "$T/none" "$EPORT" "$EADMIN" --llm-api; then
  out=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$EADMIN/v1/completions" -d '{"model":"tiny","prompt":"'"$(printf 'hello %.0s' $(seq 90))"'","max_tokens":20,"temperature":0}' | tr -d '\n')
  contains deadline-none-504 "$out" '"code":"timeout"}} 504'
else
  bad deadline-none-server "host E did not start"
fi

# ---- host B: the app calls A (and the fake server) through spin_sdk.llm ----------
B=$T/b
mkdir -p "$B/app"
cat >"$B/app/app.py" <<'EOF'
import json
from urllib.parse import parse_qs
from spin_sdk import http, llm
from spin_sdk.http import Response
import krait_llm

KINDS = (krait_llm.InvalidInput, krait_llm.Busy, krait_llm.DeadlineExceeded, krait_llm.ModelError,
         krait_llm.ModelNotFound, krait_llm.ModelNotGranted)

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        q = {k: v[0] for k, v in parse_qs(request.uri.partition("?")[2]).items()}
        try:
            if q["op"] == "infer":
                r = llm.infer_with_options(q["m"], q.get("p", "The quick brown"),
                                           llm.InferencingParams(temperature=0, max_tokens=8))
                out = {"text": r.text, "usage": [r.usage.prompt_token_count, r.usage.generated_token_count]}
            else:
                r = llm.generate_embeddings(q["m"], ["hello world", "the quick brown fox"])
                out = {"emb": r.embeddings, "tokens": r.usage.prompt_token_count}
        except krait_llm.LlmError as e:
            kind = next(k.__name__ for k in KINDS if isinstance(e, k))
            out = {"error": kind, "message": str(e)}
        return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
EOF
cat >"$B/krait.toml" <<EOF
[variables]
a_token = { required = true, secret = true }
fake_key = { required = true, secret = true }
bad_token = { default = "nope" }

[llm]
threads = 1

[llm.models.local]
path = "$M/llama-q8_0.gguf"

[llm.models.local-emb]
path = "$M/bert-f32.gguf"

[llm.models.x]
url = "$V"
model = "tiny"
api_key_variable = "a_token"

[llm.models.x-emb]
url = "$V/"
model = "emb"
api_key_variable = "a_token"

[llm.models.x-badkey]
url = "$V"
model = "tiny"
api_key_variable = "bad_token"

[llm.models.x-unknown]
url = "$V"
model = "llama-70b"
api_key_variable = "a_token"

[llm.models.down]
url = "http://127.0.0.1:1/v1"
model = "m"

EOF
for f in auth e400 e429 e503 e500 garbage huge hugechunk slow chunked; do
  printf '[llm.models.f-%s]\nurl = "http://127.0.0.1:%s/v1"\nmodel = "%s"\napi_key_variable = "fake_key"\n\n' "$f" "$FHTTP" "$f" >>"$B/krait.toml"
done
printf '[llm.models.tls]\nurl = "https://localhost:%s/v1"\nmodel = "auth"\napi_key_variable = "fake_key"\n\n' "$FTLS" >>"$B/krait.toml"
models=$(grep -o '^\[llm.models.[^]]*' "$B/krait.toml" | sed 's/^\[llm.models.//; s/.*/"&"/' | paste -sd, -)
mkdir -p "$B/cf"
cat >"$B/cf/app.py" <<'EOF'
import json
from workers import Response

async def on_fetch(request, env):
    out = {}
    for m in ("local", "x"):
        r = await env.AI.run(m, {"messages": [{"role": "system", "content": "be brief"},
                                              {"role": "user", "content": "hello there"}],
                                 "max_tokens": 8, "temperature": 0})
        out[m] = r["response"]
    return Response(json.dumps(out))
EOF
cat >>"$B/krait.toml" <<EOF
[[app]]
name = "b"
style = "spin"
dir = "app"
route = "/..."
ai_models = [$models]
[app.limits]
timeout_ms = 2000

[[app]]
name = "cf"
style = "cloudflare"
dir = "cf"
route = "/cf"
ai_models = ["local", "x"]
EOF
BPORT=$(free_port) BADMIN=$(free_port)
FAKE_KEY=sk-fake-$RANDOM
KRAIT_VARIABLE_A_TOKEN=$TOKEN KRAIT_VARIABLE_FAKE_KEY=$FAKE_KEY start "$B" "$BPORT" "$BADMIN" --ca-file "$S/ca.pem" ||
  { echo "$pass passed, $((fail + 1)) failed"; exit 1; }
call() { curl -s "http://127.0.0.1:$BPORT/?$1"; }

local_out=$(call 'op=infer&m=local')
remote_out=$(call 'op=infer&m=x')
check remote-equals-local "$remote_out" "$local_out"
check local-equals-a "$(echo "$local_out" | jget 'j["text"]')" "$LOCAL_A"
chat=$(curl -s "http://127.0.0.1:$BPORT/cf")
check remote-chat-equals-local "$(echo "$chat" | jget 'j["x"] == j["local"] and len(j["x"]) > 0')" True
check remote-usage "$(echo "$remote_out" | jget 'j["usage"][0] > 0 and 0 < j["usage"][1] <= 8')" True
check remote-embeddings-equal "$(call 'op=embed&m=x-emb' | jget 'max(abs(a - b) for a, b in zip(j["emb"][1], '"$E_A"')) < 1e-8')" True
le=$(call 'op=embed&m=local-emb')
re=$(call 'op=embed&m=x-emb')
check remote-embeddings-local "$re" "$le"
contains remote-bad-token "$(call 'op=infer&m=x-badkey')" '"error": "ModelError", "message": "llm.infer: http://127.0.0.1:'"$AADMIN"'/v1/completions: the server answered 401: this API needs'
contains remote-unknown-model "$(call 'op=infer&m=x-unknown')" 'the server answered 404: model \"llama-70b\" not found'
contains remote-down "$(call 'op=infer&m=down')" '"error": "ModelError", "message": "llm.infer: http://127.0.0.1:1/v1/completions: cannot connect to 127.0.0.1 port 1'

# The fake server: errors mapped, the key in the Authorization header only.
check fake-auth "$(call 'op=infer&m=f-auth' | jget 'j["text"]')" "auth=Bearer $FAKE_KEY"
check fake-tls "$(call 'op=infer&m=tls' | jget 'j["text"]')" "auth=Bearer $FAKE_KEY"
check fake-chunked "$(call 'op=infer&m=f-chunked' | jget '"\"prompt\":\"The quick brown\"" in j["text"] and "\"temperature\":0.0" in j["text"]')" True
contains fake-400 "$(call 'op=infer&m=f-e400')" '"error": "InvalidInput", "message": "llm.infer: http://127.0.0.1:'"$FHTTP"'/v1/completions: the server answered 400: fake error 400 for e400"'
contains fake-429 "$(call 'op=infer&m=f-e429')" '"error": "Busy"'
contains fake-503 "$(call 'op=infer&m=f-e503')" '"error": "Busy"'
contains fake-500 "$(call 'op=infer&m=f-e500')" '"error": "ModelError", "message": "llm.infer: http://127.0.0.1:'"$FHTTP"'/v1/completions: the server answered 500: fake error 500'
contains fake-garbage "$(call 'op=infer&m=f-garbage')" '"error": "ModelError", "message": "llm.infer: http://127.0.0.1:'"$FHTTP"'/v1/completions: the reply is not JSON'
contains fake-huge "$(call 'op=infer&m=f-huge')" "the reply's body is 17825792 bytes; krait reads at most 65536"
contains fake-hugechunk "$(call 'op=infer&m=f-hugechunk')" "chunked body"
t0=$(date +%s%N)
out=$(call 'op=infer&m=f-slow')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
case $out in
  *DeadlineExceeded*|*"no complete reply within the deadline"*|*"Gateway Timeout"*|"") ok "fake-slow-deadline (${ms} ms, timeout_ms 2000)" ;;
  *) bad fake-slow-deadline "$out" ;;
esac
if [ "$ms" -lt 4500 ]; then ok "fake-slow-bounded (${ms} ms)"; else bad fake-slow-bounded "$ms ms"; fi
lacks() { case $2 in *"$3"*) bad "$1" "the key is in: $(echo "$2" | grep -m1 "$3")" ;; *) ok "$1" ;; esac; }
lacks key-not-in-b-log "$(cat "$B/server.log")" "$FAKE_KEY"
lacks token-not-in-b-log "$(cat "$B/server.log")" "$TOKEN"
lacks token-not-in-a-log "$(cat "$A/server.log")" "$TOKEN"
kill -0 "$SERVER" 2>/dev/null && ok b-alive || bad b-alive "host B died"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
