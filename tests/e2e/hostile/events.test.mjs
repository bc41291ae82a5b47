// Hostile events: the payloads that kill the reference design's Node process are refused with
// an error, counted, never forwarded, and the node keeps serving everyone.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, expectNoEvent, sleep } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";

const WS = { transports: ["websocket"] };

async function errorCount(url, kind) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.match(new RegExp(`chat_errors_total\\{kind="${kind}"\\} (\\d+)`));
  return match ? Number(match[1]) : 0;
}

describe("hostile events", () => {
  let server;
  before(async () => (server = await startServer()));
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it('emit("private message", null) without an ack is dropped; the node lives on', async () => {
    const attacker = await connectUser(server.url, WS);
    const other = await connectUser(server.url, WS);
    const before = await errorCount(server.url, "message_invalid_payload");
    attacker.socket.emit("private message", null);
    attacker.socket.emit("private message");
    await sleep(200);
    assert.equal(await errorCount(server.url, "message_invalid_payload"), before + 2);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.ok(attacker.socket.connected && other.socket.connected);
    assertAckOk(await sendPrivateMessage(other.socket, { content: "alive", to: attacker.session.userID }));
  });

  it("unknown events are ignored and counted, the socket stays connected", async () => {
    const user = await connectUser(server.url, WS);
    const before = await errorCount(server.url, "unknown_event");
    user.socket.emit("drop table users", { x: 1 });
    user.socket.emit("session", { sessionID: "forged" });
    await sleep(200);
    assert.equal(await errorCount(server.url, "unknown_event"), before + 2);
    assert.ok(user.socket.connected);
  });

  it("events on a namespace the socket has not joined are rejected", async () => {
    const victim = await connectUser(server.url, WS);
    const { ws } = await wsHandshake(server.url);
    ws.send('40{"username":"intruder"}');
    await ws.nextText('42["users"');
    const before = await errorCount(server.url, "event_without_namespace");
    ws.send(`42/admin,["private message",{"content":"psst","to":"${victim.session.userID}"}]`);
    await expectNoEvent(victim.socket, "private message", 500);
    assert.equal(await errorCount(server.url, "event_without_namespace"), before + 1);
    ws.close();
  });
});
