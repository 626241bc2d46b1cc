#!/bin/bash
# tests/serve/llm.sh -- LLM inference under krait serve, on models written
# by tests/llm/make_models.py: the issue's Spin example unmodified (with
# "llama2-chat" mapped to a llama model), greedy text and usage equal to
# `krait llm generate`, a Cloudflare on_fetch calling env.AI.run with
# prompt, messages and text, generate_embeddings equal to `krait llm
# embed`, distinct errors (not granted, not configured, invalid input, an
# absurd max_tokens, an oversized prompt, a generator asked for
# embeddings), manifest errors at their line, a damaged model file failing
# the boot naming it, a burst past max_concurrent + max_queued answered 503
# (spin and WSGI) with the server serving after, timeout_ms cutting a long
# generation or prompt (504), SIGHUP reload (a damaged model file refused,
# a replaced one reopened), krait build's artifact carrying
# ai_models, and krait python --llm-model. Ends with "N passed, N failed".
# Needs build/krait and `make python`. Does not own the engine (src/llm) or
# the binding (src/app/llm.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/serve/lib.sh"
PY=/usr/bin/python3

D=$T/site
mkdir -p "$D/ex" "$D/greedy" "$D/cf" "$D/err" "$D/busy" "$D/wbusy" "$D/slow" "$D/models"
$PY "$ROOT/tests/serve/llm_models.py" "$D/models" || { echo "FAIL cannot write the models"; exit 1; }
PROMPT="write code to implement an Array in Java, C++, JavaScript and Rust"

# The issue's example, byte for byte.
cat >"$D/ex/app.py" <<'EOF'
from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk import llm

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        res = llm.infer_with_options(
            "llama2-chat",
            "write code to implement an Array in Java, C++, JavaScript and Rust",
            llm.InferencingParams(temperature=0.5, max_tokens=1024))
        return Response(200, {"content-type": "text/plain"}, bytes(res.text, "utf-8"))
EOF
cat >"$D/greedy/app.py" <<'EOF'
import json
from spin_sdk import http, llm
from spin_sdk.http import Response

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        if request.uri.startswith("/greedy/embed"):
            r = llm.generate_embeddings("minilm", ["hello world", "the cat"])
            out = {"embeddings": r.embeddings, "prompt_tokens": r.usage.prompt_token_count}
        else:
            r = llm.infer_with_options(
                "llama2-chat",
                "write code to implement an Array in Java, C++, JavaScript and Rust",
                llm.InferencingParams(temperature=0, max_tokens=1024))
            out = {"text": r.text, "prompt": r.usage.prompt_token_count,
                   "generated": r.usage.generated_token_count}
        return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
EOF
cat >"$D/cf/app.py" <<'EOF'
import json
from workers import Response

async def on_fetch(request, env):
    p = await env.AI.run("llama2-chat", {"prompt": "hello there", "temperature": 0, "max_tokens": 12, "raw": True})
    pc = await env.AI.run("llama2-chat", {"prompt": "hello there", "temperature": 0, "max_tokens": 12})
    mc = await env.AI.run("llama2-chat", {"messages": [{"role": "user", "content": "hello there"}],
                                          "temperature": 0, "max_tokens": 12})
    m = await env.AI.run("llama2-chat", {"messages": [{"role": "system", "content": "be brief"},
                                                      {"role": "user", "content": "hello"}],
                                         "max_tokens": 8, "seed": 7})
    turns = await env.AI.run("llama2-chat", {"messages": [{"role": "user", "content": "hi"},
                                                          {"role": "assistant", "content": "yo"},
                                                          {"role": "user", "content": "hello"}],
                                             "max_tokens": 1})
    e = await env.AI.run("@cf/baai/bge-small-en-v1.5", {"text": ["hello world", "the cat"]})
    one = await env.AI.run("@cf/baai/bge-small-en-v1.5", {"text": "hello world"})
    try:
        await env.AI.run("llama2-chat", {"prompt": "x", "max_tokens": 10 ** 7})
        bad = "no error"
    except Exception as exc:
        bad = type(exc).__name__ + ": " + str(exc)
    return Response(json.dumps({"prompt": p["response"], "usage": p["usage"], "messages": m["response"],
                                "shape": e["shape"], "first": e["data"][0][:3], "one": one["shape"],
                                "bad": bad, "turns": turns["usage"]["prompt_tokens"],
                                "templated": [pc["response"], pc["usage"]["prompt_tokens"]]
                                == [mc["response"], mc["usage"]["prompt_tokens"]],
                                "raw_differs": pc["usage"]["prompt_tokens"] != p["usage"]["prompt_tokens"]}))
