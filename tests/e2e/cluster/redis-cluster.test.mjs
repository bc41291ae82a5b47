// SPEC §3 and §4 on a Redis Cluster (--redis-cluster-urls): two chat-server nodes on a real
// three-master cluster keep the chat contract (both transports), keep the reference keys on
// the cluster, keep history and sessions across a restart of every node, and count and drop
// what does not belong on their sharded channels.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, expectNoEvent, once, recordedEvents, withTransports } from "../lib/client.mjs";
import { assertAckOk, closeAndSync, connectOf, connectTab, connectUser, coreMessage, disconnectOf, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { cli, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { errorCount, eventually, health, transportSettled } from "../lib/signals.mjs";

/** `redis-cli -c` on any node of the cluster (follows MOVED). */
function ask(redis, ...args) {
  return cli(redis.ports[0], "-c", ...args).then((out) => out.trim());
}

describe("redis cluster: two nodes on three masters", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
    nodes.push(await startClusterNode(redis, "c1"), await startClusterNode(redis, "c2"));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });
  const url = (i) => nodes[i].url;

  withTransports((clientOpts) => {
    it("users on different nodes message each other both ways; nothing echoes to the sender", async () => {
      const alice = await connectUser(url(0), clientOpts);
      const bob = await connectUser(url(1), clientOpts);
      const [aliceID, bobID] = [alice.session.userID, bob.session.userID];
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "over the shards", to: bobID }));
      const [atBob] = await once(bob.socket, "private message");
      assert.deepEqual(coreMessage(atBob), { content: "over the shards", from: aliceID, to: bobID });
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "and back", to: aliceID }));
      const [atAlice] = await once(alice.socket, "private message");
      assert.deepEqual(coreMessage(atAlice), { content: "and back", from: bobID, to: aliceID });
      await messageSyncPoint(bob, aliceID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
      await messageSyncPoint(alice, bobID, [bob.socket]);
      await expectNoEvent(bob.socket, "private message", 0);
    });

    it("connection state recovery across nodes on the cluster: parked on one node, back on the other", async () => {
      const alice = await connectUser(url(0), clientOpts);
      const bob = await connectUser(url(1), { transports: ["websocket"] });
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "live", to: alice.session.userID }));
      await once(alice.socket, "private message");
      await transportSettled(alice.socket);
      const { id, _pid: pid, _lastOffset: offset } = alice.socket;
      alice.socket.io.engine.close();
      await disconnectOf(bob.socket, alice.session.userID);
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "while away", to: alice.session.userID }));
      const back = await connect(url(1), { ...clientOpts, auth: { sessionID: alice.session.sessionID, pid, offset } });
      assert.equal(back.id, id, "recovered with the same socket id");
      assert.equal((await once(back, "private message"))[0].content, "while away");
      await messageSyncPoint(bob, alice.session.userID, [back]);
      await expectNoEvent(back, "private message", 0);
      assert.equal(recordedEvents(back).filter((e) => e === "users").length, 0, "no users");
    });

    it("the sender's tab on the other node gets a copy", async () => {
      const alice = await connectUser(url(0), clientOpts);
      const aliceElsewhere = await connectTab(url(1), clientOpts, alice.session.sessionID);
      const bob = await connectUser(url(1), clientOpts);
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "copy me", to: bob.session.userID }));
      const [copy] = await once(aliceElsewhere.socket, "private message");
      assert.equal(copy.content, "copy me");
      await once(bob.socket, "private message");
    });

    it("user connected and user disconnected cross nodes; the other node lists the user", async () => {
      const watcher = await connectUser(url(1), clientOpts);
      const carol = await connectUser(url(0), clientOpts, "carol-sharded");
      const announced = await connectOf(watcher.socket, carol.session.userID);
      assert.deepEqual(announced, { userID: carol.session.userID, username: "carol-sharded", connected: true, messages: [] });
      const newcomer = await connectUser(url(1), clientOpts);
      assert.equal(userEntry(newcomer.users, carol.session.userID).connected, true);
      // A second tab on the other node: closing the first announces nothing.
      const carol2 = await connectTab(url(1), clientOpts, carol.session.sessionID);
      const announced2 = [];
      const record = (id) => announced2.push(id);
      watcher.socket.on("user disconnected", record);
      await closeAndSync(url(0), clientOpts, carol, [watcher.socket]);
      watcher.socket.off("user disconnected", record);
      assert.ok(!announced2.includes(carol.session.userID), "a tab is left on the other node: not announced");
      carol2.socket.disconnect();
      assert.equal(await disconnectOf(watcher.socket, carol.session.userID, 5000), carol.session.userID);
    });
  });

  it("/health reports every shard: its master, its slots, that it answers", async () => {
    const { status, body } = await health(nodes[0]);
    assert.equal(status, 200);
    assert.equal(body.status, "ok");
    assert.equal(body.redis, "up");
    assert.equal(body.shards.length, 3, JSON.stringify(body));
    const masters = redis.urls.map((url) => url.replace("redis://", "")).sort();
    assert.deepEqual(body.shards.map((shard) => shard.master).sort(), masters);
    assert.ok(body.shards.every((shard) => shard.up && shard.slots.length > 0));
    assert.deepEqual(body.shards.flatMap((shard) => shard.slots).sort(), ["0-5460", "10923-16383", "5461-10922"]);
  });

  it("keeps the reference keys on the cluster, the user directory in buckets", async () => {
    const opts = { transports: ["websocket"] };
    const alice = await connectUser(url(0), opts, "alice-keys");
    const bob = await connectUser(url(1), opts, "bob-keys");
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "stored twice", to: bob.session.userID }));
    const session = await ask(redis, "HGET", `session:${alice.session.sessionID}`, "userID");
    assert.equal(session, alice.session.userID);
    for (const owner of [alice.session.userID, bob.session.userID]) {
      const entries = (await ask(redis, "LRANGE", `messages:${owner}`, "0", "-1")).split("\n").filter(Boolean);
      assert.equal(entries.length, 1, `one entry in messages:${owner}: ${entries}`);
      assert.equal(JSON.parse(entries[0]).content, "stored twice");
      assert.ok(Number(await ask(redis, "TTL", `messages:${owner}`)) > 0);
    }
    let listed = 0;
    for (let bucket = 0; bucket < 16; bucket++) {
      const found = await ask(redis, "HEXISTS", `chat:users:${bucket}`, alice.session.userID);
      listed += Number(found);
    }
    assert.equal(listed, 1, "alice is in exactly one directory bucket");
    assert.equal(await ask(redis, "EXISTS", "chat:users"), "0", "no single hot directory key");
    // The buckets spread over the masters.
    const owners = new Set();
    for (let bucket = 0; bucket < 16; bucket++) owners.add(await redis.masterOf(`chat:users:${bucket}`));
    assert.equal(owners.size, 3, "buckets on every master");
  });

  it("history and sessions survive a restart of every node", async () => {
    const opts = { transports: ["websocket"] };
    const alice = await connectUser(url(0), opts, "alice-restart");
    const bob = await connectUser(url(1), opts, "bob-restart");
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "before the restart", to: bob.session.userID }));
    await once(bob.socket, "private message");
    disconnectAll();
    for (const node of nodes.splice(0)) await node.stop();
    nodes.push(await startClusterNode(redis, "c1"), await startClusterNode(redis, "c2"));
    const again = await connectTab(url(1), opts, alice.session.sessionID);
    assert.deepEqual(again.session, alice.session, "same sessionID and userID after the restart");
    const bobEntry = userEntry(again.users, bob.session.userID);
    assert.equal(bobEntry.username, "bob-restart");
    assert.deepEqual(bobEntry.messages.map(coreMessage), [
      { content: "before the restart", from: alice.session.userID, to: bob.session.userID },
    ]);
  });

  it("a node killed on the cluster: a survivor announces its users (liveness keys and heartbeats on the cluster)", async () => {
    const opts = { transports: ["websocket"] };
    const doomed = await startClusterNode(redis, "doomed");
    const watcher = await connectUser(url(0), opts);
    const victim = await connectUser(doomed.url, opts, "victim-sharded");
    await connectOf(watcher.socket, victim.session.userID);
    // The doomed node's user list reached the cluster (hash-tagged with chat:nodes).
    await eventually("the doomed node registered with its user", async () => {
      const members = (await ask(redis, "SMEMBERS", "chat:nodes")).split("\n").filter((m) => m.startsWith("doomed."));
      return members.length === 1 && members[0].endsWith("{chat:nodes}") &&
        (await ask(redis, "HEXISTS", `chat:node:${members[0]}:users`, victim.session.userID)) === "1";
    });
    const killedAt = Date.now();
    await doomed.kill();
    assert.equal(await disconnectOf(watcher.socket, victim.session.userID, 15_000), victim.session.userID);
    assert.ok(Date.now() - killedAt < 15_000);
    const session = await ask(redis, "HGET", `session:${victim.session.sessionID}`, "connected");
    assert.equal(session, "false", "the survivor saved the session disconnected");
  });

  it("garbage and foreign namespaces on the sharded channels are counted and dropped", async () => {
    const opts = { transports: ["websocket"] };
    const alice = await connectUser(url(0), opts);
    const bob = await connectUser(url(1), opts);
    const decodeBefore = await errorCount(nodes[1], "bridge_decode");
    const foreignBefore = await errorCount(nodes[1], "bridge_foreign_namespace");
    const bobRoom = `socket.io#/#${bob.session.userID}#`;
    const foreign = JSON.stringify({
      type: 3, uid: "intruder", nsp: "/admin",
      data: { packet: { type: 2, data: ["private message", { content: "x" }], nsp: "/admin" }, opts: { rooms: [], except: [], flags: {} } },
    });
    for (const [channel, payload] of [
      ["socket.io#/#", "garbage"],
      ["socket.io#/#", "{not json"],
      [bobRoom, "\x93\xa1x"],
      ["socket.io#/#c2#", '{"type":8,"uid":"x","nsp":"/","data":{"sockets":7}}'],
      ["socket.io#/#", foreign],
    ]) {
      // redis-cli -c sends SPUBLISH to the shard owning the channel.
      await ask(redis, "SPUBLISH", channel, payload);
    }
    await eventually("the bad messages counted", async () =>
      (await errorCount(nodes[1], "bridge_decode")) >= decodeBefore + 4 &&
      (await errorCount(nodes[1], "bridge_foreign_namespace")) >= foreignBefore + 1);
    // The bad messages were handled (counted) before this one was sent: had any been
    // delivered, bob would get it first.
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "still fine", to: bob.session.userID }));
    const [message] = await once(bob.socket, "private message");
    assert.equal(message.content, "still fine");
  });
});
