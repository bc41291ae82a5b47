// SPEC §4 (Redis Cluster): one chat-server node and one Node.js socket.io 4.8.4 node using
// @socket.io/redis-adapter 8.3's createShardedAdapter (node-redis 4 createCluster,
// subscriptionMode "dynamic") serve one cluster: messages and presence cross both ways, and
// the Node node survives everything ours publishes.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, expectNoEvent, once, onceWhere } from "../lib/client.mjs";
import { assertAckOk, connectOf, connectUser, coreMessage, disconnectOf, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { startShardedReference } from "./reference-node.mjs";

describe("mixed Redis Cluster: chat-server + Node node with createShardedAdapter", () => {
  const opts = { transports: ["websocket"] };
  let redis;
  let ours;
  let node;
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
    ours = await startClusterNode(redis, "rust1");
    node = await startShardedReference(redis.urls);
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await node?.stop();
    await ours?.stop();
    await redis?.stop();
  });
  const nodeAlive = () => assert.ok(node.alive(), `the Node node survived our traffic:\n${node.output()}`);

  it("presence crosses: user connected both ways, and the Node node lists our users", async () => {
    const alice = await connectUser(ours.url, opts, "alice-mixed");
    const nora = await connectUser(node.url, opts, "nora-mixed");
    const announced = await connectOf(alice.socket, nora.session.userID);
    assert.equal(announced.username, "nora-mixed");
    assert.equal(userEntry(nora.users, alice.session.userID).connected, true);
    const bea = await connectUser(ours.url, opts, "bea-mixed");
    const atNora = await connectOf(nora.socket, bea.session.userID);
    assert.deepEqual(atNora, { userID: bea.session.userID, username: "bea-mixed", connected: true, messages: [] });
    nodeAlive();
  });

  it("a user on the Node node messages a user on ours, and back", async () => {
    const alice = await connectUser(ours.url, opts, "alice-mixed2");
    const nora = await connectUser(node.url, opts, "nora-mixed2");
    await connectOf(alice.socket, nora.session.userID);
    nora.socket.emit("private message", { content: "from Node", to: alice.session.userID });
    const [atAlice] = await once(alice.socket, "private message");
    assert.deepEqual(coreMessage(atAlice), { content: "from Node", from: nora.session.userID, to: alice.session.userID });
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "from Rust", to: nora.session.userID }));
    const [atNora] = await once(nora.socket, "private message");
    assert.deepEqual(coreMessage(atNora), { content: "from Rust", from: alice.session.userID, to: nora.session.userID });
    // Sync points on both paths to Alice: a marker from the Node node (which acks nothing)
    // and one from a user on ours.
    nora.socket.emit("private message", { content: "marker from Node", to: alice.session.userID });
    await onceWhere(alice.socket, "private message", ([m]) => m.content === "marker from Node");
    const bob = await connectUser(ours.url, opts, "bob-mixed2");
    await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
    await expectNoEvent(alice.socket, "private message", 0);
    nodeAlive();
  });

  it("user disconnected crosses both ways (each node asks the other with FETCH_SOCKETS)", async () => {
    const alice = await connectUser(ours.url, opts, "alice-mixed3");
    const nora = await connectUser(node.url, opts, "nora-mixed3");
    await connectOf(alice.socket, nora.session.userID);
    const watcherOnOurs = await connectUser(ours.url, opts, "watch-mixed3");
    nora.socket.disconnect();
    assert.equal(await disconnectOf(alice.socket, nora.session.userID, 8000), nora.session.userID);
    await disconnectOf(watcherOnOurs.socket, nora.session.userID, 8000);
    const noraAgain = await connectUser(node.url, opts, "nora-mixed3b");
    alice.socket.disconnect();
    assert.equal(await disconnectOf(noraAgain.socket, alice.session.userID, 8000), alice.session.userID);
    nodeAlive();
  });
});