EOF
cat >"$D/err/app.py" <<'EOF'
import krait_llm
from spin_sdk import http, llm
from spin_sdk.http import Response
from spin_sdk.wit.types import Err

def attempt(f):
    try:
        f()
        return "no error"
    except krait_llm.LlmError as e:
        if not isinstance(e, Err):
            return f"{type(e).__name__}: {e}"
        kinds = [c.__name__ for c in type(e).__mro__ if c.__module__ == "krait_llm"][:1]
        return f"{type(e.value).__name__} {kinds[0] if kinds else '?'}: {e}"

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        case = request.uri.split("/")[-1]
        opts = llm.InferencingParams
        out = {
            "notgranted": lambda: llm.infer("minilm", "hi"),
            "notfound": lambda: llm.infer("no-such-model", "hi"),
            "empty": lambda: llm.infer("llama2-chat", ""),
            "absurd": lambda: llm.infer_with_options("llama2-chat", "hi", opts(max_tokens=10 ** 8)),
            "pastctx": lambda: llm.infer_with_options("llama2-chat", "hi", opts(max_tokens=5000)),
            "huge": lambda: llm.infer("llama2-chat", "a " * (1 << 20)),
            "longprompt": lambda: llm.infer("llama2-chat", "hello " * 3000),
            "badtemp": lambda: llm.infer_with_options("llama2-chat", "hi", opts(temperature=-1)),
            "embedgen": lambda: llm.generate_embeddings("llama2-chat", ["hi"]),
            "genembed": lambda: llm.infer("@cf/baai/bge-small-en-v1.5", "hi"),
            "chattotal": lambda: krait_llm.chat("llama2-chat", [{"role": "user", "content": "a" * 600000}] * 2,
                                                krait_llm.params()),
            "remote": lambda: llm.infer("far", "hi"),
        }[case]
        return Response(200, {"content-type": "text/plain"}, attempt(out).encode())
EOF
cat >"$D/busy/app.py" <<'EOF'
from spin_sdk import http, llm
from spin_sdk.http import Response

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        r = llm.infer_with_options("slow", "hello", llm.InferencingParams(temperature=0, max_tokens=40))
        return Response(200, {"content-type": "text/plain"}, str(r.usage.generated_token_count).encode())
EOF
cat >"$D/wbusy/app.py" <<'EOF'
from spin_sdk import llm

def app(environ, start_response):
    r = llm.infer_with_options("slow", "hello", llm.InferencingParams(temperature=0, max_tokens=40))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(r.usage.generated_token_count).encode()]
EOF
cat >"$D/slow/app.py" <<'EOF'
from spin_sdk import http, llm
from spin_sdk.http import Response

class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        r = llm.infer_with_options("slow", "hello " * 500, llm.InferencingParams(temperature=0, max_tokens=1000))
        return Response(200, {}, r.text.encode())
EOF
MANIFEST='[variables]
far_key = { required = true, secret = true }

[llm]
threads = 2
max_concurrent = 1
max_queued = 2

[llm.models.llama2-chat]
path = "models/chat.gguf"

[llm.models.minilm]
path = "models/embed.gguf"

[llm.models."@cf/baai/bge-small-en-v1.5"]
path = "models/embed.gguf"

[llm.models.slow]
path = "models/slow.gguf"

[llm.models.far]
url = "http://127.0.0.1:9/v1"
model = "tiny"
api_key_variable = "far_key"

