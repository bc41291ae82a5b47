// SPEC §2 and §4 on a real three-master Redis Cluster with three chat-server nodes and a user
// on each: private messages between every pair of nodes in both directions, presence
// (user connected / user disconnected) across nodes, and the history a user gets back when it
// reconnects, on another node than before.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, expectNoEvent, once } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { connectOf, disconnectOf } from "../lib/chat.mjs";

const opts = { transports: ["websocket"] };

describe("redis cluster: three nodes, a user on each", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
    nodes.push(...(await Promise.all(["t1", "t2", "t3"].map((id) => startClusterNode(redis, id)))));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  /** One user per node, `prefix-<node>`; each has seen the others connected. */
  async function usersOnEveryNode(prefix) {
    const users = [];
    for (const [i, node] of nodes.entries()) {
      const user = await connectUser(node.url, opts, `${prefix}-${i + 1}`);
      for (const earlier of users) await connectOf(earlier.socket, user.session.userID);
      users.push(user);
    }
    return users;
  }

  it("private messages between every pair of nodes, both ways, exactly once, never echoed", async () => {
    const users = await usersOnEveryNode("pm");
    for (const [i, from] of users.entries()) {
      for (const [j, to] of users.entries()) {
        if (i === j) continue;
        const content = `from node ${i + 1} to node ${j + 1}`;
        assertAckOk(await sendPrivateMessage(from.socket, { content, to: to.session.userID }));
        const [delivered] = await once(to.socket, "private message");
        assert.deepEqual(coreMessage(delivered), { content, from: from.session.userID, to: to.session.userID });
      }
    }
    // Nothing more: no copy to a sender, no second delivery to a recipient.
    await expectNoEvent(users[0].socket, "private message", 300);
    for (const user of users.slice(1)) await expectNoEvent(user.socket, "private message", 0);
  });

  it("presence across nodes: a newcomer is announced on every node and listed connected; its leaving is announced everywhere", async () => {
    const users = await usersOnEveryNode("presence");
    // Each node's user was listed connected by the users who came after it.
    const late = await connectUser(nodes[2].url, opts, "presence-late");
    for (const user of users) assert.equal(userEntry(late.users, user.session.userID).connected, true);
    for (const user of users) {
      assert.deepEqual(await connectOf(user.socket, late.session.userID), {
        userID: late.session.userID, username: "presence-late", connected: true, messages: [],
      });
    }
    // The user on node 1 leaves: announced on nodes 2 and 3, and listed offline from then on.
    users[0].socket.disconnect();
    for (const user of [...users.slice(1), late]) {
      assert.equal(await disconnectOf(user.socket, users[0].session.userID, 5000), users[0].session.userID);
    }
    const newcomer = await connectUser(nodes[1].url, opts, "presence-newcomer");
    assert.equal(userEntry(newcomer.users, users[0].session.userID).connected, false);
    assert.equal(userEntry(newcomer.users, users[1].session.userID).connected, true);
  });

  it("history after reconnecting: each user, back on another node, gets every conversation in order", async () => {
    const users = await usersOnEveryNode("history");
    const sent = [];
    for (let round = 0; round < 2; round++) {
      for (const [i, from] of users.entries()) {
        for (const [j, to] of users.entries()) {
          if (i === j) continue;
          const message = { content: `r${round} ${i + 1}->${j + 1}`, from: from.session.userID, to: to.session.userID };
          assertAckOk(await sendPrivateMessage(from.socket, { content: message.content, to: message.to }));
          await once(to.socket, "private message");
          sent.push(message);
        }
      }
    }
    disconnectAll();
    for (const [i, user] of users.entries()) {
      const node = nodes[(i + 1) % nodes.length];
      const back = await connectTab(node.url, opts, user.session.sessionID);
      assert.deepEqual(back.session, user.session, "the same identity after reconnecting");
      for (const peer of users) {
        if (peer === user) continue;
        const conversation = sent.filter((m) =>
          (m.from === user.session.userID && m.to === peer.session.userID) ||
          (m.from === peer.session.userID && m.to === user.session.userID));
        assert.deepEqual(userEntry(back.users, peer.session.userID).messages.map(coreMessage), conversation,
          `${user.session.userID} <-> ${peer.session.userID} as sent`);
      }
      back.socket.disconnect();
    }
  });
});
