// SIGTERM drains (SPEC §5): the node stops accepting, closes every session cleanly so clients
// reconnect (elsewhere behind the load balancer), and exits 0.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser } from "../lib/chat.mjs";
import { eventually } from "../lib/signals.mjs";

describe("SIGTERM drain", () => {
  after(() => disconnectAll());

  it("closes sessions with a reconnectable reason and exits 0", async () => {
    const server = await startServer({ args: ["--drain-timeout-secs", "5"] });
    const ws = await connectUser(server.url, { transports: ["websocket"] });
    const polling = await connectUser(server.url, { transports: ["polling"] });
    const wsClosed = once(ws.socket, "disconnect", 5000);
    const pollingClosed = once(polling.socket, "disconnect", 5000);
    const started = Date.now();
    const exit = await server.stop();
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${server.stderr()}`);
    assert.ok(Date.now() - started < 5000, "drain took longer than its timeout");
    // "transport close" (not "io server disconnect") is the reason after which
    // socket.io-client reconnects by itself.
    const [wsReason] = await wsClosed;
    const [pollingReason] = await pollingClosed;
    assert.equal(wsReason, "transport close");
    assert.ok(["transport close", "transport error"].includes(pollingReason), pollingReason);
    await assert.rejects(fetch(`${server.url}/health`), "the node still accepts connections");
  });
});

describe("health while draining", () => {
  after(() => disconnectAll());

  it("answers 503 draining and refuses new sessions until the node exits", async () => {
    const server = await startServer({ args: ["--drain-timeout-secs", "3"] });
    // The drain ends with a short flush pause (close frames, store writes): long enough to
    // look at the node while it drains.
    const handshake = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(handshake.status, 200);
    const stopped = server.stop();
    const seen = await eventually(
      "/health answering 503 while draining",
      async () => {
        const res = await fetch(`${server.url}/health`).catch(() => undefined);
        return res?.status === 503 && (await res.json());
      },
      1000,
    );
    assert.equal(seen.status, "draining");
    const refused = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(refused.status, 503);
    assert.deepEqual(await refused.json(), { code: 3, message: "Server draining" });
    assert.equal((await stopped).code, 0);
  });
});
