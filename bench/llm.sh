#!/bin/sh
# bench/llm.sh -- `make bench-llm`: krait's LLM engine against llama.cpp
# (node-llama-cpp's prebuilt CPU build, tests/llm/llamacpp.mjs) on the same
# GGUF files with the same thread count. Models (bench/llm/models.py, cached
# in build/llm-bench/<hash of the generator>): the ~150M-parameter llama in
# Q8_0 and Q4_K, an all-MiniLM-sized bert in F16.
#  1. prompt tokens/s (BENCH_PROMPT tokens, 128, one batch) and generated
#     tokens/s (BENCH_GEN greedy tokens, 64), `krait llm bench` vs the .mjs's
#     bench op, per type and per thread count (BENCH_THREADS, "1 2");
#  2. embeddings/s on the bert model (BENCH_EMBED_ROUNDS rounds of 8 texts);
#  3. krait serve's memory with the Q8_0 model granted to an app
#     (max_concurrent 8): VmRSS, RssFile, RssAnon of /proc/PID/status idle
#     (workers started), after one request, with 1 and 8 requests in flight.
# krait and llama.cpp take turns BENCH_ROUNDS times (3); the table (also
# build/bench/llm.md) shows medians and krait's ratio. Env: KRAIT.
# Does not own the engine (src/llm), the harness (tests/llm) or the timing
# loops (src/cli/llmbench.c).
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
. tests/llm/env.sh || exit 2
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-"1 2"}
NPROMPT=${BENCH_PROMPT:-128}
NGEN=${BENCH_GEN:-64}
EROUNDS=${BENCH_EMBED_ROUNDS:-5}
D=$ROOT/build/bench/llm
OUT=$ROOT/build/bench/llm.md
bench_need bench-llm "$KRAIT" "$KL_PY" node curl
rm -rf "$D"
mkdir -p "$D"

# The models, written once per version of the generator.
MD=$ROOT/build/llm-bench/$(cat tests/llm/make_models.py tests/llm/gguf_writer.py bench/llm/models.py | sha256sum | cut -c1-12)
if [ ! -f "$MD/done" ]; then
  echo "bench-llm: writing the models into $MD"
  rm -rf "$MD.tmp"
  "$KL_PY" bench/llm/models.py "$MD.tmp" >/dev/null || { echo "bench-llm: models.py failed" >&2; exit 1; }
  touch "$MD.tmp/done" && mv "$MD.tmp" "$MD" || exit 1
fi

# The prompt: BOS, then NPROMPT - 1 fixed ids spread over the vocabulary.
TOK=$("$KL_PY" -c "print(','.join(['1'] + [str(300 + (i * 7919) % 31000) for i in range($NPROMPT - 1)]))")
TEXTS='the quick brown fox jumps over the lazy dog
hello world
once upon a time there was a little robot who wanted to learn how to write code
where is the function? what does it return? why is the test failing?
the server answered every request in time, and the handler returned text
a model reads tokens and predicts the next one; then it reads that one too
numbers like 1, 2, 3, 10, 42, 100 and 2024 appear in the text as well
spin runs webassembly handlers; krait runs python handlers on the server'

# js_texts: TEXTS as a JSON array.
js_texts() { printf '%s\n' "$TEXTS" | "$KL_PY" -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))'; }

# field FILE KEY: KEY's number in FILE's JSON (krait's object, or the
# .mjs's last result).
field() {
  "$KL_PY" -c 'import json,sys
d = json.load(open(sys.argv[1])); d = d["results"][-1] if "results" in d else d
if "error" in d: sys.exit("bench-llm: " + d["error"])
print(d[sys.argv[2]])' "$1" "$2"
}

# llamacpp MODEL THREADS CTX OPS: the .mjs on one request (stdout: its reply).
llamacpp() {
  printf '{"model":"%s","ctx":%s,"threads":%s,"kv":"F16","ops":%s}' "$1" "$3" "$2" "$4" | node tests/llm/llamacpp.mjs
}

