// SPEC §4, subscriptions: by default a node SUBSCRIBEs `socket.io#/#` and one
// `socket.io#/#<userID>#` per user with a local socket, and publishes a private message to
// the recipient's and the sender's rooms, so only nodes with a recipient receive it. Checked on
// the real Redis (PUBSUB CHANNELS / NUMSUB / NUMPAT), per node from /metrics, across three of
// our nodes, with Node nodes of both adapters (which PSUBSCRIBE), and in pattern mode.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import msgpack from "notepack.io";
import { disconnectAll, expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, closeAndSync, connectOf, connectTab, connectUser, coreMessage, presenceSyncPoint, sendPrivateMessage } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode, useCluster } from "./cluster.mjs";
import { startReference } from "./reference-node.mjs";
import { eventually, metric } from "../lib/signals.mjs";

const roomChannel = (userID) => `socket.io#/#${userID}#`;

/** Subscribers of `channel` on the real Redis (our nodes, in rooms mode). */
async function numsub(client, channel) {
  const [, count] = await client.pubsub("NUMSUB", channel);
  return Number(count);
}

/** How many Redis clients hold at least one pattern subscription (CLIENT LIST `psub=`). */
async function patternSubscribers(client) {
  const list = await client.client("LIST");
  return list.split("\n").filter((line) => /\bpsub=[1-9]/.test(line)).length;
}

/** The broadcast channels subscribed on the real Redis. */
function broadcastChannels(client) {
  return client.pubsub("CHANNELS", "socket.io#/#*");
}

/** Remote broadcasts a node handed to its hub so far (`chat_broadcasts_total{origin="remote"}`). */
const remoteBroadcasts = (node) => metric(node, "chat_broadcasts_total", { origin: "remote" });

/** Like `redis-cli PSUBSCRIBE 'socket.io*'`: every broadcast, decoded. */
async function watchTraffic(redisUrl) {
  const sub = new Redis(redisUrl);
  const seen = [];
  sub.on("pmessageBuffer", (_pattern, channel, message) => {
    channel = channel.toString();
    if (channel.startsWith("socket.io#/#")) seen.push({ channel, value: msgpack.decode(message) });
  });
  await sub.psubscribe("socket.io*");
  const privateMessages = () => seen.filter((m) => m.value[1]?.data?.[0] === "private message");
  return { privateMessages, close: () => sub.disconnect() };
}

/**
 * Sends with an ack (ours) from a user on `fromNode` and checks that `receivers` get it once
 * and `silent` not at all. The sync point: a newcomer on the sender's node, whose `user
 * connected` that node delivers and publishes (on socket.io#/#, which every node hears) after
 * the message, reached every socket involved. It counts as one remote broadcast on each other
 * node, and is no private message on the wire.
 */
async function deliverOnce(fromNode, from, to, content, receivers, silent) {
  const arrivals = receivers.map((r) => once(r.socket, "private message"));
  if (from.acks === false) from.socket.emit("private message", { content, to });
  else assertAckOk(await sendPrivateMessage(from.socket, { content, to }));
  for (const [message] of await Promise.all(arrivals)) {
    assert.deepEqual(coreMessage(message), { content, from: from.session.userID, to });
  }
  const everyone = [...receivers, ...silent].map((r) => r.socket);
  await presenceSyncPoint(fromNode.url, { transports: ["websocket"] }, everyone);
  for (const socket of everyone) await expectNoEvent(socket, "private message", 0);
}

describe("room subscriptions: bookkeeping on the real Redis", () => {
  const cluster = useCluster(2);
  const opts = { transports: ["websocket"] };

  it("first join subscribes the user's room, last leave unsubscribes it", async () => {
    const { client } = cluster;
    assert.equal(await numsub(client, "socket.io#/#"), 2, "both nodes SUBSCRIBE the namespace channel");
    assert.equal(await patternSubscribers(client), 0, "no PSUBSCRIBE in rooms mode");

    const alice = await connectUser(cluster.nodes[0].url, opts, "alice-subs");
    const room = roomChannel(alice.session.userID);
    // Subscribed before `session` was sent: no waiting.
    assert.equal(await numsub(client, room), 1);
    const tab = await connectTab(cluster.nodes[0].url, opts, alice.session.sessionID);
    assert.equal(await numsub(client, room), 1, "one subscription per node, not per socket");
    const far = await connectTab(cluster.nodes[1].url, opts, alice.session.sessionID);
    assert.equal(await numsub(client, room), 2, "a tab on the other node subscribes there too");

    far.socket.disconnect();
    await eventually("n2 unsubscribed", async () => (await numsub(client, room)) === 1);
    // The hub handled alice's departure (its session closed, nothing pending) before it
    // handles the newcomer's arrival, and a room it were to give up would be unsubscribed
    // before the newcomer's own room is subscribed (before its `session`).
    await closeAndSync(cluster.nodes[0].url, opts, alice, [tab.socket]);
    assert.equal(await numsub(client, room), 1, "a tab left on n1 keeps the subscription");
    tab.socket.disconnect();
    await eventually("n1 unsubscribed", async () => !(await broadcastChannels(client)).includes(room));
    assert.equal(await numsub(client, "socket.io#/#"), 2, "the namespace channel stays");
    assert.equal(await numsub(client, "socket.io-request#/#"), 2, "requests still reach both nodes");
  });
});

