# Sourced by the bench scripts: the processes a script starts, stopped by pid (never by name),
# free ports, and CPU time read from /proc.

# Processes this script started; the caller's EXIT trap stops them with stop_pids.
STARTED=()
stop_pids() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Prints a free port at or above $1 (never 3000 or 6379: the lead's dev server and the
# machine's Redis).
free_port() {
  local port=$1
  while port_in_use "$port" || [ "$port" = 3000 ] || [ "$port" = 6379 ]; do port=$((port + 1)); done
  echo "$port"
}

# Whether an Engine.IO polling handshake answers on port $1 (our server and the reference both
# serve one at /socket.io/).
engine_io_answers() {
  curl -fsS -o /dev/null "http://127.0.0.1:$1/socket.io/?EIO=4&transport=polling" 2>/dev/null
}

# Starts a throwaway redis-server (nothing persisted) on port $1, adds it to STARTED, sets
# REDIS_PID, and waits up to 5 s for it to answer PING.
start_redis() {
  redis-server --port "$1" --save "" --appendonly no --loglevel warning >/dev/null &
  REDIS_PID=$!
  STARTED+=("$REDIS_PID")
  for _ in $(seq 1 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# CPU time in clock ticks (USER_HZ, 100 per second): busy time of the whole machine (all
# cores), and utime + stime of the given pids.
machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
pids_ticks() {
  local pid sum=0 ticks
  for pid in "$@"; do
    ticks=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
    sum=$((sum + ${ticks:-0}))
  done
  echo "$sum"
}

# record_run BENCHMARK LINE [--label KEY=VALUE ...]: appends a run's JSON line to
# bench/results/BENCHMARK.jsonl in the common format of bench/record.py (which BENCHMARKS.md's
# table and plots are drawn from by bench/plot.py), with the caller's $INVOCATION as its
# command and $SITTING_START as its sitting (unless $SITTING names one). Needs python3.
# RECORD=0 records nothing (a trial run); RESULTS_DIR writes elsewhere.
record_run() {
  local benchmark=$1 line=$2
  shift 2
  [ "${RECORD:-1}" = 0 ] && return 0
  if ! command -v python3 >/dev/null; then
    echo "# python3 not found: run not recorded in bench/results" >&2
    return 0
  fi
  python3 "$ROOT/bench/record.py" "$benchmark" --command "${INVOCATION:-}" \
    --label "sitting=${SITTING_START:-}" "$@" <<<"$line" >/dev/null ||
    echo "# recording the run in bench/results failed" >&2
}

# invocation SCRIPT KNOB...: the command line that reruns this script with the knobs the caller
# set (call it before giving the knobs their defaults).
invocation() {
  local script=$1 knob out=
  shift
  for knob in "$@"; do
    if [ -n "${!knob+x}" ]; then out+="$knob=\"${!knob}\" "; fi
  done
  echo "$out$script"
}

# log MESSAGE...: a progress line on stderr (stdout carries the JSON lines).
log() { echo "# $*" >&2; }
