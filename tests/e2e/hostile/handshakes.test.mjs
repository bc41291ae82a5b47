// Hostile handshakes (issue: one bad client never hurts another): auth payloads that are not
// objects, guessed or malformed sessionIDs, and the sessionID never leaking into logs or
// metrics.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser, connectWithAuth, assertRefused, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";

const WS = { transports: ["websocket"] };

describe("hostile handshakes", () => {
  let server;
  before(async () => (server = await startServer({ env: { RUST_LOG: "debug" } })));
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  for (const auth of ['"alice"', "[1,2]", "42", "null", '{"username":'] ) {
    it(`an auth payload ${auth} that is not an object is refused; others unaffected`, async () => {
      const bystander = await connectUser(server.url, WS);
      const { ws } = await wsHandshake(server.url);
      ws.send(`40${auth}`);
      // Refused either with CONNECT_ERROR or by closing the session: never connected.
      const outcome = await Promise.race([
        ws.nextText("44", 2000).then((t) => ({ connectError: t })),
        ws.expectClosed(2000).then(() => ({ closed: true })),
      ]);
      assert.ok(outcome.closed || /invalid username/.test(outcome.connectError), JSON.stringify(outcome));
      assertAckOk(await sendPrivateMessage(bystander.socket, { content: "still here", to: bystander.session.userID }));
      ws.close();
    });
  }

  it("a guessed sessionID never resumes anyone's session", async () => {
    const victim = await connectUser(server.url, WS);
    for (const guess of [randomBytes(16).toString("hex"), victim.session.sessionID.slice(0, 31), victim.session.sessionID.toUpperCase(), `${victim.session.sessionID} `, victim.session.userID]) {
      await assertRefused(server.url, WS, { sessionID: guess });
      const fresh = await connectWithAuth(server.url, WS, { sessionID: guess, username: "guesser" });
      assert.notEqual(fresh.session.userID, victim.session.userID, `guess ${guess} resumed the victim`);
      fresh.socket.disconnect();
    }
  });

  it("malformed sessionIDs (object, huge string, number) fall back to the username rule", async () => {
    for (const sessionID of [{ $ne: null }, "x".repeat(50_000), 12345, ["a"]]) {
      await assertRefused(server.url, WS, { sessionID });
      const fresh = await connectWithAuth(server.url, WS, { sessionID, username: "mallory" });
      assert.equal(fresh.users.find((u) => u.userID === fresh.session.userID)?.username, "mallory");
      fresh.socket.disconnect();
    }
  });

  it("the sessionID appears in neither logs (at debug level) nor metrics", async () => {
    const alice = await connectUser(server.url, WS);
    const bob = await connectUser(server.url, WS);
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "hi", to: bob.session.userID }));
    const closed = once(bob.socket, "user disconnected");
    alice.socket.disconnect();
    await closed;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const { session } of [alice, bob]) {
      assert.ok(!server.stderr().includes(session.sessionID), "a sessionID was logged");
      assert.ok(!metrics.includes(session.sessionID), "a sessionID is in the metrics");
    }
    // Debug logging names the public userID: proof that the logs checked above were written.
    assert.ok(server.stderr().includes(bob.session.userID), "debug logging was not on, so the check proves nothing");
  });
});
