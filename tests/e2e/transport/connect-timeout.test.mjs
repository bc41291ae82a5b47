// SPEC §1: an Engine.IO session that sends no Socket.IO CONNECT within connectTimeout
// (conformance: 1000 ms) is closed, even though it answers every ping.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { expectPollingSessionClosed, pollingHandshake, wsHandshake } from "../lib/engineio.mjs";
import { useRawSockets, useServer } from "../lib/suite.mjs";

const CONNECT_TIMEOUT = 1000;
const SLACK = 700;

describe("connect timeout (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });
  const raws = useRawSockets();

  it("websocket without CONNECT is closed after connectTimeout (not before)", async () => {
    const { ws } = await wsHandshake(server.url, { autoPong: true });
    raws.push(ws);
    const { at } = await ws.expectClosed(CONNECT_TIMEOUT + SLACK);
    const elapsed = at - ws.openedAt;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `closed too early (${elapsed} ms): heartbeat answered`);
  });

  it("websocket with CONNECT stays open past connectTimeout", async () => {
    const { ws } = await wsHandshake(server.url, { autoPong: true });
    raws.push(ws);
    ws.send("40");
    await ws.nextText("40");
    // A session opened after it without CONNECT: once the server closed that one for its
    // connectTimeout, this one's connectTimeout has passed too.
    const { ws: control } = await wsHandshake(server.url, { autoPong: true });
    raws.push(control);
    await control.expectClosed(CONNECT_TIMEOUT + SLACK);
    assert.equal(ws.isOpen, true);
  });

  it("polling without CONNECT is closed after connectTimeout", async () => {
    const { sid } = await pollingHandshake(server.url);
    const start = Date.now();
    await expectPollingSessionClosed(server.url, sid, CONNECT_TIMEOUT + SLACK);
    assert.ok(Date.now() - start >= CONNECT_TIMEOUT - 150, "closed too early");
  });
});
