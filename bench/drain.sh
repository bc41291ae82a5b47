#!/usr/bin/env bash
# The drain comparison of connection state recovery, both modes in one sitting:
# USERS users behind nginx on one node, that node drained (SIGTERM, or SIGKILL with
# ENDING=kill), everyone back on the other node; recovery on (the default) then off.
# Prints one JSON line per run (see bench/drain.mjs).
#
#   bash bench/drain.sh [USERS] [MESSAGES]       # defaults 2000 users, 5 messages each
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-2000}"
messages="${2:-5}"
ending="${ENDING:-term}"
cargo build --release -q -p chat-server
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
for mode in on off; do
  node bench/drain.mjs "$mode" "$users" "$ending" "$messages"
done
