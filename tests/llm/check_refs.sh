#!/bin/sh
# tests/llm/check_refs.sh -- the `llm-ref` tier: the references krait's LLM
# engine is checked against agree with each other (no krait code): the GGUF
# writer's blocks against ggml's own (check_quants.py), then the numpy
# reference against llama.cpp on every generated model (check_refs.py).
# Ends with "N passed, N failed". Does not own the checks themselves.
#
# Installs tests/llm/node_modules (npm ci, prebuilt linux-x64 binaries only,
# never a download from GitHub) when missing; writes the models once into
# build/llm-models/<hash of the generator> (tests/llm/models.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/llm/env.sh || { echo "0 passed, 1 failed"; exit 1; }
fails=0
passes=0
# tally LOG: adds the last "N passed, N failed" of LOG (none: one failure)
tally() {
  set -- $(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1)
  passes=$((passes + ${1:-0})); fails=$((fails + ${2:-1}))
}
out=build/test/llm-ref
mkdir -p "$out"
$KL_PY tests/llm/check_quants.py tests/llm/node_modules >"$out/quants.log" 2>&1
cat "$out/quants.log"; tally "$out/quants.log"
(cd tests/llm && timeout 600 $KL_PY check_refs.py "$KL_MODELS") >"$out/refs.log" 2>&1
cat "$out/refs.log"; tally "$out/refs.log"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
