// SPEC §2 "Connection state recovery", with the official socket.io-client 4.8.4: a dropped
// transport comes back with the same socket id and the events it missed, exactly once, and
// without a second `session` or `users`; anything that cannot be recovered is a normal
// connection, counted in metrics.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, countEvents, disconnectAll, expectNoEvent, once, sleep, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectUser, connectWithAuth, messageSyncPoint, sendPrivateMessage, uniqueName } from "../lib/chat.mjs";
import { startServer } from "../lib/server.mjs";
import { dropTransport, errorCount, eventually, sessionClosed, transportSettled } from "../lib/signals.mjs";

/** Reconnects by itself, quickly: what a real client does after a drop. */
const RECONNECTING = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 };

/** The `connect` events a socket has seen so far. */
const connects = (socket) => countEvents(socket, "connect");

/** Sockets that reconnected by themselves: the shared helpers forget a socket at its first
 * disconnect, so these are closed here after each test. */
const reconnected = new Set();

/**
 * Drops the transport the way a network switch does and waits for the automatic reconnection.
 * Not in the middle of an upgrade: socket.io-client then closes only once the probe is done,
 * and a message arriving in between is buffered by the already disconnected socket and emitted
 * on the next connection, after its auth went out with the older offset, so the replay brings
 * it a second time (a quirk of the client, which Node's server meets alike).
 */
async function dropAndAwaitReconnect(url, socket, meanwhile = async () => {}) {
  await transportSettled(socket);
  const before = connects(socket);
  const oldId = socket.id;
  reconnected.add(socket);
  await dropTransport(url, socket);
  await meanwhile();
  await eventually("the client's reconnection", () => connects(socket) > before, 5000);
  return oldId;
}

function useServers(specs) {
  const servers = {};
  before(async () => {
    for (const [name, args] of Object.entries(specs)) servers[name] = await startServer({ args });
  });
  afterEach(() => {
    for (const socket of reconnected) socket.disconnect();
    reconnected.clear();
    disconnectAll();
  });
  after(async () => {
    for (const server of Object.values(servers)) await server.stop();
  });
  return servers;
}

