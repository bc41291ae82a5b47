// GET /health and GET /metrics (SPEC §5): health reports the node and its Redis; metrics count
// connections, routed messages, bytes and errors by kind, and move when traffic happens.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser, sendPrivateMessage, assertAckOk } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";

async function metrics(url) {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/plain/);
  const values = new Map();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe("health and metrics", () => {
  let server;
  before(async () => (server = await startServer({ args: ["--node-id", "metrics-node"] })));
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it("/health answers ok with the node id and Redis disabled when in-memory", async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.equal(body.node, "metrics-node");
    assert.equal(body.redis, "disabled");
    assert.equal(typeof body.connections, "number");
  });

  it("counts connections, routed messages and bytes", async () => {
    const before = await metrics(server.url);
    const alice = await connectUser(server.url, { transports: ["websocket"] });
    const bob = await connectUser(server.url, { transports: ["websocket"] });
    assertAckOk(await sendPrivateMessage(alice.socket, { content: "count me", to: bob.session.userID }));
    const afterward = await metrics(server.url);
    const delta = (name) => (afterward.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(afterward.get("chat_connections_active") - before.get("chat_connections_active"), 2);
    assert.equal(delta('chat_connections_total{transport="websocket"}'), 2);
    assert.equal(delta("chat_messages_routed_total"), 1);
    assert.ok(delta("chat_bytes_received_total") > 0);
    assert.ok(delta("chat_bytes_sent_total") > 0);
    assert.equal(delta("chat_redis_round_trips_total"), 0);
  });

  it("counts refused input by kind", async () => {
    const before = await metrics(server.url);
    const alice = await connectUser(server.url, { transports: ["websocket"] });
    const ack = await sendPrivateMessage(alice.socket, { content: 42, to: alice.session.userID });
    assert.deepEqual(ack, { error: "invalid content" });
    await fetch(`${server.url}/socket.io/?EIO=4&transport=carrier-pigeon`);
    const { ws } = await wsHandshake(server.url);
    ws.send("9 not a packet");
    await ws.expectClosed(2000);
    const afterward = await metrics(server.url);
    const delta = (name) => (afterward.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(delta('chat_errors_total{kind="message_invalid_content"}'), 1);
    assert.equal(delta('chat_errors_total{kind="http_unknown_transport"}'), 1);
    assert.equal(delta('chat_errors_total{kind="malformed_unknown_type"}'), 1);
  });
});
