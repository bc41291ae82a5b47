// SPEC §1: BINARY_EVENT and BINARY_ACK (attachments, placeholders) over both transports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, emitWithAckArgs, normaliseBinary, once, withTransports } from "../lib/client.mjs";
import { useServer } from "../lib/suite.mjs";

const bytes = (...values) => Buffer.from(values);

describe("binary payloads (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });

  withTransports((clientOpts) => {
    it("a Buffer argument of message comes back in message-back", async () => {
      const socket = await connect(server.url, clientOpts);
      socket.emit("message", bytes(1, 2, 3));
      assert.deepEqual(normaliseBinary(await once(socket, "message-back")), [bytes(1, 2, 3)]);
    });

    it("every byte value and an empty buffer survive the round trip", async () => {
      const socket = await connect(server.url, clientOpts);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      socket.emit("message", all, Buffer.alloc(0));
      assert.deepEqual(normaliseBinary(await once(socket, "message-back")), [all, Buffer.alloc(0)]);
    });

    it("buffers nested in objects and arrays keep their place", async () => {
      const socket = await connect(server.url, clientOpts);
      const payload = { a: bytes(9), b: [bytes(8, 7), "x", { c: bytes(6) }], n: 1, s: "text" };
      socket.emit("message", payload);
      assert.deepEqual(normaliseBinary(await once(socket, "message-back")), [payload]);
    });

    it("multiple buffers across several arguments, mixed with plain values", async () => {
      const socket = await connect(server.url, clientOpts);
      const args = [bytes(1), "plain", bytes(2, 2), { deep: [bytes(3, 3, 3)] }, 4];
      socket.emit("message", ...args);
      assert.deepEqual(normaliseBinary(await once(socket, "message-back")), args);
    });

    it("a binary argument to message-with-ack comes back in a binary ack", async () => {
      const socket = await connect(server.url, clientOpts);
      const args = [bytes(4, 5, 6), { k: bytes(7) }];
      assert.deepEqual(normaliseBinary(await emitWithAckArgs(socket, "message-with-ack", args)), args);
    });

    it("a large (100 kB) buffer round-trips", async () => {
      const socket = await connect(server.url, clientOpts);
      const big = Buffer.alloc(100_000, 0xab);
      socket.emit("message", big);
      assert.deepEqual(normaliseBinary(await once(socket, "message-back")), [big]);
    });

    it("the client can ack server -> client with binary", async () => {
      const socket = await connect(server.url, clientOpts);
      socket.emit("request-ack", bytes(1, 1));
      const ackMe = await once(socket, "ack-me");
      assert.deepEqual(normaliseBinary(ackMe.slice(0, -1)), [bytes(1, 1)]);
      ackMe.at(-1)(bytes(2, 2), "s");
      assert.deepEqual(normaliseBinary(await once(socket, "acked")), [bytes(2, 2), "s"]);
    });
  });
});
