// SPEC §5 behind nginx: a node that drains (SIGTERM) or dies (SIGKILL) loses no persisted
// message; its clients reconnect through nginx to another node by themselves and resume their
// sessions (same userID, history intact). Connection state recovery is off on these nodes:
// what is proved here is the session and the history in Redis, which a client that cannot be
// recovered (window over, too much missed) relies on; recovery across nodes behind nginx is
// cluster/recovery.test.mjs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connectSocket, createSocket, once } from "../lib/client.mjs";
import { assertAckOk, coreMessage, sendPrivateMessage, userEntry } from "../lib/chat.mjs";
import { startNginx } from "../lib/nginx.mjs";
import { useCluster } from "./cluster.mjs";

// Reconnecting clients leave the shared socket list when they disconnect (during a drain),
// so they are tracked here to be closed for good after the test.
const resuming = [];

/** A client like the chat page: reconnects by itself and resumes with its sessionID. */
async function resumingUser(url, username) {
  const socket = createSocket(url, {
    transports: ["websocket"],
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    auth: { username },
  });
  resuming.push(socket);
  socket.on("session", ({ sessionID }) => {
    socket.auth = { sessionID };
  });
  const session = once(socket, "session");
  const users = once(socket, "users");
  await connectSocket(socket);
  return { socket, session: (await session)[0], users: (await users)[0] };
}

/** Waits for the socket to come back and returns the `session` and `users` it got then. */
async function resumed(socket) {
  const [session] = await once(socket, "session", 15_000);
  const [users] = await once(socket, "users", 5_000);
  return { session, users };
}

async function servingNode(cluster, nginx) {
  const { node } = await (await fetch(`${nginx.url}/health`)).json();
  return cluster.nodes[Number(node.slice(1)) - 1];
}

describe("cluster: failover behind nginx", () => {
  const cluster = useCluster(3, { args: ["--recovery-window-secs", "0"] });
  let nginx;
  before(async () => {
    nginx = await startNginx(cluster.nodes.map((node) => node.port));
  });
  after(async () => {
    for (const socket of resuming) socket.disconnect();
    await nginx?.stop();
  });

  it("SIGTERM then SIGKILL of the serving node: clients resume elsewhere with their history", async () => {
    const alice = await resumingUser(nginx.url, "alice-failover");
    const bob = await resumingUser(nginx.url, "bob-failover");
    const [A, B] = [alice.session.userID, bob.session.userID];
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "before the drain", to: B }));
    await once(bob.socket, "private message");

    // Drain the node serving both (ip_hash: every client of 127.0.0.1 is on the same node).
    const first = await servingNode(cluster, nginx);
    const aliceBack = resumed(alice.socket);
    const bobBack = resumed(bob.socket);
    const [reason] = await Promise.all([once(alice.socket, "disconnect", 10_000), first.stop().then((exit) => {
      assert.equal(exit.code, 0, `drain exit ${JSON.stringify(exit)}`);
    })]).then(([args]) => args);
    assert.equal(reason, "transport close", "a drained client must be free to reconnect");
    const afterDrain = await aliceBack;
    await bobBack;
    assert.equal(afterDrain.session.userID, A, "the session resumed on another node");
    assert.deepEqual(userEntry(afterDrain.users, B).messages.map(coreMessage), [
      { content: "before the drain", from: A, to: B },
    ]);
    const second = await servingNode(cluster, nginx);
    assert.notEqual(second, first);

    assertAckOk(await sendPrivateMessage(bob.socket, { content: "after the drain", to: A }));
    await once(alice.socket, "private message");

    // Now a crash: no drain, no close packet.
    const aliceAgain = resumed(alice.socket);
    await second.kill();
    const afterCrash = await aliceAgain;
    assert.equal(afterCrash.session.userID, A);
    assert.deepEqual(userEntry(afterCrash.users, B).messages.map((m) => m.content), ["before the drain", "after the drain"]);
    const third = await servingNode(cluster, nginx);
    assert.ok(third !== first && third !== second);
  });
});
