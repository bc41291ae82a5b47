// Hostile events: the payloads that kill the reference design's Node process are refused with
// an error, counted, never forwarded, and the node keeps serving everyone.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, expectNoEvent, once } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";
import { errorCount, errorCountReaches } from "../lib/signals.mjs";

const WS = { transports: ["websocket"] };

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
    await errorCountReaches(server.url, "message_invalid_payload", before + 2);
    // Both were refused by now; an acked message after them is handled after them too.
    assertAckOk(await sendPrivateMessage(attacker.socket, { content: "after", to: other.session.userID }));
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
    await errorCountReaches(server.url, "unknown_event", before + 2);
    // An acked event after them is handled after them: nothing more was counted meanwhile.
    assertAckOk(await sendPrivateMessage(user.socket, { content: "after", to: user.session.userID }));
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
    await errorCountReaches(server.url, "event_without_namespace", before + 1);
    // The refused event was handled before this marker (one connection, in order), which the
    // victim gets after anything the event could have delivered.
    ws.send(`42["private message",{"content":"marker","to":"${victim.session.userID}"}]`);
    assert.equal((await once(victim.socket, "private message"))[0].content, "marker");
    await expectNoEvent(victim.socket, "private message", 0);
    assert.equal(await errorCount(server.url, "event_without_namespace"), before + 1);
    ws.close();
  });
});