[[app]]
name = "ex"
style = "spin"
dir = "ex"
route = "/ex"
ai_models = ["llama2-chat"]

[[app]]
name = "greedy"
style = "spin"
dir = "greedy"
route = "/greedy/..."
ai_models = ["llama2-chat", "minilm"]

[[app]]
name = "cf"
style = "cloudflare"
dir = "cf"
route = "/cf"
ai_models = ["llama2-chat", "@cf/baai/bge-small-en-v1.5"]

[[app]]
name = "err"
style = "spin"
dir = "err"
route = "/err/..."
ai_models = ["llama2-chat", "far", "@cf/baai/bge-small-en-v1.5"]

[[app]]
name = "busy"
style = "spin"
dir = "busy"
route = "/busy"
ai_models = ["slow"]

[[app]]
name = "wbusy"
style = "wsgi"
wsgi = "app:app"
dir = "wbusy"
route = "/wbusy"
ai_models = ["slow"]

[[app]]
name = "slow"
style = "spin"
dir = "slow"
route = "/slow"
ai_models = ["slow"]
[app.limits]
timeout_ms = 1500'
printf '%s\n' "$MANIFEST" >"$D/krait.toml"
export KRAIT_VARIABLE_FAR_KEY=sk-test-key
P=$(free_port) AP=$(free_port)
start "$D" "$P" "$AP" --workers 16 || exit 1
U=http://127.0.0.1:$P

# The issue's example: 200, text; the greedy twin equals the CLI's text and usage.
code=$(curl -s -o "$T/ex.out" -w '%{http_code}' "$U/ex")
check "the issue's example answers 200" "$code" 200
[ -s "$T/ex.out" ] && ok "the issue's example returns text ($(wc -c <"$T/ex.out") bytes)" || bad "example text" "empty"
curl -s "$U/greedy/gen" >"$T/greedy.json"
"$K" llm generate "$D/models/chat.gguf" "$PROMPT" --temperature 0 --max-tokens 1024 --json >"$T/cli.json"
same=$($PY - "$T/greedy.json" "$T/cli.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print(a["text"] == b["text"], a["prompt"] == b["usage"]["prompt_tokens"],
      a["generated"] == b["usage"]["generated_tokens"], a["generated"] > 0)
EOF
)
check "greedy text and usage equal krait llm generate's" "$same" "True True True True"

# Embeddings equal the CLI's.
curl -s "$U/greedy/embed" >"$T/emb.json"
"$K" llm embed "$D/models/embed.gguf" "hello world" "the cat" >"$T/cliemb.json"
same=$($PY - "$T/emb.json" "$T/cliemb.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
ea, eb = a["embeddings"], b["embeddings"]
print(len(ea) == 2, len(ea[0]) == len(eb[0]) > 0,
      max(abs(x - y) for ra, rb in zip(ea, eb) for x, y in zip(ra, rb)) < 1e-6, a["prompt_tokens"] > 0)
EOF
)
check "generate_embeddings equals krait llm embed's" "$same" "True True True True"

# Cloudflare: env.AI.run with prompt, messages and text.
curl -s "$U/cf" >"$T/cf.json"
"$K" llm generate "$D/models/chat.gguf" "hello there" --temperature 0 --max-tokens 12 --json >"$T/cfcli.json"
got=$($PY - "$T/cf.json" "$T/cfcli.json" <<'EOF'
import json, sys
try:
    a = json.load(open(sys.argv[1]))
except ValueError:
    print("not JSON:", open(sys.argv[1]).read()[:300]); sys.exit()
b = json.load(open(sys.argv[2]))
print(a["prompt"] == b["text"], a["usage"]["completion_tokens"] == b["usage"]["generated_tokens"],
      isinstance(a["messages"], str), a["shape"][0] == 2 and a["shape"][1] > 0, a["one"][0] == 1,
      a["bad"].startswith("InvalidInput: llm.chat: max_tokens = 10000000 is absurd"))
EOF
)
check "env.AI.run: prompt (as the CLI), messages, text, errors" "$got" "True True True True True True"
# A chat on a local model is tokenized as llama.cpp does: the template's
# "</s><s>" between turns are its control tokens (parse_special), not text.
want=$("$K" llm tokenize "$D/models/chat.gguf" --parse-special "[INST] hi [/INST]yo</s><s>[INST] hello [/INST]" |
  $PY -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))')
