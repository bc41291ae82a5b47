// SPEC §2, presence grace across nodes: a user whose tab dropped on one node and who comes
// back on another within the grace is announced neither gone nor connected again; a draining
// node's users who move to another node cause no presence event, and one who does not come
// back is announced gone once.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, recorded } from "../lib/client.mjs";
import { connectTab, connectUser, disconnectOf } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "./cluster.mjs";

const GRACE_MS = 1500;
const opts = { transports: ["websocket"], reconnection: false };
const graceArgs = ["--presence-grace-ms", String(GRACE_MS)];

function presenceOf(socket, userID) {
  return recorded(socket).filter(
    (e) =>
      (e.event === "user disconnected" && e.args[0] === userID) ||
      (e.event === "user connected" && e.args[0]?.userID === userID),
  );
}

describe("cluster: presence grace", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedis();
    for (const id of ["g1", "g2", "g3"]) nodes.push(await startNode(redis, id, { args: graceArgs }));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it("a user dropped on one node and back on another within the grace: no presence event", async () => {
    const [n1, n2] = nodes;
    const user = await connectUser(n1.url, opts);
    const w1 = await connectUser(n1.url, opts);
    const w2 = await connectUser(n2.url, opts);
    user.socket.io.engine.close();
    await connectTab(n2.url, opts, user.session.sessionID);
    // Sync point: a marker dropped afterwards on n1 is announced once its grace is over, and
    // the user's grace (which began earlier) is over by then.
    const marker = await connectUser(n1.url, opts);
    marker.socket.io.engine.close();
    await Promise.all([w1, w2].map((w) => disconnectOf(w.socket, marker.session.userID, GRACE_MS + 5000)));
    for (const w of [w1, w2]) assert.deepEqual(presenceOf(w.socket, user.session.userID), []);
  });

  it("a draining node's users moving to another node cause no presence event; one who does not come back is announced once", async () => {
    const [, n2, n3] = nodes;
    const movers = [];
    for (let i = 0; i < 5; i++) movers.push(await connectUser(n3.url, opts));
    const leaver = await connectUser(n3.url, opts);
    const watcher = await connectUser(n2.url, opts);
    // As a load balancer would: every mover reconnects to n2 once n3 closes it.
    const moved = movers.map(
      (m) =>
        new Promise((resolve, reject) => {
          m.socket.on("disconnect", () => connectTab(n2.url, opts, m.session.sessionID).then(resolve, reject));
        }),
    );
    const drained = Date.now();
    await n3.stop(); // SIGTERM: the drain
    await Promise.all(moved);
    // The survivors reap n3 once its grace is over and announce the users nobody holds: the
    // leaver, once (SPEC's bound for any departure: 15 s).
    await disconnectOf(watcher.socket, leaver.session.userID, 15_000);
    console.log(`drain: the user who did not come back announced ${Date.now() - drained} ms after SIGTERM (grace ${GRACE_MS} ms)`);
    for (const m of movers) assert.deepEqual(presenceOf(watcher.socket, m.session.userID), [], "no false departure");
    assert.equal(presenceOf(watcher.socket, leaver.session.userID).length, 1, JSON.stringify(presenceOf(watcher.socket, leaver.session.userID)));
  });
});
