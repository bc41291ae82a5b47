// chat-loadgen works end to end: a short run against a real node delivers every message and
// prints one JSON line with the probe's fields. (A smoke test, not a benchmark: no timing is
// asserted.)
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT, startServer } from "../lib/server.mjs";

const run = promisify(execFile);
const LOADGEN = process.env.CHAT_LOADGEN_BIN ?? join(REPO_ROOT, "target/debug/chat-loadgen");

describe("chat-loadgen", () => {
  let server;
  before(async () => (server = await startServer()));
  after(async () => server?.stop());

  it("delivers and acknowledges every message of a short run and reports it as one JSON line", async () => {
    const { stdout } = await run(LOADGEN, [
      "--urls", server.url, "--users", "20", "--rate", "200", "--seconds", "2",
      "--pids", String(server.proc.pid),
    ], { timeout: 60_000 });
    const lines = stdout.trim().split("\n");
    assert.equal(lines.length, 1, stdout);
    const report = JSON.parse(lines[0]);
    assert.equal(report.users, 20);
    assert.equal(report.sent, 400);
    assert.equal(report.delivered, 400);
    assert.equal(report.lost, 0);
    assert.equal(report.acked, 400);
    for (const field of ["connect_wall_ms", "lat_p50_ms", "lat_p99_ms", "lat_p999_ms", "lat_max_ms", "server_cpu_us_per_msg", "server_rss_kib_per_conn", "delivered_per_s"]) {
      assert.equal(typeof report[field], "number", `${field} in ${lines[0]}`);
    }
  });
});
