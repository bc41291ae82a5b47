// A node restarted on the same port (after a drain or a crash) serves the same users with the
// same history: everything lives in Redis (SPEC §3).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";

describe("cluster: restarting a node", () => {
  let redis;
  const nodes = {};
  before(async () => {
    redis = await startRedis();
    nodes.n1 = await startNode(redis, "n1");
    nodes.n2 = await startNode(redis, "n2");
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(Object.values(nodes).map((node) => node.stop()));
    await redis.stop();
  });

  for (const how of ["stop", "kill"]) {
    it(`keeps sessions and history across a restart (${how === "stop" ? "SIGTERM" : "SIGKILL"})`, async () => {
      const alice = await connectUser(nodes.n1.url, {}, `alice-${how}`);
      const bob = await connectUser(nodes.n2.url, {}, `bob-${how}`);
      const [aliceID, bobID] = [alice.session.userID, bob.session.userID];
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "before restart", to: bobID }));
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "reply", to: aliceID }));
      alice.socket.disconnect();

      const port = nodes.n1.port;
      await nodes.n1[how]();
      nodes.n1 = await startNode(redis, "n1", { port });

      const back = await connectTab(nodes.n1.url, {}, alice.session.sessionID);
      assert.deepEqual(back.session, alice.session, "same sessionID and userID");
      const withBob = userEntry(back.users, bobID);
      assert.deepEqual(withBob.messages.map(coreMessage), [
        { content: "before restart", from: aliceID, to: bobID },
        { content: "reply", from: bobID, to: aliceID },
      ]);
      assert.equal(withBob.connected, true);
      assertAckOk(await sendPrivateMessage(back.socket, { content: "after restart", to: bobID }));
    });
  }
});