describe("room subscriptions: deliveries per node", () => {
  // A cluster of its own: no presence traffic of other tests may arrive while counting.
  const cluster = useCluster(2);
  const opts = { transports: ["websocket"] };

  it("a private message reaches exactly the nodes with a recipient", async () => {
    const [n1, n2] = cluster.nodes;
    const alice = await connectUser(n1.url, opts, "alice-count");
    const bob = await connectUser(n2.url, opts, "bob-count");
    await connectOf(alice.socket, bob.session.userID);
    const carol = await connectUser(n1.url, opts, "carol-count");
    await connectOf(bob.socket, carol.session.userID);
    const before = [await remoteBroadcasts(n1), await remoteBroadcasts(n2)];
    // alice and carol are both on n1: n2 holds no recipient and must not even receive them.
    for (let i = 0; i < 5; i++) await deliverOnce(n1, alice, carol.session.userID, `local ${i}`, [carol], [alice, bob]);
    for (let i = 0; i < 5; i++) await deliverOnce(n1, alice, bob.session.userID, `remote ${i}`, [bob], [alice, carol]);
    const after = [await remoteBroadcasts(n1), await remoteBroadcasts(n2)];
    // Each deliverOnce's sync point is one `user connected` from n1 as well.
    assert.equal(after[1] - before[1], 5 + 10, "n2 received only the 5 messages to bob (and the 10 sync points)");
    assert.equal(after[0] - before[0], 0, "n1 received none (its own come back with its uid, ignored)");
  });
});

describe("room subscriptions: the chat across three of our nodes", () => {
  const cluster = useCluster(3);

  withTransports((opts) => {
    it("recipient's and sender's other tabs get each message once, on whichever node", async () => {
      const [n1, n2, n3] = cluster.nodes;
      const traffic = await watchTraffic(cluster.redis.url);
      try {
        const alice = await connectUser(n1.url, opts);
        const bob = await connectUser(n2.url, opts);
        const aliceTab = await connectTab(n3.url, opts, alice.session.sessionID);
        const a = alice.session.userID;
        const b = bob.session.userID;

        await deliverOnce(n1, alice, b, "to bob", [bob, aliceTab], [alice]);
        await deliverOnce(n2, bob, a, "to alice", [alice, aliceTab], [bob]);
        await deliverOnce(n3, aliceTab, a, "note to self", [alice], [aliceTab, bob]);

        // An operator's PSUBSCRIBE sees every message, on the room channels.
        const seen = traffic.privateMessages().map((m) => [m.channel, m.value[1].data[1].content]);
        assert.deepEqual(
          seen.sort(),
          [
            [roomChannel(a), "note to self"],
            [roomChannel(a), "to alice"],
            [roomChannel(a), "to bob"],
            [roomChannel(b), "to alice"],
            [roomChannel(b), "to bob"],
          ].sort(),
        );
      } finally {
        traffic.close();
      }
    });
  });
});

