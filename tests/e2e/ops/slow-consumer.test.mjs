// A client that stops reading is closed once its bounded outbound queue fills, instead of
// being buffered without limit; everyone else keeps chatting.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";

describe("slow consumers", () => {
  let server;
  before(async () => {
    server = await startServer({
      args: ["--outbound-buffer-bytes", "163840", "--message-rate", "10000", "--message-burst", "10000"],
    });
  });
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it("closes a client that stops reading, and only that client", async () => {
    const { ws } = await wsHandshake(server.url);
    ws.send('40{"username":"sleepy"}');
    const session = JSON.parse((await ws.nextText('42["session"')).slice(2))[1];
    await ws.nextText('42["users"');
    // Stop reading from the TCP socket: the kernel buffers fill, then the server's queue.
    ws.ws._socket.pause();

    const sender = await connectUser(server.url, { transports: ["websocket"] });
    const bystander = await connectUser(server.url, { transports: ["websocket"] });
    const content = "x".repeat(10_000);
    const deadline = Date.now() + 20_000;
    let closed = false;
    while (!closed && Date.now() < deadline) {
      // Batches of 10: the sender's own acks must fit its (deliberately tiny) queue.
      await Promise.all(
        Array.from({ length: 10 }, () => sendPrivateMessage(sender.socket, { content, to: session.userID })),
      );
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      closed = /chat_errors_total\{kind="slow_consumer"\} [1-9]/.test(metrics);
      
    }
    assert.ok(closed, "the stalled client was never closed as a slow consumer");
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.connections, 2, "only the stalled session should be gone");
    assertAckOk(await sendPrivateMessage(bystander.socket, { content: "hello", to: sender.session.userID }));
    ws.close();
  });
});
