// SPEC §4: a Node.js socket.io node using socket.io-redis 6 (or @socket.io/redis-adapter 8)
// serves in the same cluster as chat-server nodes. The Node node is the reference design's
// server (fixtures/reference-server.mjs, unmodified); both talk through one Redis.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, expectNoEvent, once, onceWhere } from "../lib/client.mjs";
import { assertAckOk, connectOf, connectUser, coreMessage, disconnectOf, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";
import { startReference } from "./reference-node.mjs";
import { metric, metricReaches } from "../lib/signals.mjs";

for (const adapter of ["v6", "v8"]) {
  const adapterName = adapter === "v6" ? "socket.io-redis 6.1.1" : "@socket.io/redis-adapter 8.3.0";

  describe(`mixed cluster: chat-server + Node reference node (${adapterName})`, () => {
    const opts = { transports: ["websocket"] };
    let redis;
    let ours;
    let reference;
    before(async () => {
      redis = await startRedis();
      ours = await startNode(redis, "rust1");
      reference = await startReference(redis.url, adapter);
    });
    afterEach(() => disconnectAll());
    after(async () => {
      await reference?.stop();
      await ours?.stop();
      await redis?.stop();
    });

    it("presence crosses: user connected both ways, and the Node node lists our users", async () => {
      const alice = await connectUser(ours.url, opts, `alice-${adapter}`);
      const nora = await connectUser(reference.url, opts, `nora-${adapter}`);
      const announced = await connectOf(alice.socket, nora.session.userID);
      assert.equal(announced.username, `nora-${adapter}`);
      assert.equal(userEntry(nora.users, alice.session.userID).connected, true);

      const bea = await connectUser(ours.url, opts, `bea-${adapter}`);
      const atNora = await connectOf(nora.socket, bea.session.userID);
      assert.deepEqual(atNora, { userID: bea.session.userID, username: `bea-${adapter}`, connected: true, messages: [] });
      assert.ok(reference.alive(), `the Node node survived our traffic:\n${reference.output()}`);
    });

    it("a user on the Node node messages a user on ours", async () => {
      const alice = await connectUser(ours.url, opts, `alice2-${adapter}`);
      const nora = await connectUser(reference.url, opts, `nora2-${adapter}`);
      nora.socket.emit("private message", { content: "from Node", to: alice.session.userID });
      const [message] = await once(alice.socket, "private message");
      assert.deepEqual(coreMessage(message), {
        content: "from Node",
        from: nora.session.userID,
        to: alice.session.userID,
      });
    });

    // A Node node never writes our user directory (`chat:users`): ours learns its users from
    // their `user connected` broadcasts, and accepts recipients that are online anywhere.

    it("a user on ours messages a user on the Node node", async () => {
      const alice = await connectUser(ours.url, opts, `alice3-${adapter}`);
      const nora = await connectUser(reference.url, opts, `nora3-${adapter}`);
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "from Rust", to: nora.session.userID }));
      const [message] = await once(nora.socket, "private message");
      assert.deepEqual(coreMessage(message), {
        content: "from Rust",
        from: alice.session.userID,
        to: nora.session.userID,
      });
      // Sync points on both paths to Alice: a marker from the Node node (it acks nothing, so
      // the marker itself is what is waited for) and one from a user on ours.
      nora.socket.emit("private message", { content: "marker from Node", to: alice.session.userID });
      await onceWhere(alice.socket, "private message", ([m]) => m.content === "marker from Node");
      const bob = await connectUser(ours.url, opts, `bob3-${adapter}`);
      await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
    });

    it("recovery keeps working: a socket of ours dropped meanwhile gets a Node user's message replayed; Node offers none", async () => {
      const alice = await connectUser(ours.url, opts, `alice6-${adapter}`);
      const nora = await connectUser(reference.url, opts, `nora6-${adapter}`);
      assert.equal(typeof alice.socket._pid, "string", "ours offers recovery");
      assert.equal(nora.socket._pid, undefined, "the Node node does not");
      const { id, _pid: pid, _lastOffset: offset } = alice.socket;
      alice.socket.io.engine.close();
      await disconnectOf(nora.socket, alice.session.userID);
      const remoteBefore = await metric(ours, "chat_broadcasts_total", { origin: "remote" });
      nora.socket.emit("private message", { content: "from Node, while away", to: alice.session.userID });
      // Ours received it from Redis (into the parked socket's log).
      await metricReaches(ours, "chat_broadcasts_total", { origin: "remote" }, remoteBefore + 1);
      const back = await connect(ours.url, { ...opts, auth: { sessionID: alice.session.sessionID, pid, offset } });
      assert.equal(back.id, id, "recovered");
      const [message] = await once(back, "private message");
      assert.deepEqual(coreMessage(message), {
        content: "from Node, while away",
        from: nora.session.userID,
        to: alice.session.userID,
      });
      await connectOf(nora.socket, alice.session.userID);
      assert.ok(reference.alive(), `the Node node survived our traffic:\n${reference.output()}`);
    });

    it("ours lists the users of the Node node", async () => {
      const nora = await connectUser(reference.url, opts, `nora5-${adapter}`);
      const alice = await connectUser(ours.url, opts, `alice5-${adapter}`);
      assert.equal(userEntry(alice.users, nora.session.userID).username, `nora5-${adapter}`);
    });

    it("user disconnected crosses both ways; each node asks the other before announcing", async () => {
      const alice = await connectUser(ours.url, opts, `alice4-${adapter}`);
      const nora = await connectUser(reference.url, opts, `nora4-${adapter}`);
      const watcherHere = await connectUser(ours.url, opts);
      const watcherThere = await connectUser(reference.url, opts);

      // The Node node asks ours (a type 0 request) whether nora has a tab here: no, so it announces.
      nora.socket.disconnect();
      assert.equal(await disconnectOf(watcherHere.socket, nora.session.userID), nora.session.userID);
      // Ours asks the Node node about alice: it answers none, so ours announces.
      alice.socket.disconnect();
      assert.equal(await disconnectOf(watcherThere.socket, alice.session.userID), alice.session.userID);
      assert.ok(reference.alive(), `the Node node survived:\n${reference.output()}`);
    });
  });
}
