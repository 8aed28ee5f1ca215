#!/usr/bin/env bash
# `npm run demo`: from a fresh clone to a promoted weather model, leaving the
# Temporal UI up to look at. Installs what is missing, starts the services and
# a worker, puts Seattle's 2012-2015 weather into S3 as incoming batches, runs
# the retraining pipeline and prints each stage; then the whole story
# (scripts/demo-story.ts; PERENNIAL_DEMO_STORY=0 skips it). Stop it all: npm run services:stop
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ -x node_modules/.bin/tsx ] || npm ci --no-audit --no-fund
source scripts/env.sh
export PERENNIAL_WORKER_METRICS_ADDRESS=${PERENNIAL_WORKER_METRICS_ADDRESS:-127.0.0.1:9464}
bash scripts/services.sh start

RUN=${PERENNIAL_DATA:-$ROOT/.data}/run
LOGS=${PERENNIAL_DATA:-$ROOT/.data}/logs
if [ -f "$RUN/worker.pid" ] && kill -0 "$(cat "$RUN/worker.pid")" 2>/dev/null; then
  echo "worker: already running (pid $(cat "$RUN/worker.pid"))"
else
  # Its metrics (SDK and monitors) on a Prometheus endpoint: the story checks the dashboards against them.
  PERENNIAL_WORKER_METRICS_ADDRESS=$PERENNIAL_WORKER_METRICS_ADDRESS nohup node --import tsx src/worker/main.ts >"$LOGS/worker.log" 2>&1 &
  echo $! >"$RUN/worker.pid"
  # Ready once both of its processes poll (each logs its task queue).
  for _ in $(seq 1 240); do
    [ "$(grep -c "perennial worker: task queue" "$LOGS/worker.log" 2>/dev/null)" -ge 2 ] && break
    kill -0 "$(cat "$RUN/worker.pid")" 2>/dev/null || { tail -n 20 "$LOGS/worker.log" >&2; echo "worker: exited at start; see $LOGS/worker.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "worker: started (pid $(cat "$RUN/worker.pid"), log $LOGS/worker.log)"
fi

node bin/perennial.mjs bootstrap --model weather
node bin/perennial.mjs retrain --model weather --trigger manual --wait || status=$?
echo
node bin/perennial.mjs registry show --model weather || true
echo
# The whole story: production traffic through the model server, the shift to New York, drift and falling
# accuracy detected by the monitor, a retraining it starts by itself, a canary release, the promotion.
if [ "${status:-0}" = 0 ] && [ "${PERENNIAL_DEMO_STORY:-1}" = 1 ]; then
  node --import tsx scripts/demo-story.ts || status=$?
  echo
fi
echo "Temporal UI:  http://$TEMPORAL_UI_HOST:$TEMPORAL_UI_PORT/namespaces/$TEMPORAL_NAMESPACE/workflows"
echo "The services and the worker keep running. Try: npx perennial registry list | npx perennial retrain --model weather --force --wait"
echo "Stop everything: npm run services:stop"
exit "${status:-0}"
