// The server's own WebSocket reader (it owns the TCP socket after the upgrade), fed over raw
// TCP what `ws` never sends: a ping between the fragments of a message, frames cut into
// one-byte writes or sent with the upgrade request, a frame announcing more than maxPayload, a
// socket half-closed by its peer.
// The codec's unit tests (protocol/tests/websocket.rs) split frames at every byte offset in
// memory; these write them over a real socket, so every cut is a separate read of the server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertAckOk, connectUser, sendPrivateMessage } from "../lib/chat.mjs";
import { once, sleep } from "../lib/client.mjs";
import { pollGet, pollingHandshake, pollPost } from "../lib/engineio.mjs";
import { useServer } from "../lib/suite.mjs";
import { clientFrame, expectServerClose, Op, openTcpWebSocket } from "../lib/tcp-websocket.mjs";

const WS = { transports: ["websocket"] };

async function metric(url, line) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.match(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m"));
  return match ? Number(match[1]) : 0;
}

/** Writes `bytes` one byte per write, pausing between writes so each is a read of its own. */
async function writeByteByByte(client, bytes) {
  for (const byte of bytes) {
    await client.write(Buffer.from([byte]));
    await sleep(2);
  }
}

describe("WebSocket frames over raw TCP (engine.io conformance server: echo)", () => {
  const server = useServer({ args: ["--conformance", "engineio"] });
  const eio = () => `${server.url}/engine.io`;

  async function opened() {
    const client = await openTcpWebSocket(eio());
    await client.nextText("0");
    return client;
  }

  it("a ping between the fragments of a text message is answered at once, and the message comes out whole", async () => {
    const client = await opened();
    // "4héllo wörld", with the é cut between two fragments.
    const bytes = Buffer.from("4héllo wörld");
    const cut = bytes.indexOf(0xc3) + 1;
    await client.write(clientFrame(Op.TEXT, bytes.subarray(0, cut), { fin: false }));
    await client.write(clientFrame(Op.PING, Buffer.from("mid-message")));
    // The pong comes before the message is complete: the ping is not held behind it.
    const pong = await client.next((m) => m.opcode === Op.PONG);
    assert.equal(pong.data.toString(), "mid-message");
    await client.write(clientFrame(Op.CONTINUATION, bytes.subarray(cut, cut + 4), { fin: false }));
    await client.write(clientFrame(Op.PING, Buffer.alloc(0)));
    await client.write(clientFrame(Op.CONTINUATION, bytes.subarray(cut + 4), { fin: true }));
    const empty = await client.next((m) => m.opcode === Op.PONG);
    assert.equal(empty.data.length, 0);
    assert.equal(await client.nextText("4"), "4héllo wörld");
    // The reader is back to unfragmented messages.
    await client.sendText("4after");
    assert.equal(await client.nextText("4"), "4after");
    client.destroy();
  });

  it("a ping cut into one-byte writes between two fragments: answered, and the message whole", async () => {
    const client = await opened();
    await client.write(clientFrame(Op.TEXT, Buffer.from("4first half, "), { fin: false }));
    await writeByteByByte(client, clientFrame(Op.PING, Buffer.from("cut ping")));
    assert.equal((await client.next((m) => m.opcode === Op.PONG)).data.toString(), "cut ping");
    await client.write(clientFrame(Op.CONTINUATION, Buffer.from("second half"), { fin: true }));
    assert.equal(await client.nextText("4"), "4first half, second half");
    client.destroy();
  });

  it("frames sent with the upgrade request, the last cut short, are read after the handshake", async () => {
    const first = clientFrame(Op.TEXT, Buffer.from("4sent with the request"));
    const second = clientFrame(Op.TEXT, Buffer.from("4and cut ✓"));
    const client = await openTcpWebSocket(eio(), {}, { pipelined: Buffer.concat([first, second.subarray(0, 5)]) });
    await client.nextText("0");
    await sleep(20);
    await client.write(second.subarray(5));
    assert.equal(await client.nextText("4"), "4sent with the request");
    assert.equal(await client.nextText("4"), "4and cut ✓");
    client.destroy();
  });

  it("a probe sent with the upgrade request of a polling session: the upgrade completes", async () => {
    const { sid } = await pollingHandshake(eio());
    const probe = clientFrame(Op.TEXT, Buffer.from("2probe"));
    const upgrade = clientFrame(Op.TEXT, Buffer.from("5"));
    const client = await openTcpWebSocket(eio(), { sid }, { pipelined: Buffer.concat([probe, upgrade.subarray(0, 3)]) });
    assert.equal(await client.nextText("3"), "3probe");
    await client.write(upgrade.subarray(3));
    await client.sendText("4upgraded");
    assert.equal(await client.nextText("4"), "4upgraded");
    client.destroy();
  });

  it("a binary message fragmented with pings in between, all in one write, is echoed whole", async () => {
    const client = await opened();
    const parts = [Buffer.from([4, 0, 1]), Buffer.alloc(300, 9), Buffer.from([255])];
    await client.write(
      Buffer.concat([
        clientFrame(Op.BINARY, parts[0], { fin: false }),
        clientFrame(Op.PING, Buffer.from("a")),
        clientFrame(Op.CONTINUATION, parts[1], { fin: false }),
        clientFrame(Op.PING, Buffer.from("b")),
        clientFrame(Op.CONTINUATION, parts[2], { fin: true }),
        clientFrame(Op.TEXT, Buffer.from("4and a text after it")),
      ]),
    );
    assert.equal((await client.next((m) => m.opcode === Op.PONG)).data.toString(), "a");
    assert.equal((await client.next((m) => m.opcode === Op.PONG)).data.toString(), "b");
    const echo = await client.next((m) => m.opcode === Op.BINARY);
    assert.deepEqual(echo.data, Buffer.concat(parts));
    assert.equal(await client.nextText("4"), "4and a text after it");
    client.destroy();
  });
});

