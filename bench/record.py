#!/usr/bin/env python3
"""Appends benchmark runs to bench/results/<benchmark>.jsonl, one JSON object per run, in the
common format that bench/plot.py reads (Python standard library only).

The JSON line a tool prints (chat-loadgen, ../shared/bench/probe.mjs, or a labelled line of
bench/compare.sh, bench/cluster.sh, bench/rooms.sh) becomes:

  {"date": "2026-12-04T18:40Z", "build": "269aa3a", "sitting": "...", "benchmark": "compare",
   "server": "ours"|"reference"|"floor", "setup": "single"|"cluster"|"idle"|..., "nodes": 1,
   "users": 1000, "rate": 10000, "driver": "loadgen"|"probe", "workers": "cpus"|"1"|"node",
   "cpu_us_per_msg": 47, "p50_ms": .., "p99_ms": .., "p999_ms": .., "rss_kib_per_conn": ..,
   "lost": 0, "sent": .., "delivered": .., "others_cores": .., "command": "...", "raw": {...}}

`rss_kib_per_conn` is the servers' RSS growth per user right after everyone connected, except
in idle runs (setup "idle"), where it is the growth at the end of the run (what an idle user
settles at; chat-loadgen's `server_rss_end_kib_per_conn`, kept as `rss_end_kib_per_conn`). `sitting` groups the runs whose
figures may be compared with each other (same machine, same minutes): $SITTING if set, else
what the calling script passes (its start time), else the run's own date. `raw` is the tool's
line as printed.

Usage:
  bench/record.py BENCHMARK [--label KEY=VALUE ...] [--command CMD] < lines
      each JSON line on stdin is recorded (and echoed to stdout unchanged)
  bench/record.py BENCHMARK [--label KEY=VALUE ...] -- TOOL ARGS...
      runs TOOL (e.g. target/release/chat-loadgen ... or node probe.mjs ...), records the JSON
      line it prints, and prints it; TOOL's stderr passes through
Labels override what is read from the line (server=reference, setup=idle, nodes=2, ...).
Environment: RESULTS_DIR (default bench/results beside this script), SITTING, BUILD (default:
`git rev-parse --short HEAD`, with "-dirty" when tracked files differ from it).
"""

import datetime
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Fields of the tool's line copied under the common names.
COPIED = {
    "users": "users",
    "lost": "lost",
    "sent": "sent",
    "delivered": "delivered",
    "connected": "connected",
    "others_cores": "others_cores",
    "tool_cores": "tool_cores",
    "server_cpu_us_per_msg": "cpu_us_per_msg",
    "lat_p50_ms": "p50_ms",
    "lat_p99_ms": "p99_ms",
    "lat_p999_ms": "p999_ms",
    "connect_wall_ms": "connect_all_ms",
    # bench/drain.mjs
    "all_back_s": "all_back_s",
    "survivor_cpu_ms_per_user": "survivor_cpu_ms_per_user",
    "presence_events_per_client_mean": "presence_events_per_client",
}
# Labels of the scripts kept as they are.
KEPT = ("mode", "ending", "user_nodes", "run", "redis_out_bytes_per_msg", "redis_cpu_s", "redis_cpu_s_whole_run")


def build_id():
    if os.environ.get("BUILD"):
        return os.environ["BUILD"]
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=7", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        # The results themselves are not the build: a sitting appending to them stays clean.
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":(exclude)bench/results"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def number(x):
    """2000.0 -> 2000; strings of digits -> int; anything else unchanged."""
    if isinstance(x, float) and x.is_integer():
        return int(x)
    if isinstance(x, str) and x.isdigit():
        return int(x)
    return x


def normalise(raw, labels, benchmark, command, date, build):
    """The common record of one tool line `raw` (a dict) with the given labels (strings)."""
    labels = dict(labels)
    out = {"date": date, "build": build}
    label_sitting = labels.pop("sitting", None)
    out["sitting"] = os.environ.get("SITTING") or label_sitting or raw.get("sitting") or date
    out["benchmark"] = benchmark
    out["server"] = labels.pop("server", None) or raw.get("server") or "ours"
    nodes = number(labels.pop("nodes", None) or raw.get("nodes") or raw.get("urls") or 1)
    out["nodes"] = nodes
    out["setup"] = labels.pop("setup", None) or raw.get("setup") or ("single" if nodes == 1 else "cluster")
    out["users"] = number(raw.get("users"))
    out["rate"] = number(raw.get("rate"))
    out["driver"] = raw.get("driver") or ("loadgen" if raw.get("tool") == "chat-loadgen" else "probe")
    out["workers"] = str(raw.get("workers", "cpus"))
    for src, dst in COPIED.items():
        if src in raw and dst not in out:
            out[dst] = number(raw[src])
    connected = raw.get("server_rss_kib_per_conn")
    end = raw.get("server_rss_end_kib_per_conn")
    out["rss_kib_per_conn"] = end if end is not None and out["setup"] == "idle" else connected
    if end is not None:
        out["rss_end_kib_per_conn"] = end
    for key in KEPT:
        if key in raw:
            out[key] = raw[key]
    # bench/recovery-load.sh: each node's RSS and recovery log at the end, averaged.
    per_node = raw.get("per_node")
    if isinstance(per_node, list) and per_node:
        for src, dst in (("rss_mib", "rss_mib_per_node"), ("log_frame_mib", "log_frame_mib_per_node")):
            values = [n[src] for n in per_node if isinstance(n.get(src), (int, float))]
            if values:
                out[dst] = round(sum(values) / len(values), 1)
    if raw.get("errors"):
        out["errors"] = raw["errors"]
    if raw.get("failed"):
        out["failed"] = True
    for key, value in labels.items():
        out[key] = number(value)
    out["command"] = command
    out["raw"] = raw
    return out


def append(benchmark, record):
    directory = os.environ.get("RESULTS_DIR") or os.path.join(HERE, "results")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, benchmark + ".jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    benchmark, rest = argv[0], argv[1:]
    labels, command, tool = {}, None, None
    while rest:
        arg = rest.pop(0)
        if arg == "--label":
            key, _, value = rest.pop(0).partition("=")
            labels[key] = value
        elif arg == "--command":
            command = rest.pop(0)
        elif arg == "--":
            tool = rest
            break
        else:
            print(f"record.py: unknown argument {arg!r}", file=sys.stderr)
            return 2
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    build = build_id()
    status = 0
    if tool is not None:
        done = subprocess.run(tool, stdout=subprocess.PIPE, text=True)
        lines = done.stdout.splitlines()
        status = done.returncode
        command = command or shlex.join(tool)
    else:
        lines = sys.stdin
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            if line:
                print(line)
            continue
        print(line, flush=True)
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        append(benchmark, normalise(raw, labels, benchmark, command or "", date, build))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
