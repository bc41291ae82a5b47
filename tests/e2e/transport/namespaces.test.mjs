// SPEC §1: namespaces and CONNECT auth payloads; unknown namespaces refused with CONNECT_ERROR.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, disconnectAll, emitWithAckArgs, Manager, once, withTransports } from "../lib/client.mjs";
import { startServer } from "../lib/server.mjs";

describe("namespaces (socket.io conformance server)", () => {
  let server;
  const managers = [];
  before(async () => {
    server = await startServer({ args: ["--conformance", "socketio"] });
  });
  afterEach(() => {
    disconnectAll();
    for (const manager of managers.splice(0)) {
      for (const socket of Object.values(manager.nsps)) socket.disconnect();
      manager.engine?.close();
    }
  });
  after(() => server?.stop());

  withTransports((clientOpts) => {
    it("/ emits auth with the handshake's auth payload", async () => {
      const auth = { token: "abc", nested: { n: 1 } };
      const socket = await connect(server.url, { ...clientOpts, auth });
      assert.deepEqual(await once(socket, "auth"), [auth]);
    });

    it("/custom emits auth with the handshake's auth payload", async () => {
      const auth = { user: "custom-user" };
      const socket = await connect(`${server.url}/custom`, { ...clientOpts, auth });
      assert.equal(socket.nsp, "/custom");
      assert.deepEqual(await once(socket, "auth"), [auth]);
    });

    it("no auth payload is reported as an empty object", async () => {
      const socket = await connect(`${server.url}/custom`, clientOpts);
      assert.deepEqual(await once(socket, "auth"), [{}]);
    });

    it("an unknown namespace is refused with CONNECT_ERROR Invalid namespace", async () => {
      await assert.rejects(connect(`${server.url}/nope`, clientOpts), (err) => {
        assert.equal(err.message, "Invalid namespace");
        return true;
      });
    });

    it("/ and /custom multiplexed on one Engine.IO connection each get their own auth", async () => {
      const manager = new Manager(server.url, { ...clientOpts, reconnection: false, autoConnect: false });
      managers.push(manager);
      const root = manager.socket("/", { auth: { which: "root" } });
      const custom = manager.socket("/custom", { auth: { which: "custom" } });
      const authOf = (socket) => new Promise((resolve) => socket.once("auth", resolve));
      const auths = Promise.all([authOf(root), authOf(custom)]);
      root.connect();
      custom.connect();
      const [rootAuth, customAuth] = await auths;
      assert.deepEqual(rootAuth, { which: "root" });
      assert.deepEqual(customAuth, { which: "custom" });
      assert.deepEqual(await emitWithAckArgs(root, "message-with-ack", ["still fine"]), ["still fine"]);
      // A refused namespace on the same connection does not break the others.
      const bad = manager.socket("/nope");
      const refused = new Promise((resolve) => bad.once("connect_error", resolve));
      bad.connect();
      const error = await refused;
      assert.equal(error.message, "Invalid namespace");
      assert.deepEqual(await emitWithAckArgs(root, "message-with-ack", ["after refusal"]), ["after refusal"]);
      assert.equal(custom.connected, true);
    });
  });
});