describe("WebSocket limits and endings over raw TCP (chat server)", () => {
  const PING_TIMEOUT_MS = 1500;
  const server = useServer({
    args: ["--max-payload", "100000", "--ping-timeout-ms", String(PING_TIMEOUT_MS), "--message-rate", "100000", "--message-burst", "100000"],
  });

  /** A chat user over raw TCP; resolves once its `users` arrived. */
  async function chatUser(name) {
    const client = await openTcpWebSocket(server.url);
    await client.nextText("0");
    await client.sendText(`40{"username":"${name}"}`);
    await client.nextText('42["users"');
    return client;
  }

  /** Two other users keep talking: the session under test took no one down with it. */
  async function assertOthersUnaffected(alice, bob) {
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "still here?", to: bob.session.userID }));
    assert.equal((await once(bob.socket, "private message"))[0].content, "still here?");
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.status, "ok");
  }

  it("a frame announcing more than maxPayload is closed with 1009 from its header, others unaffected", async () => {
    const alice = await connectUser(server.url, WS);
    const bob = await connectUser(server.url, WS);
    const before = await metric(server.url, 'chat_errors_total{kind="payload_too_large"}');
    const client = await chatUser("too-big");
    // Only the header and a few bytes of the payload: refused before the payload arrives.
    const header = clientFrame(Op.TEXT, Buffer.from('42["private message"'), { length: 100_001 });
    await client.write(header);
    const { code, reset } = await expectServerClose(client);
    assert.equal(code, 1009, "close code 1009 (message too big)");
    assert.equal(reset, false, "a close frame and a FIN, not a reset");
    assert.equal(await metric(server.url, 'chat_errors_total{kind="payload_too_large"}'), before + 1);
    await assertOthersUnaffected(alice, bob);
  });

  it("a whole frame over maxPayload, sent in full, is closed with 1009, others unaffected", async () => {
    const alice = await connectUser(server.url, WS);
    const bob = await connectUser(server.url, WS);
    const client = await chatUser("too-big-whole");
    client.write(clientFrame(Op.TEXT, Buffer.from(`42["x","${"y".repeat(100_000)}"]`))).catch(() => {});
    const { code } = await expectServerClose(client);
    assert.equal(code, 1009);
    await assertOthersUnaffected(alice, bob);
  });

  it("an oversized frame on the probe of a polling session's upgrade: the probe is closed with 1009, the session stays on polling", async () => {
    const { sid } = await pollingHandshake(server.url);
    assert.equal((await pollPost(server.url, sid, '40{"username":"prober"}')).status, 200);
    const probe = await openTcpWebSocket(server.url, { sid });
    await probe.write(clientFrame(Op.TEXT, Buffer.from("2probe"), { length: 100_001 }));
    const { code } = await expectServerClose(probe);
    assert.equal(code, 1009);
    const poll = await pollGet(server.url, sid);
    assert.equal(poll.status, 200, "the polling session is still there");
    assert.ok(poll.packets.some((p) => p.type === "4" && p.data.startsWith("0")), "it got its CONNECT answer");
    await pollPost(server.url, sid, "1");
  });

  it("a fragmented message growing past maxPayload is closed with 1009", async () => {
    const client = await chatUser("too-big-fragments");
    await client.write(clientFrame(Op.TEXT, Buffer.alloc(60_000, 0x61), { fin: false }));
    await client.write(clientFrame(Op.CONTINUATION, Buffer.alloc(60_000, 0x61), { fin: false }));
    const { code } = await expectServerClose(client);
    assert.equal(code, 1009);
  });

  for (const [name, tail] of [
    ["after whole frames", Buffer.alloc(0)],
    ["in the middle of a frame", clientFrame(Op.TEXT, Buffer.from('42["private message",{}]')).subarray(0, 9)],
  ]) {
    it(`a peer that half-closes ${name}: the session ends cleanly and is counted, others unaffected`, async () => {
      const alice = await connectUser(server.url, WS);
      const bob = await connectUser(server.url, WS);
      const activeBefore = await metric(server.url, "chat_connections_active");
      const client = await chatUser(`half-${tail.length}`);
      assert.equal(await metric(server.url, "chat_connections_active"), activeBefore + 1);
      if (tail.length > 0) await client.write(tail);
      client.endWrite();
      // The server ends its side too: a close frame (normal closure), then a FIN.
      const { code, reset } = await expectServerClose(client);
      assert.equal(code, 1000, "a close frame with 1000 before the end of the stream");
      assert.equal(reset, false, "ended by a FIN, not a reset");
      const deadline = Date.now() + 2000;
      while ((await metric(server.url, "chat_connections_active")) !== activeBefore) {
        assert.ok(Date.now() < deadline, "the half-closed session is still counted as active");
        await sleep(20);
      }
      await assertOthersUnaffected(alice, bob);
    });
  }

  it("a peer that half-closes while not reading, its queue full: the session ends at once, its socket within pingTimeout", async () => {
    const alice = await connectUser(server.url, WS);
    const bob = await connectUser(server.url, WS);
    const activeBefore = await metric(server.url, "chat_connections_active");
    const client = await openTcpWebSocket(server.url);
    await client.nextText("0");
    await client.sendText('40{"username":"half-and-stalled"}');
    const { userID } = JSON.parse((await client.nextText('42["session"')).slice(2))[1];
    await client.nextText('42["users"');
    client.socket.pause();
    // More than the kernel's socket buffers take (about 4 MB here), less than the server's bound
    // (4 MiB): the rest waits in the server's queue.
    const content = "q".repeat(10_000);
    for (let i = 0; i < 55; i++) {
      await Promise.all(Array.from({ length: 10 }, () => sendPrivateMessage(bob.socket, { content, to: userID }, 10_000)));
    }
    client.endWrite();
    const deadline = Date.now() + 2000;
    while ((await metric(server.url, "chat_connections_active")) !== activeBefore) {
      assert.ok(Date.now() < deadline, "the half-closed session is still active");
      await sleep(20);
    }
    // The server gave what was queued pingTimeout to leave, then let the socket go.
    await sleep(PING_TIMEOUT_MS + 500);
    client.socket.resume();
    await expectServerClose(client, 5000);
    const received = client.queue.filter((m) => m.data.toString().startsWith('42["private message"')).length;
    assert.ok(received < 550, `all ${received} messages came: the socket was held until the client read them`);
    await assertOthersUnaffected(alice, bob);
  });

  /** A private message frame from the raw user to `to` with `content`. */
  const messageFrame = (content, to) => clientFrame(Op.TEXT, Buffer.from(`42${JSON.stringify(["private message", { content, to }])}`));

  for (const [name, length] of [
    ["7-bit", 120],
    ["16-bit", 300],
  ]) {
    it(`a ${name} length frame written one byte per write is read whole`, async () => {
      const bob = await connectUser(server.url, WS);
      const client = await chatUser(`bytes-${length}`);
      const overhead = messageFrame("", bob.session.userID).length - 6; // header and mask
      const content = "abcdefghij".repeat(30).slice(0, length - overhead);
      const frame = messageFrame(content, bob.session.userID);
      assert.ok(length >= 126 ? frame[1] === (0x80 | 126) : (frame[1] & 0x7f) < 126, "the length class under test");
      await writeByteByByte(client, frame);
      assert.equal((await once(bob.socket, "private message", 5000))[0].content, content);
      client.destroy();
    });
  }

  it("a 64-bit length frame with its header written one byte per write, its payload in odd pieces, is read whole", async () => {
    const bob = await connectUser(server.url, WS);
    const client = await chatUser("bytes-64");
    // Over the content limit of a private message, so refused with an ack: what is checked is
    // that the frame was read whole (a cut frame would hang or close the session).
    const content = `${"0123456789".repeat(7_000)}✓`;
    const frame = clientFrame(Op.TEXT, Buffer.from(`421${JSON.stringify(["private message", { content, to: bob.session.userID }])}`));
    assert.equal(frame[1], 0x80 | 127, "the 64-bit length class");
    await writeByteByByte(client, frame.subarray(0, 14)); // 10-byte header, 4-byte mask
    for (let at = 14; at < frame.length; at += 997) await client.write(frame.subarray(at, at + 997));
    const ack = JSON.parse((await client.nextText("431", 5000)).slice(3))[0];
    assert.deepEqual(ack, { error: "content too long" });
    await client.write(messageFrame("after the long one", bob.session.userID));
    assert.equal((await once(bob.socket, "private message"))[0].content, "after the long one");
    client.destroy();
  });

  it("two frames in one write, cut at every byte offset of the second: each cut read as one", async () => {
    const bob = await connectUser(server.url, WS);
    const client = await chatUser("cuts");
    const to = bob.session.userID;
    for (let cut = 0; cut <= messageFrame("second ✓", to).length; cut++) {
      const second = messageFrame("second ✓", to);
      await client.write(Buffer.concat([messageFrame(`first ${cut}`, to), second.subarray(0, cut)]));
      await sleep(5);
      await client.write(second.subarray(cut));
      assert.equal((await once(bob.socket, "private message"))[0].content, `first ${cut}`, `cut at ${cut}`);
      assert.equal((await once(bob.socket, "private message"))[0].content, "second ✓", `cut at ${cut}`);
    }
    client.destroy();
  });
});
