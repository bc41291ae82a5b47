// SPEC §2 "Connection state recovery", across nodes: a client whose socket was parked on one
// node recovers on another (its state and the broadcasts it missed come from Redis), directly
// and behind nginx after its node is drained (SIGTERM) or killed (SIGKILL). Official
// socket.io-client 4.8.4, real Redis, real nginx.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { connect, countEvents, createSocket, disconnectAll, expectNoEvent, once, recorded, sleep, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectUser, connectWithAuth, disconnectOf, messageSyncPoint, presenceSyncPoint, sendPrivateMessage, uniqueName } from "../lib/chat.mjs";
import { startNginx } from "../lib/nginx.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";
import { dropTransport, errorCount, eventually, metric, transportSettled } from "../lib/signals.mjs";

const recoveredFromRedis = (url) => metric(url, "chat_handshakes_total", { result: "recovered_from_redis" });

/**
 * Alice on `from`, Bob on `to`; Bob's first message reaches Alice live (so her offset names
 * it); then Alice's transport drops and stays down, and Bob sends `away` messages.
 * Resolves with what a client on `to` needs to come back: the old socket id, pid and offset.
 */
async function parkAliceOn(from, to, clientOpts, away = ["while away"]) {
  const alice = await connectUser(from.url, clientOpts, uniqueName("alice"));
  const bob = await connectUser(to.url, { transports: ["websocket"] }, uniqueName("bob"));
  assertAckOk(await sendPrivateMessage(bob.socket, { content: "seen live", to: alice.session.userID }));
  assert.equal((await once(alice.socket, "private message"))[0].content, "seen live");
  await transportSettled(alice.socket); // upgraded, when the client upgrades
  const parked = {
    alice,
    bob,
    id: alice.socket.id,
    pid: alice.socket._pid,
    offset: alice.socket._lastOffset,
    sessionID: alice.session.sessionID,
  };
  assert.equal(typeof parked.pid, "string", "the CONNECT reply carries a pid");
  assert.equal(typeof parked.offset, "string", "the live message carried an offset");
  await dropTransport(from, alice.socket);
  await disconnectOf(bob.socket, alice.session.userID, 3000);
  for (const content of away) {
    assertAckOk(await sendPrivateMessage(bob.socket, { content, to: alice.session.userID }));
  }
  return parked;
}

/** A fresh client presenting `{sessionID, pid, offset}` (what the official client sends). */
function comeBack(node, clientOpts, { sessionID, pid, offset }) {
  return connect(node.url, { ...clientOpts, auth: { sessionID, pid, offset } });
}

