#!/usr/bin/env bash
# Starts, stops and reports the services Perennial runs on, on loopback:
#   - Temporal: the Temporal CLI dev server (pinned), state in .data/temporal, UI on :8233
#   - S3: Versity S3 Gateway (pinned, Apache-2.0), posix backend under .data/s3
# Both are built once from their official source through the Go module proxy
# and cached per user in ~/.cache/perennial/bin, so a second start, also from a
# fresh clone, costs nothing. A `temporal` on PATH is used instead of building;
# TEMPORAL_ADDRESS or S3_ENDPOINT pointing elsewhere means "use that one, start nothing".
# With --codec (or PERENNIAL_CODEC_SERVER=1), start also runs `perennial codec-server`
# on 127.0.0.1:${PERENNIAL_CODEC_PORT:-8888} with PERENNIAL_CODEC_KEYS, and starts the dev
# server with --ui-codec-endpoint pointing at it, so the UI shows encrypted payloads.
#
# usage: scripts/services.sh start [--codec] | stop [temporal|s3|worker|codec] | status | env
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

TEMPORAL_VERSION=v1.5.1
VERSITYGW_VERSION=v1.8.0
TOOLS=${PERENNIAL_TOOLS:-$HOME/.cache/perennial/bin}
DATA=${PERENNIAL_DATA:-$ROOT/.data}
RUN=$DATA/run
LOGS=$DATA/logs
mkdir -p "$RUN" "$LOGS"
CODEC=${PERENNIAL_CODEC_SERVER:-0}
CODEC_HOST=127.0.0.1
CODEC_PORT=${PERENNIAL_CODEC_PORT:-8888}
CODEC_ENDPOINT=http://$CODEC_HOST:$CODEC_PORT

say() { printf '%s\n' "$*"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }

port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && { exec 3>&- 3<&-; return 0; } || return 1
}

wait_for() { # name seconds command...
  local name=$1 seconds=$2; shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$name did not answer within ${seconds}s; see $LOGS/$name.log"
}

# go install <module>@<version> into the cache, once.
build_tool() { # name module version
  local name=$1 module=$2 version=$3 dir="$TOOLS/$1-$3"
  if [ -x "$dir/$name" ]; then printf '%s' "$dir/$name"; return; fi
  command -v go >/dev/null 2>&1 || die "building $name $version needs Go 1.22 or newer on PATH (https://go.dev/dl), or put a '$name' binary on PATH$( [ "$name" = temporal ] && echo ', or set TEMPORAL_ADDRESS to a running Temporal server')"
  say "building $name $version from source with 'go install' (once; cached in $dir)..." >&2
  mkdir -p "$dir"
  if ! GOBIN="$dir" GOFLAGS=-buildvcs=false go install "$module@$version" >"$LOGS/build-$name.log" 2>&1; then
    tail -n 20 "$LOGS/build-$name.log" >&2
    die "go install $module@$version failed (full log: $LOGS/build-$name.log)"
  fi
  printf '%s' "$dir/$name"
}

