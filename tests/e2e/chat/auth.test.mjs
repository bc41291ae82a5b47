// SPEC §2: handshake auth — who may connect, with which username, and when a sessionID wins.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withTransports } from "../lib/client.mjs";
import { assertRefused, connectTab, connectUser, connectWithAuth, uniqueName, userEntry } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

const REFUSED_AUTHS = [
  ["missing auth", undefined],
  ["auth without username", {}],
  ["empty username", { username: "" }],
  ["blank username", { username: "   " }],
  ["numeric username", { username: 42 }],
  ["object username", { username: { name: "x" } }],
  ["null username", { username: null }],
  ["65-character username", { username: "a".repeat(65) }],
  ["username with a control character", { username: "bell\u0007" }],
  ["username with a newline", { username: "two\nlines" }],
];

describe("chat: handshake auth", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    for (const [name, auth] of REFUSED_AUTHS) {
      it(`refuses ${name} with CONNECT_ERROR "invalid username"`, () => assertRefused(server.url, clientOpts, auth));
    }

    it("accepts a 64-character username", async () => {
      const username = "b".repeat(60) + uniqueName("").slice(-4);
      assert.equal(username.length, 64);
      const { session, users } = await connectUser(server.url, clientOpts, username);
      assert.equal(userEntry(users, session.userID).username, username);
    });

    it("trims the username: 64 characters plus surrounding spaces is accepted and stored trimmed", async () => {
      const core = "c".repeat(60) + uniqueName("").slice(-4);
      const { session, users } = await connectUser(server.url, clientOpts, `  ${core}\t `);
      assert.equal(userEntry(users, session.userID).username, core);
    });

    it("accepts non-ASCII usernames unchanged", async () => {
      const username = `Zoë 👋 ${uniqueName("")}`;
      const { session, users } = await connectUser(server.url, clientOpts, username);
      assert.equal(userEntry(users, session.userID).username, username);
    });

    it("an unknown sessionID with a valid username starts a new session", async () => {
      const unknown = "f".repeat(32);
      const username = uniqueName("fresh");
      const { session, users } = await connectWithAuth(server.url, clientOpts, { sessionID: unknown, username });
      assert.notEqual(session.sessionID, unknown, "an unknown sessionID must not be adopted");
      assert.equal(userEntry(users, session.userID).username, username);
    });

    it("an unknown sessionID without a username is refused", () =>
      assertRefused(server.url, clientOpts, { sessionID: "0123456789abcdef0123456789abcdef" }));

    it("a non-string sessionID is ignored in favour of a valid username", async () => {
      const username = uniqueName("numsid");
      const { users, session } = await connectWithAuth(server.url, clientOpts, { sessionID: 12345, username });
      assert.equal(userEntry(users, session.userID).username, username);
    });

    it("a known sessionID wins over a username: same user, same name", async () => {
      const username = uniqueName("keeper");
      const first = await connectUser(server.url, clientOpts, username);
      const resumed = await connectWithAuth(server.url, clientOpts, {
        sessionID: first.session.sessionID,
        username: uniqueName("impostor"),
      });
      assert.deepEqual(resumed.session, first.session);
      assert.equal(userEntry(resumed.users, first.session.userID).username, username);
    });

    it("a known sessionID alone resumes the session (even with an invalid username beside it)", async () => {
      const first = await connectUser(server.url, clientOpts);
      const resumed = await connectWithAuth(server.url, clientOpts, { sessionID: first.session.sessionID, username: "" });
      assert.deepEqual(resumed.session, first.session);
      const again = await connectTab(server.url, clientOpts, first.session.sessionID);
      assert.deepEqual(again.session, first.session);
    });
  });
});