got=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1])).get("turns"))' "$T/cf.json")
check "a chat's template tokens are control tokens (prompt tokens as --parse-special)" "$got" "$want"
got=$($PY -c 'import json,sys; a = json.load(open(sys.argv[1])); print(a.get("templated"), a.get("raw_differs"))' "$T/cf.json")
check "env.AI.run: a prompt is the user's turn under the chat template unless raw" "$got" "True True"

# Errors: distinct exceptions with clear messages.
err() { curl -s "$U/err/$1"; }
case "$(err notgranted)" in
  "Error_ModelNotSupported ModelNotGranted: llm.infer: model \"minilm\" is not granted to this app: add it to the app's ai_models"*) ok "a model not granted: ModelNotGranted naming ai_models" ;;
  *) bad "not granted" "$(err notgranted)" ;;
esac
case "$(err notfound)" in
  "Error_ModelNotSupported ModelNotFound: llm.infer: no model \"no-such-model\": it is not configured"*) ok "a model not configured: ModelNotFound" ;;
  *) bad "not found" "$(err notfound)" ;;
esac
check "an empty prompt: InvalidInput" "$(err empty)" "Error_InvalidInput InvalidInput: llm.infer: the prompt is empty"
case "$(err absurd)" in
  "Error_InvalidInput InvalidInput: llm.infer: max_tokens = 100000000 is absurd"*) ok "an absurd max_tokens: InvalidInput" ;;
  *) bad "absurd max_tokens" "$(err absurd)" ;;
esac
case "$(err pastctx)" in
  "Error_InvalidInput InvalidInput: llm.infer: max_tokens 5000 is more than the model's context of 2048"*) ok "max_tokens past the context: InvalidInput" ;;
  *) bad "max_tokens past the context" "$(err pastctx)" ;;
esac
case "$(err huge)" in
  "Error_InvalidInput InvalidInput: llm.infer: the prompt is 2097152 bytes; at most 1048576"*) ok "an oversized prompt: InvalidInput" ;;
  *) bad "oversized prompt" "$(err huge)" ;;
esac
case "$(err longprompt)" in
  "Error_InvalidInput InvalidInput: llm.infer: "*context*) ok "a prompt past the context: InvalidInput ($(err longprompt | cut -c40-120))" ;;
  *) bad "a prompt past the context" "$(err longprompt)" ;;
esac
check "a negative temperature: InvalidInput" "$(err badtemp)" "Error_InvalidInput InvalidInput: llm.infer: temperature = -1 is not in 0..100 (0: greedy)"
case "$(err embedgen)" in
  "Error_RuntimeError ModelError: llm.embed: this model does not make embeddings"*) ok "embeddings from a generator: ModelError" ;;
  *) bad "embeddings from a generator" "$(err embedgen)" ;;
esac
check "a chat's messages over 1 MiB together: InvalidInput" "$(err chattotal)" \
  "InvalidInput: llm.chat: the messages are 1200000 bytes together; at most 1048576"
case "$(err genembed)" in
  "Error_RuntimeError ModelError: llm.infer: this model does not generate text"*) ok "text from an embedding model: ModelError" ;;
  *) bad "text from an embedding model" "$(err genembed)" ;;
esac
case "$(err remote)" in
  "Error_RuntimeError ModelError: llm.infer: "*) ok "a remote model that cannot answer: ModelError ($(err remote | cut -c40-130))" ;;
  *) bad "remote" "$(err remote)" ;;
esac
grep -q sk-test-key "$D/server.log" && bad "the API key" "is in the server log" || ok "the remote model's API key is not logged"

