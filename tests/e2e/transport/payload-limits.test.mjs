// SPEC §1: a payload over maxPayload closes the session (websocket) or is refused (polling POST);
// payloads under the limit pass. Other sessions are unaffected.
//
// Polling behaviour follows Node's engine.io (transports/polling.js onDataRequest): a POST
// body over maxHttpBufferSize is answered 413 (the server stops reading it).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, emitWithAckArgs, normaliseBinary, once } from "../lib/client.mjs";
import { pollingHandshake, pollPost, wsHandshake } from "../lib/engineio.mjs";
import { startServer } from "../lib/server.mjs";
import { useRawSockets, useServer } from "../lib/suite.mjs";

const MAX_PAYLOAD = 1_000_000;

describe("maxPayload (socket.io conformance server, 1e6 bytes)", () => {
  let server;
  let bystander;
  const raws = [];
  before(async () => {
    server = await startServer({ args: ["--conformance", "socketio"] });
  });
  afterEach(async () => {
    if (bystander) assert.deepEqual(await emitWithAckArgs(bystander, "message-with-ack", ["alive"]), ["alive"]);
    bystander = undefined;
    disconnectAll();
    for (const ws of raws.splice(0)) ws.close();
  });
  after(() => server?.stop());

  it("websocket: a text frame over maxPayload closes that session", async () => {
    bystander = await connect(server.url, { transports: ["websocket"] });
    const { ws } = await wsHandshake(server.url);
    raws.push(ws);
    ws.send("40");
    await ws.nextText("40");
    ws.send(`42["message","${"a".repeat(MAX_PAYLOAD + 10)}"]`);
    const { code } = await ws.expectClosed(2000);
    assert.equal(code, 1009, "closed with 1009 (message too big), not dropped");
  });

  it("websocket: a binary frame over maxPayload closes that session", async () => {
    bystander = await connect(server.url, { transports: ["websocket"] });
    const { ws } = await wsHandshake(server.url);
    raws.push(ws);
    ws.send(Buffer.alloc(MAX_PAYLOAD + 10, 1));
    const { code } = await ws.expectClosed(2000);
    assert.equal(code, 1009, "closed with 1009 (message too big), not dropped");
  });

  it("websocket: a frame just under maxPayload is processed", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    const text = "b".repeat(MAX_PAYLOAD - 1000);
    socket.emit("message", text);
    const [echo] = await once(socket, "message-back", 5000);
    assert.equal(echo.length, text.length);
  });

  it("polling: a POST body over maxPayload is answered 413", async () => {
    bystander = await connect(server.url, { transports: ["polling"] });
    const { sid } = await pollingHandshake(server.url);
    const res = await pollPost(server.url, sid, `4${"c".repeat(MAX_PAYLOAD + 10)}`).catch((err) => ({
      status: `request failed: ${err.message}`,
    }));
    assert.equal(res.status, 413);
  });

  it("polling: a POST body just under maxPayload is accepted", async () => {
    const { sid } = await pollingHandshake(server.url);
    const res = await pollPost(server.url, sid, `4${"d".repeat(MAX_PAYLOAD - 1000)}`);
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
    await pollPost(server.url, sid, "1");
  });

  it("polling: a large binary event under the limit round-trips", async () => {
    const socket = await connect(server.url, { transports: ["polling"] });
    const big = Buffer.alloc(300_000, 3);
    socket.emit("message", big);
    assert.deepEqual(normaliseBinary(await once(socket, "message-back", 5000)), [big]);
  });
});

describe("--max-payload flag (chat mode, 1000 bytes)", () => {
  const server = useServer({ args: ["--max-payload", "1000"] });
  const raws = useRawSockets();

  it("the handshake advertises maxPayload 1000", async () => {
    const { handshake, sid } = await pollingHandshake(server.url);
    assert.equal(handshake.maxPayload, 1000);
    await pollPost(server.url, sid, "1");
  });

  /** A chat session over a raw websocket whose next frame will be exactly `frameBytes` long. */
  async function chatSessionAndFrame(frameBytes) {
    const { ws } = await wsHandshake(server.url);
    raws.push(ws);
    ws.send('40{"username":"limit"}');
    await ws.nextText("40");
    const prefix = '42["private message",{"to":"nobody","content":"';
    const suffix = '"}]';
    return { ws, frame: prefix + "x".repeat(frameBytes - prefix.length - suffix.length) + suffix };
  }

  it("websocket: a 1001-byte frame closes the session, a 1000-byte one does not", async () => {
    const small = await chatSessionAndFrame(1000);
    assert.equal(small.frame.length, 1000);
    small.ws.send(small.frame);
    const big = await chatSessionAndFrame(1001);
    big.ws.send(big.frame);
    assert.equal((await big.ws.expectClosed(2000)).code, 1009);
    assert.equal(small.ws.isOpen, true);
  });

  it("polling: a 1001-byte POST is answered 413", async () => {
    const { sid } = await pollingHandshake(server.url);
    const res = await pollPost(server.url, sid, `4${"x".repeat(1000)}`);
    assert.equal(res.status, 413);
  });
});
