// A client that stops reading is closed once its bounded outbound queue fills, instead of
// being buffered without limit; everyone else keeps chatting, and keeps receiving.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";
import { readFileSync } from "node:fs";
import { clientFrame, Op, openTcpWebSocket } from "../lib/tcp-websocket.mjs";

const WS = { transports: ["websocket"] };
const SMALL = 163_840;
/** A second server's bound, this much larger: the stalled client must take that much more. */
const EXTRA = 2 * 1024 * 1024;
const CONTENT = "x".repeat(10_000);
const MIB = 1024 * 1024;

function rssBytes(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)[1]) * 1024;
}

async function slowConsumers(url) {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(metrics.match(/chat_errors_total\{kind="slow_consumer"\} (\d+)/)?.[1] ?? 0);
}

/** A chat user over a raw WebSocket that stops reading its socket; resolves with its userID. */
async function stalledUser(url) {
  const { ws } = await wsHandshake(url);
  ws.send('40{"username":"sleepy"}');
  const session = JSON.parse((await ws.nextText('42["session"')).slice(2))[1];
  await ws.nextText('42["users"');
  // Stop reading from the TCP socket: the kernel buffers fill, then the server's queue.
  ws.ws._socket.pause();
  return { ws, userID: session.userID };
}

/**
 * Floods `to` from `sender` with 10 000-character messages until the server counts a slow
 * consumer; resolves with the bytes of content routed to it before (acked ok), in steps of
 * 100 000.
 */
async function floodUntilClosed(url, sender, to) {
  const before = await slowConsumers(url);
  const deadline = Date.now() + 20_000;
  let routed = 0;
  while (Date.now() < deadline) {
    // Batches of 10: the sender's own acks must fit its (deliberately tiny) queue.
    const acks = await Promise.all(
      Array.from({ length: 10 }, () => sendPrivateMessage(sender.socket, { content: CONTENT, to })),
    );
    if ((await slowConsumers(url)) > before) return routed;
    routed += acks.filter((ack) => ack?.ok).length * CONTENT.length;
  }
  assert.fail(`the stalled client was never closed as a slow consumer (${routed} bytes routed to it)`);
}

describe("slow consumers", () => {
  const servers = {};
  before(async () => {
    for (const [name, bound] of [["small", SMALL], ["large", SMALL + EXTRA]]) {
      servers[name] = await startServer({
        args: ["--outbound-buffer-bytes", String(bound), "--message-rate", "10000", "--message-burst", "10000"],
      });
    }
  });
  after(async () => {
    disconnectAll();
    for (const server of Object.values(servers)) await server.stop();
  });

  it("closes a client that stops reading, and only that client; the others keep receiving", async () => {
    const { url } = servers.small;
    const stalled = await stalledUser(url);
    const sender = await connectUser(url, WS);
    const bystander = await connectUser(url, WS);
    const listener = await connectUser(url, WS);

    // Meanwhile another conversation goes on, every message of it checked on arrival.
    let said = 0;
    let until = Infinity;
    const conversation = (async () => {
      while (said < until) {
        const content = `bystander #${said}`;
        assertAckOk(await sendPrivateMessage(bystander.socket, { content, to: listener.session.userID }));
        const [message] = await once(listener.socket, "private message");
        assert.equal(message.content, content, "the bystander's messages arrive, in order");
        said++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const routed = await floodUntilClosed(url, sender, stalled.userID);
    assert.ok(routed >= SMALL, `closed after only ${routed} bytes were routed to it`);
    assert.ok(said > 0, "the conversation went on while the stalled client was flooded");
    until = said + 20;
    await conversation; // and after the closure

    const health = await (await fetch(`${url}/health`)).json();
    assert.equal(health.connections, 3, "only the stalled session should be gone");
    assertAckOk(await sendPrivateMessage(bystander.socket, { content: "hello", to: sender.session.userID }));
    assert.equal((await once(sender.socket, "private message"))[0].content, "hello");
    stalled.ws.close();
  });

  it("the closure comes at --outbound-buffer-bytes: a larger bound takes that much more", async () => {
    // What the kernel's socket buffers take before the server's queue fills is the same on
    // both servers; the difference is the server's bound.
    const routed = {};
    for (const name of ["small", "large"]) {
      const { url } = servers[name];
      const stalled = await stalledUser(url);
      const sender = await connectUser(url, WS);
      routed[name] = await floodUntilClosed(url, sender, stalled.userID);
      stalled.ws.close();
    }
    const more = routed.large - routed.small;
    assert.ok(
      Math.abs(more - EXTRA) <= EXTRA / 4,
      `a bound ${EXTRA} bytes larger took ${more} more (${routed.small} vs ${routed.large} routed before the closure)`,
    );
  });

  it("a client that pings and never reads holds one pong in the server, not one per ping", async () => {
    // Pongs go ahead of the queue and are not refused for the bound (they are tiny, and a
    // reading client must get them): so a client that floods pings without reading must not
    // make its queue grow one pong per ping past --outbound-buffer-bytes.
    const server = servers.small;
    const client = await openTcpWebSocket(server.url);
    await client.nextText("0");
    await client.sendText('40{"username":"pinger"}');
    await client.nextText('42["users"');
    client.socket.pause();
    const before = rssBytes(server.proc.pid);
    const ping = clientFrame(Op.PING, Buffer.alloc(125, 7));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    for (let i = 0; i < 300; i++) await client.write(batch); // 39 MB of pings
    await new Promise((r) => setTimeout(r, 500)); // read and answered by now
    const grown = rssBytes(server.proc.pid) - before;
    assert.ok(grown < 8 * MIB, `the server grew by ${(grown / MIB).toFixed(1)} MiB answering pings nobody read`);
    // Still a working session once it reads again.
    client.socket.resume();
    await client.sendText('421["private message",{"content":"done pinging","to":"nobody"}]');
    await client.nextText("431", 10_000);
    client.destroy();
  });
});
