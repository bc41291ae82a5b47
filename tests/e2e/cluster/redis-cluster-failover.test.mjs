// A Redis Cluster master killed (SIGKILL) under traffic, its replica promoted: no node of ours
// panics or exits, delivery resumes by itself (the shard's channels are subscribed again on
// the new master), and every message that was acknowledged is in both histories.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, sleep } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage } from "../lib/chat.mjs";
import { cli, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startClusterNode } from "./cluster.mjs";
import { eventually, health } from "../lib/signals.mjs";

describe("redis cluster failover: a master killed, its replica promoted", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedisCluster({ masters: 3, replicas: 1 });
    nodes.push(await startClusterNode(redis, "f1"), await startClusterNode(redis, "f2"));
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("delivery resumes, no node dies, no acknowledged message is lost", async () => {
    const opts = { transports: ["websocket"] };
    const alice = await connectUser(nodes[0].url, opts, "alice-failover");
    const bob = await connectUser(nodes[1].url, opts, "bob-failover");
    const bobID = bob.session.userID;
    const received = [];
    bob.socket.on("private message", (m) => received.push({ content: m.content, at: Date.now() }));

    // Kill the master serving bob's room channel: the node holding bob must subscribe it
    // again on the promoted replica.
    const victim = await redis.masterOf(`socket.io#/#${bobID}#`);
    assert.ok(await redis.replicaOf(victim), "the victim has a replica to promote");

    const acked = [];
    let seq = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const content = `m${seq++}`;
        const ack = await sendPrivateMessage(alice.socket, { content, to: bobID }).catch((e) => ({ error: e.message }));
        if (ack && !ack.error) acked.push({ content, at: Date.now() });
        await sleep(50); // the pace of the traffic under test (20 messages a second)
      }
    })();

    await eventually("traffic before the kill", () => received.length >= 5);
    // Redis replicates asynchronously: what the master acknowledged an instant before dying
    // may never reach the replica, whatever the chat server does. Kill it once the replica
    // has caught up, so that a loss can only be ours.
    const replica = await redis.replicaOf(victim);
    await eventually("the replica caught up", async () => {
      const offset = async (port, field) => Number((await cli(port, "INFO", "replication")).match(new RegExp(`${field}:(\\d+)`))?.[1]);
      return (await offset(replica, "slave_repl_offset")) >= (await offset(victim, "master_repl_offset"));
    });
    const killedAt = Date.now();
    await redis.kill(victim);
    await redis.waitHealthy();
    const promotedAt = Date.now();
    await eventually("delivery after the failover", () => received.some((m) => m.at > promotedAt), 20_000);
    const firstAfter = received.find((m) => m.at > promotedAt).at;
    // The delivery outage: the longest silence between two receipts around the kill.
    let gap = 0;
    for (let i = 1; i < received.length; i++) gap = Math.max(gap, received[i].at - received[i - 1].at);
    console.log(`failover: replica promoted ${promotedAt - killedAt} ms after the kill, first delivery ` +
      `after that ${firstAfter - killedAt} ms after the kill; longest delivery gap ${gap} ms`);
    // Traffic flows on the promoted replica: a few more deliveries and acknowledgements (each
    // stored on it) before stopping. During the failover a message may be delivered but not
    // stored (its ack is an error), so both are waited for.
    await eventually("five deliveries after the failover", () => received.filter((m) => m.at > promotedAt).length >= 5);
    await eventually("five acknowledgements after the failover", () => acked.filter((a) => a.at > promotedAt).length >= 5, 20_000);
    sending = false;
    await sender;

    for (const node of nodes) {
      assert.equal(node.proc.exitCode, null, `node exited:\n${node.stderr()}`);
      assert.equal(node.proc.signalCode, null, `node killed:\n${node.stderr()}`);
      assert.doesNotMatch(node.stderr(), /panicked/);
    }
    const after = await health(nodes[0]);
    assert.equal(after.body.redis, "up", JSON.stringify(after.body));
    assert.ok(after.body.shards.every((shard) => shard.up && shard.master !== `127.0.0.1:${victim}`));
    assert.ok(acked.some((a) => a.at < killedAt), "messages were acknowledged before the kill");
    const alive = redis.ports.find((p) => p !== victim);
    for (const owner of [alice.session.userID, bobID]) {
      const stored = (await cli(alive, "-c", "LRANGE", `messages:${owner}`, "0", "-1"))
        .trim().split("\n").filter(Boolean).map((json) => JSON.parse(json).content);
      const missing = acked.map((a) => a.content).filter((content) => !stored.includes(content));
      assert.deepEqual(missing, [], `acknowledged but missing from messages:${owner}`);
      assert.equal(new Set(stored).size, stored.length, `no duplicate in messages:${owner}`);
    }
  });
});
