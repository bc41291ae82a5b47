#!/usr/bin/env bash
# Does a message cost the same with 1, 2, 4 or 8 nodes? (room subscriptions, SPEC §4)
#
# For each --subscription-mode (pattern, rooms) and each node count, in one sitting: one
# Redis (flushed), that many chat-server nodes with --workers 1, and chat-loadgen with the
# same load (users spread round-robin over the nodes, random pairs, no acks). Prints one JSON
# line per run, prefixed with its labels:
#   {"mode":"rooms","nodes":4,"others_cores":0.04,"redis_out_bytes":...,"redis_out_bytes_per_msg":...,<loadgen's fields>}
# `server_cpu_us_per_msg` is the CPU of every node plus Redis per delivered message (measured
# phase and drain); `redis_out_bytes_per_msg` is Redis' total_net_output_bytes over the
# measured sending phase only (read at chat-loadgen's `# phase` markers) per delivered message.
# `others_cores` is the CPU the rest of the machine used meanwhile (other work), as in
# bench/compare.sh: well above 0.1 means a disturbed run. Each run is also recorded in
# bench/results/rooms.jsonl (bench/record.py; RECORD=0 skips it).
#
# Then the churn figures: a connect storm of STORM_USERS users on 4 nodes, and the time one
# node with RESUB_USERS local users takes to resubscribe their rooms after a Redis restart
# (from the node's log line "subscribed to N room channels in X ms").
#
# Usage: bench/rooms.sh
# Knobs: NODE_COUNTS="1 2 4 8" MODES="pattern rooms" USERS=1000 RATE=3000 RUN_SECONDS=10
#        STORM_USERS=5000 RESUB_USERS=5000 ("" skips either) SOURCE_ADDRS=127.0.0.2,127.0.0.3
#        USER_NODES=2 (users on the first 2 nodes only, the others idle members of the cluster:
#        what a node costs that holds none of a message's users; default: all nodes)
#        OUT=/tmp/bench-rooms.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
INVOCATION=$(invocation bench/rooms.sh NODE_COUNTS MODES USERS RATE RUN_SECONDS STORM_USERS RESUB_USERS USER_NODES)
SITTING_START=$(date -u +%Y-%m-%dT%H:%MZ)
NODE_COUNTS=${NODE_COUNTS:-"1 2 4 8"}
MODES=${MODES:-"pattern rooms"}
USERS=${USERS:-1000}
RATE=${RATE:-3000}
RUN_SECONDS=${RUN_SECONDS:-10}
STORM_USERS=${STORM_USERS-5000}
RESUB_USERS=${RESUB_USERS-5000}
SOURCE_ADDRS=${SOURCE_ADDRS:-127.0.0.2,127.0.0.3}
OUT=${OUT:-/tmp/bench-rooms.jsonl}
SERVER=$ROOT/target/release/chat-server
LOADGEN=$ROOT/target/release/chat-loadgen
WORK=$(mktemp -d)

cargo build --release -p chat-server -p chat-loadgen >&2

trap 'stop_pids "${STARTED[@]}"; rm -rf "$WORK"' EXIT

REDIS_PORT=$(free_port 6490)
start_redis() {
  redis-server --port "$REDIS_PORT" --save "" --appendonly no --loglevel warning >/dev/null &
  REDIS_PID=$!
  STARTED+=("$REDIS_PID")
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
}
redis_out_bytes() {
  redis-cli -p "$REDIS_PORT" info stats | awk -F: '/^total_net_output_bytes/ { gsub("\r", ""); print $2 }'
}

# start_nodes MODE COUNT [LOG]: sets NODE_PIDS and URLS.
start_nodes() {
  local mode=$1 count=$2 logfile=${3:-/dev/null} n port
  NODE_PIDS=()
  URLS=
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  for n in $(seq 1 "$count"); do
    port=$(free_port $((4400 + n * 10)))
    "$SERVER" --port "$port" --host 127.0.0.1 --redis-url "redis://127.0.0.1:$REDIS_PORT" \
      --node-id "n$n" --workers 1 --subscription-mode "$mode" >>"$logfile" 2>&1 &
    NODE_PIDS+=("$!")
    STARTED+=("$!")
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do sleep 0.05; done
    URLS+="${URLS:+,}http://127.0.0.1:$port"
  done
}

