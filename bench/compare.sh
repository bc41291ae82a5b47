#!/usr/bin/env bash
# Side-by-side benchmark, in one sitting on this machine: the reference server (Node
# socket.io, from the benchmark kit) and our chat-server under the same load, driven by the
# kit's Node probe and by chat-loadgen, on one in-memory node and on two nodes sharing a Redis.
# Then chat-loadgen sweeps both servers through rising rates until each saturates, and drives
# both through a connect storm and an idle-memory run.
#
# Every run gets freshly started servers (and a flushed Redis), so the memory and CPU read
# from /proc belong to that run only. Each run prints one JSON line, prefixed with its labels:
#   {"setup":"single","server":"ours","driver":"probe","others_cores":0.05, ...the tool's own fields...}
# The lines also go to $OUT, and each run is recorded in bench/results/compare.jsonl in the
# common format of bench/record.py (RECORD=0 skips that), from which `python3 bench/plot.py`
# draws BENCHMARKS.md's table and plots. One invocation is one sitting; SITTING=name groups
# several.
#
# Usage: bench/compare.sh            (everything: about 40 runs, 30 minutes)
# Knobs (environment):
#   RUN_SECONDS=10                     measured sending time of each run
#   SCENARIOS="200:2000 1000:3000"     users:msgs-per-second for the side-by-side part ("" skips it)
#   SETUPS="single cluster"            single = 1 node in memory, cluster = 2 nodes + Redis
#   TOOLS="probe loadgen"              which load tools drive the side-by-side part
#   SERVERS="reference ours"           which servers the side-by-side part drives; add `floor`
#                                      (bench/floor-relay, single setup and chat-loadgen only)
#   HIGH_USERS=1000 HIGH_RATES="1000 5000 10000 20000 50000"   the rate sweep ("" skips it): per
#                                      setup and server, rising rates until p99 > 50 ms or a loss
#   SWEEP_SERVERS="reference ours"     which servers the sweep drives
#   STORM_USERS=5000                   connect storm: that many users at once, 1 node ("" skips it)
#   IDLE_USERS=10000 IDLE_SECONDS=30   idle memory (a list of user counts): users connected 256 at a time, then a trickle
#                                      of 10 msgs/s for IDLE_SECONDS, 1 node ("" skips it)
#   STORM_SERVERS / IDLE_SERVERS="reference ours"   which servers the last two parts drive
#   SOURCE_ADDRS=127.0.0.2,127.0.0.3   local addresses chat-loadgen connects from in those parts
#                                      (one address has ~28 000 ephemeral ports per server)
#   KIT=/tmp/bench                     the benchmark kit, copied from ../shared/bench if absent
#   OUT=/tmp/bench-results.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
INVOCATION=$(invocation bench/compare.sh RUN_SECONDS SCENARIOS SETUPS TOOLS SERVERS HIGH_USERS HIGH_RATES \
  SWEEP_SERVERS STORM_USERS IDLE_USERS IDLE_SECONDS STORM_SERVERS IDLE_SERVERS SOURCE_ADDRS CHAT_WORKERS \
  FLOOR_WORKERS CHAT_RECOVERY_WINDOW_SECS)
SITTING_START=$(date -u +%Y-%m-%dT%H:%MZ)

RUN_SECONDS=${RUN_SECONDS:-10}
SCENARIOS=${SCENARIOS-"200:2000 1000:3000"}
SETUPS=${SETUPS:-"single cluster"}
TOOLS=${TOOLS:-"probe loadgen"}
SERVERS=${SERVERS:-"reference ours"}
HIGH_USERS=${HIGH_USERS:-1000}
HIGH_RATES=${HIGH_RATES-"1000 5000 10000 20000 50000"}
SWEEP_SERVERS=${SWEEP_SERVERS:-"reference ours"}
STORM_USERS=${STORM_USERS-5000}
IDLE_USERS=${IDLE_USERS-10000}
IDLE_SECONDS=${IDLE_SECONDS:-30}
STORM_SERVERS=${STORM_SERVERS:-"reference ours"}
IDLE_SERVERS=${IDLE_SERVERS:-"reference ours"}
SOURCE_ADDRS=${SOURCE_ADDRS:-127.0.0.2,127.0.0.3}
KIT=${KIT:-/tmp/bench}
KIT_SOURCE=${KIT_SOURCE:-$ROOT/../shared/bench}
OUT=${OUT:-/tmp/bench-results.jsonl}

SERVER=$ROOT/target/release/chat-server
LOADGEN=$ROOT/target/release/chat-loadgen
FLOOR=$ROOT/target/release/chat-floor-relay


# --- setup -------------------------------------------------------------------------------

