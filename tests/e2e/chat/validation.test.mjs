// SPEC §2 + COMMON: a malformed private message is refused with an exact error ack and
// is never forwarded; the connection keeps working.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, messageSyncPoint, sendPrivateMessage } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

/** [description, payload builder (recipient userID) -> payload, expected error]. */
const MALFORMED = [
  ["a string", () => "hello", "invalid payload"],
  ["a number", () => 42, "invalid payload"],
  ["null", () => null, "invalid payload"],
  ["an array", (to) => [{ content: "x", to }], "invalid payload"],
  ["missing content", (to) => ({ to }), "invalid content"],
  ["numeric content", (to) => ({ content: 5, to }), "invalid content"],
  ["empty content", (to) => ({ content: "", to }), "invalid content"],
  ["10 001 characters", (to) => ({ content: "x".repeat(10_001), to }), "content too long"],
  ["missing to", () => ({ content: "hi" }), "invalid recipient"],
  ["numeric to", () => ({ content: "hi", to: 5 }), "invalid recipient"],
  ["unknown to", () => ({ content: "hi", to: "no-such-user-id" }), "unknown recipient"],
];

describe("chat: malformed private messages", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    for (const [name, build, error] of MALFORMED) {
      it(`${name}: acked {error: "${error}"} and not forwarded`, async () => {
        const alice = await connectUser(server.url, clientOpts);
        const alice2 = await connectTab(server.url, clientOpts, alice.session.sessionID);
        const bob = await connectUser(server.url, clientOpts);
        const ack = await sendPrivateMessage(alice.socket, build(bob.session.userID));
        assert.deepEqual(ack, { error });
        // The connection is still usable, and the valid message that follows is the first
        // one either tab gets: the refused one was not forwarded before it.
        assertAckOk(await sendPrivateMessage(alice.socket, { content: "valid", to: bob.session.userID }));
        assert.equal((await once(bob.socket, "private message"))[0].content, "valid");
        assert.equal((await once(alice2.socket, "private message"))[0].content, "valid");
        await expectNoEvent(bob.socket, "private message", 0);
        await expectNoEvent(alice2.socket, "private message", 0);
      });
    }

    it("malformed messages without an ack request are dropped silently, the socket stays connected", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      for (const [, build] of MALFORMED) alice.socket.emit("private message", build(bob.session.userID));
      alice.socket.emit("private message");
      alice.socket.emit("private message", { content: "ok after garbage", to: bob.session.userID });
      const [message] = await once(bob.socket, "private message");
      assert.equal(message.content, "ok after garbage");
      await messageSyncPoint(alice, bob.session.userID, [bob.socket]);
      await expectNoEvent(bob.socket, "private message", 0);
      assert.equal(alice.socket.connected, true);
    });
  });
});
