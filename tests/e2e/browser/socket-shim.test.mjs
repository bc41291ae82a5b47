// static/js/socket-shim.js in headless Chromium, against chat-server (conformance and chat modes)
// and against Node's own socket.io server, whose behaviour the shim copies.
//
// The shim is loaded from a page that a small HTTP server of the test serves straight from the
// repository, so these tests do not depend on which server serves static files. It listens on
// loopback like the servers: Chromium blocks a page from any other origin from opening WebSockets
// to loopback addresses (local network access checks). Connection drops
// are made by a TCP relay between the browser and the server that the test can cut, close and
// point at another server: real sockets breaking, not a simulated client.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Server as SocketIoServer } from "socket.io";
import { REPO_ROOT, startServer } from "../lib/server.mjs";
import { launchBrowser, sleep } from "./browser.mjs";

/** The test page: loads the shim and a recorder that keeps every event a socket sees. */
const TEST_PAGE = `<!doctype html><meta charset="utf-8"><title>shim</title>
<link rel="icon" href="data:,">
<script type="module">
  import { io } from "/socket-shim.js";
  window.io = io;
  window.record = (socket) => {
    socket.events = [];
    const plain = (args) => args.filter((a) => typeof a !== "function")
      .map((a) => (a instanceof Error ? { error: a.message } : a));
    for (const name of ["connect", "connect_error", "disconnect"]) {
      socket.on(name, (...args) => socket.events.push([name, ...plain(args)]));
    }
    socket.onAny((...args) => socket.events.push(plain(args)));
    return socket;
  };
  window.nextEvent = (socket, name) => new Promise((resolve) => socket.once(name, (...args) => resolve(args)));
  window.shimReady = true;
</script>`;

