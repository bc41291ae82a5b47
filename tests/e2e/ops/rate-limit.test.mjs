// A client flooding events gets the excess refused with an ack error and counted; one that
// keeps flooding after a whole burst was refused is disconnected. Other users keep chatting.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";

const BURST = 10;

async function metric(url, kind) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.match(new RegExp(`chat_errors_total\\{kind="${kind}"\\} (\\d+)`));
  return match ? Number(match[1]) : 0;
}

describe("per-socket event rate limit", () => {
  let server;
  before(async () => (server = await startServer({ args: ["--message-rate", "5", "--message-burst", String(BURST)] })));
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it("refuses events beyond the burst with an ack error", async () => {
    const flooder = await connectUser(server.url, { transports: ["websocket"] });
    const peer = await connectUser(server.url, { transports: ["websocket"] });
    const acks = await Promise.all(
      Array.from({ length: BURST + 5 }, (_, i) => sendPrivateMessage(flooder.socket, { content: `m${i}`, to: peer.session.userID })),
    );
    const ok = acks.filter((a) => a?.ok === true).length;
    const limited = acks.filter((a) => a?.error === "rate limited").length;
    assert.equal(ok + limited, BURST + 5);
    assert.ok(ok >= BURST && ok <= BURST + 1, `accepted ${ok}`);
    assert.ok(flooder.socket.connected, "a short excess must not disconnect");
    assert.equal(await metric(server.url, "message_rate_limited"), limited);
  });

  it("disconnects a client that keeps flooding, and only that client", async () => {
    const flooder = await connectUser(server.url, { transports: ["websocket"] });
    const peer = await connectUser(server.url, { transports: ["websocket"] });
    const closed = once(flooder.socket, "disconnect", 3000);
    for (let i = 0; i < 4 * BURST; i++) flooder.socket.emit("private message", { content: `f${i}`, to: peer.session.userID });
    const [reason] = await closed;
    assert.equal(reason, "transport close");
    assert.equal(await metric(server.url, "flood_closed"), 1);
    assertAckOk(await sendPrivateMessage(peer.socket, { content: "still fine", to: peer.session.userID }));
  });
});
