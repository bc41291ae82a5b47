// A Node.js socket.io node for mixed clusters: the reference design's server
// (fixtures/reference-server.mjs, unmodified) with socket.io-redis 6 ("v6") or
// @socket.io/redis-adapter 8 ("v8"), on a free port, sharing our Redis.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { acceptsConnections, freePort } from "../lib/server.mjs";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Starts the Node reference server on a free port; resolves once it accepts connections. */
export function startReference(redisUrl, adapter) {
  return startFixture("reference-server.mjs", { REDIS_URL: redisUrl, ADAPTER: adapter });
}

/**
 * The reference server with the Admin UI's server side (`instrument()`), on
 * @socket.io/redis-adapter 8; `adminHash` is the bcrypt hash of the admin password.
 */
export function startAdminReference(redisUrl, adminHash, serverId = "node-reference") {
  return startFixture("admin-reference-server.mjs", {
    REDIS_URL: redisUrl,
    ADAPTER: "v8",
    ADMIN_HASH: adminHash,
    ADMIN_SERVER_ID: serverId,
  });
}

/**
 * The reference server on a Redis Cluster with createShardedAdapter (dynamic mode).
 * @param {string[]} clusterUrls seed nodes
 */
export function startShardedReference(clusterUrls) {
  return startFixture("sharded-reference-server.mjs", { REDIS_CLUSTER_URLS: clusterUrls.join(",") });
}

function startFixture(script, env) {
  return startNodeServer(join(FIXTURES, script), env);
}

/**
 * A Node.js server script (PORT set to a free port, plus `env`); resolves once it accepts
 * connections. bench/drain.mjs starts the benchmark kit's reference server with it.
 */
export async function startNodeServer(scriptPath, env) {
  const port = await freePort();
  const proc = spawn(process.execPath, [scriptPath], {
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout.setEncoding("utf8").on("data", (c) => (output += c));
  proc.stderr.setEncoding("utf8").on("data", (c) => (output += c));
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => (exitInfo = info));
  const killOnExit = () => proc.kill("SIGKILL");
  process.on("exit", killOnExit);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await acceptsConnections(port)) break;
    if (exitInfo || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`reference server did not start (${JSON.stringify(exitInfo)}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const signal = async (name) => {
    process.off("exit", killOnExit);
    if (!exitInfo) proc.kill(name);
    return exited;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    output: () => output,
    /** Whether it is still running: a Node node crashes on payloads its adapter cannot read. */
    alive: () => exitInfo === null,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
}
