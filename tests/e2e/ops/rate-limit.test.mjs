// A client flooding private messages gets the excess refused with an ack error, counted in
// metrics, while other users keep chatting.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";

describe("per-socket message rate limit", () => {
  let server;
  before(async () => (server = await startServer({ args: ["--message-rate", "5", "--message-burst", "10"] })));
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it("refuses messages beyond the burst and lets others through", async () => {
    const flooder = await connectUser(server.url, { transports: ["websocket"] });
    const victim = await connectUser(server.url, { transports: ["websocket"] });
    const acks = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sendPrivateMessage(flooder.socket, { content: `m${i}`, to: victim.session.userID })),
    );
    const ok = acks.filter((a) => a?.ok === true).length;
    const limited = acks.filter((a) => a?.error === "rate limited").length;
    assert.equal(ok + limited, 30);
    assert.ok(ok >= 10 && ok <= 12, `accepted ${ok}`);
    assertAckOk(await sendPrivateMessage(victim.socket, { content: "still fine", to: flooder.session.userID }));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`chat_errors_total\\{kind="message_rate_limited"\\} ${limited}\\b`));
  });
});
