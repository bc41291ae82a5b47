// The admin namespace of one node, spoken with the plain socket.io-client as the Admin UI
// (@socket.io/admin-ui 0.5.1) speaks it: authentication, the events, the commands, read-only,
// and that admin traffic and chat traffic never mix.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, expectNoEvent, once } from "../lib/client.mjs";
import { connectUser } from "../lib/chat.mjs";
import { startServer } from "../lib/server.mjs";
import { ADMIN_PASSWORD, ADMIN_USER, adminArgs, adminRefusal, command, connectAdmin, metric, nextWhere, statsOf } from "./admin.mjs";

const ws = { transports: ["websocket"] };

describe("admin namespace: off unless configured", () => {
  let node;
  before(async () => (node = await startServer()));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  it("refuses /admin as any unknown namespace", async () => {
    assert.equal(await adminRefusal(node.url), "Invalid namespace");
  });
});

describe("admin namespace: authentication", () => {
  let node;
  before(async () => (node = await startServer({ args: adminArgs(["--node-id", "solo"]) })));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  it("a wrong password, no password, another username: CONNECT_ERROR invalid credentials", async () => {
    assert.equal(await adminRefusal(node.url, { auth: { username: ADMIN_USER, password: "wrong" } }), "invalid credentials");
    assert.equal(await adminRefusal(node.url, { auth: { username: ADMIN_USER } }), "invalid credentials");
    assert.equal(await adminRefusal(node.url, { auth: { username: "root", password: ADMIN_PASSWORD } }), "invalid credentials");
    assert.equal(await adminRefusal(node.url, { auth: { sessionId: "made-up" } }), "invalid credentials");
    assert.ok((await metric(node, "chat_admin_connections_total", 'result="invalid_credentials"')) >= 4);
  });

  it("a chat user cannot open the admin namespace, with a chat handshake or from its chat session", async () => {
    assert.equal(await adminRefusal(node.url, { auth: { username: "alice" } }), "invalid credentials");
    const alice = await connectUser(node.url, ws);
    // The same Engine.IO session as the chat socket (socket.io-client multiplexes).
    const fromChat = alice.socket.io.socket("/admin", { auth: { username: ADMIN_USER, password: ADMIN_PASSWORD } });
    const refused = new Promise((resolve) => fromChat.once("connect_error", (err) => resolve(err.message)));
    fromChat.connect();
    assert.equal(await refused, "not an admin session");
    assert.ok(alice.socket.connected, "the chat socket is untouched");
  });

  it("a good login gets a session id, config, all_sockets and server_stats; the session id logs in again", async () => {
    const alice = await connectUser(node.url, ws, "alice-auth");
    const admin = await connectAdmin(node.url, ws);
    const [sessionId] = await once(admin, "session");
    assert.match(sessionId, /^[0-9a-f]{16}$/);
    const [config] = await once(admin, "config");
    assert.deepEqual(config.supportedFeatures, [
      "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS",
    ]);
    const [sockets] = await once(admin, "all_sockets");
    const chat = sockets.find((s) => s.id === alice.socket.id);
    assert.ok(chat, `alice's socket in all_sockets: ${JSON.stringify(sockets)}`);
    assert.equal(chat.nsp, "/");
    assert.equal(chat.transport, "websocket");
    assert.equal(chat.clientId, alice.socket.io.engine.id.slice(0, 12));
    assert.deepEqual(chat.rooms, [alice.socket.id, alice.session.userID]);
    assert.deepEqual(chat.data, { userID: alice.session.userID, username: "alice-auth" });
    assert.equal(chat.handshake.address, "127.0.0.1");
    assert.ok(!Number.isNaN(Date.parse(chat.handshake.time)));
    assert.ok(sockets.some((s) => s.id === admin.id && s.nsp === "/admin"), "the dashboard itself");

    const stats = await statsOf(admin, "solo", 3000);
    assert.equal(typeof stats.hostname, "string");
    assert.equal(typeof stats.pid, "number");
    assert.ok(stats.uptime > 0);
    assert.ok(stats.clientsCount >= 2);
    assert.equal(typeof stats.pollingClientsCount, "number");
    assert.ok(Array.isArray(stats.aggregatedEvents));
    assert.deepEqual(stats.namespaces.find((n) => n.name === "/"), { name: "/", socketsCount: 1 });
    assert.deepEqual(stats.namespaces.find((n) => n.name === "/admin"), { name: "/admin", socketsCount: 1 });

    const again = await connectAdmin(node.url, { ...ws, auth: { sessionId } });
    await once(again, "config");
    assert.ok(await metric(node, "chat_admin_connections_total", 'result="accepted"') >= 2);
    assert.ok(await metric(node, "chat_admin_connections_active", "") >= 0);
  });

  it("admin traffic never reaches chat users", async () => {
    const bob = await connectUser(node.url, ws);
    const admin = await connectAdmin(node.url, ws);
    await once(admin, "config");
    await statsOf(admin, "solo", 3000);
    await connectUser(node.url, ws);
    await expectNoEvent(bob.socket, "server_stats", 2500);
    for (const event of ["config", "all_sockets", "socket_connected", "room_joined"]) {
      assert.ok(!bob.socket.__record.some((e) => e.event === event), `bob heard ${event}`);
    }
  });
});

