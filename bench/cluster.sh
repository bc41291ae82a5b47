#!/usr/bin/env bash
# What does a message cost on a Redis Cluster?
#
# In one sitting, the same load as bench/rooms.sh's scale-out table (USERS users spread
# round-robin over NODES nodes with --workers 1, RATE private messages/s between random pairs,
# no acks) twice: on one Redis (rooms mode, the default) and on a Redis Cluster of MASTERS
# masters (sharded pub/sub). Prints one JSON line per run (labels + chat-loadgen's fields;
# `server_cpu_us_per_msg` is the CPU of every node plus every Redis per delivered message),
# then each shard's share of the cluster's Redis CPU. Each run is also recorded in
# bench/results/cluster.jsonl (bench/record.py; RECORD=0 skips it).
#
# Usage: bench/cluster.sh
# Knobs: NODES=4 MASTERS=3 USERS=1000 RATE=3000 RUN_SECONDS=10 OUT=/tmp/bench-cluster.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
INVOCATION=$(invocation bench/cluster.sh NODES MASTERS USERS RATE RUN_SECONDS)
SITTING_START=$(date -u +%Y-%m-%dT%H:%MZ)
NODES=${NODES:-4}
MASTERS=${MASTERS:-3}
USERS=${USERS:-1000}
RATE=${RATE:-3000}
RUN_SECONDS=${RUN_SECONDS:-10}
OUT=${OUT:-/tmp/bench-cluster.jsonl}
SERVER=$ROOT/target/release/chat-server
LOADGEN=$ROOT/target/release/chat-loadgen
WORK=$(mktemp -d)

cargo build --release -p chat-server -p chat-loadgen >&2

trap 'stop_pids "${STARTED[@]}"; rm -rf "$WORK"' EXIT

# start_redis PORT [extra args...]: a redis-server without persistence; sets REDIS_PID.
start_redis() {
  local port=$1
  shift
  (cd "$WORK" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --loglevel warning "$@") >/dev/null &
  REDIS_PID=$!
  STARTED+=("$REDIS_PID")
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
}

# start_nodes REDIS_FLAG REDIS_VALUE: NODES nodes; sets NODE_PIDS and URLS.
start_nodes() {
  local n port
  NODE_PIDS=()
  URLS=
  for n in $(seq 1 "$NODES"); do
    port=$(free_port $((4600 + n * 10)))
    "$SERVER" --port "$port" --host 127.0.0.1 "$1" "$2" --node-id "n$n" --workers 1 >/dev/null 2>&1 &
    NODE_PIDS+=("$!")
    STARTED+=("$!")
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do sleep 0.05; done
    URLS+="${URLS:+,}http://127.0.0.1:$port"
  done
}

# run LABEL REDIS_PIDS...: one labelled JSON line, printed and appended to $OUT; also prints
# each Redis pid's CPU seconds over the run.
run() {
  local label=$1 pids line before after out redis=one
  shift
  [ "$label" = single-redis ] || redis=cluster-$MASTERS
  pids=$(IFS=,; echo "${NODE_PIDS[*]},$*")
  before=$(for p in "$@"; do pids_ticks "$p"; done | paste -sd,)
  log "$label (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  line=$("$LOADGEN" --urls "$URLS" --pids "$pids" --no-ack --users "$USERS" --rate "$RATE" \
    --seconds "$RUN_SECONDS") || line='{"failed":true,"delivered":0}'
  after=$(for p in "$@"; do pids_ticks "$p"; done | paste -sd,)
  out=$(node -e '
    const [label, line, before, after] = process.argv.slice(1);
    const b = before.split(",").map(Number), a = after.split(",").map(Number);
    const redis_cpu_s = a.map((t, i) => (t - b[i]) / 100);
    console.log(JSON.stringify({ run: label, redis_cpu_s, ...JSON.parse(line) }));
  ' "$label" "$line" "$before" "$after")
  echo "$out" | tee -a "$OUT"
  record_run cluster "$out" --label setup=cluster --label "nodes=$NODES" --label workers=1 --label "redis=$redis"
  stop_pids "${NODE_PIDS[@]}"
}

log "results also appended to $OUT; machine load now: $(cat /proc/loadavg)"

# One Redis.
SINGLE_PORT=$(free_port 6590)
start_redis "$SINGLE_PORT"
SINGLE_PID=$REDIS_PID
start_nodes --redis-url "redis://127.0.0.1:$SINGLE_PORT"
run "single-redis" "$SINGLE_PID"
stop_pids "$SINGLE_PID"

# A Redis Cluster: ports whose bus ports (+10000) are free too.
CLUSTER_PORTS=()
CLUSTER_PIDS=()
port=7300
while [ "${#CLUSTER_PORTS[@]}" -lt "$MASTERS" ]; do
  port=$(free_port "$port")
  if ! port_in_use $((port + 10000)); then
    start_redis "$port" --cluster-enabled yes --cluster-config-file "nodes-$port.conf"
    CLUSTER_PORTS+=("$port")
    CLUSTER_PIDS+=("$REDIS_PID")
  fi
  port=$((port + 1))
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${CLUSTER_PORTS[@]}") --cluster-yes >/dev/null
until redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.1; done
sleep 1
start_nodes --redis-cluster-urls "$(printf 'redis://127.0.0.1:%s,' "${CLUSTER_PORTS[@]}" | sed 's/,$//')"
run "cluster-$MASTERS-masters" "${CLUSTER_PIDS[@]}"

node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).slice(-2);
  const [single, cluster] = rows;
  console.log("| run | CPU us / delivered msg | delivered / lost | Redis CPU s (per shard) |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.run} | ${r.server_cpu_us_per_msg} | ${r.delivered} / ${r.lost} | ${r.redis_cpu_s.join(" / ")} |`);
  const total = cluster.redis_cpu_s.reduce((a, b) => a + b, 0);
  console.log(`cluster / single CPU per message: ${(cluster.server_cpu_us_per_msg / single.server_cpu_us_per_msg).toFixed(2)}x; ` +
    `shard shares of the cluster Redis CPU: ${cluster.redis_cpu_s.map((s) => (100 * s / total).toFixed(0) + "%").join(" / ")}`);
' "$OUT"