# run MODE COUNT [loadgen args...]: one labelled JSON line, printed, appended to $OUT and
# recorded in bench/results/rooms.jsonl (PART labels it: pass by default, or storm).
run() {
  local mode=$1 count=$2 out line pids b0 o0 r0 t0 b1 o1 r1 t1 marks=$WORK/marks
  shift 2
  start_nodes "$mode" "$count"
  pids=$(IFS=,; echo "${NODE_PIDS[*]},$REDIS_PID")
  : >"$marks"
  log "mode=$mode nodes=$count (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  b0=$(machine_busy_ticks); o0=$(pids_ticks "${NODE_PIDS[@]}" "$REDIS_PID"); r0=$(pids_ticks "$REDIS_PID"); t0=$(date +%s.%N)
  # chat-loadgen marks the edges of its measured phase on stderr: read Redis' counter there.
  line=$("$LOADGEN" --urls "$(cut -d, -f"1-${USER_NODES:-$count}" <<<"$URLS")" --pids "$pids" --no-ack "$@" \
    2> >(while read -r l; do
           case $l in "# phase "*) echo "${l#\# phase } $(redis_out_bytes)" >>"$marks" ;; *) echo "$l" >&2 ;; esac
         done)) || true
  b1=$(machine_busy_ticks); o1=$(pids_ticks "${NODE_PIDS[@]}" "$REDIS_PID"); r1=$(pids_ticks "$REDIS_PID"); t1=$(date +%s.%N)
  stop_pids "${NODE_PIDS[@]}"
  sleep 0.2 # the marker reader's last line
  [ -n "$line" ] || line='{"failed":true,"delivered":0}'
  out=$(node -e '
    const [line, marks, mode, nodes, busy, own, wall, redisTicks] = process.argv.slice(1);
    const r = JSON.parse(line);
    const at = Object.fromEntries(marks.trim().split("\n").filter(Boolean).map((m) => {
      const [name, , bytes] = m.split(" ");
      return [name, Number(bytes)];
    }));
    const bytes = at.sent - at.sending;
    // Other work: the machine busy time minus the servers, Redis and the load generator.
    const others = Math.max(0, (busy - own) / 100 / wall - r.loadgen_cpu_s / wall);
    const out = { mode, nodes: Number(nodes), user_nodes: r.urls, others_cores: Number(others.toFixed(2)),
      redis_out_bytes: bytes, redis_out_bytes_per_msg: r.delivered ? Math.round(bytes / r.delivered) : null,
      // Redis alone over the whole run (connecting included), for the share of the cost.
      redis_cpu_s_whole_run: Number(redisTicks) / 100, ...r };
    console.log(JSON.stringify(out));
  ' "$line" "$(cat "$marks")" "$mode" "$count" "$((b1 - b0))" "$((o1 - o0))" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$((r1 - r0))")
  echo "$out" | tee -a "$OUT"
  record_run rooms "$out" --label "part=${PART:-pass}" --label workers=1 --label redis=one
}

log "results also appended to $OUT; machine load now: $(cat /proc/loadavg)"
start_redis
for mode in $MODES; do
  for count in $NODE_COUNTS; do
    run "$mode" "$count" --users "$USERS" --rate "$RATE" --seconds "$RUN_SECONDS"
  done
done
# Table: CPU per delivered message (us) and Redis output bytes per delivered message.
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
    .slice(-Number(process.argv[2]));
  const counts = [...new Set(rows.map((r) => r.nodes))];
  console.log(`| mode | figure | ${counts.join(" | ")} |`);
  console.log(`|---|---|${counts.map(() => "---").join("|")}|`);
  for (const mode of [...new Set(rows.map((r) => r.mode))]) {
    const of = (n) => rows.find((r) => r.mode === mode && r.nodes === n) ?? {};
    console.log(`| ${mode} | CPU us / delivered msg | ${counts.map((n) => of(n).server_cpu_us_per_msg).join(" | ")} |`);
    console.log(`| ${mode} | Redis out bytes / delivered msg | ${counts.map((n) => of(n).redis_out_bytes_per_msg).join(" | ")} |`);
    console.log(`| ${mode} | delivered / lost / others_cores | ${counts.map((n) => `${of(n).delivered} / ${of(n).lost} / ${of(n).others_cores}`).join(" | ")} |`);
  }
' "$OUT" "$(($(wc -w <<<"$MODES") * $(wc -w <<<"$NODE_COUNTS")))"

if [ -n "$STORM_USERS" ]; then
  log "connect storm: $STORM_USERS users at once on 4 nodes (rooms mode)"
  PART=storm run rooms 4 --users "$STORM_USERS" --rate 10 --seconds 1 --connect-concurrency "$STORM_USERS" \
    --connect-timeout-seconds 300 --source-addrs "$SOURCE_ADDRS"
fi

if [ -n "$RESUB_USERS" ]; then
  log "resubscription: $RESUB_USERS local users on 1 node, then Redis restarted"
  nodelog=$WORK/node.log
  : >"$nodelog"
  start_nodes rooms 1 "$nodelog"
  "$LOADGEN" --urls "$URLS" --users "$RESUB_USERS" --rate 10 --seconds 30 --no-ack --connect-concurrency 256 \
    --connect-timeout-seconds 300 --source-addrs "$SOURCE_ADDRS" >"$WORK/resub.json" 2>/dev/null &
  lg=$!
  STARTED+=("$lg")
  for _ in $(seq 1 1500); do
    active=$(curl -fsS "${URLS}/metrics" | awk '/^chat_connections_active /{print $2}')
    [ "${active:-0}" -ge "$RESUB_USERS" ] && break
    sleep 0.2
  done
  stop_pids "$REDIS_PID"
  start_redis
  for _ in $(seq 1 100); do grep -q "room channels in" "$nodelog" && break; sleep 0.1; done
  echo "{\"resubscribe\":\"$(grep -o 'subscribed to [0-9]* room channels in [0-9]* ms' "$nodelog" | tail -1)\",\"channels_now\":$(redis-cli -p "$REDIS_PORT" pubsub channels "socket.io#/#?*" | wc -l)}" | tee -a "$OUT"
  stop_pids "$lg" "${NODE_PIDS[@]}"
fi
