#!/usr/bin/env bash
# The rolling-restart comparison, in one sitting: USERS users behind nginx on one node, that
# node drained (SIGTERM, or SIGKILL with ENDING=kill), everyone back on the other node. Ours
# with connection state recovery on (the default) then off, and the reference design (no
# recovery) when SERVERS names it. Prints one JSON line per run (see bench/drain.mjs) and
# records each in bench/results/drain.jsonl (RECORD=0 skips it).
#
#   bash bench/drain.sh [USERS] [MESSAGES]       # defaults 2000 users, 5 messages each
# Knobs: ENDING=term|kill  SERVERS="ours reference"  MODES="on off" (ours only)
#        CONNECT_TIMEOUT_S=120 (how long connecting everyone may take)
#        KIT=/tmp/bench (the reference's benchmark kit, installed by bench/compare.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
INVOCATION=$(invocation bench/drain.sh ENDING SERVERS MODES CONNECT_TIMEOUT_S)
INVOCATION+=" $*"
SITTING_START=$(date -u +%Y-%m-%dT%H:%MZ)
users="${1:-2000}"
messages="${2:-5}"
ending="${ENDING:-term}"
cargo build --release -q -p chat-server
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
for server in ${SERVERS:-ours}; do
  modes=${MODES:-"on off"}
  # The reference has no recovery: one run.
  [ "$server" = reference ] && modes=off
  for mode in $modes; do
    line=$(SERVER=$server node bench/drain.mjs "$mode" "$users" "$ending" "$messages") || true
    line=${line:-'{"failed":"no output"}'}
    echo "$line"
    labels=(--label "server=$server" --label setup=drain --label nodes=2)
    [ "$server" = ours ] && labels+=(--label "recovery=$mode")
    record_run drain "$line" "${labels[@]}"
  done
done
