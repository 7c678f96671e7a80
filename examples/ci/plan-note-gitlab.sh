#!/usr/bin/env bash
# Post (or replace in place) one merge-request note holding the slsync plan.
# Needs GITLAB_API_TOKEN (api scope) and GitLab's predefined CI variables.
# Exit code: 0 no changes, 2 changes to apply, 1 error (the note says which).
set -uo pipefail
manifests=${MANIFESTS:-manifests}
marker='<!-- slsync-plan -->'
out=$(mktemp); trap 'rm -f "$out" "$out.err" "$out.body"' EXIT

slsync plan -f "$manifests" --format markdown --detailed-exitcode >"$out" 2>"$out.err"
rc=$?
if [ "$rc" -eq 1 ]; then
  { echo "### slsync plan failed"; echo; echo '```'; cat "$out.err"; echo '```'; } >>"$out"
fi
{ echo "$marker"; cat "$out"; } >"$out.body"

api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
auth="PRIVATE-TOKEN: $GITLAB_API_TOKEN"
id=$(curl --fail -sS -H "$auth" "$api?per_page=100" |
  jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty')
if [ -n "$id" ]; then
  curl --fail -sS -X PUT -H "$auth" --data-urlencode "body@$out.body" "$api/$id" >/dev/null
else
  curl --fail -sS -X POST -H "$auth" --data-urlencode "body@$out.body" "$api" >/dev/null
fi
exit "$rc"
