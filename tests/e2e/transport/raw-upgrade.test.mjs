// SPEC §1: the polling -> WebSocket upgrade at the wire level (2probe / 3probe / 5).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { pollGet, pollingHandshake, pollPost, RawWebSocket } from "../lib/engineio.mjs";
import { useRawSockets, useServer } from "../lib/suite.mjs";

describe("raw polling -> websocket upgrade (engine.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "engineio"] });
  // The engine.io conformance server serves Engine.IO at /engine.io/ (Node engine.io's default).
  const eio = () => `${server.url}/engine.io`;
  const raws = useRawSockets();

  it("probe, upgrade, then messages flow over the websocket and polling is released", async () => {
    const { sid } = await pollingHandshake(eio());
    // A long poll is pending while the upgrade happens, as socket.io-client does it.
    const pendingPoll = pollGet(eio(), sid, { timeoutMs: 3000 });
    const ws = new RawWebSocket(eio(), { sid });
    raws.push(ws);
    await ws.opened;
    ws.send("2probe");
    assert.equal(await ws.nextText("3"), "3probe");
    const released = await pendingPoll;
    assert.equal(released.status, 200);
    // The pending poll is answered (noop) so the client can stop polling; it may carry a ping.
    assert.ok(
      released.packets.every((p) => ["6", "2"].includes(p.type)),
      `pending poll should get noop, got ${released.text}`,
    );
    ws.send("5");
    ws.send("4after upgrade");
    assert.equal(await ws.nextText("4"), "4after upgrade");
    ws.send(Buffer.from([5, 6]));
    assert.deepEqual((await ws.next((f) => f.binary)).data, Buffer.from([5, 6]));
  });

  it("after the upgrade the session no longer accepts polling requests", async () => {
    const { sid } = await pollingHandshake(eio());
    const ws = new RawWebSocket(eio(), { sid });
    raws.push(ws);
    await ws.opened;
    ws.send("2probe");
    await ws.nextText("3");
    ws.send("5");
    ws.send("4sync");
    await ws.nextText("4");
    const res = await pollPost(eio(), sid, "4late");
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { code: 3, message: "Bad request" });
    assert.equal(ws.isOpen, true, "a stray polling request must not kill the upgraded session");
  });
});