# gen_round TYPE THREADS: one round of each side on llama-150m-TYPE;
# appends "prompt_tps gen_tps" to $D/{krait,llama}.TYPE.THREADS. Each side
# first warms up (the weights paged in; llama.cpp's repacking done).
gen_round() {
  _m=$MD/llama-150m-$1.gguf
  "$KRAIT" llm bench "$_m" --tokens 1,300,301,302 --max-tokens 1 --threads "$2" >/dev/null || exit 1
  "$KRAIT" llm bench "$_m" --tokens "$TOK" --max-tokens "$NGEN" --threads "$2" >"$D/k.json" || exit 1
  echo "$(field "$D/k.json" prompt_tps) $(field "$D/k.json" gen_tps)" >>"$D/krait.$1.$2"
  llamacpp "$_m" "$2" $((NPROMPT + NGEN + 8)) \
    "[{\"op\":\"bench\",\"tokens\":[1,300,301,302],\"n\":1},{\"op\":\"bench\",\"tokens\":[$TOK],\"n\":$NGEN}]" >"$D/l.json" || exit 1
  echo "$(field "$D/l.json" prompt_tps) $(field "$D/l.json" gen_tps)" >>"$D/llama.$1.$2"
}

# embed_round THREADS: one round of each side on the bert model; appends
# embeddings/s to $D/{krait,llama}.embed.THREADS.
embed_round() {
  _m=$MD/bert-minilm-f16.gguf
  printf '%s\n' "$TEXTS" | tr '\n' '\0' | xargs -0 "$KRAIT" llm bench "$_m" --rounds "$EROUNDS" --threads "$1" >"$D/k.json" || exit 1
  field "$D/k.json" embed_per_s >>"$D/krait.embed.$1"
  llamacpp "$_m" "$1" 512 "[{\"op\":\"embed_bench\",\"texts\":$(js_texts),\"rounds\":1},{\"op\":\"embed_bench\",\"texts\":$(js_texts),\"rounds\":$EROUNDS}]" >"$D/l.json" || exit 1
  field "$D/l.json" embed_per_s >>"$D/llama.embed.$1"
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# fmt X: X to one decimal.
fmt() { awk -v a="$1" 'BEGIN { printf "%.1f", a }'; }

for r in $(seq "$ROUNDS"); do
  for ty in q8_0 q4_k; do
    for t in $THREADS; do
      echo "bench-llm: round $r, $ty, $t thread(s)"
      gen_round "$ty" "$t"
    done
  done
  for t in $THREADS; do embed_round "$t"; done
done

{
  echo "krait vs llama.cpp (node-llama-cpp $(node -p 'require("./tests/llm/node_modules/node-llama-cpp/package.json").version'), CPU), medians of $ROUNDS rounds taken in turns"
  echo "llama 150M ($(du -m "$MD/llama-150m-q8_0.gguf" | cut -f1) MB Q8_0, $(du -m "$MD/llama-150m-q4_k.gguf" | cut -f1) MB Q4_K): a $((NPROMPT - 1))-token prompt in one batch, then $NGEN greedy tokens"
  echo
  echo "| model | threads | krait prompt tok/s | llama.cpp prompt tok/s | ratio | krait gen tok/s | llama.cpp gen tok/s | ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  for ty in q8_0 q4_k; do
    for t in $THREADS; do
      kp=$(median "$D/krait.$ty.$t" 1) kg=$(median "$D/krait.$ty.$t" 2)
      lp=$(median "$D/llama.$ty.$t" 1) lg=$(median "$D/llama.$ty.$t" 2)
      echo "| $ty | $t | $(fmt "$kp") | $(fmt "$lp") | $(ratio "$kp" "$lp") | $(fmt "$kg") | $(fmt "$lg") | $(ratio "$kg" "$lg") |"
    done
  done
  echo
  echo "| bert 6x384 F16 | threads | krait embeddings/s | llama.cpp embeddings/s | ratio |"
  echo "|---|---|---|---|---|"
  for t in $THREADS; do
    ke=$(median "$D/krait.embed.$t") le=$(median "$D/llama.embed.$t")
    echo "| $(printf '%s\n' "$TEXTS" | wc -l) texts x $EROUNDS | $t | $(fmt "$ke") | $(fmt "$le") | $(ratio "$ke" "$le") |"
  done
} >"$OUT.part"
cat "$OUT.part"

sh bench/llm/rss.sh "$MD/llama-150m-q8_0.gguf" "$D/rss" >"$OUT.rss" || exit 1
cat "$OUT.rss"
cat "$OUT.part" "$OUT.rss" >"$OUT"
rm -f "$OUT.part" "$OUT.rss"
