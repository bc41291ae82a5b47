#!/usr/bin/env bash
# Turns the JSON lines of one bench/compare.sh sitting into the Markdown tables of a sitting in
# bench/HISTORY.md: reference vs ours side by side with ratios (reference ÷ ours, so > 1 means
# ours is cheaper or faster), then our saturation runs, then the connect storm and idle runs.
# Usage: bench/table.sh [/tmp/bench-results.jsonl]
set -euo pipefail
FILE=${1:-/tmp/bench-results.jsonl}
node - "$FILE" <<'EOF'
const fs = require("node:fs");
const runs = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const key = (r) => `${r.setup}|${r.driver}|${r.users}|${r.rate}`;
const pairs = new Map();
const crowd = (r) => r.setup === "storm" || r.setup === "idle";
for (const r of runs) {
  if (r.failed || crowd(r)) continue;
  const k = key(r);
  if (!pairs.has(k)) pairs.set(k, {});
  const p = pairs.get(k);
  if (r.server === "reference" || r.acked === null || r.acked === undefined || r.driver === "probe") p[r.server] ??= r;
  else (p.alone ??= []).push(r);
}
const num = (x, d = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(d).replace(/\.0+$/, ""));
const ratio = (a, b) => (a && b ? (a / b).toFixed(1) + "×" : "–");
// A run a sweep did not reach (the other server saturated earlier, or later) shows as "–".
const get = (r, f) => (r ? f(r) : undefined);
const cell = (ref, ours, f, d = 1) => `${num(get(ref, f), d)} / ${num(get(ours, f), d)} (${ratio(get(ref, f), get(ours, f))})`;
const setupName = { single: "1 node, in-memory", cluster: "2 nodes + Redis" };

const sideBySide = [...pairs.values()].filter((p) => p.reference || p.ours);
if (sideBySide.length) {
  console.log("| setup | driver | users | offered msgs/s | delivered (ref / ours) | connect all, s | CPU per delivered msg, µs | latency p50, ms | latency p99, ms | latency p999, ms | RSS per connection, KiB | other work, cores |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const { reference: ref, ours } of sideBySide) {
    const any = ref ?? ours;
    const delivered = (r) => (r ? `${r.delivered}/${r.sent}` : "–");
    console.log(`| ${setupName[any.setup] ?? any.setup} | ${any.driver} | ${any.users} | ${any.rate} | ${delivered(ref)} / ${delivered(ours)} | ` +
      [cell(ref, ours, (r) => r.connect_wall_ms / 1000, 2), cell(ref, ours, (r) => r.server_cpu_us_per_msg, 0),
       cell(ref, ours, (r) => r.lat_p50_ms, 2), cell(ref, ours, (r) => r.lat_p99_ms, 1),
       cell(ref, ours, (r) => r.lat_p999_ms, 1), cell(ref, ours, (r) => r.server_rss_kib_per_conn, 1),
       `${num(get(ref, (r) => r.others_cores), 2)} / ${num(get(ours, (r) => r.others_cores), 2)}`].join(" | ") + " |");
  }
}

const alone = [...pairs.values()].flatMap((p) => p.alone ?? []);
if (alone.length) {
  console.log("\n| setup | users | offered msgs/s | achieved sent/s | delivered/s | lost | acked | latency p50 / p99 / p999 / max, ms | ack p50 / p99, ms | server CPU, s | CPU per msg, µs | load generator CPU, s | other work, cores |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of alone) {
    console.log(`| ${setupName[r.setup] ?? r.setup} | ${r.users} | ${r.rate} | ${r.sent_per_s} | ${r.delivered_per_s} | ${r.lost} | ${r.acked} | ` +
      `${num(r.lat_p50_ms, 2)} / ${num(r.lat_p99_ms, 1)} / ${num(r.lat_p999_ms, 1)} / ${num(r.lat_max_ms, 0)} | ${num(r.ack_p50_ms, 2)} / ${num(r.ack_p99_ms, 1)} | ` +
      `${r.server_cpu_s} | ${r.server_cpu_us_per_msg} | ${r.loadgen_cpu_s} | ${num(r.others_cores, 2)} |`);
  }
}
// Connect storm and idle memory: one line per server, errors summed by kind.
const crowds = runs.filter((r) => !r.failed && crowd(r));
if (crowds.length) {
  console.log("\n| run | server | users | connected | connect all, s | connect p50 / p99, s | RSS per connection after connecting / at the end, KiB | server RSS at the end, MiB | server CPU while idle, s | errors | other work, cores |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of crowds) {
    const errors = Object.entries(r.errors ?? {}).map(([kind, n]) => `${n} ${kind}`).join("; ") || "none";
    console.log(`| ${r.setup} | ${r.server} | ${r.users} | ${r.connected} | ${num(r.connect_wall_ms / 1000, 1)} | ` +
      `${num(r.connect_p50_ms / 1000, 1)} / ${num(r.connect_p99_ms / 1000, 1)} | ${num(r.server_rss_kib_per_conn, 1)} / ${num(r.server_rss_end_kib_per_conn, 1)} | ` +
      `${r.server_rss_mib} | ${r.server_cpu_s} | ${errors} | ${num(r.others_cores, 2)} |`);
  }
}
EOF
