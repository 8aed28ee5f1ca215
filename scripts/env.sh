# Defaults for every Perennial program and script; each can be overridden from
# the environment. Sourced by scripts/*.sh. src/config.ts applies the same defaults.
if [ -n "${TEMPORAL_ADDRESS:-}" ] && [ -z "${PERENNIAL_TEMPORAL_EXTERNAL:-}" ] && [ "${TEMPORAL_ADDRESS}" != "127.0.0.1:7233" ]; then
  export PERENNIAL_TEMPORAL_EXTERNAL=1
fi
if [ -n "${S3_ENDPOINT:-}" ] && [ -z "${PERENNIAL_S3_EXTERNAL:-}" ] && [ "${S3_ENDPOINT}" != "http://127.0.0.1:7070" ]; then
  export PERENNIAL_S3_EXTERNAL=1
fi
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
export TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
export TEMPORAL_UI_HOST=${TEMPORAL_UI_HOST:-127.0.0.1}
export TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
export TEMPORAL_HTTP_PORT=${TEMPORAL_HTTP_PORT:-7243}
export S3_ENDPOINT=${S3_ENDPOINT:-http://127.0.0.1:7070}
export S3_BUCKET=${S3_BUCKET:-perennial}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-perennial}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-perennial-secret}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=${AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:-true}