# A burst past max_concurrent (1) + max_queued (2): 503s, then service.
CURLS=""
for i in $(seq 10); do
  path=/busy; [ $((i % 2)) = 0 ] && path=/wbusy
  curl -s -o /dev/null -w '%{http_code} ' -D "$T/h$i" "$U$path" >"$T/b$i" &
  CURLS="$CURLS $!"
done
wait $CURLS
codes=$(cat "$T"/b* | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' ')
n503=$(cat "$T"/b* | tr ' ' '\n' | grep -c 503)
n200=$(cat "$T"/b* | tr ' ' '\n' | grep -c 200)
[ "$n503" -ge 5 ] && [ "$n200" -ge 1 ] && [ $((n503 + n200)) = 10 ] && ok "a burst of 10: 503s past the queue ($codes)" || bad "burst" "$codes"
grep -qi "retry-after: 1" "$T"/h* && ok "a 503 says retry-after" || bad "retry-after" "none"
grep -q "the model is busy" "$D/server.log" && ok "the 503's cause is logged" || bad "busy log" "missing"
n503w=0; for i in 2 4 6 8 10; do grep -q 503 "$T/b$i" && n503w=$((n503w + 1)); done
[ "$n503w" -ge 1 ] && ok "WSGI apps answer 503 too ($n503w)" || bad "wsgi 503" "none of the WSGI requests got 503"
check "after the burst the server serves" "$(curl -s -o /dev/null -w '%{http_code}' "$U/busy")" 200

# timeout_ms cuts a long generation.
t0=$(date +%s%N)
code=$(curl -s -o "$T/slow.out" -w '%{http_code}' "$U/slow")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a generation past timeout_ms: 504" "$code" 504
[ "$code" = 504 ] || head -c 300 "$T/slow.out"
[ "$ms" -lt 4000 ] && ok "it stopped near the deadline (${ms} ms for 1500)" || bad "deadline" "took ${ms} ms"
check "the server serves after it" "$(curl -s -o /dev/null -w '%{http_code}' "$U/greedy/gen")" 200

# SIGHUP: the apps boot again, the models stay shared.
kill -HUP "$SERVER"
for _ in $(seq 100); do grep -q "reloaded in" "$D/server.log" && break; sleep 0.1; done
grep -q "reloaded in" "$D/server.log" && ok "SIGHUP reloads the LLM apps" || bad "reload" "$(tail -3 "$D/server.log")"
curl -s "$U/greedy/gen" >"$T/greedy2.json"
cmp -s "$T/greedy.json" "$T/greedy2.json" && ok "the same text after the reload" || bad "after reload" "$(head -c 200 "$T/greedy2.json")"
# A model file written in place (same inode; here the same bytes, a new
# mtime): the reload refuses it naming the file, as the running version maps
# that inode; the running version serves on. Renamed over: the reload takes it.
cp "$D/models/chat.gguf" "$T/chat.orig"
sleep 0.02
cat "$T/chat.orig" >"$D/models/chat.gguf"
n=$(grep -c "the reload failed" "$D/server.log")
kill -HUP "$SERVER"
for _ in $(seq 100); do [ "$(grep -c "the reload failed" "$D/server.log")" -gt "$n" ] && break; sleep 0.1; done
grep -q "models/chat.gguf was changed in place while krait serves it; replace model files by renaming" "$D/server.log" \
  && ok "a model written in place: the reload fails naming the file" || bad "in-place reload" "$(tail -3 "$D/server.log")"
