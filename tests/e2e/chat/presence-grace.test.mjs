// SPEC §2, presence grace: a socket that dropped for a reason that can be recovered (here its
// transport closed without a DISCONNECT) announces its user gone only if the user is not back
// once the grace is over; a user back within it gets neither `user disconnected` nor a second
// `user connected`; an explicit disconnect is announced at once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { once, recorded, withTransports } from "../lib/client.mjs";
import { connectTab, connectUser } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

const GRACE_MS = 1500;

/** The events about `userID` (`user connected` / `user disconnected`) a socket received. */
function presenceOf(socket, userID) {
  return recorded(socket).filter(
    (e) =>
      (e.event === "user disconnected" && e.args[0] === userID) ||
      (e.event === "user connected" && e.args[0]?.userID === userID),
  );
}

/** Waits for `user disconnected` about `userID`; resolves with the ms since `since`. */
async function disconnectedAfter(socket, userID, since, timeoutMs = GRACE_MS + 3000) {
  const deadline = since + timeoutMs;
  for (;;) {
    const [id] = await once(socket, "user disconnected", Math.max(1, deadline - Date.now()));
    if (id === userID) return Date.now() - since;
  }
}

/**
 * A positive sync point for "nothing was announced": a marker user dropped after the action
 * is announced once its grace is over, so by then the action's grace (which began earlier)
 * is over too, and anything it would have announced has arrived.
 */
async function graceOfEarlierDropsIsOver(url, clientOpts, watcher) {
  const marker = await connectUser(url, clientOpts);
  const dropped = Date.now();
  marker.socket.io.engine.close();
  return disconnectedAfter(watcher.socket, marker.session.userID, dropped);
}

describe("chat: presence grace", () => {
  const server = useServer({ env: { CHAT_PRESENCE_GRACE_MS: String(GRACE_MS) } });

  withTransports((clientOpts) => {
    const noReconnect = { ...clientOpts, reconnection: false };

    it("a tab dropped and back within the grace causes no presence event at all", async () => {
      const user = await connectUser(server.url, noReconnect);
      const watcher = await connectUser(server.url, clientOpts);
      user.socket.io.engine.close();
      const back = await connectTab(server.url, noReconnect, user.session.sessionID);
      assert.deepEqual(back.session, user.session);
      await graceOfEarlierDropsIsOver(server.url, noReconnect, watcher);
      assert.deepEqual(presenceOf(watcher.socket, user.session.userID), [], "nothing about the user");
      const newcomer = await connectUser(server.url, clientOpts);
      assert.equal(
        newcomer.users.find((u) => u.userID === user.session.userID)?.connected,
        true,
        "still listed connected",
      );
    });

    it("a tab that stays away is announced once, after the grace and within grace + 1 s", async () => {
      const user = await connectUser(server.url, noReconnect);
      const watcher = await connectUser(server.url, clientOpts);
      const dropped = Date.now();
      user.socket.io.engine.close();
      const elapsed = await disconnectedAfter(watcher.socket, user.session.userID, dropped);
      assert.ok(elapsed >= GRACE_MS - 50, `announced after ${elapsed} ms, before the grace`);
      assert.ok(elapsed <= GRACE_MS + 1000, `announced after ${elapsed} ms`);
      await graceOfEarlierDropsIsOver(server.url, noReconnect, watcher);
      assert.equal(presenceOf(watcher.socket, user.session.userID).length, 1, "announced once");
    });

    it("an explicit disconnect is announced at once", async () => {
      const user = await connectUser(server.url, clientOpts);
      const watcher = await connectUser(server.url, clientOpts);
      const left = Date.now();
      user.socket.disconnect();
      const elapsed = await disconnectedAfter(watcher.socket, user.session.userID, left);
      assert.ok(elapsed < GRACE_MS / 2, `announced after ${elapsed} ms`);
    });
  });
});
