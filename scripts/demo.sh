#!/usr/bin/env bash
# make demo: the whole loop against the local emulator, in under a minute.
#
#   1. validate every example;
#   2. start `slsync emulator` in the background on a free loopback port;
#   3. apply examples/fleet (projects initialize for 2 s, then their keys are
#      created and their secrets written to a temporary secrets directory);
#   4. show that the follow-up plan is empty;
#   5. change a copy of the manifest (a tag, a key's privileges), show the
#      plan and apply it;
#   6. stop the emulator and remove every temporary file (also on failure).
#
# Any failing step fails the script. Nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/slsync

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  step() { printf '\n==> %s\n' "$*"; }
fi

for ex in examples/*/; do
  case "$ex" in examples/ci/) continue ;; esac
  step "slsync validate -f $ex"
  "$bin" validate -f "$ex"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slsync-demo.XXXXXX")
emu_pid=
cleanup() {
  if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
    kill "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "slsync emulator --addr 127.0.0.1:0 --init-delay 2s   (in the background)"
"$bin" emulator --addr 127.0.0.1:0 --init-delay 2s --delete-delay 1s \
  >"$tmp/emulator.env" 2>"$tmp/emulator.log" &
emu_pid=$!
for _ in $(seq 1 100); do
  grep -q '^export EC_API_KEY=' "$tmp/emulator.env" 2>/dev/null && break
  kill -0 "$emu_pid" 2>/dev/null || { cat "$tmp/emulator.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^export EC_API_KEY=' "$tmp/emulator.env" || { echo "the emulator did not start" >&2; exit 1; }
# shellcheck disable=SC1091
. "$tmp/emulator.env"
export EC_ENDPOINT EC_API_KEY
export SLSYNC_CREDENTIALS_FILE="$tmp/credentials.json"
secrets="$tmp/secrets"
echo "emulator at $EC_ENDPOINT; credentials file $SLSYNC_CREDENTIALS_FILE; secrets in $secrets"

step "slsync apply -f examples/fleet --auto-approve --secrets-dir \$TMP/secrets"
"$bin" apply -f examples/fleet --auto-approve --secrets-dir "$secrets"

step "secrets delivered (one file per key, mode 0600; contents not shown)"
(cd "$secrets" && find . -name '*.json' | sort | while read -r f; do
  printf '%s %s\n' "$(stat -c %a "$f" 2>/dev/null || stat -f %Lp "$f")" "$f"
done)

step "slsync plan -f examples/fleet --detailed-exitcode   (expect: no changes)"
"$bin" plan -f examples/fleet --detailed-exitcode

step "change a copy of the manifest: a tag, and the privileges of a key"
mkdir "$tmp/fleet"
sed -e 's/tags: {team: sre, env: prod}/tags: {team: sre, env: prod, tier: gold}/' \
    -e 's/privileges: \[read, view_index_metadata\]/privileges: [read]/' \
    examples/fleet/slsync.yaml >"$tmp/fleet/slsync.yaml"
diff -u examples/fleet/slsync.yaml "$tmp/fleet/slsync.yaml" || true

step "slsync plan -f \$TMP/fleet"
rc=0
"$bin" plan -f "$tmp/fleet" --detailed-exitcode || rc=$?
if [ "$rc" -ne 2 ]; then echo "expected exit 2 (changes), got $rc" >&2; exit 1; fi

step "slsync apply -f \$TMP/fleet --auto-approve --secrets-dir \$TMP/secrets"
"$bin" apply -f "$tmp/fleet" --auto-approve --secrets-dir "$secrets"

step "slsync plan -f \$TMP/fleet --detailed-exitcode   (expect: no changes)"
"$bin" plan -f "$tmp/fleet" --detailed-exitcode

step "done: stopping the emulator and removing $tmp"
