// The Admin UI's protocol across a mixed cluster: two chat-server nodes and one Node
// socket.io node running the Admin UI's own server side (@socket.io/admin-ui 0.5.1's
// instrument(), @socket.io/redis-adapter 8) on one Redis. A dashboard on any node sees every
// node's sockets, events and server_stats, and its commands reach every node.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { startNode } from "../cluster/cluster.mjs";
import { startAdminReference } from "../cluster/reference-node.mjs";
import { ADMIN_HASH, adminArgs, connectAdmin, nextWhere, statsOf } from "./admin.mjs";

const ws = { transports: ["websocket"] };
const polling = { transports: ["polling"] };

describe("admin namespace across a mixed cluster (two of ours, one Node node with instrument())", () => {
  let redis;
  let rust1;
  let rust2;
  let reference;
  before(async () => {
    redis = await startRedis();
    rust1 = await startNode(redis, "rust1", { args: adminArgs() });
    rust2 = await startNode(redis, "rust2", { args: adminArgs() });
    reference = await startAdminReference(redis.url, ADMIN_HASH, "node-reference");
  });
  afterEach(() => disconnectAll());
  after(async () => {
    await reference?.stop();
    await rust2?.stop();
    await rust1?.stop();
    await redis?.stop();
  });

  async function dashboard(node) {
    const admin = await connectAdmin(node.url, ws);
    const [sockets] = await once(admin, "all_sockets", 5000);
    return { admin, sockets };
  }

  it("all_sockets lists the sockets of all three nodes with their transports", async () => {
    const onRust1 = await connectUser(rust1.url, ws);
    const onRust2 = await connectUser(rust2.url, polling);
    const onNode = await connectUser(reference.url, ws);
    const { sockets } = await dashboard(rust1);
    const byId = (id) => sockets.find((s) => s.id === id);
    assert.equal(byId(onRust1.socket.id)?.transport, "websocket", JSON.stringify(sockets));
    assert.equal(byId(onRust2.socket.id)?.transport, "polling");
    assert.equal(byId(onNode.socket.id)?.transport, "websocket");
    assert.equal(byId(onRust2.socket.id).clientId, onRust2.socket.io.engine.id.slice(0, 12));
    assert.ok(byId(onRust2.socket.id).rooms.includes(onRust2.session.userID));
    assert.ok(byId(onNode.socket.id).rooms.includes(onNode.session.userID));
    assert.deepEqual(byId(onRust2.socket.id).data, { userID: onRust2.session.userID, username: byId(onRust2.socket.id).data.username });
    assert.ok(reference.alive(), reference.output());
  });

  it("server_stats of every node reach a dashboard on one", async () => {
    const { admin } = await dashboard(rust1);
    const [s1, s2, sn] = await Promise.all([
      statsOf(admin, "rust1"),
      statsOf(admin, "rust2"),
      statsOf(admin, "node-reference"),
    ]);
    for (const stats of [s1, s2, sn]) {
      assert.equal(typeof stats.pid, "number");
      assert.ok(stats.namespaces.some((n) => n.name === "/"));
    }
    assert.notEqual(s1.pid, s2.pid);
  });

  it("sockets appearing and disappearing on the other nodes are seen", async () => {
    const { admin } = await dashboard(rust1);
    const onRust2 = await connectUser(rust2.url, ws);
    const [connected] = await nextWhere(admin, "socket_connected", (s) => s.id === onRust2.socket.id);
    assert.equal(connected.transport, "websocket");
    const onNode = await connectUser(reference.url, ws);
    const [fromNode] = await nextWhere(admin, "socket_connected", (s) => s.id === onNode.socket.id);
    assert.equal(fromNode.nsp, "/");
    await nextWhere(admin, "room_joined", (_n, room, id) => id === onNode.socket.id && room === onNode.session.userID);
    const ids = [onRust2.socket.id, onNode.socket.id];
    onRust2.socket.disconnect();
    onNode.socket.disconnect();
    const gone = new Set();
    await nextWhere(admin, "socket_disconnected", (_n, id) => {
      if (ids.includes(id)) gone.add(id);
      return gone.size === ids.length;
    });
  });

  it("commands from a dashboard on ours reach the sockets of every node", async () => {
    const { admin } = await dashboard(rust1);
    const onRust2 = await connectUser(rust2.url, ws);
    const onNode = await connectUser(reference.url, ws);
    admin.emit("emit", "/", onRust2.socket.id, "notice", "to rust2");
    // (A broadcast from another node carries the recovery offset as its last argument.)
    assert.equal((await once(onRust2.socket, "notice"))[0], "to rust2");
    admin.emit("emit", "/", onNode.socket.id, "notice", "to node");
    assert.equal((await once(onNode.socket, "notice"))[0], "to node");

    admin.emit("join", "/", "ops", onRust2.socket.id);
    await nextWhere(admin, "room_joined", (_n, room, id) => room === "ops" && id === onRust2.socket.id);
    admin.emit("join", "/", "ops", onNode.socket.id);
    await nextWhere(admin, "room_joined", (_n, room, id) => room === "ops" && id === onNode.socket.id);
    admin.emit("emit", "/", "ops", "notice", "to ops");
    assert.equal((await once(onNode.socket, "notice"))[0], "to ops");
    assert.equal((await once(onRust2.socket, "notice"))[0], "to ops");
    admin.emit("leave", "/", "ops", onNode.socket.id);
    await nextWhere(admin, "room_left", (_n, room, id) => room === "ops" && id === onNode.socket.id);

    admin.emit("_disconnect", "/", false, onRust2.socket.id);
    assert.equal((await once(onRust2.socket, "disconnect", 5000))[0], "io server disconnect");
    admin.emit("_disconnect", "/", true, onNode.session.userID);
    assert.equal((await once(onNode.socket, "disconnect", 5000))[0], "io server disconnect");
    assert.ok(reference.alive(), reference.output());
  });

  it("a dashboard on the Node node sees our sockets, transports and server_stats", async () => {
    const onRust1 = await connectUser(rust1.url, polling);
    const { admin, sockets } = await dashboard(reference);
    const ours = sockets.find((s) => s.id === onRust1.socket.id);
    assert.ok(ours, JSON.stringify(sockets));
    assert.equal(ours.transport, "polling");
    assert.equal(ours.clientId, onRust1.socket.io.engine.id.slice(0, 12));
    await statsOf(admin, "rust2");
    const onRust2 = await connectUser(rust2.url, ws);
    await nextWhere(admin, "socket_connected", (s) => s.id === onRust2.socket.id);
    admin.emit("_disconnect", "/", false, onRust2.socket.id);
    assert.equal((await once(onRust2.socket, "disconnect", 5000))[0], "io server disconnect");
  });

  it("our dashboards' events do not reach chat users on any node", async () => {
    const onNode = await connectUser(reference.url, ws);
    const onRust2 = await connectUser(rust2.url, ws);
    const { admin } = await dashboard(rust1);
    await statsOf(admin, "rust2");
    await statsOf(admin, "node-reference");
    for (const user of [onNode, onRust2]) {
      assert.ok(!user.socket.__record.some((e) => e.event === "server_stats"), "a chat user heard server_stats");
    }
  });
});