describe("connection state recovery on one node", () => {
  const servers = useServers({
    main: [],
    short: ["--recovery-window-secs", "1"],
    tiny: ["--recovery-max-events", "2"],
    off: ["--recovery-window-secs", "0"],
  });

  withTransports((clientOpts) => {
    const opts = { ...clientOpts, ...RECONNECTING };

    it("a message sent while the transport is down arrives once; same socket id, no second session or users", async () => {
      const url = servers.main.url;
      const alice = await connectUser(url, opts, uniqueName("alice"));
      const bob = await connectUser(url, clientOpts, uniqueName("bob"));
      // Connected on the upgraded transport when the client upgrades.
      await transportSettled(alice.socket);
      assert.equal(alice.socket.recovered, false);
      assert.equal(typeof alice.socket._pid, "string", "the CONNECT reply carries a pid");
      const oldId = await dropAndAwaitReconnect(url, alice.socket, async () => {
        const ack = await sendPrivateMessage(bob.socket, { content: "while you were away", to: alice.session.userID });
        assertAckOk(ack);
      });
      assert.equal(alice.socket.recovered, true, "socket.recovered");
      assert.equal(alice.socket.id, oldId, "same socket id");
      const [message] = await once(alice.socket, "private message");
      assert.equal(message.content, "while you were away");
      assert.equal(message.from, bob.session.userID);
      // A replayed duplicate would be queued before anything sent after the recovery.
      await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
      assert.equal(countEvents(alice.socket, "session"), 1, "no second session");
      assert.equal(countEvents(alice.socket, "users"), 1, "no second users");

      // Still routed live afterwards, in both directions, on the same room.
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "live again", to: alice.session.userID }));
      assert.equal((await once(alice.socket, "private message"))[0].content, "live again");
      assertAckOk(await sendPrivateMessage(alice.socket, { content: "hi bob", to: bob.session.userID }));
      assert.equal((await once(bob.socket, "private message"))[0].content, "hi bob");

      // The others saw the drop at once and the return.
      const [gone] = await once(bob.socket, "user disconnected");
      assert.equal(gone, alice.session.userID);
      const back = await once(bob.socket, "user connected", 3000);
      assert.equal(back[0].userID, alice.session.userID);
      assert.equal(back[0].connected, true);
    });

    it("recovers again after a second drop, and every missed message arrives in order", async () => {
      const url = servers.main.url;
      const alice = await connectUser(url, opts, uniqueName("alice"));
      const bob = await connectUser(url, clientOpts, uniqueName("bob"));
      const sent = [];
      for (const round of [1, 2]) {
        await dropAndAwaitReconnect(url, alice.socket, async () => {
          for (let i = 0; i < 3; i++) {
            const content = `round ${round} #${i}`;
            sent.push(content);
            assertAckOk(await sendPrivateMessage(bob.socket, { content, to: alice.session.userID }));
          }
        });
        assert.equal(alice.socket.recovered, true, `recovered in round ${round}`);
      }
      const got = [];
      for (let i = 0; i < sent.length; i++) got.push((await once(alice.socket, "private message"))[0].content);
      assert.deepEqual(got, sent);
      await messageSyncPoint(bob, alice.session.userID, [alice.socket]);
      await expectNoEvent(alice.socket, "private message", 0);
      assert.equal(countEvents(alice.socket, "users"), 1);
    });
  });

  it("after the window: a normal connection (new session and users, recovered false)", async () => {
    const url = servers.short.url;
    const alice = await connectUser(url, { transports: ["websocket"] }, uniqueName("alice"));
    const before = await errorCount(url, "recovery_expired");
    await dropTransport(url, alice.socket);
    await sleep(1600); // the subject: a recovery window (1 s) running out
    alice.socket.auth = { sessionID: alice.session.sessionID };
    alice.socket.connect();
    await once(alice.socket, "connect");
    assert.equal(alice.socket.recovered, false);
    const [session] = await once(alice.socket, "session");
    assert.equal(session.userID, alice.session.userID, "the sessionID handshake runs again");
    await once(alice.socket, "users");
    assert.equal(await errorCount(url, "recovery_expired"), before + 1);
  });

  it("more missed events than --recovery-max-events: a normal connection with the history in users", async () => {
    const url = servers.tiny.url;
    const alice = await connectUser(url, { transports: ["websocket"] }, uniqueName("alice"));
    const bob = await connectUser(url, { transports: ["websocket"] }, uniqueName("bob"));
    const sessionID = alice.session.sessionID;
    const before = await errorCount(url, "recovery_overflow");
    await dropTransport(url, alice.socket);
    for (let i = 0; i < 3; i++) {
      assertAckOk(await sendPrivateMessage(bob.socket, { content: `m${i}`, to: alice.session.userID }));
    }
    alice.socket.auth = { sessionID };
    alice.socket.connect();
    await once(alice.socket, "connect");
    assert.equal(alice.socket.recovered, false);
    await once(alice.socket, "session");
    const [users] = await once(alice.socket, "users");
    const withBob = users.find((u) => u.userID === bob.session.userID);
    assert.deepEqual(withBob.messages.map((m) => m.content), ["m0", "m1", "m2"]);
    assert.equal(await errorCount(url, "recovery_overflow"), before + 1);
  });

  it("forged, foreign and malformed recovery inputs are normal connections, counted, and never another user's state", async () => {
    const url = servers.main.url;
    const ws = { transports: ["websocket"] };
    const alice = await connectUser(url, ws, uniqueName("alice"));
    const mallory = await connectUser(url, ws, uniqueName("mallory"));
    const pid = alice.socket._pid;
    const offset = alice.socket._lastOffset;
    assert.equal(typeof offset, "string", "users carried an offset");
    await dropTransport(url, alice.socket);

    const unknownBefore = await errorCount(url, "recovery_unknown_pid");
    const forged = await connectWithAuth(url, ws, { pid: "forged-pid", offset, username: uniqueName("f") });
    assert.equal(forged.socket.recovered, false);
    assert.notEqual(forged.session.userID, alice.session.userID);
    assert.equal(await errorCount(url, "recovery_unknown_pid"), unknownBefore + 1);

    const malformedBefore = await errorCount(url, "recovery_malformed_auth");
    const wrongTypes = await connectWithAuth(url, ws, { pid: 42, offset: { x: 1 }, username: uniqueName("t") });
    assert.equal(wrongTypes.socket.recovered, false);
    assert.equal(await errorCount(url, "recovery_malformed_auth"), malformedBefore + 1);

    // Alice's genuine pid with Mallory's sessionID: Mallory gets her own session, not Alice's.
    const foreignBefore = await errorCount(url, "recovery_foreign_session");
    const foreign = await connectWithAuth(url, ws, { pid, offset, sessionID: mallory.session.sessionID });
    assert.equal(foreign.socket.recovered, false);
    assert.equal(foreign.session.userID, mallory.session.userID);
    assert.notEqual(foreign.socket.id, alice.socket.id);
    assert.equal(await errorCount(url, "recovery_foreign_session"), foreignBefore + 1);

    const offsetBefore = await errorCount(url, "recovery_malformed_offset");
    const badOffset = await connectWithAuth(url, ws, { pid, offset: "zz-not-an-offset", username: uniqueName("o") });
    assert.equal(badOffset.socket.recovered, false);
    assert.equal(await errorCount(url, "recovery_malformed_offset"), offsetBefore + 1);
    // A genuine pid with an unusable offset is spent, as in Node: Alice now starts over.
    alice.socket.auth = { sessionID: alice.session.sessionID };
    alice.socket.connect();
    await once(alice.socket, "connect");
    assert.equal(alice.socket.recovered, false);
    const [session] = await once(alice.socket, "session");
    assert.equal(session.userID, alice.session.userID);
  });

  it("a client that disconnects on purpose is not recovered", async () => {
    const url = servers.main.url;
    const alice = await connectUser(url, { transports: ["websocket"] }, uniqueName("alice"));
    const oldId = alice.socket.id;
    const sid = alice.socket.io.engine.id;
    alice.socket.disconnect();
    await sessionClosed(url, sid);
    alice.socket.connect();
    await once(alice.socket, "connect");
    assert.equal(alice.socket.recovered, false);
    assert.notEqual(alice.socket.id, oldId);
    await once(alice.socket, "session");
  });

  it("--recovery-window-secs 0: no pid, no offsets, the wire as before", async () => {
    const url = servers.off.url;
    const alice = await connectUser(url, { transports: ["websocket"] }, uniqueName("alice"));
    const bob = await connectUser(url, { transports: ["websocket"] }, uniqueName("bob"));
    assert.equal(alice.socket._pid, undefined);
    assertAckOk(await sendPrivateMessage(bob.socket, { content: "plain", to: alice.session.userID }));
    const args = await once(alice.socket, "private message");
    assert.equal(args.length, 1, `no offset argument: ${JSON.stringify(args)}`);
  });

  it("events carry an offset as their last argument when recovery is on", async () => {
    const url = servers.main.url;
    const alice = await connect(url, { transports: ["websocket"], auth: { username: uniqueName("alice") } });
    await once(alice, "session");
    const usersArgs = await once(alice, "users");
    assert.equal(usersArgs.length, 2);
    assert.equal(typeof usersArgs[1], "string");
    const bob = await connectUser(url, { transports: ["websocket"] }, uniqueName("bob"));
    const connectedArgs = await once(alice, "user connected");
    assert.equal(connectedArgs[0].userID, bob.session.userID);
    assert.equal(typeof connectedArgs[1], "string");
    assert.notEqual(connectedArgs[1], usersArgs[1], "offsets are unique");
  });
});
