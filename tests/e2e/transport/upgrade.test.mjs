// SPEC §1: both transports and the polling -> WebSocket upgrade, as socket.io-client uses them.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect, connectSocket, createSocket, emitWithAckArgs, once } from "../lib/client.mjs";
import { pollingHandshake } from "../lib/engineio.mjs";
import { useServer } from "../lib/suite.mjs";

describe("transports and upgrade (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });

  it("default options start on polling and upgrade to websocket", async () => {
    const socket = createSocket(server.url);
    const seen = {};
    const upgraded = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no upgrade within 3 s")), 3000);
      socket.io.on("open", () => {
        seen.initial = socket.io.engine.transport.name;
        socket.io.engine.once("upgrade", (transport) => {
          clearTimeout(timer);
          resolve(transport.name);
        });
      });
    });
    await connectSocket(socket);
    assert.equal(seen.initial, "polling");
    assert.equal(await upgraded, "websocket");
    assert.equal(socket.io.engine.transport.name, "websocket");
    assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", ["after upgrade"]), ["after upgrade"]);
  });

  it('transports: ["websocket"] opens a WebSocket directly', async () => {
    const socket = createSocket(server.url, { transports: ["websocket"] });
    let initial;
    socket.io.on("open", () => (initial = socket.io.engine.transport.name));
    await connectSocket(socket);
    assert.equal(initial, "websocket");
    assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", ["ws"]), ["ws"]);
  });

  it('transports: ["polling"] stays on polling, survives heartbeats and messages flow', async () => {
    const socket = await connect(server.url, { transports: ["polling"] });
    assert.equal(socket.io.engine.transport.name, "polling");
    // Three pings (every 300 ms, each to be answered within 200 ms): the second and third
    // came only because the pongs before them were answered over polling.
    await new Promise((resolve) => {
      let pings = 0;
      socket.io.engine.on("ping", () => ++pings === 3 && resolve());
    });
    assert.equal(socket.connected, true);
    assert.equal(socket.io.engine.transport.name, "polling");
    assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", ["poll", 1, { a: [true, null] }]), [
      "poll",
      1,
      { a: [true, null] },
    ]);
    socket.emit("message", "hello", 42);
    assert.deepEqual(await once(socket, "message-back"), ["hello", 42]);
  });

  it("the handshake advertises the conformance settings", async () => {
    const { handshake } = await pollingHandshake(server.url);
    assert.equal(typeof handshake.sid, "string");
    assert.ok(handshake.sid.length > 0);
    assert.deepEqual(handshake.upgrades, ["websocket"]);
    assert.equal(handshake.pingInterval, 300);
    assert.equal(handshake.pingTimeout, 200);
    assert.equal(handshake.maxPayload, 1000000);
  });
});