describe("cluster: connection state recovery across nodes", () => {
  let redis;
  let n1;
  let n2;
  let short;
  before(async () => {
    redis = await startRedis();
    n1 = await startNode(redis, "n1");
    n2 = await startNode(redis, "n2");
    short = await startNode(redis, "short", { args: ["--recovery-window-secs", "1"] });
  });
  afterEach(() => disconnectAll());
  after(async () => {
    for (const node of [n1, n2, short]) await node?.stop();
    await redis?.stop();
  });

  withTransports((clientOpts) => {
    it("a socket parked on n1 comes back on n2: same id, the missed messages once, no session or users", async () => {
      const before = await recoveredFromRedis(n2.url);
      const parked = await parkAliceOn(n1, n2, clientOpts, ["away 1", "away 2"]);
      const back = await comeBack(n2, clientOpts, parked);
      assert.equal(back.id, parked.id, "same socket id");
      const got = [(await once(back, "private message"))[0], (await once(back, "private message"))[0]];
      assert.deepEqual(got.map((m) => m.content), ["away 1", "away 2"]);
      assert.equal(got[0].from, parked.bob.session.userID);
      await messageSyncPoint(parked.bob, parked.alice.session.userID, [back]);
      await expectNoEvent(back, "private message", 0);
      assert.equal(countEvents(back, "session"), 0, "no session");
      assert.equal(countEvents(back, "users"), 0, "no users");
      assert.equal(await recoveredFromRedis(n2.url), before + 1);

      // Bob was told Alice left, and is told she is back; messages flow live both ways.
      const [returned] = await once(parked.bob.socket, "user connected", 3000);
      assert.equal(returned.userID, parked.alice.session.userID);
      assertAckOk(await sendPrivateMessage(parked.bob.socket, { content: "live", to: parked.alice.session.userID }));
      assert.equal((await once(back, "private message"))[0].content, "live");
      assertAckOk(await sendPrivateMessage(back, { content: "hi bob", to: parked.bob.session.userID }));
      assert.equal((await once(parked.bob.socket, "private message"))[0].content, "hi bob");
    });
  });

  it("back on the node it was parked on: what other nodes sent meanwhile is replayed (its room stayed subscribed)", async () => {
    const ws = { transports: ["websocket"] };
    const parked = await parkAliceOn(n1, n2, ws, ["from n2 while parked"]);
    const back = await comeBack(n1, ws, parked);
    assert.equal(back.id, parked.id);
    assert.equal((await once(back, "private message"))[0].content, "from n2 while parked");
    await messageSyncPoint(parked.bob, parked.alice.session.userID, [back]);
    await expectNoEvent(back, "private message", 0);
    assert.equal(countEvents(back, "users"), 0);
  });

  it("the socket's own messages are not replayed, its other tab's are, and presence it missed is", async () => {
    const ws = { transports: ["websocket"] };
    const alice = await connectUser(n1.url, ws, uniqueName("alice"));
    const otherTab = await connectWithAuth(n2.url, ws, { sessionID: alice.session.sessionID });
    const bob = await connectUser(n2.url, ws, uniqueName("bob"));
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "from this tab", to: bob.session.userID }));
    await once(bob.socket, "private message");
    await once(otherTab.socket, "private message"); // the other tab has it too (across nodes)
    const { id, _pid: pid, _lastOffset: offset } = alice.socket;
    await dropTransport(n1, alice.socket);
    assertAckOk(await sendPrivateMessage(otherTab.socket, { content: "from the other tab", to: bob.session.userID }));
    const carol = await connectUser(n2.url, ws, uniqueName("carol"));
    carol.socket.disconnect();
    await disconnectOf(bob.socket, carol.session.userID); // announced (and in the stream) before Alice is back

    const back = await comeBack(n2, ws, { sessionID: alice.session.sessionID, pid, offset });
    assert.equal(back.id, id);
    const [message] = await once(back, "private message");
    assert.equal(message.content, "from the other tab");
    // Carol came and went: only her last state is replayed (the stream also holds earlier
    // tests' presence, from the margin before the offset).
    await disconnectOf(back, carol.session.userID);
    const aboutCarol = recorded(back).filter((e) => e.event === "user connected" && e.args[0].userID === carol.session.userID);
    assert.equal(aboutCarol.length, 0, "her superseded `user connected` is not replayed");
    await messageSyncPoint(bob, alice.session.userID, [back]);
    await expectNoEvent(back, "private message", 0);
    otherTab.socket.disconnect();
  });

  it("forged, foreign, used and expired pids across nodes are normal connections, counted", async () => {
    const ws = { transports: ["websocket"] };
    const parked = await parkAliceOn(n1, n2, ws);
    const mallory = await connectUser(n2.url, ws, uniqueName("mallory"));

    const unknownBefore = await errorCount(n2.url, "recovery_unknown_pid");
    const forged = await connectWithAuth(n2.url, ws, { pid: "0".repeat(32), offset: parked.offset, username: uniqueName("f") });
    assert.notEqual(forged.session.userID, parked.alice.session.userID);
    assert.equal(await errorCount(n2.url, "recovery_unknown_pid"), unknownBefore + 1);

    // Alice's pid with Mallory's sessionID: Mallory's own session; the pid stays Alice's.
    const foreignBefore = await errorCount(n2.url, "recovery_foreign_session");
    const foreign = await connectWithAuth(n2.url, ws, { pid: parked.pid, offset: parked.offset, sessionID: mallory.session.sessionID });
    assert.equal(foreign.session.userID, mallory.session.userID);
    assert.notEqual(foreign.socket.id, parked.id);
    assert.equal(await errorCount(n2.url, "recovery_foreign_session"), foreignBefore + 1);

    const back = await comeBack(n2, ws, parked);
    assert.equal(back.id, parked.id, "still Alice's after the foreign attempt");
    assert.equal((await once(back, "private message"))[0].content, "while away");

    // A genuine pid with a malformed offset is used up: presented again, it is unknown.
    const other = await parkAliceOn(n1, n2, ws);
    const malformedBefore = await errorCount(n2.url, "recovery_malformed_offset");
    const badOffset = await connectWithAuth(n2.url, ws, { sessionID: other.sessionID, pid: other.pid, offset: "x-1.notatime" });
    assert.notEqual(badOffset.socket.id, other.id);
    assert.equal(badOffset.session.userID, other.alice.session.userID, "the sessionID handshake ran");
    assert.equal(await errorCount(n2.url, "recovery_malformed_offset"), malformedBefore + 1);
    const usedBefore = await errorCount(n1.url, "recovery_unknown_pid");
    const again = await connectWithAuth(n1.url, ws, { sessionID: other.sessionID, pid: other.pid, offset: other.offset });
    assert.notEqual(again.socket.id, other.id);
    assert.equal(await errorCount(n1.url, "recovery_unknown_pid"), usedBefore + 1);

    // Parked for longer than the window (1 s on that node): gone from Redis too.
    const expiring = await parkAliceOn(short, n2, ws);
    const expiredBefore = await errorCount(n2.url, "recovery_unknown_pid");
    await sleep(2200); // the subject: the 1 s recovery window (and its Redis TTL) running out
    const expired = await connectWithAuth(n2.url, ws, { sessionID: expiring.sessionID, pid: expiring.pid, offset: expiring.offset });
    assert.notEqual(expired.socket.id, expiring.id);
    assert.equal(await errorCount(n2.url, "recovery_unknown_pid"), expiredBefore + 1);
  });
});

