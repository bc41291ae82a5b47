// A Redis Cluster resharded under traffic: the slots of the users' histories
// (`messages:<userID>`) and of their room channels (`socket.io#/#<userID>#`) are moved to other
// masters, step by step as `redis-cli --cluster reshard` moves them (IMPORTING / MIGRATING,
// MIGRATE of the keys, SETSLOT NODE), each stage held while users on three nodes keep sending
// acknowledged messages to each other. Every acknowledged message reaches its recipient live
// exactly once and is exactly once in both histories a fresh connection gets; no store error
// is a redirection (ASK, MOVED) and next to nothing is refused (a refused or unacknowledged
// message is there at most once).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, sleep } from "../lib/client.mjs";
import { connectTab, connectUser, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { cli, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { connectOf } from "../lib/chat.mjs";
import { eventually, health } from "../lib/signals.mjs";

const opts = { transports: ["websocket"] };
/** How long each stage of a slot's migration is held under traffic (ms). */
const HOLD_MS = 300;

describe("redis cluster resharded under traffic", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedisCluster({ masters: 3 });
    // Histories keep everything this test sends (the default cap, 1000, would drop the oldest).
    const args = ["--history-limit", "100000"];
    nodes.push(...(await Promise.all(["r1", "r2", "r3"].map((id) => startClusterNode(redis, id, { args })))));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("no acknowledged message is lost or doubled, live or in the histories, while the users' slots move", async () => {
    const users = [];
    for (const [i, node] of nodes.entries()) {
      const user = await connectUser(node.url, opts, `reshard-${i + 1}`);
      for (const earlier of users) await connectOf(earlier.socket, user.session.userID);
      user.received = [];
      user.socket.on("private message", (m) => user.received.push(m.content));
      users.push(user);
    }
    const byId = new Map(users.map((u) => [u.session.userID, u]));

    // Every user sends to both others, one message at a time, each waiting for its ack.
    const acked = [];
    const refused = [];
    let sending = true;
    const senders = [];
    for (const [i, from] of users.entries()) {
      for (const [j, to] of users.entries()) {
        if (i === j) continue;
        senders.push((async () => {
          for (let seq = 0; sending; seq++) {
            const message = { content: `${i + 1}>${j + 1}#${seq}`, from: from.session.userID, to: to.session.userID };
            const ack = await sendPrivateMessage(from.socket, { content: message.content, to: message.to }, 5000)
              .catch((e) => ({ error: e.message }));
            (ack?.ok ? acked : refused).push({ ...message, why: ack?.error, at: Date.now() });
            await sleep(15);
          }
        })());
      }
    }

    // Meanwhile each user opens and closes other tabs, on the next node: sessions are read and
    // saved (a MULTI) and the directory written while their slots move too.
    const tabs = { opened: 0, failed: [] };
    const churn = users.map(async (user, i) => {
      while (sending) {
        try {
          const tab = await connectTab(nodes[(i + 1) % nodes.length].url, opts, user.session.sessionID);
          assert.deepEqual(tab.session, user.session);
          tab.socket.disconnect();
          tabs.opened++;
        } catch (error) {
          tabs.failed.push(error.message);
        }
        await sleep(50);
      }
    });

    await eventually("traffic before the reshard", () => users.every((u) => u.received.length >= 5));
    // The slots to move: each user's history and room channel, its session and its bucket of
    // the user directory.
    const keySlots = new Map();
    for (const user of users) {
      for (const key of [`messages:${user.session.userID}`, `socket.io#/#${user.session.userID}#`,
        `session:${user.session.sessionID}`, directoryBucket(user.session.userID)]) {
        keySlots.set(key, await redis.slotOf(key));
      }
    }
    const slots = new Set(keySlots.values());
    const masters = redis.masters();
    const moved = [];
    for (const slot of slots) {
      const from = await redis.ownerOfSlot(slot);
      const to = masters[(masters.indexOf(from) + 1) % masters.length];
      const ackedBefore = acked.length;
      await redis.migrateSlot(slot, to, {
        hold: async (stage) => {
          const count = acked.length;
          await sleep(HOLD_MS);
          assert.ok(acked.length > count, `messages acknowledged while slot ${slot} was ${stage}`);
        },
      });
      moved.push({ slot, from, to, acked: acked.length - ackedBefore });
    }
    for (const [key, s] of keySlots) {
      if (key.startsWith("chat:users:")) continue;
      assert.equal(await redis.masterOf(key), moved.find((m) => m.slot === s).to, `${key} now on the master it was moved to`);
    }
    // Traffic goes on after the last move: delivery resumed on the new owners.
    const ackedAfterMoves = acked.length;
    const deliveredAfterMoves = users.map((u) => u.received.length);
    await eventually("traffic after the reshard", () =>
      acked.length > ackedAfterMoves + 20 && users.every((u, i) => u.received.length > deliveredAfterMoves[i] + 5));
    sending = false;
    await Promise.all([...senders, ...churn]);
    console.log(`reshard: ${moved.length} slots moved (${JSON.stringify(moved)}); ${acked.length} messages ` +
      `acknowledged, ${refused.length} refused or unacknowledged ${JSON.stringify(refused.slice(0, 5))}`);

    // A slot moving is no outage: the server follows every ASK and MOVED, so no store error
    // is a redirection; a rare timeout of a loaded machine aside, nothing is refused.
    const why = nodes.flatMap((node) => node.stderr().split("\n").filter((line) => /could not|cannot|failed/.test(line)));
    assert.deepEqual(why.filter((line) => /\b(ask|moved)\b/i.test(line)), [], "a redirection reached the chat");
    assert.ok(tabs.opened > 20 && tabs.failed.length <= 1, `tabs opened while slots moved: ${tabs.opened}, failed: ${tabs.failed}`);
    assert.ok(refused.length <= acked.length / 200, `${refused.length} messages refused or unacknowledged while slots moved; the nodes said:\n${why.join("\n")}`);
    // Live: every acknowledged message arrived at its recipient, once.
    const count = (list, content) => list.filter((c) => c === content).length;
    await eventually("every acknowledged message delivered", () =>
      acked.every((m) => count(byId.get(m.to).received, m.content) >= 1), 10_000).catch(() => {});
    await sleep(300);
    const notOnce = acked.filter((m) => count(byId.get(m.to).received, m.content) !== 1)
      .map((m) => `${m.content} (${count(byId.get(m.to).received, m.content)} times)`);
    assert.deepEqual(notOnce, [], "acknowledged messages not delivered live exactly once");
    for (const m of refused) assert.ok(count(byId.get(m.to).received, m.content) <= 1, `${m.content} at most once live`);

    // Histories: a fresh connection of each user, on another node, gets every acknowledged
    // message of its conversations once.
    disconnectAll();
    for (const [i, user] of users.entries()) {
      const back = await connectTab(nodes[(i + 1) % nodes.length].url, opts, user.session.sessionID);
      for (const peer of users) {
        if (peer === user) continue;
        const history = userEntry(back.users, peer.session.userID).messages.map((m) => m.content);
        const between = (list) => list.filter((m) => [m.from, m.to].includes(user.session.userID) && [m.from, m.to].includes(peer.session.userID));
        for (const m of between(acked)) assert.equal(count(history, m.content), 1, `acknowledged ${m.content} once in the history of ${user.session.userID}`);
        for (const m of between(refused)) assert.ok(count(history, m.content) <= 1, `${m.content} at most once in a history`);
      }
      back.socket.disconnect();
    }
    for (const node of nodes) {
      assert.equal(node.proc.exitCode, null, `node exited:\n${node.stderr()}`);
      assert.doesNotMatch(node.stderr(), /panicked/);
      assert.equal((await health(node)).body.redis, "up");
    }
    // The histories moved with their slots.
    for (const user of users) {
      const key = `messages:${user.session.userID}`;
      assert.equal((await cli(await redis.masterOf(key), "EXISTS", key)).trim(), "1", `${key} on its new master`);
    }
  });
});

/** The hash of the user directory holding `userID` on a cluster: `chat:users:<FNV-1a mod 16>`. */
function directoryBucket(userID) {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(userID)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `chat:users:${hash % 16}`;
}
