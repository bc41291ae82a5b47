// The whole Redis Cluster restarted empty under running chat-server nodes: every master
// killed and started again without data, the cluster created anew on the same ports. The
// nodes write their users' sessions back, so a user reconnecting with its sessionID keeps its
// identity, a newcomer lists the connected users as connected, and messages flow again
// between the sockets that stayed connected through it.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, once, recorded } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { cli, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { connectOf, disconnectOf } from "../lib/chat.mjs";
import { nextEventWhere } from "../lib/client.mjs";
import { eventually, health } from "../lib/signals.mjs";

const opts = { transports: ["websocket"] };

describe("redis cluster restarted empty under running nodes", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
    nodes.push(...(await Promise.all(["e1", "e2", "e3"].map((id) => startClusterNode(redis, id)))));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("sessions are written back, presence is true and messages flow again", async () => {
    const alice = await connectUser(nodes[0].url, opts, "alice-empty");
    const bob = await connectUser(nodes[1].url, opts, "bob-empty");
    await connectOf(alice.socket, bob.session.userID);
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "before", to: bob.session.userID }));
    await once(bob.socket, "private message");
    const sessionOf = (user) => cli(redis.ports[0], "-c", "HGET", `session:${user.session.sessionID}`, "userID").then((o) => o.trim());
    assert.equal(await sessionOf(alice), alice.session.userID);

    const restartedAt = Date.now();
    await redis.restartEmpty();
    assert.equal(await sessionOf(alice), "", "the cluster lost every key");
    // The nodes see every shard again...
    for (const node of nodes) {
      await eventually(`${node.url} sees the new cluster`, async () => {
        const { body } = await health(node);
        return body.redis === "up" && body.shards?.length === 3 && body.shards.every((shard) => shard.up);
      }, 15_000);
    }
    // ...and write their live users' sessions back.
    for (const user of [alice, bob]) {
      await eventually(`session of ${user.session.userID} written back`, async () => (await sessionOf(user)) === user.session.userID, 15_000);
    }
    console.log(`cluster restarted empty: sessions back ${Date.now() - restartedAt} ms after the restart began`);

    // The same identity on reconnecting, on another node.
    const aliceAgain = await connectTab(nodes[2].url, opts, alice.session.sessionID);
    assert.deepEqual(aliceAgain.session, alice.session);
    aliceAgain.socket.disconnect();
    // A newcomer lists both as connected.
    const newcomer = await connectUser(nodes[2].url, opts, "newcomer-empty");
    for (const user of [alice, bob]) {
      const entry = userEntry(newcomer.users, user.session.userID);
      assert.equal(entry.connected, true, `${entry.username} listed connected`);
    }
    // ...and is announced on the other nodes.
    for (const user of [alice, bob]) await connectOf(user.socket, newcomer.session.userID, 5000);
    // Messages flow again, both ways, between the sockets that stayed connected through the
    // restart, and from the newcomer; each is acknowledged (stored on the new cluster), and
    // delivered once.
    const messageTo = (user, content) => nextEventWhere(user.socket, "private message", (m) => m.content === content, 5000);
    for (const [from, to, content] of [[alice, bob, "after, to bob"], [bob, alice, "after, to alice"], [newcomer, alice, "hello"]]) {
      assertAckOk(await sendPrivateMessage(from.socket, { content, to: to.session.userID }));
      assert.deepEqual(coreMessage(await messageTo(to, content)), { content, from: from.session.userID, to: to.session.userID });
    }
    // Presence flows again: the newcomer leaving is announced on the other nodes.
    newcomer.socket.disconnect();
    for (const user of [alice, bob]) await disconnectOf(user.socket, newcomer.session.userID, 5000);
    // And the history since the restart is on the cluster.
    const bobAgain = await connectTab(nodes[0].url, opts, bob.session.sessionID);
    assert.deepEqual(userEntry(bobAgain.users, alice.session.userID).messages.map((m) => m.content), ["after, to bob", "after, to alice"]);
    for (const [user, content] of [[bob, "after, to bob"], [alice, "after, to alice"], [alice, "hello"]]) {
      const copies = recorded(user.socket).filter(({ event, args }) => event === "private message" && args[0].content === content);
      assert.equal(copies.length, 1, `"${content}" delivered once`);
    }
  });
});
