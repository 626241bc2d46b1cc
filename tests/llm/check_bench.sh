#!/bin/sh
# tests/llm/check_bench.sh -- the `llm-bench` tier: `krait llm bench`, what
# make bench-llm times, on the generated test models: its greedy tokens are
# `krait llm generate`'s (temperature 0, no repeat penalty) for the same
# prompt, its counts are the ones asked for, an encoder's embeddings are
# counted per round, and bad input (a token outside the vocabulary, more
# tokens than the context, a missing --tokens or TEXT, --rounds 0) gets a
# clear error. Ends with "N passed, N failed". Does not own the timing
# (src/cli/llmbench.c) or the engine.
#   sh tests/llm/check_bench.sh [path/to/krait]    (default build/krait)
set -u
cd "$(dirname "$0")/../.." || exit 2
K=${1:-build/krait}
. tests/llm/env.sh || { echo "0 passed, 1 failed"; exit 1; }
PASS=0 FAIL=0
ok() { echo "ok $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $1: $2"; FAIL=$((FAIL + 1)); }
# expect NAME WANT-STATUS WANT-TEXT CMD...: CMD exits WANT-STATUS with
# WANT-TEXT in its output.
expect() {
  _n=$1 _s=$2 _t=$3; shift 3
  _o=$("$@" 2>&1); _rc=$?
  if [ "$_rc" = "$_s" ] && case $_o in *"$_t"*) true ;; *) false ;; esac
  then ok "$_n"; else bad "$_n" "exit $_rc: $_o"; fi
}
L=$KL_MODELS/llama-q8_0.gguf B=$KL_MODELS/bert-f32.gguf
T=$(mktemp -d) && trap 'rm -rf "$T"' EXIT

for text in "Once upon a time" "The server answered every request"; do
  tok=$("$K" llm tokenize "$L" "$text" | "$KL_PY" -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["tokens"])))')
  "$K" llm generate "$L" "$text" --temperature 0 --repeat-penalty 1 --max-tokens 12 --json --threads 2 >"$T/gen.json"
  "$K" llm bench "$L" --tokens "$tok" --max-tokens 12 --threads 2 >"$T/bench.json"
  r=$("$KL_PY" - "$T/gen.json" "$T/bench.json" "$tok" <<'PYEOF'
import json, sys
g, b = (json.load(open(p)) for p in sys.argv[1:3])
n = len(sys.argv[3].split(","))
print(b["tokens"][:len(g["tokens"])] == g["tokens"] and len(g["tokens"]) > 0,
      b["prompt_tokens"] == n - 1, b["gen_tokens"] == 12 == len(b["tokens"]),
      b["prompt_tps"] > 0 and b["gen_tps"] > 0, b["threads"] == 2)
PYEOF
)
  [ "$r" = "True True True True True" ] && ok "bench '$text': generate's greedy tokens, counts, speeds" || bad "bench '$text'" "$r"
done

"$K" llm bench "$B" "hello world" "the cat" "the quick brown fox" --rounds 3 --threads 1 >"$T/emb.json"
r=$("$KL_PY" -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["embeddings"] == 9, d["tokens"] > 9, d["embed_per_s"] > 0)' "$T/emb.json")
[ "$r" = "True True True" ] && ok "bench on an encoder: 3 texts x 3 rounds" || bad "encoder bench" "$r"

expect "a token outside the vocabulary" 1 "bench: --tokens: token 99999 (at 1) is outside the vocabulary of 677" "$K" llm bench "$L" --tokens 1,99999 --max-tokens 2
expect "more tokens than the context" 1 "2 prompt + 1000000 generated tokens: the model's context is" "$K" llm bench "$L" --tokens 1,2 --max-tokens 1000000
expect "a decoder without --tokens" 2 "bench: a decoder needs MODEL --tokens L" "$K" llm bench "$L"
expect "an encoder without TEXT" 2 "bench: an encoder needs MODEL TEXT..." "$K" llm bench "$B"
expect "--rounds 0" 2 "invalid value '0' for --rounds" "$K" llm bench "$B" hi --rounds 0
expect "an empty --tokens" 1 "bench: no tokens" "$K" llm bench "$L" --tokens ""
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
