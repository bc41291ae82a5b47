// SPEC §5: "A Redis outage never crashes a node: local delivery keeps working, the node
// reconnects and resubscribes by itself, and /health reports the degradation."
// The tests run in order on one pair of nodes: Redis is killed in the first and restarted
// (empty, on the same port) in the second.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { disconnectAll, expectNoEvent, once } from "../lib/client.mjs";
import { Redis } from "ioredis";
import { assertAckOk, connectUser, coreMessage, messageSyncPoint, sendPrivateMessage } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";
import { eventually, health } from "../lib/signals.mjs";

describe("cluster: Redis killed and restarted", () => {
  const opts = { transports: ["websocket"] };
  let redis;
  let n1;
  let n2;
  let alice;
  let bob;
  let carol;
  before(async () => {
    redis = await startRedis();
    n1 = await startNode(redis, "n1");
    n2 = await startNode(redis, "n2");
    alice = await connectUser(n1.url, opts, "alice-outage");
    carol = await connectUser(n1.url, opts, "carol-outage");
    bob = await connectUser(n2.url, opts, "bob-outage");
  });
  after(async () => {
    disconnectAll();
    await Promise.all([n1?.stop(), n2?.stop()]);
    await redis.stop();
  });

  it("during the outage: /health degrades, nodes and sockets stay up", async () => {
    await redis.kill();
    await eventually("/health degraded on both nodes", async () => {
      const [h1, h2] = await Promise.all([health(n1), health(n2)]);
      return h1.body.status === "degraded" && h1.body.redis === "down" && h2.body.status === "degraded";
    });
    assert.equal((await health(n1)).status, 200, "a degraded node still serves");
    // Each socket still gets answers from its node after the outage was noticed (a note to
    // self is acked, with an error since it cannot be stored).
    for (const user of [alice, bob, carol]) {
      const ack = await sendPrivateMessage(user.socket, { content: "still here", to: user.session.userID });
      assert.ok(ack && typeof ack === "object", `acknowledged: ${JSON.stringify(ack)}`);
    }
    assert.ok(alice.socket.connected && bob.socket.connected && carol.socket.connected);
  });

  // The recipient check cannot reach the store, so the hub is asked whether the recipient
  // has a socket: local delivery keeps working (the ack reports that storing failed).

  it("during the outage: a private message between two users of one node is delivered", async () => {
    const ack = await sendPrivateMessage(alice.socket, { content: "during the outage", to: carol.session.userID });
    // Persisting is impossible right now, so the ack may carry an error; delivery must happen.
    assert.ok(ack && typeof ack === "object", `acknowledged: ${JSON.stringify(ack)}`);
    const [atCarol] = await once(carol.socket, "private message");
    assert.deepEqual(coreMessage(atCarol), {
      content: "during the outage",
      from: alice.session.userID,
      to: carol.session.userID,
    });
  });

  it("after Redis restarts (empty): /health ok and cross-node delivery resumes both ways", async () => {
    await redis.restart();
    await eventually("/health ok again", async () => (await health(n1)).body.status === "ok");
    const [aliceID, bobID] = [alice.session.userID, bob.session.userID];
    // Both nodes resubscribe by themselves (visible as subscriber counts) and write their live
    // users back into the empty Redis (so the recipient checks pass again).
    const client = new Redis(redis.url);
    try {
      await eventually(
        "both nodes subscribed again",
        async () => {
          // A node subscribes the broadcast pattern first, then these two channels.
          const [, requests, , responses] = await client.pubsub(
            "NUMSUB",
            "socket.io-request#/#",
            "socket.io-response#/#",
          );
          return Number(requests) === 2 && Number(responses) === 2;
        },
        15_000,
      );
      await eventually("live users written back", async () =>
        (await client.hexists("chat:users", aliceID)) && (await client.hexists("chat:users", bobID)),
      );
    } finally {
      client.disconnect();
    }
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "after the outage", to: bobID }));
    const [delivered] = await once(bob.socket, "private message");
    assert.deepEqual(coreMessage(delivered), { content: "after the outage", from: aliceID, to: bobID });
    assertAckOk(await sendPrivateMessage(bob.socket, { content: "and back", to: aliceID }));
    const [atAlice] = await once(alice.socket, "private message");
    assert.equal(atAlice.content, "and back");
    await messageSyncPoint(bob, aliceID, [alice.socket]);
    await expectNoEvent(alice.socket, "private message", 0);
  });
});
