// SPEC §1 conformance, engine.io variant: every message packet (text or binary) is echoed unchanged.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePayload, encodePayload, pollGet, pollingHandshake, pollPost, RS, wsHandshake } from "../lib/engineio.mjs";
import { useRawSockets, useServer } from "../lib/suite.mjs";

/** Collects echoed message packets over polling (answering pings) until `count` arrived. */
async function collectPolledMessages(url, sid, count, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  const messages = [];
  while (messages.length < count) {
    assert.ok(Date.now() < deadline, `only ${messages.length}/${count} echoes within ${timeoutMs} ms`);
    const res = await pollGet(url, sid, { timeoutMs: deadline - Date.now() });
    assert.equal(res.status, 200, res.text);
    for (const packet of res.packets) {
      if (packet.type === "4") messages.push(packet);
      if (packet.type === "2") await pollPost(url, sid, "3");
      assert.notEqual(packet.type, "1", "session closed unexpectedly");
    }
  }
  return messages;
}

describe("engine.io echo (engine.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "engineio"] });
  // The engine.io conformance server serves Engine.IO at /engine.io/ (Node engine.io's default).
  const eio = () => `${server.url}/engine.io`;
  const raws = useRawSockets();

  it("websocket: text messages come back unchanged and in order", async () => {
    const { ws, handshake } = await wsHandshake(eio());
    raws.push(ws);
    assert.deepEqual(handshake.upgrades, []);
    // Long messages leave the server as WebSocket fragments of at most 4 000 bytes; a
    // multi-byte one must come back intact from its pieces.
    const texts = ["hello", "", "héllo ✓ 😀", "x".repeat(50_000), "é✓😀".repeat(3_000), '{"not":"parsed"}'];
    for (const text of texts) ws.send(`4${text}`);
    for (const text of texts) assert.equal(await ws.nextText("4"), `4${text}`);
  });

  it("websocket: binary messages come back as identical binary frames", async () => {
    const { ws } = await wsHandshake(eio());
    raws.push(ws);
    const payloads = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(70_000, 7), Buffer.from("4 looks like text")];
    for (const payload of payloads) ws.send(payload);
    for (const payload of payloads) {
      const frame = await ws.next((f) => f.binary);
      assert.deepEqual(frame.data, payload);
    }
  });

  it("polling: text and binary messages in one payload are echoed", async () => {
    const { sid, handshake } = await pollingHandshake(eio());
    assert.deepEqual(handshake.upgrades, ["websocket"]);
    const sent = [
      { type: "4", data: "hello" },
      { type: "4", data: Buffer.from([1, 2, 3, 250]) },
      { type: "4", data: "ünïcödé ✓" },
    ];
    const posted = await pollPost(eio(), sid, encodePayload(sent));
    assert.equal(posted.status, 200);
    assert.equal(posted.text, "ok");
    const echoed = await collectPolledMessages(eio(), sid, sent.length);
    assert.deepEqual(
      echoed.map((p) => p.data),
      sent.map((p) => p.data),
    );
    await pollPost(eio(), sid, "1");
  });

  it("polling: binary echoes are b-prefixed base64 packets", async () => {
    const { sid } = await pollingHandshake(eio());
    await pollPost(eio(), sid, `b${Buffer.from("bin").toString("base64")}`);
    const [echo] = await collectPolledMessages(eio(), sid, 1);
    assert.equal(echo.binary, true);
    assert.deepEqual(echo.data, Buffer.from("bin"));
    await pollPost(eio(), sid, "1");
  });

  it("polling payload decoding helper round-trips (sanity check of the test helpers)", () => {
    const packets = [
      { type: "4", data: "a" },
      { type: "4", data: Buffer.from([9]) },
    ];
    assert.equal(encodePayload(packets), `4a${RS}bCQ==`);
    assert.deepEqual(
      decodePayload(encodePayload(packets)).map((p) => p.data),
      ["a", Buffer.from([9])],
    );
  });
});