describe("cluster: recovery behind nginx when the client's node goes away", () => {
  let redis;
  let redisClient;
  before(async () => {
    redis = await startRedis();
    redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterEach(() => disconnectAll());
  after(async () => {
    redisClient?.disconnect();
    await redis?.stop();
  });

  const ways = [
    { name: "drained (SIGTERM)", end: (node) => node.stop() },
    { name: "killed (SIGKILL)", end: (node) => node.kill() },
  ];
  for (const { name, end } of ways) {
    withTransports((clientOpts, variant) => {
      it(`${name}: the client recovers on the other node by itself, with what it missed`, async () => {
        // The default presence grace: Alice's node going away is no presence event for Bob.
        const grace = { args: ["--presence-grace-ms", "3000"] };
        const nodes = [await startNode(redis, uniqueName("a"), grace), await startNode(redis, uniqueName("b"), grace)];
        const nginx = await startNginx(nodes.map((node) => node.port));
        let alice;
        try {
          // The node nginx pins 127.0.0.1 to goes away; Bob is on the other.
          const pinned = (await (await fetch(`${nginx.url}/health`)).json()).node;
          const ids = await Promise.all(nodes.map(async (n) => (await (await fetch(`${n.url}/health`)).json()).node));
          const at = ids.indexOf(pinned);
          assert.ok(at >= 0, `nginx pins 127.0.0.1 to one of ${ids}: ${pinned}`);
          const [victim, survivor] = [nodes[at], nodes[1 - at]];
          const instances = await redisClient.smembers("chat:nodes");
          const victimInstance = instances.find((i) => i.startsWith(`${ids[at]}.`));
          assert.ok(victimInstance, `the victim ${ids[at]} in chat:nodes: ${instances}`);

          // A slow, fixed reconnection delay: Bob's message is surely sent while Alice is away.
          alice = createSocket(nginx.url, {
            ...clientOpts,
            reconnection: true,
            reconnectionDelay: 1000,
            randomizationFactor: 0,
            auth: { username: uniqueName("alice") },
          });
          alice.connect();
          await once(alice, "connect");
          const [session] = await once(alice, "session");
          await once(alice, "users");
          const bob = await connectUser(survivor.url, { transports: ["websocket"] }, uniqueName("bob"));
          assertAckOk(await sendPrivateMessage(bob.socket, { content: "before", to: session.userID }));
          assert.equal((await once(alice, "private message"))[0].content, "before");
          await transportSettled(alice);
          const oldId = alice.id;

          await end(victim);
          await once(alice, "disconnect", 5000);
          assertAckOk(await sendPrivateMessage(bob.socket, { content: "while the node was gone", to: session.userID }));
          await once(alice, "connect", 8000);
          assert.equal(alice.recovered, true, "socket.recovered");
          assert.equal(alice.id, oldId, "same socket id");
          assert.equal((await once(alice, "private message"))[0].content, "while the node was gone");
          await messageSyncPoint(bob, session.userID, [alice]);
          await expectNoEvent(alice, "private message", 0);
          const aboutAlice = recorded(bob.socket).filter(
            (e) => (e.event === "user disconnected" && e.args[0] === session.userID) || (e.event === "user connected" && e.args[0]?.userID === session.userID),
          );
          assert.deepEqual(aboutAlice, [], "Bob heard nothing of Alice's move");
          assert.equal(countEvents(alice, "session"), 1, "no second session");
          assert.equal(countEvents(alice, "users"), 1, "no second users");
          assertAckOk(await sendPrivateMessage(alice, { content: "back", to: bob.session.userID }));
          assert.equal((await once(bob.socket, "private message"))[0].content, "back");

          if (name.startsWith("killed") && variant === "websocket only") {
            // The survivor reaps the dead node's users, but Alice has a socket again: no ghost
            // and no false "gone" (the reaper runs within 10 s of the kill).
            // The survivor marks a reaped node once it decided on all its users; its hub then
            // announces a newcomer after anything the reap announced.
            await eventually(
              "the survivor to reap the killed node",
              async () => (await redisClient.exists(`chat:node:${victimInstance}:reaped`)) === 1,
              15_000,
            );
            await presenceSyncPoint(survivor.url, { transports: ["websocket"] }, [bob.socket]);
            // About Alice: the earlier cases' nodes, stopped with users in their presence grace,
            // are reaped by these nodes, whose users may hear of those others.
            await expectNoEvent(bob.socket, "user disconnected", 0, ([id]) => id === session.userID);
            await eventually("Alice listed as connected", async () => {
              const probe = await connectUser(survivor.url, { transports: ["websocket"] }, uniqueName("probe"));
              const entry = probe.users.find((u) => u.userID === session.userID);
              probe.socket.disconnect();
              return entry?.connected === true;
            });
          }
        } finally {
          // Also when the case failed: a reconnecting client would keep the file from ending.
          alice?.disconnect();
          await nginx.stop();
          for (const node of nodes) await node.stop();
        }
      });
    });
  }
});