describe("admin namespace: events and commands", () => {
  let node;
  before(async () => (node = await startServer({ args: adminArgs(["--node-id", "cmd"]) })));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  async function dashboard() {
    const admin = await connectAdmin(node.url, ws);
    await once(admin, "all_sockets");
    return admin;
  }

  it("socket_connected, room_joined, socket_updated on the upgrade, socket_disconnected and room_left", async () => {
    const admin = await dashboard();
    const carol = await connectUser(node.url, {}, "carol-events"); // polling, then WebSocket
    const [connected, at] = await nextWhere(admin, "socket_connected", (s) => s.id === carol.socket.id);
    assert.equal(connected.nsp, "/");
    assert.equal(connected.transport, "polling");
    assert.deepEqual(connected.data, { userID: carol.session.userID, username: "carol-events" });
    assert.ok(!Number.isNaN(Date.parse(at)));
    const [nsp, room, id] = await nextWhere(admin, "room_joined", (_n, r) => r === carol.session.userID);
    assert.deepEqual([nsp, room, id], ["/", carol.session.userID, carol.socket.id]);
    const [updated] = await nextWhere(admin, "socket_updated", (s) => s.id === carol.socket.id);
    assert.deepEqual(updated, { id: carol.socket.id, nsp: "/", transport: "websocket" });
    const carolId = carol.socket.id;
    carol.socket.disconnect();
    const [leftNsp, leftRoom] = await nextWhere(admin, "room_left", (_n, r, i) => i === carolId && r === carol.session.userID);
    assert.deepEqual([leftNsp, leftRoom], ["/", carol.session.userID]);
    const [dnsp, did, reason] = await nextWhere(admin, "socket_disconnected", (_n, i) => i === carolId);
    assert.deepEqual([dnsp, did, reason], ["/", carolId, "client namespace disconnect"]);
  });

  it("emit to one socket, to a room, to everyone; acked when asked", async () => {
    const admin = await dashboard();
    const dave = await connectUser(node.url, ws);
    const erin = await connectUser(node.url, ws);
    assert.deepEqual(await command(admin, "emit", "/", dave.socket.id, "notice", "to dave", { n: 1 }), { ok: true });
    assert.deepEqual(await once(dave.socket, "notice"), ["to dave", { n: 1 }]);
    await expectNoEvent(erin.socket, "notice", 300);
    admin.emit("emit", "/", erin.session.userID, "notice", "to erin's user room");
    assert.deepEqual(await once(erin.socket, "notice"), ["to erin's user room"]);
    admin.emit("emit", "/", null, "notice", "to all");
    assert.deepEqual(await once(dave.socket, "notice"), ["to all"]);
    assert.deepEqual(await once(erin.socket, "notice"), ["to all"]);
    assert.ok((await metric(node, "chat_admin_commands_total", 'command="emit",result="applied"')) >= 3);
  });

  it("join and leave a room by socket id and by filter, seen as room_joined / room_left", async () => {
    const admin = await dashboard();
    const fay = await connectUser(node.url, ws);
    admin.emit("join", "/", "ops", fay.socket.id);
    await nextWhere(admin, "room_joined", (n, r, i) => n === "/" && r === "ops" && i === fay.socket.id);
    admin.emit("emit", "/", "ops", "notice", "to ops");
    assert.deepEqual(await once(fay.socket, "notice"), ["to ops"]);
    admin.emit("leave", "/", "ops", "ops");
    await nextWhere(admin, "room_left", (n, r, i) => r === "ops" && i === fay.socket.id);
    admin.emit("emit", "/", "ops", "notice", "nobody");
    await expectNoEvent(fay.socket, "notice", 400);
  });

  it("_disconnect by socket id, and by filter (a user's room: every tab)", async () => {
    const admin = await dashboard();
    const gus = await connectUser(node.url, ws);
    const other = await connectUser(node.url, ws);
    const gusId = gus.socket.id;
    admin.emit("_disconnect", "/", false, gusId);
    assert.equal((await once(gus.socket, "disconnect"))[0], "io server disconnect");
    const [, , reason] = await nextWhere(admin, "socket_disconnected", (_n, i) => i === gusId);
    assert.equal(reason, "server namespace disconnect");
    assert.ok(other.socket.connected);

    const hal = await connectUser(node.url, ws);
    const halTab = await connect(node.url, { ...ws, auth: { sessionID: hal.session.sessionID } });
    await once(halTab, "users");
    admin.emit("_disconnect", "/", true, hal.session.userID);
    assert.equal((await once(hal.socket, "disconnect"))[0], "io server disconnect");
    assert.equal((await once(halTab, "disconnect"))[0], "io server disconnect");
    assert.ok(other.socket.connected, "not in the filter");
  });

  it("malformed and unknown commands are refused and counted", async () => {
    const admin = await dashboard();
    assert.deepEqual(await command(admin, "drop", "/"), { error: "unknown command" });
    assert.deepEqual(await command(admin, "emit", "/", null), { error: "invalid event" });
    assert.deepEqual(await command(admin, "_disconnect", "/", "yes"), { error: "invalid close" });
    assert.deepEqual(await command(admin, "join", 42, "r"), { error: "invalid namespace" });
    assert.ok(admin.connected);
    assert.ok((await metric(node, "chat_admin_commands_total", 'command="other",result="unknown"')) >= 1);
  });
});

