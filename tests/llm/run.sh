#!/bin/sh
# tests/llm/run.sh -- the `llm` tier: krait's engine (`krait llm`) against
# both references, the numpy one and llama.cpp, on every generated model and
# type (tests/llm/check_krait.py): tokens, greedy tokens, next-token
# probabilities and logits, bert embeddings, quantized vs F32 twins. Ends
# with "N passed, N failed". Does not own the engine nor the references.
#   sh tests/llm/run.sh [path/to/krait]    (default build/krait)
set -u
cd "$(dirname "$0")/../.." || exit 2
KRAIT=${1:-build/krait}
[ -x "$KRAIT" ] || { echo "llm: $KRAIT not built (make all)"; echo "0 passed, 1 failed"; exit 1; }
"$KRAIT" llm --help >/dev/null 2>&1 || { echo "llm: $KRAIT has no 'llm' command"; echo "0 passed, 1 failed"; exit 1; }
KRAIT=$(cd "$(dirname "$KRAIT")" && pwd)/$(basename "$KRAIT")
. tests/llm/env.sh || { echo "0 passed, 1 failed"; exit 1; }
(cd tests/llm && timeout 900 $KL_PY check_krait.py "$KL_MODELS" "$KRAIT")
