#!/usr/bin/env bash
# Where the CPU of a message goes on 2 nodes + one Redis: the kit's probe against two nodes
# (ours or the reference), then the CPU of node 1, node 2 and Redis over the sending window
# (sampled from /proc every 0.5 s) and Redis's own per-command statistics.
#
# Usage: bench/cluster-split.sh [ours|reference] [USERS] [RATE] [SECONDS]   (default: ours 500 2000 10)
# Knobs (environment): NODE_ARGS="--workers 1" (extra arguments of our nodes), KIT=/tmp/bench
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SERVER=${1:-ours}
USERS=${2:-500}
RATE=${3:-2000}
SECONDS_SENDING=${4:-10}
NODE_ARGS=${NODE_ARGS:-}
KIT=${KIT:-/tmp/bench}
[ -d "$KIT/node_modules" ] || { echo "the benchmark kit is not installed in $KIT (bench/compare.sh installs it)" >&2; exit 1; }
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
SAMPLES=$(mktemp)
cleanup() { stop_pids "${STARTED[@]}"; rm -f "$SAMPLES"; }
trap cleanup EXIT

REDIS_PORT=$(free_port 6490)
start_redis "$REDIS_PORT"
NODES=()
URLS=
for n in 1 2; do
  port=$(free_port $((4500 + n * 10)))
  if [ "$SERVER" = reference ]; then
    PORT=$port REDIS_URL=redis://127.0.0.1:$REDIS_PORT node "$KIT/reference-server.mjs" >/dev/null 2>&1 &
  else
    # shellcheck disable=SC2086 # NODE_ARGS is a list of arguments
    "$ROOT/target/release/chat-server" --port "$port" --host 127.0.0.1 \
      --redis-url "redis://127.0.0.1:$REDIS_PORT" --node-id "n$n" $NODE_ARGS >/dev/null 2>&1 &
  fi
  NODES+=("$!")
  STARTED+=("$!")
  URLS+="${URLS:+,}http://127.0.0.1:$port"
  for _ in $(seq 1 100); do engine_io_answers "$port" && break; sleep 0.1; done
done

ticks() { cut -d')' -f2- "/proc/$1/stat" | awk '{print $12 + $13}'; }
(while true; do
  echo "$(date +%s.%N) $(ticks "${NODES[0]}") $(ticks "${NODES[1]}") $(ticks "$REDIS_PID")"
  sleep 0.5
done) >"$SAMPLES" &
STARTED+=("$!")
(cd "$KIT" && node probe.mjs --urls "$URLS" --users "$USERS" --rate "$RATE" --seconds "$SECONDS_SENDING" \
  --pids "${NODES[0]},${NODES[1]},$REDIS_PID")
# The sending window and the probe's 2 s drain are the last SECONDS_SENDING + 2 seconds.
awk -v w=$((SECONDS_SENDING + 2)) '{t[NR]=$1; a[NR]=$2; b[NR]=$3; c[NR]=$4}
  END {e=NR; s=e; while (s > 1 && t[e] - t[s] < w) s--;
       printf "CPU over the last %.1f s: node 1 %.2f s, node 2 %.2f s, redis %.2f s\n",
         t[e] - t[s], (a[e] - a[s]) / 100, (b[e] - b[s]) / 100, (c[e] - c[s]) / 100}' "$SAMPLES"
redis-cli -p "$REDIS_PORT" info commandstats | grep '^cmdstat' | sort -t= -k3 -rn | head -12
