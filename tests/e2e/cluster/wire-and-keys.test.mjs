// What operators and Node nodes see in Redis (SPEC §3, §4): the broadcast traffic on
// `socket.io#/#` in socket.io-redis's msgpack format (as `redis-cli PSUBSCRIBE socket.io*`
// shows it), and the exact layout of `session:<id>` and `messages:<userID>`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import msgpack from "notepack.io";
import { once } from "../lib/client.mjs";
import { assertAckOk, connectUser, sendPrivateMessage } from "../lib/chat.mjs";
import { useCluster } from "./cluster.mjs";
import { eventually } from "../lib/signals.mjs";

/** Subscribes like `redis-cli PSUBSCRIBE socket.io*`; returns the captured messages. */
async function watchTraffic(redisUrl) {
  const sub = new Redis(redisUrl);
  const seen = [];
  sub.on("pmessageBuffer", (_pattern, channel, message) => seen.push({ channel: channel.toString(), message }));
  await sub.psubscribe("socket.io*");
  return { seen, close: () => sub.disconnect() };
}

describe("cluster: traffic and keys in Redis", () => {
  const cluster = useCluster(2);

  it("broadcasts appear on socket.io#/# as msgpack [uid, packet, opts]", async () => {
    const traffic = await watchTraffic(cluster.redis.url);
    try {
      const alice = await connectUser(cluster.nodes[0].url, { transports: ["websocket"] }, "alice-wire");
      const bob = await connectUser(cluster.nodes[1].url, { transports: ["websocket"] }, "bob-wire");
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "on the wire", to: bob.session.userID }));
      await once(bob.socket, "private message");

      const decoded = () =>
        traffic.seen
          .filter((m) => m.channel.startsWith("socket.io#/#"))
          .map((m) => ({ channel: m.channel, value: msgpack.decode(m.message) }));
      // Room subscriptions (the default): one single-room broadcast per user room, recipient's
      // first, so that only nodes holding one of them receive it.
      const pms = await eventually("the private message on the wire, to both rooms", () => {
        const found = decoded().filter((m) => m.value[1]?.data?.[0] === "private message");
        return found.length >= 2 && found;
      });
      assert.deepEqual(
        pms.map((m) => m.channel),
        [`socket.io#/#${bob.session.userID}#`, `socket.io#/#${alice.session.userID}#`],
        "one broadcast on the recipient's room channel, one on the sender's",
      );
      for (const [i, pm] of pms.entries()) {
        const [uid, packet, opts] = pm.value;
        assert.equal(uid, "n1", "the publishing node's id");
        assert.deepEqual(Object.keys(packet), ["type", "data", "nsp"]);
        assert.equal(packet.type, 2);
        assert.equal(packet.nsp, "/");
        assert.deepEqual(
          { content: packet.data[1].content, from: packet.data[1].from, to: packet.data[1].to },
          { content: "on the wire", from: alice.session.userID, to: bob.session.userID },
        );
        assert.deepEqual(opts, {
          rooms: [[bob.session.userID, alice.session.userID][i]],
          except: [alice.socket.id],
          flags: {},
        });
      }

      const connected = decoded().find(
        (m) => m.value[1]?.data?.[0] === "user connected" && m.value[1].data[1].userID === bob.session.userID,
      );
      assert.ok(connected, "user connected of bob was published");
      assert.equal(connected.value[0], "n2");
      assert.deepEqual(connected.value[2], { rooms: [], except: [bob.socket.id], flags: {} });

      bob.socket.disconnect();
      await eventually("a presence question on socket.io-request#/#", () =>
        traffic.seen.find((m) => m.channel === "socket.io-request#/#"),
      );
      const request = JSON.parse(traffic.seen.find((m) => m.channel === "socket.io-request#/#").message);
      assert.equal(request.type, 0);
      assert.deepEqual(request.rooms, [bob.session.userID]);
      const answer = await eventually("its answer on socket.io-response#/#", () =>
        traffic.seen.find((m) => m.channel === "socket.io-response#/#"),
      );
      assert.deepEqual(JSON.parse(answer.message), { requestId: request.requestId, sockets: [] });
      // Nothing of ours travels on channels a Node node reads, besides the adapter's own.
      for (const { channel } of traffic.seen) {
        assert.match(channel, /^socket\.io(#\/#|-request#\/#$|-response#\/#$)/);
      }
    } finally {
      traffic.close();
    }
  });

  it("session:<id> and messages:<userID> have the reference layout", async () => {
    const client = cluster.client;
    const alice = await connectUser(cluster.nodes[0].url, {}, "alice-keys");
    const bob = await connectUser(cluster.nodes[1].url, {}, "bob-keys");
    const [aliceID, bobID] = [alice.session.userID, bob.session.userID];
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "first", to: bobID }));
    assertAckOk(await sendPrivateMessage(bob.socket, { content: "second", to: aliceID }));

    const sessionKey = `session:${alice.session.sessionID}`;
    assert.equal(await client.type(sessionKey), "hash");
    const session = await client.hgetall(sessionKey);
    assert.deepEqual(Object.keys(session).sort(), ["connected", "userID", "username"]);
    assert.deepEqual(session, { userID: aliceID, username: "alice-keys", connected: "true" });
    const sessionTtl = await client.ttl(sessionKey);
    assert.ok(sessionTtl > 86_000 && sessionTtl <= 86_400, `session TTL ${sessionTtl}`);

    for (const userID of [aliceID, bobID]) {
      const key = `messages:${userID}`;
      assert.equal(await client.type(key), "list");
      const entries = (await client.lrange(key, 0, -1)).map((text) => JSON.parse(text));
      assert.deepEqual(
        entries.map(({ content, from, to }) => ({ content, from, to })),
        [
          { content: "first", from: aliceID, to: bobID },
          { content: "second", from: bobID, to: aliceID },
        ],
        `${key} holds the conversation, oldest first`,
      );
      const ttl = await client.ttl(key);
      assert.ok(ttl > 86_000 && ttl <= 86_400, `${key} TTL ${ttl}`);
    }
    // Our own keys stay under chat: and never look like the adapter's channels.
    const ours = await client.keys("chat:*");
    assert.ok(ours.includes("chat:nodes"), `node registry present: ${ours}`);
    for (const key of await client.keys("*")) {
      assert.match(key, /^(session:|messages:|chat:)/, `unexpected key ${key}`);
    }
  });
});
