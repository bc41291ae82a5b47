// SPEC §1: server-initiated heartbeat; a session that does not answer pings is closed by the server.
// Conformance settings: pingInterval 300 ms, pingTimeout 200 ms.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pollGet, pollingHandshake, pollPost, wsHandshake } from "../lib/engineio.mjs";
import { useRawSockets, useServer } from "../lib/suite.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
/** Timer and scheduling tolerance on a loaded 2-core machine. */
const SLACK = 500;

describe("heartbeat (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });
  const raws = useRawSockets();

  it("websocket: pings arrive every pingInterval and answered pings keep the session open", async () => {
    const { ws } = await wsHandshake(server.url, { autoPong: true });
    raws.push(ws);
    ws.send("40"); // connected, so the 1000 ms connectTimeout does not interfere
    const start = Date.now();
    await ws.nextText("2", PING_INTERVAL + SLACK);
    assert.ok(Date.now() - start >= PING_INTERVAL - 100, "first ping not before pingInterval");
    await ws.nextText("2", PING_INTERVAL + SLACK);
    await ws.nextText("2", PING_INTERVAL + SLACK);
    assert.equal(ws.isOpen, true, "still open after three answered pings");
  });

  it("websocket: a client that answers nothing is closed within pingInterval + pingTimeout", async () => {
    const { ws } = await wsHandshake(server.url, { autoPong: false });
    raws.push(ws);
    const start = ws.openedAt;
    assert.equal(await ws.nextText("2", PING_INTERVAL + SLACK), "2");
    const { at } = await ws.expectClosed(PING_INTERVAL + PING_TIMEOUT + SLACK);
    const elapsed = at - start;
    assert.ok(elapsed >= PING_INTERVAL + PING_TIMEOUT - 100, `closed too early (${elapsed} ms)`);
    assert.ok(elapsed <= PING_INTERVAL + PING_TIMEOUT + SLACK, `closed too late (${elapsed} ms)`);
  });

  it("polling: answered pings keep the session open", async () => {
    const { sid } = await pollingHandshake(server.url);
    assert.equal((await pollPost(server.url, sid, "40")).status, 200); // no connectTimeout closing
    const start = Date.now();
    while (Date.now() - start < 3 * (PING_INTERVAL + PING_TIMEOUT)) {
      const res = await pollGet(server.url, sid, { timeoutMs: PING_INTERVAL + SLACK });
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.packets.some((p) => p.type === "1"), "no close packet while pongs are sent");
      if (res.packets.some((p) => p.type === "2")) assert.equal((await pollPost(server.url, sid, "3")).status, 200);
    }
    await pollPost(server.url, sid, "1");
  });

  it("polling: the server closes a session that never pongs (server-initiated disconnect)", async () => {
    const { sid } = await pollingHandshake(server.url);
    const ping = await pollGet(server.url, sid, { timeoutMs: PING_INTERVAL + SLACK });
    assert.deepEqual(ping.packets.map((p) => p.type), ["2"]);
    // No pong: this poll is answered when the server gives up on the session (a close packet,
    // or 400 had it closed already), not with the next ping.
    const after = await pollGet(server.url, sid, { timeoutMs: PING_INTERVAL + PING_TIMEOUT + SLACK });
    if (after.status === 200) {
      assert.ok(after.packets.some((p) => p.type === "1"), `expected a close packet, got ${after.text}`);
    } else {
      assert.equal(after.status, 400);
      assert.deepEqual(after.json, { code: 1, message: "Session ID unknown" });
    }
  });
});
