// SPEC §1: acknowledgements in both directions (ACK packets), over both transports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, emitWithAckArgs, once, withTransports } from "../lib/client.mjs";
import { useServer } from "../lib/suite.mjs";

describe("acknowledgements (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });

  withTransports((clientOpts) => {
    it("client -> server: message-with-ack is acknowledged with the same arguments", async () => {
      const socket = await connect(server.url, clientOpts);
      const args = ["text", 3.5, true, null, { nested: { list: [1, "two"] } }, [[]]];
      assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", args), args);
    });

    it("client -> server: concurrent acks are matched to their own emits", async () => {
      const socket = await connect(server.url, clientOpts);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => emitWithAckArgs(socket, "message-with-ack", [i, `n${i}`])),
      );
      results.forEach((ackArgs, i) => assert.deepEqual(ackArgs, [i, `n${i}`]));
    });

    it("server -> client: ack-me carries an ack id and the client's answer comes back as acked", async () => {
      const socket = await connect(server.url, clientOpts);
      socket.emit("request-ack", "please", { n: 1 });
      const ackMe = await once(socket, "ack-me");
      const ack = ackMe.at(-1);
      assert.equal(typeof ack, "function", "ack-me must be sent with an ack id");
      assert.deepEqual(ackMe.slice(0, -1), ["please", { n: 1 }]);
      ack("thanks", [2, 3], { ok: true });
      assert.deepEqual(await once(socket, "acked"), ["thanks", [2, 3], { ok: true }]);
    });

    it("server -> client: an ack with no arguments comes back as an empty acked", async () => {
      const socket = await connect(server.url, clientOpts);
      socket.emit("request-ack");
      const ackMe = await once(socket, "ack-me");
      assert.equal(ackMe.length, 1);
      ackMe[0]();
      assert.deepEqual(await once(socket, "acked"), []);
    });
  });
});
