// Hostile frames: invalid UTF-8, invalid ack ids, placeholders that point nowhere, attachments
// that never arrive. Each closes only the offending session.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake, pollingHandshake, pollPost, expectPollingSessionClosed } from "../lib/engineio.mjs";

const WS = { transports: ["websocket"] };

describe("hostile frames", () => {
  let server;
  let bystander;
  before(async () => {
    // Short heartbeats so that a missing attachment is given up on quickly.
    server = await startServer({ args: ["--ping-interval-ms", "300", "--ping-timeout-ms", "300"] });
    bystander = await connectUser(server.url, WS);
  });
  after(async () => {
    assertAckOk(await sendPrivateMessage(bystander.socket, { content: "unharmed", to: bystander.session.userID }));
    disconnectAll();
    await server?.stop();
  });

  async function connected() {
    const { ws } = await wsHandshake(server.url);
    ws.send('40{"username":"fuzzer"}');
    await ws.nextText('42["users"');
    return ws;
  }

  it("a WebSocket text frame with invalid UTF-8 closes the session", async () => {
    const ws = await connected();
    ws.ws.send(Buffer.from([0x34, 0x32, 0xff, 0xfe, 0x5b, 0x5d]), { binary: false });
    await ws.expectClosed(2000);
  });

  it("a polling body with invalid UTF-8 is refused and closes the session", async () => {
    const { sid } = await pollingHandshake(server.url);
    const res = await pollPost(server.url, sid, Buffer.from([0x34, 0x30, 0xc3, 0x28]));
    assert.equal(res.status, 400);
    await expectPollingSessionClosed(server.url, sid);
  });

  for (const packet of ['4212345678901234567890123["private message",{}]', '42-1["x"]', '43abc[]', "43", '42/,["x"]x']) {
    it(`an invalid ack id or packet ${JSON.stringify(packet)} closes the session`, async () => {
      const ws = await connected();
      ws.send(packet);
      await ws.expectClosed(2000);
    });
  }

  it("a binary placeholder pointing past its attachments closes the session", async () => {
    const ws = await connected();
    ws.send('451-["private message",{"_placeholder":true,"num":3}]');
    await ws.expectClosed(2000);
  });

  it("attachments announced but never sent: the session is closed", async () => {
    const ws = await connected();
    ws.send('452-["private message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    ws.ws.send(Buffer.from([1, 2, 3]));
    const { at } = await ws.expectClosed(3000);
    assert.ok(at - ws.openedAt >= 500, "closed before the client had a fair chance to send");
  });
});