if [ ! -d "$KIT/node_modules" ]; then
  log "installing the benchmark kit in $KIT (outside the repository)"
  mkdir -p "$KIT"
  cp -r "$KIT_SOURCE"/. "$KIT"/
  (cd "$KIT" && npm install --no-audit --no-fund >/dev/null)
fi

log "building release binaries"
cargo build --release -p chat-server -p chat-loadgen -p chat-floor-relay >&2

cleanup() { stop_pids "${STARTED[@]}"; }
trap cleanup EXIT

# Waits until an Engine.IO polling handshake answers on port $1 (both servers serve it), or,
# with a second argument `listening`, until the port accepts connections (the floor relay
# speaks WebSocket only).
wait_ready() {
  local port=$1 i
  for i in $(seq 1 100); do
    if [ "${2:-}" = listening ]; then
      if port_in_use "$port"; then return 0; fi
    elif engine_io_answers "$port"; then return 0; fi
    sleep 0.1
  done
  log "server on port $port did not come up"
  return 1
}

REDIS_PORT=$(free_port 6390)
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
REDIS_PID=
if [[ " $SETUPS " == *" cluster "* ]] || [ -n "$HIGH_RATES" ]; then
  start_redis "$REDIS_PORT"
  log "redis on $REDIS_PORT (pid $REDIS_PID)"
fi

# --- servers -------------------------------------------------------------------------------

# start_nodes SERVER SETUP: starts 1 (single) or 2 (cluster) nodes; sets NODE_PIDS and URLS.
start_nodes() {
  local server=$1 setup=$2 count=1 n port
  [ "$setup" = cluster ] && count=2
  NODE_PIDS=()
  URLS=
  if [ -n "$REDIS_PID" ]; then redis-cli -p "$REDIS_PORT" flushall >/dev/null; fi
  for n in $(seq 1 "$count"); do
    port=$(free_port $((4100 + n * 10)))
    if [ "$server" = reference ]; then
      local redis_url=""
      [ "$setup" = cluster ] && redis_url=$REDIS_URL
      PORT=$port REDIS_URL=$redis_url node "$KIT/reference-server.mjs" >/dev/null &
    elif [ "$server" = floor ]; then
      "$FLOOR" "$port" >/dev/null 2>&1 &
    elif [ "$setup" = cluster ]; then
      "$SERVER" --port "$port" --host 127.0.0.1 --redis-url "$REDIS_URL" --node-id "n$n" >/dev/null 2>&1 &
    else
      "$SERVER" --port "$port" --host 127.0.0.1 >/dev/null 2>&1 &
    fi
    NODE_PIDS+=("$!")
    STARTED+=("$!")
    if [ "$server" = floor ]; then wait_ready "$port" listening; else wait_ready "$port"; fi
    URLS+="${URLS:+,}http://127.0.0.1:$port"
  done
}

# The pids whose CPU and memory a run measures: the nodes, and Redis for cluster runs.
measured_pids() {
  local setup=$1 pids
  pids=$(IFS=,; echo "${NODE_PIDS[*]}")
  [ "$setup" = cluster ] && pids+=",$REDIS_PID"
  echo "$pids"
}

exec 3>&2 # the tools' own stderr goes to ours; fd 2 of `time` goes to a file
TIMES=$(mktemp)
trap 'cleanup; rm -f "$TIMES"' EXIT

