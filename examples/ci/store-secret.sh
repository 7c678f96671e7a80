#!/usr/bin/env bash
# An `slsync apply --secrets-exec` target: store one created API key in the
# repository's GitHub Actions secrets as SLSYNC_<PROJECT KEY>_<KEY NAME>
# (upper-cased, non-alphanumerics as _). The secret arrives as JSON on stdin
# and goes to `gh` on stdin too: it is never on a command line or in a log.
set -euo pipefail
json=$(cat)
name="SLSYNC_${SLSYNC_PROJECT_KEY}_${SLSYNC_KEY_NAME}"
name=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9_' '_')
printf '%s' "$json" | jq -r .encoded | gh secret set "$name" --repo "$GITHUB_REPOSITORY"
