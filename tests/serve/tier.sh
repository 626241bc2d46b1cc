#!/bin/sh
# tests/serve/tier.sh -- the `serve` tier of `make test`: tests/serve/run.sh
# (krait serve and krait build over real sockets) and tests/serve/new.sh
# (krait new's templates, served), tests/serve/dev.sh (the dev loop:
# stale artifacts rebuilt, --watch), tests/serve/variables.sh (variables
# and secrets), tests/serve/security.sh (hostile app
# folders, artifacts and guests) and tests/serve/load.sh (hostile clients:
# connection floods, stuck handlers, body memory) and tests/serve/tiers.sh
# (artifacts built under one tier served under the other) and
# tests/serve/sqlite.sh (the sqlite binding, Spin and D1) and
# tests/serve/outbound.sh (the net.* operations, krait python and serve),
# tests/serve/redis.sh (the redis binding, against a redis-server),
# tests/serve/http_out.sh (outbound HTTP from each style's Python),
# tests/serve/postgres.sh (the postgres binding against a real server),
# tests/serve/reload.sh (SIGHUP reloads), tests/serve/llm.sh (LLM
# inference: spin_sdk.llm, env.AI, the engine's limits),
# tests/serve/remote_llm.sh (krait serve --llm-api's /v1 and the remote
# backend), tests/serve/packages.sh (package sets: packages = [...]). Ends with the summed "N passed,
# N failed". Does not own the checks themselves.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=0 F=0
T=$(mktemp)
trap 'rm -f "$T"' EXIT
for s in run.sh new.sh dev.sh security.sh variables.sh load.sh tiers.sh sqlite.sh outbound.sh redis.sh http_out.sh postgres.sh reload.sh llm.sh remote_llm.sh packages.sh; do
  [ -f "$ROOT/tests/serve/$s" ] || continue
  echo "== tests/serve/$s"
  bash "$ROOT/tests/serve/$s" >"$T" 2>&1
  grep -v ' Killed ' "$T"
  set -- $(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$T" | tail -n 1)
  P=$((P + ${1:-0})) F=$((F + ${2:-1}))
done
echo "$P passed, $F failed"
[ $F -eq 0 ]