temporal_bin() {
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  build_tool temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_VERSION"
}

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start_temporal() {
  if [ "${PERENNIAL_TEMPORAL_EXTERNAL:-}" = 1 ]; then say "temporal: using $TEMPORAL_ADDRESS (TEMPORAL_ADDRESS set)"; return; fi
  local host=${TEMPORAL_ADDRESS%:*} port=${TEMPORAL_ADDRESS##*:}
  if port_open "$host" "$port"; then
    say "temporal: already running on $TEMPORAL_ADDRESS (reused)"
    if [ "$CODEC" = 1 ] && ! ui_codec_endpoint | grep -qF "\"Endpoint\":\"$CODEC_ENDPOINT\""; then
      say "temporal: its UI was not started with codec endpoint $CODEC_ENDPOINT; to restart it with it (state is kept): scripts/services.sh stop temporal && scripts/services.sh start --codec" >&2
    fi
    return
  fi
  local bin; bin=$(temporal_bin)
  mkdir -p "$DATA/temporal"
  local attrs=()
  for a in PerennialModel PerennialVersion PerennialStage PerennialTrigger; do attrs+=(--search-attribute "$a=Keyword"); done
  if [ "$CODEC" = 1 ]; then attrs+=(--ui-codec-endpoint "$CODEC_ENDPOINT"); fi
  # WAL with synchronous=normal: readers no longer wait on the writer and a commit is one fsync, not three; about 4x
  # the signals per second of SQLite's default journal on this 2-core machine (940/s against 246/s, 100 in flight).
  # A crash of the process loses nothing; a power cut may lose the last commits, never the file's consistency.
  nohup "$bin" server start-dev \
    --ip "$host" --port "$port" --ui-port "$TEMPORAL_UI_PORT" --http-port "$TEMPORAL_HTTP_PORT" \
    --db-filename "$DATA/temporal/temporal.db" --namespace "$TEMPORAL_NAMESPACE" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    "${attrs[@]}" --log-level warn >"$LOGS/temporal.log" 2>&1 &
  echo $! >"$RUN/temporal.pid"
  wait_for temporal 60 "$bin" operator cluster health --address "$TEMPORAL_ADDRESS"
  # Search attributes: registered by start-dev on a new database; make sure on an old one too.
  wait_for temporal 30 "$bin" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE"
  say "temporal: started on $TEMPORAL_ADDRESS (pid $(cat "$RUN/temporal.pid"), state in $DATA/temporal)"
}

start_s3() {
  if [ "${PERENNIAL_S3_EXTERNAL:-}" = 1 ]; then say "s3: using $S3_ENDPOINT bucket $S3_BUCKET (S3_ENDPOINT set)"; return; fi
  local hostport=${S3_ENDPOINT#http://}; hostport=${hostport%/}
  local host=${hostport%:*} port=${hostport##*:}
  mkdir -p "$DATA/s3/$S3_BUCKET"  # posix backend: a bucket is a top-level directory
  if port_open "$host" "$port"; then say "s3: already running on $S3_ENDPOINT (reused)"; return; fi
  local bin; bin=$(build_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION")
  ROOT_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    nohup "$bin" --port "$host:$port" --region "$AWS_REGION" --quiet posix "$DATA/s3" >"$LOGS/s3.log" 2>&1 &
  echo $! >"$RUN/s3.pid"
  wait_for s3 30 port_open "$host" "$port"
  say "s3: started on $S3_ENDPOINT, bucket '$S3_BUCKET' (pid $(cat "$RUN/s3.pid"), data in $DATA/s3)"
}

# The codec endpoint the running UI was started with (its settings API), as JSON.
ui_codec_endpoint() {
  node -e 'fetch(process.argv[1]).then((r) => r.json()).then((s) => console.log(JSON.stringify(s.Codec)), () => {})' \
    "http://$TEMPORAL_UI_HOST:$TEMPORAL_UI_PORT/api/v1/settings" 2>/dev/null || true
}

start_codec() {
  [ -n "${PERENNIAL_CODEC_KEYS:-}" ] || die "the codec server needs PERENNIAL_CODEC_KEYS, the workers' keys (see README, 'Encrypted payloads'); a first key: export PERENNIAL_CODEC_KEYS=\"k1:\$(openssl rand -base64 32)\""
  if port_open "$CODEC_HOST" "$CODEC_PORT"; then say "codec: already running on $CODEC_ENDPOINT (reused)"; return; fi
  nohup node "$ROOT/bin/perennial.mjs" codec-server --host "$CODEC_HOST" --port "$CODEC_PORT" >"$LOGS/codec.log" 2>&1 &
  echo $! >"$RUN/codec.pid"
  wait_for codec 30 port_open "$CODEC_HOST" "$CODEC_PORT"
  say "codec: started on $CODEC_ENDPOINT (pid $(cat "$RUN/codec.pid"), log $LOGS/codec.log)"
}

stop_one() { # name
  if pid_alive "$1"; then
    local pid; pid=$(cat "$RUN/$1.pid")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1: stopped (pid $pid)"
  else
    say "$1: not started by this script; left alone"
  fi
  rm -f "$RUN/$1.pid"
}

# Builds the tools that are missing, side by side (a fresh machine builds both in ~6 min).
prebuild() {
  local pids=()
  if [ "${PERENNIAL_S3_EXTERNAL:-}" != 1 ] && [ ! -x "$TOOLS/versitygw-$VERSITYGW_VERSION/versitygw" ]; then
    (build_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" >/dev/null) & pids+=($!)
  fi
  if [ "${PERENNIAL_TEMPORAL_EXTERNAL:-}" != 1 ] && ! command -v temporal >/dev/null 2>&1 && [ ! -x "$TOOLS/temporal-$TEMPORAL_VERSION/temporal" ]; then
    (build_tool temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_VERSION" >/dev/null) & pids+=($!)
  fi
  for pid in "${pids[@]}"; do wait "$pid" || exit 1; done
}

case "${1:-start}" in
  start)
    case "${2:-}" in
      --codec) CODEC=1 ;;
      "") ;;
      *) die "usage: scripts/services.sh start [--codec]" ;;
    esac
    prebuild
    start_s3
    if [ "$CODEC" = 1 ]; then start_codec; fi
    start_temporal
    say "Temporal UI: http://$TEMPORAL_UI_HOST:$TEMPORAL_UI_PORT/namespaces/$TEMPORAL_NAMESPACE/workflows"
    ;;
  stop)
    if [ -n "${2:-}" ]; then stop_one "$2"; exit 0; fi
    if [ -f "$RUN/worker.pid" ]; then stop_one worker; fi  # started by the demo
    if [ -f "$RUN/codec.pid" ]; then stop_one codec; fi    # started by start --codec
    stop_one temporal
    stop_one s3
    ;;
  status)
    for s in temporal s3; do
      if pid_alive "$s"; then say "$s: running (pid $(cat "$RUN/$s.pid"))"; else say "$s: not running from this script"; fi
    done
    if pid_alive codec; then say "codec: running (pid $(cat "$RUN/codec.pid")) on $CODEC_ENDPOINT"; fi
    say "TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS S3_ENDPOINT=$S3_ENDPOINT S3_BUCKET=$S3_BUCKET"
    ;;
  env)
    # Credentials are shown as set, never printed (this output ends up in bug reports).
    env | grep -E '^(TEMPORAL_|S3_|AWS_|PERENNIAL_)' | sort |
      sed -E 's/^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|PERENNIAL_CODEC_KEYS)=.+$/\1=<set, hidden>/'
    ;;
  *)
    die "usage: scripts/services.sh start [--codec] | stop [temporal|s3|worker|codec] | status | env"
    ;;
esac
