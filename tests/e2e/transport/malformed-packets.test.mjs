// SPEC §1: a malformed packet closes that session; no other session is affected.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, emitWithAckArgs } from "../lib/client.mjs";
import { expectPollingSessionClosed, pollingHandshake, pollPost, wsHandshake } from "../lib/engineio.mjs";
import { startServer } from "../lib/server.mjs";

/** Engine.IO-level garbage: unknown packet types and an empty frame. */
const BAD_ENGINE_PACKETS = ["9junk", "xyz", ""];
/** Socket.IO-level garbage inside a well-formed Engine.IO message packet. */
const BAD_SOCKETIO_PACKETS = ['42["message"', "49", '42{"not":"an array"}', "4X"];

describe("malformed packets (socket.io conformance server)", () => {
  let server;
  let bystander;
  const raws = [];
  before(async () => {
    server = await startServer({ args: ["--conformance", "socketio"] });
  });
  afterEach(async () => {
    // The bystander connected before the bad packet must still work afterwards.
    if (bystander) assert.deepEqual(await emitWithAckArgs(bystander, "message-with-ack", ["alive"]), ["alive"]);
    bystander = undefined;
    disconnectAll();
    for (const ws of raws.splice(0)) ws.close();
  });
  after(() => server?.stop());

  for (const bad of BAD_ENGINE_PACKETS) {
    it(`websocket: Engine.IO packet ${JSON.stringify(bad)} closes the session`, async () => {
      bystander = await connect(server.url, { transports: ["websocket"] });
      const { ws } = await wsHandshake(server.url);
      raws.push(ws);
      ws.send(bad);
      await ws.expectClosed(1000);
    });
  }

  for (const bad of BAD_SOCKETIO_PACKETS) {
    it(`websocket: Socket.IO packet ${JSON.stringify(bad)} after CONNECT closes the session`, async () => {
      bystander = await connect(server.url, { transports: ["websocket"] });
      const { ws } = await wsHandshake(server.url);
      raws.push(ws);
      ws.send("40");
      await ws.nextText("40");
      ws.send(bad);
      await ws.expectClosed(1000);
    });
  }

  it('polling: Engine.IO packet "9junk" closes the session', async () => {
    bystander = await connect(server.url, { transports: ["polling"] });
    const { sid } = await pollingHandshake(server.url);
    await pollPost(server.url, sid, "9junk").catch(() => {});
    await expectPollingSessionClosed(server.url, sid, 1000);
  });

  it("polling: a broken Socket.IO packet after CONNECT closes the session", async () => {
    bystander = await connect(server.url);
    const { sid } = await pollingHandshake(server.url);
    assert.equal((await pollPost(server.url, sid, "40")).status, 200);
    await pollPost(server.url, sid, '42["message"').catch(() => {});
    await expectPollingSessionClosed(server.url, sid, 1000);
  });

  it("websocket: a Socket.IO binary placeholder without its attachment is not delivered as an event", async () => {
    bystander = await connect(server.url, { transports: ["websocket"] });
    const { ws } = await wsHandshake(server.url);
    raws.push(ws);
    ws.send("40");
    await ws.nextText("40");
    // Claims one attachment, then sends a text packet instead of the binary frame.
    ws.send('451-["message",{"_placeholder":true,"num":0}]');
    ws.send('42["message","plain"]');
    const closedOrEcho = await Promise.race([
      ws.closed.then(() => "closed"),
      ws.nextText("42", 1000).then((text) => text),
    ]);
    assert.notEqual(closedOrEcho, '42["message-back",{"_placeholder":true,"num":0}]');
  });
});
