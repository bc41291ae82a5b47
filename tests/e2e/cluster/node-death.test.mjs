// SPEC §2: "If a node dies, its users are announced as disconnected by the surviving nodes
// within a bounded time." A node is SIGKILLed (no drain, no goodbye): its alive key expires
// (6 s TTL) and a survivor announces its users within about 8 s; we allow 10.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { disconnectAll, expectNoEvent } from "../lib/client.mjs";
import { connectTab, connectUser, disconnectsOf, presenceSyncPoint, userEntry } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";
import { eventually, health } from "../lib/signals.mjs";

const BOUND_MS = 10_000;

describe("cluster: a node dies", () => {
  let redis;
  let client;
  let doomed;
  let survivor;
  before(async () => {
    redis = await startRedis();
    doomed = await startNode(redis, "doomed");
    survivor = await startNode(redis, "survivor");
    client = new Redis(redis.url);
  });
  afterEach(() => disconnectAll());
  after(async () => {
    client.disconnect();
    await doomed.kill();
    await survivor.stop();
    await redis.stop();
  });

  it("its users are announced disconnected by the survivor, except those with a tab elsewhere", async () => {
    const opts = { transports: ["websocket"] };
    const victim = await connectUser(doomed.url, opts, "victim");
    const victimPolling = await connectUser(doomed.url, {}, "victim-polling");
    const roamer = await connectUser(doomed.url, opts, "roamer");
    await connectTab(survivor.url, opts, roamer.session.sessionID);
    const watcher = await connectUser(survivor.url, opts, "watcher");

    // The dying node has listed its users in Redis for the survivors.
    const instance = await eventually("the doomed node's user list", async () => {
      for (const node of await client.smembers("chat:nodes")) {
        if (node.startsWith("doomed.") && (await client.hlen(`chat:node:${node}:users`)) === 3) return node;
      }
      return false;
    });

    const killedAt = Date.now();
    const { signal } = await doomed.kill();
    assert.equal(signal, "SIGKILL");
    const victims = [victim.session.userID, victimPolling.session.userID];
    const announced = await disconnectsOf(watcher.socket, victims, BOUND_MS);
    const elapsed = Date.now() - killedAt;
    assert.deepEqual(announced.sort(), victims.sort());
    assert.ok(elapsed < BOUND_MS, `announced after ${elapsed} ms`);
    // The roamer still has a tab on the survivor: nothing is said about it. The reap is done
    // once its mark is set, and the survivor's hub announces a newcomer after all it announced.
    await eventually("the reaped mark", async () => (await client.exists(`chat:node:${instance}:reaped`)) === 1, BOUND_MS);
    await presenceSyncPoint(survivor.url, opts, [watcher.socket]);
    await expectNoEvent(watcher.socket, "user disconnected", 0);

    for (const user of [victim, victimPolling]) {
      assert.equal(await client.hget(`session:${user.session.sessionID}`, "connected"), "false");
    }
    assert.equal(await client.hget(`session:${roamer.session.sessionID}`, "connected"), "true");
    const newcomer = await connectUser(survivor.url, opts);
    assert.equal(userEntry(newcomer.users, victim.session.userID).connected, false);
    assert.equal(userEntry(newcomer.users, roamer.session.userID).connected, true);
    // The dead node's liveness keys are gone; the survivor is healthy.
    await eventually("the dead node unregistered", async () =>
      (await client.smembers("chat:nodes")).every((node) => !node.startsWith("doomed.")),
    );
    // Only the `reaped` mark stays (1 h), so that no other survivor announces them again.
    const left = await client.keys("chat:node:doomed.*");
    assert.equal(left.length, 1, JSON.stringify(left));
    assert.match(left[0], /^chat:node:doomed\.[0-9a-f]+:reaped$/);
    assert.equal((await health(survivor)).body.status, "ok");
  });
});
