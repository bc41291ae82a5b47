// A TCP proxy between one node and its Redis, to cut that node off (a network partition
// between it and Redis) while the rest of the cluster keeps talking to Redis directly.
// While cut, every connection through it is closed and new ones are closed at once.
import { createConnection, createServer } from "node:net";

/**
 * Proxies a free local port to 127.0.0.1:`targetPort`.
 * @returns {Promise<{url: string, cut: () => void, heal: () => void, close: () => Promise<void>}>}
 */
export async function startTcpProxy(targetPort) {
  const pairs = new Set();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = createConnection(targetPort, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Closes every proxied connection and refuses new ones until heal(). */
    cut() {
      cut = true;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    heal() {
      cut = false;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
