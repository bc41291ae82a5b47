// SPEC §1: DISCONNECT and Engine.IO CLOSE initiated by the client are honoured by the server.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, emitWithAckArgs, once, withTransports } from "../lib/client.mjs";
import { expectPollingSessionClosed, pollingHandshake, pollPost, wsHandshake } from "../lib/engineio.mjs";
// (Over WebSocket a client ends the session by closing the socket; Node's engine.io ignores a
// CLOSE packet there, so only the polling CLOSE packet is part of the contract tested here.)
import { startServer } from "../lib/server.mjs";

describe("client-initiated disconnect (socket.io conformance server)", () => {
  let server;
  const raws = [];
  before(async () => {
    server = await startServer({ args: ["--conformance", "socketio"] });
  });
  afterEach(() => {
    disconnectAll();
    for (const ws of raws.splice(0)) ws.close();
  });
  after(() => server?.stop());

  withTransports((clientOpts) => {
    it("socket.disconnect() then connect() gives a fresh, working connection", async () => {
      const socket = await connect(server.url, clientOpts);
      const firstId = socket.id;
      assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", ["before"]), ["before"]);
      socket.disconnect();
      assert.equal(socket.connected, false);
      const reconnected = once(socket, "connect");
      socket.connect();
      await reconnected;
      assert.notEqual(socket.id, firstId, "a new Socket.IO session id after reconnecting");
      assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", ["after"]), ["after"]);
    });
  });

  it("raw: DISCONNECT (41) then CONNECT (40) on the same Engine.IO session yields a new namespace session", async () => {
    const { ws } = await wsHandshake(server.url);
    raws.push(ws);
    ws.send("40");
    const first = JSON.parse((await ws.nextText("40")).slice(2));
    assert.equal(typeof first.sid, "string");
    await ws.nextText('42["auth"'); // the connection handler ran
    ws.send("41");
    ws.send("40");
    const second = JSON.parse((await ws.nextText("40")).slice(2));
    assert.notEqual(second.sid, first.sid);
    ws.send('421["message-with-ack","x"]');
    assert.equal(await ws.nextText("431"), '431["x"]');
  });

  it("raw polling: an Engine.IO CLOSE packet (1) ends the session on the server", async () => {
    const { sid } = await pollingHandshake(server.url);
    const posted = await pollPost(server.url, sid, "1");
    assert.equal(posted.status, 200);
    assert.ok(["unknown sid", "close packet"].includes(await expectPollingSessionClosed(server.url, sid, 1000)));
  });
});
