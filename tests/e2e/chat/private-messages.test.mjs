// SPEC §2: `private message` routing — to every tab of the recipient and every other tab of
// the sender, never back to the sending tab — with the server-set `from` and an ack.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, messageSyncPoint, sendPrivateMessage } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

describe("chat: private messages", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    it("is delivered to the recipient as {content, from, to} and acked {ok: true, id}", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const ack = await sendPrivateMessage(alice.socket, { content: "hi bob", to: bob.session.userID });
      assertAckOk(ack);
      const [delivered] = await once(bob.socket, "private message");
      assert.deepEqual(coreMessage(delivered), { content: "hi bob", from: alice.session.userID, to: bob.session.userID });
      if (ack && "id" in delivered) assert.equal(delivered.id, ack.id, "a delivered id must be the acked id");
      await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
    });

    it("reaches every tab of the recipient and every other tab of the sender, never the sending tab", async () => {
      const alice1 = await connectUser(server.url, clientOpts);
      const alice2 = await connectTab(server.url, clientOpts, alice1.session.sessionID);
      const bob1 = await connectUser(server.url, clientOpts);
      const bob2 = await connectTab(server.url, clientOpts, bob1.session.sessionID);
      const sent = { content: "to all of bob", to: bob1.session.userID };
      assertAckOk(await sendPrivateMessage(alice1.socket, sent));
      const expected = { content: sent.content, from: alice1.session.userID, to: bob1.session.userID };
      for (const tab of [bob1, bob2, alice2]) {
        const [message] = await once(tab.socket, "private message");
        assert.deepEqual(coreMessage(message), expected);
      }
      await messageSyncPoint(bob1, alice1.session.userID, [alice1.socket]);
      await expectNoEvent(alice1.socket, "private message", 0);
    });

    it("replaces a forged from with the real sender", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const mallory = await connectUser(server.url, clientOpts);
      assertAckOk(
        await sendPrivateMessage(mallory.socket, { content: "I am alice", to: bob.session.userID, from: alice.session.userID }),
      );
      const [message] = await once(bob.socket, "private message");
      assert.equal(message.from, mallory.session.userID);
      assert.equal(message.to, bob.session.userID);
    });

    it("accepts 10 000 characters and delivers them intact", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const content = "0123456789".repeat(1000);
      assertAckOk(await sendPrivateMessage(alice.socket, { content, to: bob.session.userID }));
      const [message] = await once(bob.socket, "private message");
      assert.equal(message.content, content);
    });

    it("keeps non-ASCII content intact", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const content = "héllo ✓ 😀 \"quoted\" \\ back\\slash \u2028 ✉";
      assertAckOk(await sendPrivateMessage(alice.socket, { content, to: bob.session.userID }));
      assert.equal((await once(bob.socket, "private message"))[0].content, content);
    });

    it("preserves the order of a burst from one sender", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const contents = Array.from({ length: 30 }, (_, i) => `m${i}`);
      const acks = contents.map((content) => sendPrivateMessage(alice.socket, { content, to: bob.session.userID }));
      const received = [];
      for (let i = 0; i < contents.length; i++) received.push((await once(bob.socket, "private message"))[0].content);
      assert.deepEqual(received, contents);
      (await Promise.all(acks)).forEach(assertAckOk);
    });

    it("a message to oneself reaches one's other tabs, not the sending tab", async () => {
      const me1 = await connectUser(server.url, clientOpts);
      const me2 = await connectTab(server.url, clientOpts, me1.session.sessionID);
      const other = await connectUser(server.url, clientOpts);
      assertAckOk(await sendPrivateMessage(me1.socket, { content: "note to self", to: me1.session.userID }));
      const [message] = await once(me2.socket, "private message");
      assert.deepEqual(coreMessage(message), { content: "note to self", from: me1.session.userID, to: me1.session.userID });
      await messageSyncPoint(other, me1.session.userID, [me1.socket, me2.socket]);
      await expectNoEvent(me1.socket, "private message", 0);
      await expectNoEvent(me2.socket, "private message", 0); // exactly once
      await messageSyncPoint(me2, other.session.userID, [other.socket]);
      await expectNoEvent(other.socket, "private message", 0);
    });

    it("a message without an ack request is still delivered", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      alice.socket.emit("private message", { content: "fire and forget", to: bob.session.userID });
      assert.equal((await once(bob.socket, "private message"))[0].content, "fire and forget");
    });
  });
});
