#!/usr/bin/env bash
# Instructions per delivered private message, counted by valgrind's callgrind. Unlike times on
# a shared 2-core machine, an instruction count barely moves between runs of the same binary,
# so it can track the cost of the message path from commit to commit (bench/HISTORY.md).
#
# Two runs of the server under callgrind (one node, in memory), each driven by chat-loadgen
# with the same users and rate (no acks), sending for SHORT and for LONG seconds:
#   (instructions of the long run - instructions of the short run)
#     / (messages delivered in the long run - in the short run)
# is the cost of one delivered message, with start-up, connecting the users and shutting down
# cancelled out. Prints one JSON line.
#
# Usage: bench/callgrind.sh
# Knobs (environment): SERVER=ours|floor  USERS=50  RATE=200  SHORT=2  LONG=6  WORKERS=1
#   BINARY=path  another chat-server build to count (default: this checkout's release build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SERVER=${SERVER:-ours}
USERS=${USERS:-50}
RATE=${RATE:-200}
SHORT=${SHORT:-2}
LONG=${LONG:-6}
WORKERS=${WORKERS:-1}
LOADGEN=$ROOT/target/release/chat-loadgen
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -p chat-server -p chat-loadgen -p chat-floor-relay >&2

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=4700
while port_in_use "$PORT"; do PORT=$((PORT + 1)); done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# measure SECONDS: prints "<instructions> <delivered>" of one run.
measure() {
  local seconds=$1 out=$WORK/callgrind.$1 pid line
  if [ "$SERVER" = floor ]; then
    FLOOR_WORKERS=$WORKERS valgrind --tool=callgrind --callgrind-out-file="$out" \
      "$ROOT/target/release/chat-floor-relay" "$PORT" 2>"$WORK/valgrind.log" &
  else
    valgrind --tool=callgrind --callgrind-out-file="$out" "${BINARY:-$ROOT/target/release/chat-server}" \
      --port "$PORT" --host 127.0.0.1 --workers "$WORKERS" --drain-timeout-secs 1 \
      2>"$WORK/valgrind.log" >/dev/null &
  fi
  pid=$!
  for _ in $(seq 1 300); do port_in_use "$PORT" && break; sleep 0.1; done
  line=$("$LOADGEN" --urls "http://127.0.0.1:$PORT" --users "$USERS" --rate "$RATE" \
    --seconds "$seconds" --no-ack --drain-seconds 3 --connect-concurrency 8)
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$(awk '/^(summary|totals):/ {print $2; exit}' "$out")" \
    "$(node -e 'console.log(JSON.parse(process.argv[1]).delivered)' "$line")"
}

read -r short_ir short_delivered < <(measure "$SHORT")
read -r long_ir long_delivered < <(measure "$LONG")
node -e '
  const [server, users, rate, sIr, sD, lIr, lD] = process.argv.slice(1);
  const perMessage = (Number(lIr) - Number(sIr)) / (Number(lD) - Number(sD));
  console.log(JSON.stringify({ server, users: +users, rate: +rate,
    short: { instructions: +sIr, delivered: +sD }, long: { instructions: +lIr, delivered: +lD },
    instructions_per_message: Math.round(perMessage) }));
' "$SERVER" "$USERS" "$RATE" "$short_ir" "$short_delivered" "$long_ir" "$long_delivered"