# run_once SETUP SERVER TOOL USERS RATE [extra loadgen args...]: one labelled JSON line,
# printed, appended to $OUT, recorded in bench/results/compare.jsonl and kept in LAST_LINE.
# PART labels the record: side-by-side (default), sweep, storm or idle.
# SETUP is single or cluster, or a label of a single-node run (storm, idle). The sending
# time is $RUN_SECONDS unless the caller sets SEND_SECONDS.
#
# The label says how disturbed the run was: `others_cores`, the CPU the rest of the machine
# (other builds, tests) used during the run, in cores on average: the machine's busy time
# minus that of the servers, Redis and the load tool. The machine has 2 cores; a run whose
# others_cores is well above 0.1 competed with other work and its figures are disturbed.
# `tool_cores` is the load tool's own CPU over the run (it shares the cores with the servers),
# `workers` the CHAT_WORKERS our server ran with (`cpus`: its default).
run_once() {
  local setup=$1 server=$2 tool=$3 users=$4 rate=$5
  shift 5
  local line pids busy0 own0 start busy1 own1 end tool_cpu tool_cores others seconds=${SEND_SECONDS:-$RUN_SECONDS}
  start_nodes "$server" "$setup"
  pids=$(measured_pids "$setup")
  log "$setup $server $tool users=$users rate=$rate (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  busy0=$(machine_busy_ticks); own0=$(pids_ticks "${NODE_PIDS[@]}" $REDIS_PID); start=$(date +%s.%N)
  TIMEFORMAT='%3U %3S'
  if [ "$tool" = probe ]; then
    { time { line=$(cd "$KIT" && node probe.mjs --urls "$URLS" --users "$users" --rate "$rate" \
      --seconds "$seconds" --pids "$pids" 2>&3) || true; }; } 2>"$TIMES"
  else
    { time { line=$("$LOADGEN" --urls "$URLS" --users "$users" --rate "$rate" --seconds "$seconds" \
      --pids "$pids" "$@" 2>&3) || true; }; } 2>"$TIMES"
  fi
  busy1=$(machine_busy_ticks); own1=$(pids_ticks "${NODE_PIDS[@]}" $REDIS_PID); end=$(date +%s.%N)
  stop_pids "${NODE_PIDS[@]}"
  tool_cpu=$(awk '{print $1 + $2}' "$TIMES")
  others=$(awk -v b="$((busy1 - busy0))" -v o="$((own1 - own0))" -v t="$tool_cpu" -v s="$start" -v e="$end" \
    'BEGIN { x = ((b - o) / 100 - t) / (e - s); printf "%.2f", (x < 0 ? 0 : x) }')
  tool_cores=$(awk -v t="$tool_cpu" -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", t / (e - s) }')
  if [ -z "$line" ]; then line='{"failed":true}'; fi
  line="{\"setup\":\"$setup\",\"server\":\"$server\",\"driver\":\"$tool\",\"workers\":\"${CHAT_WORKERS:-cpus}\",\"others_cores\":$others,\"tool_cores\":$tool_cores,${line#\{}"
  echo "$line" | tee -a "$OUT"
  LAST_LINE=$line
  local workers=node labels=()
  [ "$server" = ours ] && workers=${CHAT_WORKERS:-cpus}
  [ "$server" = floor ] && workers=${FLOOR_WORKERS:-cpus}
  [ "$setup" = cluster ] && labels+=(--label redis=one)
  [ "${CHAT_RECOVERY_WINDOW_SECS:-}" = 0 ] && [ "$server" = ours ] && labels+=(--label recovery=off)
  record_run compare "$line" --label "part=${PART:-side-by-side}" --label "workers=$workers" "${labels[@]}"
}

# --- runs ------------------------------------------------------------------------------------

log "results also appended to $OUT; machine load now: $(cat /proc/loadavg)"
for scenario in $SCENARIOS; do
  users=${scenario%%:*}
  rate=${scenario##*:}
  for setup in $SETUPS; do
    for tool in $TOOLS; do
      for server in $SERVERS; do
        # The floor is one in-memory process driven by chat-loadgen only.
        if [ "$server" = floor ] && { [ "$setup" != single ] || [ "$tool" != loadgen ]; }; then continue; fi
        # The reference never acknowledges, so neither side is asked to: same traffic.
        run_once "$setup" "$server" "$tool" "$users" "$rate" --no-ack
      done
    done
  done
done

# Rate sweep: chat-loadgen without acks (the reference never acknowledges), same traffic for
# both; a server's sweep ends at its first run with p99 above 50 ms or any message lost.
saturated() {
  node -e 'const r = JSON.parse(process.argv[1]);
    process.exit(r.failed || r.lost !== 0 || !(r.lat_p99_ms <= 50) ? 0 : 1)' "$1"
}
for setup in $SETUPS; do
  for server in $SWEEP_SERVERS; do
    for rate in $HIGH_RATES; do
      PART=sweep run_once "$setup" "$server" loadgen "$HIGH_USERS" "$rate" --no-ack
      if saturated "$LAST_LINE"; then break; fi
    done
  done
done

# Connect storm: every user at once. Users send nothing worth measuring (10 msgs/s for 1 s);
# the figures are connect all, connected, and errors (resets, timeouts).
if [ -n "$STORM_USERS" ]; then
  for server in $STORM_SERVERS; do
    PART=storm SEND_SECONDS=1 run_once storm "$server" loadgen "$STORM_USERS" 10 --no-ack \
      --connect-concurrency "$STORM_USERS" --connect-timeout-seconds 300 --source-addrs "$SOURCE_ADDRS"
  done
fi

# Idle memory: users connected 256 at a time, then near silence for IDLE_SECONDS; the server
# CPU of that window is mostly heartbeats, and RSS at its end is what idle users cost.
for users in $IDLE_USERS; do
  for server in $IDLE_SERVERS; do
    PART=idle SEND_SECONDS=$IDLE_SECONDS run_once idle "$server" loadgen "$users" 10 --no-ack \
      --connect-concurrency 256 --connect-timeout-seconds 300 --source-addrs "$SOURCE_ADDRS"
  done
done
