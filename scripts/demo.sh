#!/usr/bin/env bash
# make demo: validate every example with the freshly built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
for ex in examples/*/; do
  echo "==> slsync validate -f $ex"
  ./bin/slsync validate -f "$ex"
done
