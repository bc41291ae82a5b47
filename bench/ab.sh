#!/usr/bin/env bash
# A/B of server builds on one node: CPU per delivered message split into user and kernel
# time, with context switches and page faults per message, over chat-loadgen's measured
# sending phase (read at its `# phase` markers, plus 1 s of drain). For comparing two commits
# (or a change and the floor) in the same minutes: run the binaries in turn, several rounds,
# and compare within a round; the machine drifts between rounds. Prints one line per run.
#
# Usage: bench/ab.sh BINARY|floor ...     (a chat-server binary, e.g. a copy of an old build)
# Knobs (environment): WORKERS=1  USERS=1000  RATE=10000  SECONDS_=10  ROUNDS=1
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source bench/processes.sh
WORKERS=${WORKERS:-1}
USERS=${USERS:-1000}
RATE=${RATE:-10000}
SECONDS_=${SECONDS_:-10}
ROUNDS=${ROUNDS:-1}
LOADGEN=$ROOT/target/release/chat-loadgen
cargo build --release -p chat-loadgen -p chat-floor-relay >&2
WORK=$(mktemp -d)
trap 'stop_pids "${STARTED[@]}"; rm -rf "$WORK"' EXIT

# "utime stime minflt voluntary nonvoluntary" of process $1, the switches summed over threads.
sample() {
  local pid=$1
  echo "$(cut -d')' -f2- "/proc/$pid/stat" | awk '{print $12, $13, $8}')" \
    "$(cat /proc/"$pid"/task/*/status | awk '/^voluntary_ctxt/{v+=$2} /^nonvoluntary_ctxt/{n+=$2} END{print v, n}')"
}

run() {
  local binary=$1 port pid delivered
  port=$(free_port 4821)
  if [ "$binary" = floor ]; then
    FLOOR_WORKERS=$WORKERS "$ROOT/target/release/chat-floor-relay" "$port" 2>/dev/null &
  else
    "$binary" --port "$port" --host 127.0.0.1 --workers "$WORKERS" >/dev/null 2>&1 &
  fi
  pid=$!
  STARTED+=("$pid")
  for _ in $(seq 1 100); do port_in_use "$port" && break; sleep 0.1; done
  delivered=$("$LOADGEN" --urls "http://127.0.0.1:$port" --users "$USERS" --rate "$RATE" \
    --seconds "$SECONDS_" --no-ack --drain-seconds 1 2> >(while read -r l; do
      case $l in
        "# phase sending"*) sample "$pid" >"$WORK/before" ;;
        "# phase sent"*) sleep 1; sample "$pid" >"$WORK/after" ;;
      esac
    done) | python3 -c 'import json, sys; print(json.load(sys.stdin)["delivered"])')
  sleep 0.3
  stop_pids "$pid"
  python3 - "$binary" "$WORKERS" "$delivered" "$(cat "$WORK/before")" "$(cat "$WORK/after")" <<'EOF'
import os, sys
binary, workers, delivered = sys.argv[1], sys.argv[2], int(sys.argv[3])
before, after = ([int(x) for x in s.split()] for s in sys.argv[4:6])
d = [a - b for a, b in zip(after, before)]
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
user, system = (t * tick_us / delivered for t in d[:2])
print(f"{os.path.basename(binary):<24} workers={workers} user {user:5.1f} sys {system:5.1f} "
      f"total {user + system:5.1f} µs/msg  minflt/msg {d[2] / delivered:.3f}  "
      f"vcsw/msg {d[3] / delivered:.2f}  ivcsw/msg {d[4] / delivered:.2f}  ({delivered} delivered)")
EOF
}

for _ in $(seq 1 "$ROUNDS"); do
  for binary in "$@"; do run "$binary"; done
done
