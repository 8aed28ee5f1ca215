#!/usr/bin/env bash
# `npm test`: installs what is missing, starts the services the tests need
# (Temporal dev server and S3 gateway on loopback) unless they already run,
# runs the whole suite, and stops only what it started.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund
source scripts/env.sh
RUN=${PERENNIAL_DATA:-$ROOT/.data}/run
before=$(ls "$RUN"/*.pid 2>/dev/null || true)
bash scripts/services.sh start
after=$(ls "$RUN"/*.pid 2>/dev/null || true)
cleanup() {
  # Stop only services this run started (a developer's running ones stay up).
  if [ "$before" != "$after" ] && [ -z "$before" ]; then bash scripts/services.sh stop >/dev/null; fi
}
trap cleanup EXIT
# Static checks first: types, lint (type-aware, floating promises, data-sized spreads),
# format, and unused files/exports/dependencies. Any finding fails the run before the suite.
npx tsc --noEmit -p tsconfig.json
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "prettier: the files above are not formatted; run 'npm run format'" >&2; exit 1; }
npx knip
if [ $# -gt 0 ]; then
  npx vitest run "$@"
  exit 0
fi
# One run per project, side by side (see vitest.config.ts), the services' files in two shards (each test has its
# own model, task queue and workflow ids, so two files can share the servers); the suite fails if any run does.
pids=()
for run in "services --shard=1/2" "services --shard=2/2" outages pure; do
  # shellcheck disable=SC2086 # the project and its shard are two words on purpose
  npx vitest run --project $run &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
