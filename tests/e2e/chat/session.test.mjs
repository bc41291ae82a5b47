// SPEC §2: what a connecting socket receives (session, users) and what everyone else
// receives (user connected), in which order, and that sessionIDs stay secret.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, recorded, recordedEvents, withTransports } from "../lib/client.mjs";
import { connectUser, presenceSyncPoint, uniqueName, userEntry } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

const HEX_128_BITS = /^[0-9a-f]{32,}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe("chat: session, users and user connected", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    it("session is {sessionID, userID}: a long random secret and a public id", async () => {
      const a = await connectUser(server.url, clientOpts);
      const b = await connectUser(server.url, clientOpts);
      for (const { session } of [a, b]) {
        assert.equal(typeof session.sessionID, "string");
        assert.ok(
          HEX_128_BITS.test(session.sessionID) || UUID.test(session.sessionID),
          `sessionID ${session.sessionID} must carry at least 128 bits (32+ hex chars or a uuid)`,
        );
        assert.equal(typeof session.userID, "string");
        assert.ok(session.userID.length > 0);
        assert.notEqual(session.userID, session.sessionID);
      }
      assert.notEqual(a.session.sessionID, b.session.sessionID);
      assert.notEqual(a.session.userID, b.session.userID);
    });

    it("the connecting socket gets session, then users, first", async () => {
      const { socket } = await connectUser(server.url, clientOpts);
      const events = recordedEvents(socket).filter((e) => e !== "connect");
      assert.deepEqual(events.slice(0, 2), ["session", "users"]);
    });

    it("users lists every known user, the connecting one included, with the contract fields", async () => {
      const a = await connectUser(server.url, clientOpts, uniqueName("a"));
      const b = await connectUser(server.url, clientOpts, uniqueName("b"));
      const c = await connectUser(server.url, clientOpts, uniqueName("c"));
      for (const user of c.users) {
        assert.equal(typeof user.userID, "string");
        assert.equal(typeof user.username, "string");
        assert.equal(typeof user.connected, "boolean");
        assert.ok(Array.isArray(user.messages));
      }
      const ids = c.users.map((u) => u.userID);
      assert.equal(new Set(ids).size, ids.length, "one entry per user");
      for (const x of [a, b, c]) {
        const entry = userEntry(c.users, x.session.userID);
        assert.equal(entry.connected, true);
        assert.deepEqual(entry.messages, []);
      }
      assert.equal(userEntry(c.users, a.session.userID).username, userEntry(a.users, a.session.userID).username);
    });

    it("every other socket gets user connected {userID, username, connected: true, messages: []}", async () => {
      const watcher1 = await connectUser(server.url, clientOpts);
      const watcher2 = await connectUser(server.url, clientOpts);
      const username = uniqueName("newcomer");
      const newcomer = await connectUser(server.url, clientOpts, username);
      const expected = { userID: newcomer.session.userID, username, connected: true, messages: [] };
      for (const watcher of [watcher1, watcher2]) {
        let announcement;
        // Earlier connections of this test may have announced themselves too; find the newcomer's.
        do [announcement] = await once(watcher.socket, "user connected");
        while (announcement.userID !== newcomer.session.userID);
        assert.deepEqual(
          { userID: announcement.userID, username: announcement.username, connected: announcement.connected, messages: announcement.messages },
          expected,
        );
      }
      // A later arrival is announced through the same hub, after the newcomer's own.
      await presenceSyncPoint(server.url, clientOpts, [newcomer.socket]);
      await expectNoEvent(newcomer.socket, "user connected", 0);
    });

    it("no event other than a socket's own session ever contains a sessionID", async () => {
      const a = await connectUser(server.url, clientOpts);
      const b = await connectUser(server.url, clientOpts);
      const c = await connectUser(server.url, clientOpts);
      // Let every announcement arrive: a hears of b and c, b hears of c.
      await once(a.socket, "user connected");
      await once(a.socket, "user connected");
      await once(b.socket, "user connected");
      const secrets = [a, b, c].map((x) => x.session.sessionID);
      for (const { socket } of [a, b, c]) {
        for (const { event, args } of recorded(socket)) {
          if (event === "session") continue;
          const serialized = JSON.stringify(args);
          for (const secret of secrets) {
            assert.ok(!serialized.includes(secret), `"${event}" leaks a sessionID: ${serialized}`);
          }
        }
      }
    });
  });
});
