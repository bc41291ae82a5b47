#!/usr/bin/env bash
# What connection state recovery costs a node under load, both modes in one sitting: 2 nodes
# on one Redis, USERS users, RATE private messages/s (acknowledged) for RUN_SECONDS; recovery
# on (the default window), then off (--recovery-window-secs 0). Each run prints one JSON line:
# chat-loadgen's fields (CPU per delivered message of both nodes, none lost, all acked) plus,
# per node at the end, its RSS and what its recovery log holds (entries and frame bytes, from
# /metrics). The memory target reads: RSS on <= 1.5 x (RSS off + the log's frame bytes).
# Each run is also recorded in bench/results/recovery.jsonl (RECORD=0 skips it).
#
# Usage: bench/recovery-load.sh
# Knobs: USERS=1000 RATE=3000 RUN_SECONDS=90 OUT=/tmp/bench-recovery.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/processes.sh
source "$ROOT/bench/processes.sh"
INVOCATION=$(invocation bench/recovery-load.sh USERS RATE RUN_SECONDS)
SITTING_START=$(date -u +%Y-%m-%dT%H:%MZ)
USERS=${USERS:-1000}
RATE=${RATE:-3000}
RUN_SECONDS=${RUN_SECONDS:-90}
OUT=${OUT:-/tmp/bench-recovery.jsonl}
SERVER=$ROOT/target/release/chat-server
LOADGEN=$ROOT/target/release/chat-loadgen
cargo build --release -p chat-server -p chat-loadgen >&2
trap 'stop_pids "${STARTED[@]}"' EXIT

# metric PORT NAME: a gauge's value on the node at PORT.
metric() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name { print $2 }'
}

# run MODE WINDOW_FLAG...: one run on fresh nodes and a fresh Redis.
run() {
  local mode=$1 redis_port ports=() pids=() urls= n port line nodes=
  shift
  redis_port=$(free_port 6690)
  start_redis "$redis_port"
  for n in 1 2; do
    port=$(free_port $((4700 + n * 10)))
    "$SERVER" --port "$port" --host 127.0.0.1 --redis-url "redis://127.0.0.1:$redis_port" \
      --node-id "n$n" "$@" >/dev/null 2>&1 &
    pids+=("$!")
    STARTED+=("$!")
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do sleep 0.05; done
    ports+=("$port")
    urls+="${urls:+,}http://127.0.0.1:$port"
  done
  log "recovery $mode (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  local busy0 own0 start busy1 own1 end tool others
  busy0=$(machine_busy_ticks); own0=$(pids_ticks "${pids[@]}" "$REDIS_PID"); start=$(date +%s.%N)
  line=$("$LOADGEN" --urls "$urls" --pids "$(IFS=,; echo "${pids[*]}")" --users "$USERS" \
    --rate "$RATE" --seconds "$RUN_SECONDS") || line='{"failed":true}'
  busy1=$(machine_busy_ticks); own1=$(pids_ticks "${pids[@]}" "$REDIS_PID"); end=$(date +%s.%N)
  # The CPU the rest of the machine used meanwhile, in cores (as bench/compare.sh labels it):
  # well above 0.1, the run competed with other work and its CPU figures are disturbed.
  tool=$(grep -o '"loadgen_cpu_s":[0-9.]*' <<<"$line" | cut -d: -f2)
  others=$(awk -v b="$((busy1 - busy0))" -v o="$((own1 - own0))" -v t="${tool:-0}" -v s="$start" -v e="$end" \
    'BEGIN { x = ((b - o) / 100 - t) / (e - s); printf "%.2f", (x < 0 ? 0 : x) }')
  for n in 0 1; do
    local rss entries bytes
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pids[$n]}/status")
    entries=$(metric "${ports[$n]}" chat_recovery_log_entries)
    bytes=$(metric "${ports[$n]}" chat_recovery_log_frame_bytes)
    nodes+="${nodes:+,}$(awk -v rss="$rss" -v n="${entries:-0}" -v b="${bytes:-0}" \
      'BEGIN { printf "{\"rss_mib\":%.1f,\"log_entries\":%d,\"log_frame_mib\":%.1f}", rss / 1024, n, b / 1048576 }')"
  done
  line="{\"recovery\":\"$mode\",\"others_cores\":$others,\"per_node\":[$nodes],${line#\{}"
  echo "$line" | tee -a "$OUT"
  record_run recovery "$line" --label setup=cluster --label nodes=2 --label "recovery=$mode" --label redis=one
  stop_pids "${pids[@]}" "$REDIS_PID"
}

log "results also appended to $OUT; machine load now: $(cat /proc/loadavg)"
run on
run off --recovery-window-secs 0
