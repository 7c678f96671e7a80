#!/usr/bin/env bash
# An `slsync apply --secrets-exec` target for GitLab: store one created API key
# as a masked project CI/CD variable SLSYNC_<PROJECT KEY>_<KEY NAME>. The secret
# arrives as JSON on stdin and is sent to the API from a file, never argv.
set -euo pipefail
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
name="SLSYNC_${SLSYNC_PROJECT_KEY}_${SLSYNC_KEY_NAME}"
name=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9_' '_')
api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/variables"
jq -r .encoded "$tmp" >"$tmp.value"
# update, or create when it does not exist yet
curl --fail -sS -X PUT -H "PRIVATE-TOKEN: $GITLAB_API_TOKEN" --form "value=<$tmp.value" --form masked=true \
  "$api/$name" >/dev/null 2>&1 ||
curl --fail -sS -X POST -H "PRIVATE-TOKEN: $GITLAB_API_TOKEN" --form "key=$name" --form "value=<$tmp.value" \
  --form masked=true --form protected=true "$api" >/dev/null
rm -f "$tmp.value"