/** A TCP relay whose connections can be cut and whose upstream can change. */
class Relay {
  constructor(upstreamPort) {
    this.upstreamPort = upstreamPort;
    this.sockets = new Set();
    this.server = createTcpServer((client) => {
      const upstream = tcpConnect(this.upstreamPort, "127.0.0.1");
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        this.sockets.add(from);
        from.pipe(to);
        from.on("error", () => to.destroy());
        from.on("close", () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
  }

  listen(port = 0) {
    return new Promise((resolve) => {
      this.server.listen(port, "127.0.0.1", () => {
        this.port = this.server.address().port;
        resolve(this);
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every relayed connection at once, as a network failure would. */
  cutAll() {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops accepting (and cuts what is open): the server looks unreachable. */
  close() {
    this.cutAll();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("socket-shim in Chromium", { timeout: 60_000 }, () => {
  let browser;
  let context;
  const servers = [];
  /** Whatever a test opened in this process, closed even when the test fails half-way. */
  const cleanups = [];

  let pageServer;

  before(async () => {
    const shimSource = await readFile(join(REPO_ROOT, "static/js/socket-shim.js"), "utf8");
    pageServer = createHttpServer((request, response) => {
      const isShim = request.url === "/socket-shim.js";
      response.writeHead(200, { "content-type": isShim ? "text/javascript" : "text/html" });
      response.end(isShim ? shimSource : TEST_PAGE);
    });
    await new Promise((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    browser = await launchBrowser();
    context = await browser.newContext();
    context.setDefaultTimeout(5000);
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(cleanups.map((cleanup) => cleanup()));
    pageServer?.close();
  });

  async function shimPage() {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
    await page.waitForFunction(() => window.shimReady === true);
    return page;
  }

  /** page.evaluate has no timeout of its own: a lost event must fail the test, not hang it. */
  function evaluateWithin(page, fn, arg, ms = 8000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`page script did not finish within ${ms} ms`)), ms);
    });
    return Promise.race([page.evaluate(fn, arg), timeout]).finally(() => clearTimeout(timer));
  }

  async function openRelay(upstreamPort, listenPort) {
    const relay = await new Relay(upstreamPort).listen(listenPort);
    cleanups.push(() => relay.close());
    return relay;
  }

  async function start(args = []) {
    const server = await startServer({ args });
    servers.push(server);
    return server;
  }

  it("speaks Socket.IO: auth, events, acks both ways, namespaces, heartbeat", async () => {
    const server = await start(["--conformance", "socketio"]);
    const page = await shimPage();
    const result = await evaluateWithin(page, async (url) => {
      const socket = record(io(url, { auth: { token: "abc" } }));
      const [auth] = await nextEvent(socket, "auth");
      const firstId = socket.id;

      socket.emit("message", 1, "two", { three: [3, null] });
      const [...back] = await nextEvent(socket, "message-back");
      const acked = await new Promise((resolve) =>
        socket.emit("message-with-ack", "a", { b: 1 }, (...args) => resolve(args)),
      );
      const promised = await socket.emitWithAck("message-with-ack", "only-first");

      const ackMe = new Promise((resolve) =>
        socket.once("ack-me", (...args) => {
          const ack = args.pop();
          ack("answer", 42);
          resolve(args);
        }),
      );
      socket.emit("request-ack", "question", 7);
      const asked = await ackMe;
      const answered = await nextEvent(socket, "acked");

      // Longer than pingInterval + pingTimeout of the conformance server (300 + 200 ms):
      // the connection only survives if pings are answered.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const survivedHeartbeat = socket.connected && socket.id === firstId;

      const custom = record(io(`${url}/custom`, { auth: { ns: "custom" } }));
      const [customAuth] = await nextEvent(custom, "auth");
      const refused = io(`${url}/nope`);
      const [refusal] = await nextEvent(refused, "connect_error");

      socket.disconnect();
      custom.disconnect();
      return {
        auth, firstId, back, acked, promised, asked, answered, survivedHeartbeat, customAuth,
        refusal: refusal.message, refusedActive: refused.active, events: socket.events,
      };
    }, server.url);

    assert.deepEqual(result.auth, { token: "abc" });
    assert.equal(typeof result.firstId, "string");
    assert.deepEqual(result.back, [1, "two", { three: [3, null] }]);
    assert.deepEqual(result.acked, ["a", { b: 1 }]);
    assert.equal(result.promised, "only-first");
    assert.deepEqual(result.asked, ["question", 7]);
    assert.deepEqual(result.answered, ["answer", 42]);
    assert.ok(result.survivedHeartbeat, "still connected after several heartbeats");
    assert.deepEqual(result.customAuth, { ns: "custom" });
    assert.equal(result.refusal, "Invalid namespace");
    assert.equal(result.refusedActive, false, "a refused CONNECT is not retried");
    assert.deepEqual(result.events.at(-1), ["disconnect", "io client disconnect"]);
    assert.equal(result.events.filter(([name]) => name === "connect").length, 1);
    await page.close();
  });

  it("reconnects after a dropped connection and sends what was emitted meanwhile", async () => {
    const server = await start();
    const relay = await openRelay(server.port);
    const page = await shimPage();
    await page.evaluate((url) => {
      const socket = record(io(url, { auth: { username: "shim" }, reconnectionDelay: 100, reconnectionDelayMax: 400 }));
      socket.on("session", ({ sessionID, userID }) => {
        socket.auth = { sessionID };
        socket.userIDs = [...(socket.userIDs ?? []), userID];
      });
      // Emitted while disconnected: must be buffered, then sent once connected again.
      socket.once("disconnect", () => {
        socket.timeout(5000).emit("private message", { content: "buffered", to: socket.userIDs[0] }, (err, ack) => {
          window.bufferedAck = err ? { error: err.message } : ack;
        });
      });
      window.socket = socket;
    }, relay.url);
    await page.waitForFunction(() => socket.userIDs?.length === 1 && socket.connected);
    const firstId = await page.evaluate(() => socket.id);

    relay.cutAll();
    await page.waitForFunction(() => socket.userIDs.length === 2 && socket.connected);
    await page.waitForFunction(() => window.bufferedAck !== undefined);
    const state = await page.evaluate(() => ({
      id: socket.id, userIDs: socket.userIDs, ack: window.bufferedAck, events: socket.events.map((e) => e[0]),
    }));
    assert.notEqual(state.id, firstId, "a new connection");
    assert.equal(state.userIDs[1], state.userIDs[0], "the session was resumed with the updated auth");
    assert.equal(state.ack.ok, true, JSON.stringify(state.ack));
    assert.equal(typeof state.ack.id, "string");
    const reasons = await page.evaluate(() => socket.events.filter((e) => e[0] === "disconnect").map((e) => e[1]));
    assert.deepEqual(reasons, ["transport close"]);

    // A deliberate disconnect is final.
    await page.evaluate(() => socket.disconnect());
    await sleep(600);
    const afterDisconnect = await page.evaluate(() => ({
      connected: socket.connected, active: socket.active, last: socket.events.at(-1),
    }));
    assert.deepEqual(afterDisconnect, {
      connected: false,
      active: false,
      last: ["disconnect", "io client disconnect"],
    });

    // A refusal by the server's middleware is reported once, not retried.
    const refusal = await evaluateWithin(page, async (url) => {
      const refused = record(io(url, { auth: {}, reconnectionDelay: 100 }));
      await nextEvent(refused, "connect_error");
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { events: refused.events, active: refused.active };
    }, relay.url);
    assert.deepEqual(refusal, { events: [["connect_error", { error: "invalid username" }]], active: false });
    await page.close();
    await relay.close();
  });

  it("keeps retrying while the server is unreachable, then connects", async () => {
    const server = await start(["--conformance", "socketio"]);
    const relay = await openRelay(server.port);
    const page = await shimPage();
    await page.evaluate((url) => {
      window.socket = record(io(url, { reconnectionDelay: 50, reconnectionDelayMax: 200 }));
    }, relay.url);
    await page.waitForFunction(() => socket.connected);

    const port = relay.port;
    await relay.close();
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "connect_error").length >= 2);
    assert.equal(await page.evaluate(() => socket.active), true, "still trying");
    const reopened = await openRelay(server.port, port);
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "auth").length === 2);
    const names = await page.evaluate(() => socket.events.map((e) => e[0]));
    assert.deepEqual(names.slice(0, 3), ["connect", "auth", "disconnect"]);
    assert.deepEqual(names.slice(-2), ["connect", "auth"]);
    await page.evaluate(() => socket.disconnect());
    await page.close();
    await reopened.close();
  });

  it("reconnects to another server when its server shuts down", async () => {
    const first = await start(["--conformance", "socketio"]);
    const relay = await openRelay(first.port);
    const page = await shimPage();
    await page.evaluate((url) => {
      window.socket = record(io(url, { reconnectionDelay: 100, reconnectionDelayMax: 400 }));
    }, relay.url);
    await page.waitForFunction(() => socket.connected);

    const second = await start(["--conformance", "socketio"]);
    relay.upstreamPort = second.port;
    await first.stop();
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "connect").length === 2 && socket.connected);
    const disconnects = await page.evaluate(() => socket.events.filter((e) => e[0] === "disconnect"));
    assert.equal(disconnects.length, 1);
    assert.notEqual(disconnects[0][1], "io server disconnect", "a shutdown must not look like a kick");
    await page.evaluate(() => socket.disconnect());
    await page.close();
    await relay.close();
  });

  it("matches Node's socket.io: a kick is final, a closed transport is retried", async () => {
    const http = createHttpServer();
    const nodeServer = new SocketIoServer(http, { cors: { origin: "*" } });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => nodeServer.close(() => resolve())));
    const url = `http://127.0.0.1:${http.address().port}`;
    const serverSockets = [];
    nodeServer.on("connection", (socket) => {
      serverSockets.push(socket);
      socket.on("ping me", (value, ack) => ack({ pong: value }));
    });

    const page = await shimPage();
    const pong = await evaluateWithin(page, async (target) => {
      window.socket = record(io(target, { reconnectionDelay: 50, reconnectionDelayMax: 100 }));
      return socket.timeout(2000).emitWithAck("ping me", 5);
    }, url);
    assert.deepEqual(pong, { pong: 5 });

    serverSockets[0].conn.close(); // engine-level close: the client should come back
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "connect").length === 2);
    assert.equal(serverSockets.length, 2);

    serverSockets[1].disconnect(); // Socket.IO DISCONNECT: the server does not want us back
    await page.waitForFunction(() => socket.events.at(-1)?.[1] === "io server disconnect");
    await sleep(400);
    assert.equal(serverSockets.length, 2, "no reconnection after a kick");
    assert.equal(await page.evaluate(() => socket.active), false);
    await page.close();
  });
});