curl -s "$U/greedy/gen" >"$T/greedy4.json"
cmp -s "$T/greedy.json" "$T/greedy4.json" && ok "the running version serves on" || bad "in-place old version" "$(head -c 200 "$T/greedy4.json")"
cp "$T/chat.orig" "$D/models/chat.new" && mv "$D/models/chat.new" "$D/models/chat.gguf"
n=$(grep -c "reloaded in" "$D/server.log")
kill -HUP "$SERVER"
for _ in $(seq 150); do [ "$(grep -c "reloaded in" "$D/server.log")" -gt "$n" ] && break; sleep 0.1; done
[ "$(grep -c "reloaded in" "$D/server.log")" -gt "$n" ] && ok "a model renamed over: the reload succeeds" || bad "rename reload" "$(tail -3 "$D/server.log")"
curl -s "$U/greedy/gen" >"$T/greedy5.json"
cmp -s "$T/greedy.json" "$T/greedy5.json" && ok "the renamed file serves" || bad "renamed serves" "$(head -c 200 "$T/greedy5.json")"
# A model file damaged before a reload: the reload fails naming it, the
# running version (its mapping of the old file) keeps serving; a new file
# at the path is opened by the next reload (a failed open is not cached).
mv "$D/models/chat.gguf" "$D/models/chat.old"
head -c 5000 "$D/models/chat.old" >"$D/models/chat.gguf"
n=$(grep -c "the reload failed" "$D/server.log")
l=$(wc -l <"$D/server.log")
kill -HUP "$SERVER"
for _ in $(seq 100); do [ "$(grep -c "the reload failed" "$D/server.log")" -gt "$n" ] && break; sleep 0.1; done
tail -n +"$((l + 1))" "$D/server.log" | grep -v "changed in place" | grep -q "models/chat.gguf" && \
  [ "$(grep -c "the reload failed" "$D/server.log")" -gt "$n" ] \
  && ok "a damaged model at reload: the reload fails naming the file" || bad "damaged reload" "$(tail -3 "$D/server.log")"
curl -s "$U/greedy/gen" >"$T/greedy3.json"
cmp -s "$T/greedy.json" "$T/greedy3.json" && ok "the old version serves on" || bad "old version" "$(head -c 200 "$T/greedy3.json")"
cp "$D/models/slow.gguf" "$D/models/chat.gguf"
n=$(grep -c "reloaded in" "$D/server.log")
kill -HUP "$SERVER"
for _ in $(seq 150); do [ "$(grep -c "reloaded in" "$D/server.log")" -gt "$n" ] && break; sleep 0.1; done
"$K" llm generate "$D/models/slow.gguf" "$PROMPT" --temperature 0 --max-tokens 1024 --json >"$T/cli2.json"
same=$(curl -s "$U/greedy/gen" | $PY -c 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); print(a["text"] == b["text"])' "$T/cli2.json")
check "a new file at the model's path is opened by the next reload" "$same" "True"
kill "$SERVER"; wait "$SERVER" 2>/dev/null
mv "$D/models/chat.old" "$D/models/chat.gguf"

