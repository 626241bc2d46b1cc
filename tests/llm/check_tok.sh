#!/bin/sh
# tests/llm/check_tok.sh -- the `llm-tok` tier: krait's tokenizers against
# llama.cpp's on the generated models (check_tok.py with tokdump, which
# `make test-llm-tok` builds). Ends with "N passed, N failed". Does not own
# the models or node_modules (env.sh) nor the tokenizers.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/llm/env.sh || { echo "0 passed, 1 failed"; exit 1; }
tokdump=$(pwd)/build/test/llm/tokdump
[ -x "$tokdump" ] || { echo "llm-tok: $tokdump missing (make test-llm-tok)"; echo "0 passed, 1 failed"; exit 1; }
(cd tests/llm && timeout 900 $KL_PY check_tok.py "$KL_MODELS" "$tokdump")
