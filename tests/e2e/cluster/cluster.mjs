// Helpers of the cluster tests (SPEC §4): chat-server nodes sharing one private Redis, and
// waiting for events about one particular user among everything a cluster broadcasts.
import { after, afterEach, before } from "node:test";
import { Redis } from "ioredis";
import { disconnectAll, once } from "../lib/client.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startServer } from "../lib/server.mjs";

/**
 * Starts a Redis-backed chat-server node.
 * @param {{url: string}} redis
 * @param {string} nodeId
 * @param {{args?: string[], port?: number}} [options]
 */
export function startNode(redis, nodeId, { args = [], port } = {}) {
  return startServer({
    port,
    args: ["--redis-url", redis.url, "--node-id", nodeId, "--drain-timeout-secs", "2", ...args],
    env: { REDIS_URL: redis.url },
  });
}

/**
 * Starts a chat-server node on a Redis Cluster (lib/redis-cluster.mjs).
 * @param {{urls: string[]}} redis
 * @param {string} nodeId
 */
export function startClusterNode(redis, nodeId, { args = [], port } = {}) {
  return startServer({
    port,
    args: ["--redis-cluster-urls", redis.urls.join(","), "--node-id", nodeId, "--drain-timeout-secs", "2", ...args],
  });
}

/** The value of one `chat_errors_total` counter of `node` (0 when never counted). */
export async function errorCount(node, kind) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const match = text.match(new RegExp(`chat_errors_total\\{kind="${kind}"\\} (\\d+)`));
  return match ? Number(match[1]) : 0;
}

/**
 * The lifecycle of a cluster test file: a private Redis and `count` nodes started before the
 * tests (node ids n1, n2, ...), sockets closed after each test, everything stopped at the end.
 * Returns a handle whose `redis`, `nodes` and `client` (an ioredis client) are set once started.
 * @param {{args?: string[]}} [options] extra flags of every node
 */
export function useCluster(count = 2, { args = [] } = {}) {
  const cluster = { redis: null, nodes: [], client: null };
  before(async () => {
    cluster.redis = await startRedis();
    for (let i = 1; i <= count; i++) cluster.nodes.push(await startNode(cluster.redis, `n${i}`, { args }));
    cluster.client = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await cluster.client.connect();
  });
  afterEach(() => disconnectAll());
  after(async () => {
    cluster.client?.disconnect();
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await cluster.redis?.stop();
  });
  return cluster;
}

/** The next `event` on `socket` whose first argument satisfies `matches` (others are skipped). */
export async function nextEventWhere(socket, event, matches, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`no matching "${event}" within ${timeoutMs} ms`);
    const [payload] = await once(socket, event, remaining);
    if (matches(payload)) return payload;
  }
}

/** The `user disconnected` about `userID`. */
export function disconnectOf(socket, userID, timeoutMs) {
  return nextEventWhere(socket, "user disconnected", (id) => id === userID, timeoutMs);
}

/**
 * Waits until `user disconnected` arrived for every id of `userIDs` (in any order, other
 * users' announcements skipped); resolves with the ids in arrival order.
 */
export async function disconnectsOf(socket, userIDs, timeoutMs = 5000) {
  const wanted = new Set(userIDs);
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  while (seen.length < wanted.size) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`user disconnected only for ${JSON.stringify(seen)} of ${JSON.stringify(userIDs)} within ${timeoutMs} ms`);
    }
    const [id] = await once(socket, "user disconnected", remaining);
    if (wanted.has(id) && !seen.includes(id)) seen.push(id);
  }
  return seen;
}

/** The `user connected` about `userID`. */
export function connectOf(socket, userID, timeoutMs) {
  return nextEventWhere(socket, "user connected", (user) => user?.userID === userID, timeoutMs);
}

/** Resolves once `probe()` is truthy (polling every 50 ms); rejects after `timeoutMs`. */
export async function eventually(what, probe, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET /health as JSON (whatever the status code). */
export async function health(node) {
  const res = await fetch(`${node.url}/health`);
  return { status: res.status, body: await res.json() };
}
