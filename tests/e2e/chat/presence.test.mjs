// SPEC §2: `user disconnected` only when a user's last tab closes; the session is then
// saved connected: false and shows so in others' `users`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { closeAndSync, connectTab, connectUser, disconnectOf as nextDisconnectOf, presenceSyncPoint, userEntry } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

describe("chat: presence", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    it("closing one of two tabs announces nothing; closing the last announces user disconnected", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      const watcher = await connectUser(server.url, clientOpts);
      await closeAndSync(server.url, clientOpts, tab1, [watcher.socket]);
      await expectNoEvent(watcher.socket, "user disconnected", 0);
      tab2.socket.disconnect();
      const [payload] = await once(watcher.socket, "user disconnected");
      assert.equal(typeof payload, "string", "the payload is the plain userID string");
      assert.equal(payload, tab1.session.userID);
    });

    it("a disconnected user is listed connected: false for a newcomer, with its username", async () => {
      const gone = await connectUser(server.url, clientOpts);
      const watcher = await connectUser(server.url, clientOpts);
      gone.socket.disconnect();
      await nextDisconnectOf(watcher.socket, gone.session.userID);
      const newcomer = await connectUser(server.url, clientOpts);
      const entry = userEntry(newcomer.users, gone.session.userID);
      assert.equal(entry.connected, false);
      assert.equal(entry.username, userEntry(gone.users, gone.session.userID).username);
      assert.equal(userEntry(newcomer.users, watcher.session.userID).connected, true);
    });

    it("a user whose connection drops without a DISCONNECT packet is announced too", async () => {
      const dropped = await connectUser(server.url, clientOpts);
      const watcher = await connectUser(server.url, clientOpts);
      dropped.socket.io.engine.close(); // transport closed abruptly, no Socket.IO DISCONNECT
      assert.equal(await nextDisconnectOf(watcher.socket, dropped.session.userID), dropped.session.userID);
    });

    it("coming back with the sessionID announces user connected and lists connected: true again", async () => {
      const user = await connectUser(server.url, clientOpts);
      const watcher = await connectUser(server.url, clientOpts);
      user.socket.disconnect();
      await nextDisconnectOf(watcher.socket, user.session.userID);
      const back = await connectTab(server.url, clientOpts, user.session.sessionID);
      assert.deepEqual(back.session, user.session);
      let announcement;
      do [announcement] = await once(watcher.socket, "user connected");
      while (announcement.userID !== user.session.userID);
      assert.equal(announcement.connected, true);
      const newcomer = await connectUser(server.url, clientOpts);
      assert.equal(userEntry(newcomer.users, user.session.userID).connected, true);
    });

    it("the disconnecting user's own remaining tab is not told it disconnected", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      await closeAndSync(server.url, clientOpts, tab1, [tab2.socket]);
      await expectNoEvent(tab2.socket, "user disconnected", 0);
    });
  });
});
