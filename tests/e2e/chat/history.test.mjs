// SPEC §2: `users[].messages` is the stored conversation between the connecting user and
// that user, oldest first; nobody else ever sees it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

describe("chat: conversation history", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    it("reconnecting with the sessionID returns the conversation with each user, oldest first", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const carol = await connectUser(server.url, clientOpts);
      const A = alice.session.userID;
      const B = bob.session.userID;
      const C = carol.session.userID;
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "1 a->b", to: B }));
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "2 b->a", to: A }));
      assertAckOk(await sendPrivateMessage(carol.socket, { content: "3 c->a", to: A }));
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "4 a->b", to: B }));
      alice.socket.disconnect();

      const again = await connectTab(server.url, clientOpts, alice.session.sessionID);
      assert.deepEqual(again.session, alice.session);
      assert.deepEqual(userEntry(again.users, B).messages.map(coreMessage), [
        { content: "1 a->b", from: A, to: B },
        { content: "2 b->a", from: B, to: A },
        { content: "4 a->b", from: A, to: B },
      ]);
      assert.deepEqual(userEntry(again.users, C).messages.map(coreMessage), [{ content: "3 c->a", from: C, to: A }]);
      assert.deepEqual(userEntry(again.users, A).messages, []);

      // The recipient's view of the same conversation.
      const bobAgain = await connectTab(server.url, clientOpts, bob.session.sessionID);
      assert.deepEqual(
        userEntry(bobAgain.users, A).messages.map((m) => m.content),
        ["1 a->b", "2 b->a", "4 a->b"],
      );
      assert.deepEqual(userEntry(bobAgain.users, C).messages, []);
    });

    it("a third user never sees a private conversation, live or in users", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      const eve = await connectUser(server.url, clientOpts);
      const carol = await connectUser(server.url, clientOpts); // sends Eve the sync point
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "secret", to: bob.session.userID }));
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "secret reply", to: alice.session.userID }));
      await once(bob.socket, "private message");
      await messageSyncPoint(carol, eve.session.userID, [eve.socket]);
      await expectNoEvent(eve.socket, "private message", 0);
      const eveAgain = await connectTab(server.url, clientOpts, eve.session.sessionID);
      for (const user of eveAgain.users) {
        assert.ok(!JSON.stringify(user.messages).includes("secret"), `eve sees ${JSON.stringify(user)}`);
      }
      assert.deepEqual(userEntry(eveAgain.users, alice.session.userID).messages, []);
      assert.deepEqual(userEntry(eveAgain.users, bob.session.userID).messages, []);
    });

    it("a message to oneself is stored once, in one's own entry only", async () => {
      const me = await connectUser(server.url, clientOpts);
      const peer = await connectUser(server.url, clientOpts);
      assertAckOk(await sendPrivateMessage(me.socket, { content: "memo", to: me.session.userID }));
      const again = await connectTab(server.url, clientOpts, me.session.sessionID);
      assert.deepEqual(userEntry(again.users, me.session.userID).messages.map(coreMessage), [
        { content: "memo", from: me.session.userID, to: me.session.userID },
      ]);
      assert.deepEqual(userEntry(again.users, peer.session.userID).messages, []);
      const peerAgain = await connectTab(server.url, clientOpts, peer.session.sessionID);
      assert.deepEqual(userEntry(peerAgain.users, me.session.userID).messages, []);
    });

    it("refused messages are not stored", async () => {
      const alice = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      await sendPrivateMessage(alice.socket, { content: "", to: bob.session.userID });
      await sendPrivateMessage(alice.socket, { content: "y".repeat(10_001), to: bob.session.userID });
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "kept", to: bob.session.userID }));
      const again = await connectTab(server.url, clientOpts, alice.session.sessionID);
      assert.deepEqual(userEntry(again.users, bob.session.userID).messages.map((m) => m.content), ["kept"]);
    });
  });
});