for (const adapter of ["v6", "v8"]) {
  const adapterName = adapter === "v6" ? "socket.io-redis 6.1.1" : "@socket.io/redis-adapter 8.3.0";

  describe(`room subscriptions: two of our nodes and a Node node (${adapterName})`, () => {
    let redis;
    let ours = [];
    let reference;
    before(async () => {
      redis = await startRedis();
      ours = [await startNode(redis, "r1"), await startNode(redis, "r2")];
      reference = await startReference(redis.url, adapter);
    });
    afterEach(() => disconnectAll());
    after(async () => {
      await reference?.stop();
      await Promise.all(ours.map((node) => node.stop()));
      await redis?.stop();
    });

    withTransports((opts) => {
      it("messages both ways, with the sender's other tab on a third node", async () => {
        const alice = await connectUser(ours[0].url, opts);
        const nora = await connectUser(reference.url, opts);
        await connectOf(alice.socket, nora.session.userID);
        // alice's other tab on the Node node, nora's on our second node.
        const aliceOnNode = await connectTab(reference.url, opts, alice.session.sessionID);
        const noraOnOurs = await connectTab(ours[1].url, opts, nora.session.sessionID);
        const noraNode = { ...nora, acks: false };

        // Ours publishes on room channels: the Node node (PSUBSCRIBE) delivers both copies.
        await deliverOnce(ours[0], alice, nora.session.userID, "from ours", [nora, noraOnOurs, aliceOnNode], [alice]);
        // The Node node publishes one two-room broadcast on socket.io#/#: both our nodes get it.
        await deliverOnce(reference, noraNode, alice.session.userID, "from Node", [alice, aliceOnNode, noraOnOurs], [nora]);
        assert.ok(reference.alive(), `the Node node survived our traffic:\n${reference.output()}`);
      });
    });
  });
}

describe("--subscription-mode pattern: socket.io-redis 6's PSUBSCRIBE, as before", () => {
  let redis;
  let nodes = [];
  let client;
  const opts = { transports: ["websocket"] };
  before(async () => {
    redis = await startRedis();
    const args = ["--subscription-mode", "pattern"];
    nodes = [await startNode(redis, "p1", { args }), await startNode(redis, "p2", { args })];
    client = new Redis(redis.url);
  });
  afterEach(() => disconnectAll());
  after(async () => {
    client?.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("every node PSUBSCRIBEs, a private message is one two-room broadcast on socket.io#/#", async () => {
    const traffic = await watchTraffic(redis.url);
    try {
      assert.equal(await patternSubscribers(client), 3, "both nodes and the watcher");
      const alice = await connectUser(nodes[0].url, opts);
      const bob = await connectUser(nodes[1].url, opts);
      const bobTab = await connectTab(nodes[0].url, opts, bob.session.sessionID);
      // Published by p1 after alice's: once n2 has it, every earlier broadcast arrived.
      await connectOf(bob.socket, bob.session.userID);
      assert.deepEqual(await broadcastChannels(client), [], "no room channel subscribed");
      const before = await remoteBroadcasts(nodes[1]);
      const carol = await connectUser(nodes[0].url, opts);
      await connectOf(bob.socket, carol.session.userID);
      await deliverOnce(nodes[0], alice, carol.session.userID, "local", [carol], [alice, bob, bobTab]);
      await deliverOnce(nodes[0], alice, bob.session.userID, "to bob", [bob, bobTab], [alice, carol]);
      // carol's `user connected`, both messages and the two sync points' `user connected`:
      // pattern mode delivers everything everywhere.
      assert.equal((await remoteBroadcasts(nodes[1])) - before, 5);
      const wire = traffic.privateMessages().map((m) => [m.channel, m.value[2].rooms]);
      assert.deepEqual(wire, [
        ["socket.io#/#", [carol.session.userID, alice.session.userID]],
        ["socket.io#/#", [bob.session.userID, alice.session.userID]],
      ]);
    } finally {
      traffic.close();
    }
  });
});

describe("room subscriptions after a Redis restart", () => {
  let redis;
  let node;
  let client;
  const opts = { transports: ["websocket"] };
  before(async () => {
    redis = await startRedis();
    node = await startNode(redis, "s1");
  });
  afterEach(() => disconnectAll());
  after(async () => {
    client?.disconnect();
    await node?.stop();
    await redis?.stop();
  });

  it("every local room is subscribed again, and messages flow", async () => {
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await connectUser(node.url, opts));
    const gone = users.pop();
    gone.socket.disconnect();
    await redis.restart();
    client = new Redis(redis.url);
    const expected = ["socket.io#/#", ...users.map((u) => roomChannel(u.session.userID))].sort();
    await eventually("resubscribed", async () => {
      const channels = (await broadcastChannels(client)).sort();
      return JSON.stringify(channels) === JSON.stringify(expected);
    });
    const [first, second] = users;
    await deliverOnce(node, first, second.session.userID, "after the restart", [second], [first]);
  });
});
