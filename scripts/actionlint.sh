#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, built once from source
# with 'go install' into ~/.cache/perennial/bin (as scripts/services.sh builds
# its servers). usage: scripts/actionlint.sh [workflow.yml ...] (default: all)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=v1.7.12
dir="${PERENNIAL_TOOLS:-$HOME/.cache/perennial/bin}/actionlint-$version"
if [ ! -x "$dir/actionlint" ]; then
  command -v go >/dev/null || { echo "actionlint: needs Go to build it ('go install'): install Go, or put actionlint $version in $dir" >&2; exit 2; }
  echo "building actionlint $version with 'go install' (once; cached in $dir)..." >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
if [ $# -eq 0 ]; then set -- .github/workflows/*.yml; fi
exec "$dir/actionlint" -no-color "$@"
