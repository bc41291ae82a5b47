// SPEC §2: several tabs (sockets) of one user share the session and the user's room.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectNoEvent, once, withTransports } from "../lib/client.mjs";
import { assertAckOk, connectTab, connectUser, coreMessage, messageSyncPoint, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { useServer } from "../lib/suite.mjs";

describe("chat: multiple tabs of one user", () => {
  const server = useServer();

  withTransports((clientOpts) => {
    it("a second tab with the sessionID gets the same session and userID", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      assert.deepEqual(tab2.session, tab1.session);
      const self = userEntry(tab2.users, tab1.session.userID);
      assert.equal(self.connected, true);
      assert.equal(tab2.users.filter((u) => u.userID === tab1.session.userID).length, 1, "listed once");
    });

    it("a tab receives what its sibling sent; the sending tab does not get it back", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      const bob = await connectUser(server.url, clientOpts);
      assertAckOk(await sendPrivateMessage(tab1.socket, { content: "from tab 1", to: bob.session.userID }));
      const [copy] = await once(tab2.socket, "private message");
      assert.deepEqual(coreMessage(copy), { content: "from tab 1", from: tab1.session.userID, to: bob.session.userID });
      await once(bob.socket, "private message");
      await messageSyncPoint(bob, tab1.session.userID, [tab1.socket]);
      await expectNoEvent(tab1.socket, "private message", 0);
    });

    it("messages to the user reach all its tabs", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      const tab3 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      const bob = await connectUser(server.url, clientOpts);
      assertAckOk(await sendPrivateMessage(bob.socket, { content: "to every tab", to: tab1.session.userID }));
      for (const tab of [tab1, tab2, tab3]) {
        assert.equal((await once(tab.socket, "private message"))[0].content, "to every tab");
      }
    });

    it("a tab opened later sees the conversation its siblings had", async () => {
      const tab1 = await connectUser(server.url, clientOpts);
      const bob = await connectUser(server.url, clientOpts);
      assertAckOk(await sendPrivateMessage(tab1.socket, { content: "earlier", to: bob.session.userID }));
      const tab2 = await connectTab(server.url, clientOpts, tab1.session.sessionID);
      assert.deepEqual(userEntry(tab2.users, bob.session.userID).messages.map(coreMessage), [
        { content: "earlier", from: tab1.session.userID, to: bob.session.userID },
      ]);
    });
  });
});