describe("admin namespace: read-only", () => {
  let node;
  before(async () => (node = await startServer({ args: adminArgs(["--admin-read-only", "--node-id", "ro"]) })));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  it("offers no command and refuses every one", async () => {
    const ivy = await connectUser(node.url, ws);
    const admin = await connectAdmin(node.url, ws);
    const [config] = await once(admin, "config");
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    await once(admin, "all_sockets");
    assert.deepEqual(await command(admin, "_disconnect", "/", true, ivy.socket.id), { error: "read-only" });
    assert.deepEqual(await command(admin, "emit", "/", ivy.socket.id, "notice", "x"), { error: "read-only" });
    assert.deepEqual(await command(admin, "join", "/", "r", ivy.socket.id), { error: "read-only" });
    assert.deepEqual(await command(admin, "leave", "/", ivy.session.userID, ivy.socket.id), { error: "read-only" });
    admin.emit("_disconnect", "/", true); // as the UI sends it: no ack
    await expectNoEvent(ivy.socket, "notice", 500);
    assert.ok(ivy.socket.connected, "still connected");
    assert.ok((await metric(node, "chat_admin_commands_total", 'command="disconnect",result="read_only"')) >= 2);
    await statsOf(admin, "ro", 3000);
  });
});

describe("admin namespace: no authentication, chosen explicitly; message contents only when shown", () => {
  let node;
  before(async () => (node = await startServer({ args: ["--admin", "--admin-no-auth", "--admin-show-events", "--admin-namespace", "/ops"] })));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  it("opens without credentials on the configured namespace and shows incoming events", async () => {
    assert.equal(await adminRefusal(node.url, { auth: {}, nsp: "/admin" }), "Invalid namespace");
    const admin = await connectAdmin(node.url, { ...ws, auth: {}, nsp: "/ops" });
    const [config] = await once(admin, "config");
    assert.ok(config.supportedFeatures.includes("ALL_EVENTS"));
    await once(admin, "all_sockets");
    const jo = await connectUser(node.url, ws);
    const kim = await connectUser(node.url, ws);
    jo.socket.emit("private message", { content: "psst", to: kim.session.userID });
    const [nsp, id, args] = await nextWhere(admin, "event_received", (_n, i) => i === jo.socket.id);
    assert.equal(nsp, "/");
    assert.deepEqual(args, ["private message", { content: "psst", to: kim.session.userID }]);
  });
});

describe("admin namespace: message contents stay off the dashboard by default", () => {
  let node;
  before(async () => (node = await startServer({ args: adminArgs() })));
  afterEach(() => disconnectAll());
  after(() => node?.stop());

  it("no event_received", async () => {
    const admin = await connectAdmin(node.url, ws);
    await once(admin, "config");
    const lee = await connectUser(node.url, ws);
    const max = await connectUser(node.url, ws);
    lee.socket.emit("private message", { content: "secret", to: max.session.userID });
    await once(max.socket, "private message");
    await expectNoEvent(admin, "event_received", 500);
    assert.ok(!JSON.stringify(admin.__record).includes("secret"));
  });
});
