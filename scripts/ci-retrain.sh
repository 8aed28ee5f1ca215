#!/usr/bin/env bash
# The retraining step of CI/CD for ML, the same on GitHub Actions, GitLab CI
# and Jenkins: publish each changed model's spec and retrain it through the
# pipeline, with the commit as its code version, waiting for the verdict.
#
#   scripts/ci-retrain.sh <commit> <spec.yaml> [<spec.yaml> ...]
#
# The model is the spec file's name (models/weather.yaml -> weather). Exit 0
# when every model was promoted or unchanged, 1 when a gate rejected a
# candidate or a run failed (every model is still tried), 2 on bad usage.
# Needs a worker on the same Temporal and store (TEMPORAL_ADDRESS, S3_*).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/ci-retrain.sh <commit> <spec.yaml> [<spec.yaml> ...]" >&2
  exit 2
fi
commit=$1
shift
status=0
for spec in "$@"; do
  model=$(basename "$spec" .yaml)
  echo "== $model ($spec) at $commit"
  # --code-version: the run fails at once unless the workers run this commit (lineage records their code).
  node bin/perennial.mjs retrain --model "$model" --spec "$spec" --wait --trigger ci --reason "commit $commit" --code-version "$commit"
  code=$?
  if [ "$code" -eq 2 ]; then exit 2; fi
  if [ "$code" -ne 0 ]; then status=1; fi
done
exit $status
