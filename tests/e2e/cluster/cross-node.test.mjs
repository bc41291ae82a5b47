// SPEC §2 and §4 across two chat-server nodes sharing one Redis: private messages, presence
// and multi-tab behave as on one node, whichever node each tab is on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, closeAndSync, connectOf, connectTab, connectUser, coreMessage, disconnectOf, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { useCluster } from "./cluster.mjs";
import { eventually } from "../lib/signals.mjs";

describe("cluster: two nodes", () => {
  const cluster = useCluster(2);
  const [n1, n2] = [0, 1].map((i) => ({
    get url() {
      return cluster.nodes[i].url;
    },
  }));

  withTransports((clientOpts) => {
    it("users on different nodes message each other, both ways, and nothing echoes to the sender", async () => {
      const alice = await connectUser(n1.url, clientOpts);
      const bob = await connectUser(n2.url, clientOpts);
      const aliceID = alice.session.userID;
      const bobID = bob.session.userID;

      assertAckOk(await sendPrivateMessage(alice.socket, { content: "hello from n1", to: bobID }));
      const [atBob] = await once(bob.socket, "private message");
      assert.deepEqual(coreMessage(atBob), { content: "hello from n1", from: aliceID, to: bobID });

      assertAckOk(await sendPrivateMessage(bob.socket, { content: "hello from n2", to: aliceID }));
      const [atAlice] = await once(alice.socket, "private message");
      assert.deepEqual(coreMessage(atAlice), { content: "hello from n2", from: bobID, to: aliceID });

      await messageSyncPoint(bob, aliceID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
      await messageSyncPoint(alice, bobID, [bob.socket]);
      await expectNoEvent(bob.socket, "private message", 0);
    });

    it("the sender's other tab on the other node gets a copy of what it sent", async () => {
      const alice = await connectUser(n1.url, clientOpts);
      const aliceElsewhere = await connectTab(n2.url, clientOpts, alice.session.sessionID);
      const bob = await connectUser(n2.url, clientOpts);
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "copy me", to: bob.session.userID }));
      const [copy] = await once(aliceElsewhere.socket, "private message");
      assert.deepEqual(coreMessage(copy), { content: "copy me", from: alice.session.userID, to: bob.session.userID });
      await once(bob.socket, "private message");
      await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
    });

    it("user connected reaches the other node, and the other node lists the user", async () => {
      const watcher = await connectUser(n2.url, clientOpts);
      const carol = await connectUser(n1.url, clientOpts, "carol-cross");
      const announced = await connectOf(watcher.socket, carol.session.userID);
      assert.deepEqual(announced, {
        userID: carol.session.userID,
        username: "carol-cross",
        connected: true,
        messages: [],
      });
      const newcomer = await connectUser(n2.url, clientOpts);
      assert.equal(userEntry(newcomer.users, carol.session.userID).connected, true);
    });

    it("a tab on each node: closing one announces nothing, closing the last announces on both nodes", async () => {
      const tab1 = await connectUser(n1.url, clientOpts);
      const tab2 = await connectTab(n2.url, clientOpts, tab1.session.sessionID);
      const userID = tab1.session.userID;
      const watcher1 = await connectUser(n1.url, clientOpts);
      const watcher2 = await connectUser(n2.url, clientOpts);

      await closeAndSync(n1.url, clientOpts, tab1, [watcher1.socket, watcher2.socket]);
      await expectNoEvent(watcher1.socket, "user disconnected", 0);
      await expectNoEvent(watcher2.socket, "user disconnected", 0);
      const sessionKey = `session:${tab1.session.sessionID}`;
      assert.equal(await cluster.client.hget(sessionKey, "connected"), "true");

      tab2.socket.disconnect();
      assert.equal(await disconnectOf(watcher1.socket, userID), userID);
      assert.equal(await disconnectOf(watcher2.socket, userID), userID);
      await eventually("session saved connected: false", async () =>
        (await cluster.client.hget(sessionKey, "connected")) === "false",
      );
    });

    it("the other way round: the last tab closing on the first node announces too", async () => {
      const tab2 = await connectUser(n2.url, clientOpts);
      const tab1 = await connectTab(n1.url, clientOpts, tab2.session.sessionID);
      const watcher = await connectUser(n2.url, clientOpts);
      await closeAndSync(n2.url, clientOpts, tab2, [watcher.socket]);
      await expectNoEvent(watcher.socket, "user disconnected", 0);
      tab1.socket.disconnect();
      assert.equal(await disconnectOf(watcher.socket, tab2.session.userID), tab2.session.userID);
    });
  });
});
