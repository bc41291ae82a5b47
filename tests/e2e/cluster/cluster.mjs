// Helpers of the cluster tests (SPEC §4): chat-server nodes sharing one private Redis (or a
// Redis Cluster). Waiting for events about one user is in lib/chat.mjs, for metrics and
// health in lib/signals.mjs.
import { after, afterEach, before } from "node:test";
import { Redis } from "ioredis";
import { disconnectAll } from "../lib/client.mjs";
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
