# tests/llm/env.sh -- sourced by the llm test scripts (from the repo root):
# checks the tools, installs tests/llm/node_modules when missing (npm ci of
# package-lock.json; optional packages omitted, so only the CPU prebuilt
# @node-llama-cpp/linux-x64 comes, and NODE_LLAMA_CPP_SKIP_DOWNLOAD keeps it
# from fetching anything from GitHub) and writes the test models once.
# Sets KL_PY (Debian's python3 with numpy) and KL_MODELS (the models' dir,
# build/llm-models/<hash of the generator's sources>, with models.json).
# Does not own the checks.
# shellcheck shell=sh

KL_PY=/usr/bin/python3
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
for t in node npm "$KL_PY"; do
  command -v "$t" >/dev/null 2>&1 || { echo "llm: $t not found (sh scripts/bootstrap.sh)"; return 1; }
done
"$KL_PY" -c 'import numpy' 2>/dev/null || { echo "llm: $KL_PY has no numpy (apt-get install python3-numpy; scripts/bootstrap.sh)"; return 1; }
if [ ! -f tests/llm/node_modules/@node-llama-cpp/linux-x64/package.json ]; then
  echo "llm: npm ci (tests/llm/package-lock.json)"
  (cd tests/llm && npm ci --omit=optional --no-audit --no-fund --loglevel=error) || { echo "llm: npm ci failed"; return 1; }
fi
KL_MODELS=build/llm-models/$(cat tests/llm/make_models.py tests/llm/gguf_writer.py | sha256sum | cut -c1-12)
if [ ! -f "$KL_MODELS/models.json" ]; then
  echo "llm: writing the test models into $KL_MODELS"
  # the models of an older generator are stale: only this one's are kept
  rm -rf build/llm-models/*
  "$KL_PY" tests/llm/make_models.py --out "$KL_MODELS.tmp" >/dev/null || { echo "llm: make_models.py failed"; return 1; }
  mv "$KL_MODELS.tmp" "$KL_MODELS" || return 1
fi
KL_MODELS=$(cd "$KL_MODELS" && pwd)
