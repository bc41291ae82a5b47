// chat-server's command line (SPEC §5): --help lists every option with its default, bad
// values stop the server with exit status 2, and settings layer file < environment < flag.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverBinary, startServer } from "../lib/server.mjs";

const OPTIONS = [
  "--port", "--host", "--redis-url", "--node-id", "--channel-prefix", "--ping-interval-ms",
  "--ping-timeout-ms", "--max-payload", "--connect-timeout-ms", "--upgrade-timeout-ms",
  "--cors-origins", "--static-dir", "--session-ttl-secs", "--message-ttl-secs",
  "--history-limit", "--conformance", "--config", "--drain-timeout-secs",
];

function run(args, env = {}) {
  return spawnSync(serverBinary(), args, { env: { ...process.env, ...env }, encoding: "utf8", timeout: 10_000 });
}

describe("chat-server command line", () => {
  const dir = mkdtempSync(join(tmpdir(), "chat-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--help lists every option with its default", () => {
    const { status, stdout } = run(["--help"]);
    assert.equal(status, 0);
    for (const option of OPTIONS) assert.ok(stdout.includes(option), `--help lacks ${option}`);
    assert.match(stdout, /\[default: 3000\]/);
    assert.match(stdout, /\[default: 25000\]/);
    assert.match(stdout, /\[default: socket\.io\]/);
  });

  for (const [what, args, env, reason] of [
    ["a non-numeric port", ["--port", "abc"], {}, /port/],
    ["a zero max payload", ["--max-payload", "0"], {}, /max-payload/],
    ["a zero ping interval from the environment", [], { CHAT_PING_INTERVAL_MS: "0" }, /ping-interval/],
    ["a non-redis URL", ["--redis-url", "http://localhost"], {}, /redis-url/],
    ["an unknown conformance variant", ["--conformance", "xmpp"], {}, /conformance/],
  ]) {
    it(`exits with status 2 on ${what}`, () => {
      const result = run([...args, "--config", "/dev/null"], env);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, reason);
    });
  }

  it("exits with status 2 on an unknown key in the config file", () => {
    const file = join(dir, "typo.toml");
    writeFileSync(file, "prot = 3000\n");
    const result = run(["--config", file]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /prot/);
  });

  it("layers the config file, then the environment, then flags", async () => {
    const file = join(dir, "layers.toml");
    writeFileSync(file, 'node_id = "from-file"\nchannel_prefix = "file-prefix"\n');
    const fromFile = await startServer({ args: ["--config", file] });
    try {
      assert.equal((await (await fetch(`${fromFile.url}/health`)).json()).node, "from-file");
    } finally {
      await fromFile.stop();
    }
    const fromEnv = await startServer({ args: ["--config", file], env: { CHAT_NODE_ID: "from-env" } });
    try {
      assert.equal((await (await fetch(`${fromEnv.url}/health`)).json()).node, "from-env");
    } finally {
      await fromEnv.stop();
    }
    const fromFlag = await startServer({
      args: ["--config", file, "--node-id", "from-flag"],
      env: { CHAT_NODE_ID: "from-env" },
    });
    try {
      assert.equal((await (await fetch(`${fromFlag.url}/health`)).json()).node, "from-flag");
    } finally {
      await fromFlag.stop();
    }
  });
});
