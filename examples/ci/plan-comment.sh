#!/usr/bin/env bash
# Post (or update in place) one pull-request comment holding the slsync plan.
#
# Used by github-actions.yml; runnable anywhere with `gh` authenticated.
#   MANIFESTS   manifest file or directory (default: manifests)
#   PR_NUMBER   pull request number;  GITHUB_REPOSITORY  owner/repo
#   EC_API_KEY, EC_ENDPOINT, SLSYNC_CREDENTIALS_FILE  as for `slsync plan`
# Exit code: 0 no changes, 2 changes to apply, 1 error (the comment says which).
set -uo pipefail
manifests=${MANIFESTS:-manifests}
marker='<!-- slsync-plan -->'
out=$(mktemp)
trap 'rm -f "$out"' EXIT

slsync plan -f "$manifests" --format markdown --detailed-exitcode >"$out" 2>"$out.err"
rc=$?
if [ "$rc" -eq 1 ]; then
  { echo "### slsync plan failed"; echo; echo '```'; cat "$out.err"; echo '```'; } >>"$out"
fi
rm -f "$out.err"
body="$marker
$(cat "$out")"

id=$(gh api "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --paginate \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1) || exit 1
if [ -n "$id" ]; then
  gh api -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -f body="$body" >/dev/null || exit 1
else
  gh api "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -f body="$body" >/dev/null || exit 1
fi
exit "$rc"