# Manifest errors, at their line.
M=$T/bad
mkdir -p "$M/a" && cp "$D/ex/app.py" "$M/a/"
cp -r "$D/models" "$M/"
boot_err() {  # boot_err NAME WANT: krait serve fails with WANT in its output
  printf '%s\n' "$2" >"$M/krait.toml"
  out=$(cd "$M" && timeout 20 "$K" serve --listen 127.0.0.1:0 2>&1)
  case "$out" in *"$3"*) ok "$1" ;; *) bad "$1" "$out" ;; esac
}
APP='[app]
style = "spin"
dir = "a"'
boot_err "ai_models naming no [llm.models] is an error at its line" "$APP
ai_models = [\"llama2-chat\"]" "krait.toml:4: app \"app1\" is granted model \"llama2-chat\" (ai_models), which no [llm.models.\"llama2-chat\"] table declares"
boot_err "path and url together are refused" "[llm.models.x]
path = \"models/chat.gguf\"
url = \"http://127.0.0.1:1/v1\"
model = \"m\"
$APP" "krait.toml:1: [llm.models.x] needs either path or url, not both"
boot_err "an unknown key in [llm.models] is refused" "[llm.models.x]
path = \"models/chat.gguf\"
gpu = true
$APP" "krait.toml:3: unknown key \"gpu\" in [llm.models]"
boot_err "an undeclared api_key_variable is refused" "[llm.models.x]
url = \"http://127.0.0.1:1/v1\"
model = \"m\"
api_key_variable = \"nope\"
$APP" "krait.toml:4: [llm.models.x] api_key_variable \"nope\" is not declared in [variables]"
boot_err "max_concurrent = 0 is refused" "[llm]
max_concurrent = 0
$APP" "krait.toml:2: max_concurrent = 0 is out of range: 1..256"
head -c 3000 "$D/models/chat.gguf" >"$M/models/cut.gguf"
boot_err "a damaged model file fails the boot naming it" "[llm.models.llama2-chat]
path = \"models/cut.gguf\"
$APP
ai_models = [\"llama2-chat\"]" "Error: app app1: model \"llama2-chat\" ([llm.models] in $M/krait.toml): $M/models/cut.gguf"
boot_err "a missing model file fails the boot naming it" "[llm.models.llama2-chat]
path = \"models/none.gguf\"
$APP
ai_models = [\"llama2-chat\"]" "$M/models/none.gguf: cannot open the model: No such file or directory"

# krait build: the artifacts carry ai_models and the model tables; two
# served together share the model both declare.
B=$T/build
mkdir -p "$B/ex" "$B/emb" && cp "$D/ex/app.py" "$B/ex/" && cp -r "$D/models" "$B/"
cat >"$B/emb/app.py" <<'EOF2'
from spin_sdk import http, llm
from spin_sdk.http import Response
class IncomingHandler(http.IncomingHandler):
    def handle_request(self, request):
        r = llm.generate_embeddings("minilm", ["hello world"])
        t = llm.infer_with_options("llama2-chat", "hello there", llm.InferencingParams(temperature=0, max_tokens=12))
        return Response(200, {}, f"{len(r.embeddings[0])} {t.text}".encode())
EOF2
cat >"$B/krait.toml" <<'EOF2'
[llm]
max_concurrent = 3

[llm.models.llama2-chat]
path = "models/chat.gguf"

[llm.models.minilm]
path = "models/embed.gguf"

[[app]]
name = "ex"
style = "spin"
dir = "ex"
route = "/ex"
ai_models = ["llama2-chat"]

[[app]]
name = "emb"
style = "spin"
dir = "emb"
route = "/emb"
ai_models = ["minilm", "llama2-chat"]
EOF2
(cd "$B" && "$K" build >"$B/build.log" 2>&1) && ok "krait build of LLM apps" || bad "build" "$(tail -3 "$B/build.log")"
grep -q 'ai_models = \["llama2-chat"\]' "$B/.krait/ex.krait" && grep -q 'max_concurrent = 3' "$B/.krait/ex.krait" \
  && ok "the artifact's manifest has ai_models and [llm]" || bad "artifact manifest" "no ai_models or [llm]"
P=$(free_port) AP=$(free_port)
if start "$B" "$P" "$AP" .krait/ex.krait .krait/emb.krait; then
  check "the artifacts serve the example" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/ex")" 200
  want="128 $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$T/cfcli.json")"
  check "two artifacts share the model both declare" "$(curl -s "http://127.0.0.1:$P/emb")" "$want"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null
else
  bad "artifact" "did not start"
fi

# krait python --llm-model: scripts call spin_sdk.llm too.
out=$(cd "$D" && "$K" python --llm-model llama2-chat=models/chat.gguf -c "
from spin_sdk import llm
r = llm.infer_with_options('llama2-chat', 'hello there', llm.InferencingParams(temperature=0, max_tokens=12))
print(r.text)" 2>&1)
check "krait python --llm-model: greedy text as the CLI's" "$out" "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$T/cfcli.json")"
out=$(cd "$D" && "$K" python --llm-model llama2-chat=models/none.gguf -c "print(1)" 2>&1)
case "$out" in *"--llm-model llama2-chat: "*"none.gguf: cannot open the model"*) ok "krait python: a missing model file is named" ;; *) bad "python missing model" "$out" ;; esac
out=$(cd "$D" && "$K" python -c "
from spin_sdk import llm" 2>&1)
case "$out" in *ModuleNotFoundError*) ok "krait python without --llm-model has no SDK on its path" ;; *) bad "python without llm" "$out" ;; esac

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
