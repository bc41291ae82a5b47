// Users of Node.js socket.io nodes imported on a Redis Cluster: a node of ours starting on a
// cluster reads every `session:*` hash (SPEC §3) with one SCAN per master and lists those
// users in `users`, connected as their session says: sessions written by the test directly
// (spread over every master), and the session of a user connected to a real Node node
// (@socket.io/redis-adapter's sharded adapter) before our node started.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser, userEntry } from "../lib/chat.mjs";
import { cli, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { eventually } from "../lib/signals.mjs";
import { startShardedReference } from "./reference-node.mjs";

const opts = { transports: ["websocket"] };
const hex = (bytes) => randomBytes(bytes).toString("hex");

describe("redis cluster: users of Node nodes imported at start, one SCAN per master", () => {
  let redis;
  let reference;
  let ours;
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await ours?.stop();
    await reference?.stop();
    await redis?.stop();
  });

  it("sessions on every master, and a Node node's connected user, are listed in users", async () => {
    // Sessions as a Node node writes them (only `session:<id>`, never our directory), until
    // every master holds some.
    const written = [];
    const owners = new Set();
    while (owners.size < 3 || written.length < 9) {
      const session = { sessionID: hex(16), userID: hex(8), username: `node-user-${written.length}`, connected: written.length % 2 === 0 };
      await cli(redis.ports[0], "-c", "HSET", `session:${session.sessionID}`,
        "userID", session.userID, "username", session.username, "connected", String(session.connected));
      owners.add(await redis.masterOf(`session:${session.sessionID}`));
      written.push(session);
    }
    // A user connected to a real Node node (sharded adapter) before any node of ours runs.
    reference = await startShardedReference(redis.urls);
    const nora = await connectUser(reference.url, opts, "nora-before");
    await eventually("the Node node saved nora's session", async () =>
      (await cli(redis.ports[0], "-c", "HGET", `session:${nora.session.sessionID}`, "connected")).trim() === "true");

    ours = await startClusterNode(redis, "imp1");
    // The import runs once, in the background, as the node starts: it says when it is done.
    await eventually("the import logged", () => /users: \d+ of \d+ sessions in redis were missing/.test(ours.stderr()), 10_000);
    const alice = await connectUser(ours.url, opts, "alice-import");
    for (const session of written) {
      const entry = userEntry(alice.users, session.userID);
      assert.equal(entry.username, session.username);
      assert.equal(entry.connected, session.connected, `${session.username} connected: ${session.connected}`);
    }
    const noraEntry = userEntry(alice.users, nora.session.userID);
    assert.equal(noraEntry.username, "nora-before");
    assert.equal(noraEntry.connected, true);
    assert.match(ours.stderr(), new RegExp(`users: ${written.length + 1} of ${written.length + 1} sessions`));
    assert.ok(reference.alive(), reference.output());
  });
});
