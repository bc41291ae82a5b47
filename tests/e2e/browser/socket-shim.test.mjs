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
import { NoWebSocketProxy } from "./no-websocket-proxy.mjs";

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
    // The shim and the modules it imports, straight from static/js.
    pageServer = createHttpServer(async (request, response) => {
      const module = /^\/([\w-]+\.js)$/.exec(request.url)?.[1];
      if (!module) {
        response.writeHead(200, { "content-type": "text/html" });
        response.end(TEST_PAGE);
        return;
      }
      try {
        const source = await readFile(join(REPO_ROOT, "static/js", module), "utf8");
        response.writeHead(200, { "content-type": "text/javascript" });
        response.end(source);
      } catch {
        response.writeHead(404).end();
      }
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

  /** Origin of the test page: chat-mode servers must allow it (they accept their own origin only). */
  function pageOrigin() {
    return `http://127.0.0.1:${pageServer.address().port}`;
  }

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

  for (const transport of ["websocket", "polling"]) {
  it(`speaks Socket.IO over ${transport}: auth, events, acks both ways, namespaces, heartbeat`, async () => {
    const server = await start(["--conformance", "socketio"]);
    const page = await shimPage();
    const result = await evaluateWithin(page, async ([url, transports]) => {
      const socket = record(io(url, { auth: { token: "abc" }, transports }));
      const [auth] = await nextEvent(socket, "auth");
      const firstId = socket.id;
      const transportUsed = socket.transport;

      // A burst: over polling several packets share one body, split and joined by \x1e.
      const burst = new Promise((resolve) => {
        const seen = [];
        socket.on("message-back", (n) => {
          if (typeof n === "string" && n.startsWith("burst")) seen.push(n);
          if (seen.length === 20) resolve(seen);
        });
      });
      for (let i = 0; i < 20; i++) socket.emit("message", `burst ${i} é ${"x".repeat(i * 50)}`);
      const burstBack = (await burst).map((text) => text.split(" ").slice(0, 2).join(" "));

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

      const custom = record(io(`${url}/custom`, { auth: { ns: "custom" }, transports }));
      const [customAuth] = await nextEvent(custom, "auth");
      const refused = io(`${url}/nope`, { transports });
      const [refusal] = await nextEvent(refused, "connect_error");

      socket.disconnect();
      custom.disconnect();
      return {
        auth, firstId, transportUsed, burstBack, back, acked, promised, asked, answered, survivedHeartbeat,
        customAuth, refusal: refusal.message, refusedActive: refused.active, events: socket.events,
      };
    }, [server.url, [transport]]);

    assert.equal(result.transportUsed, transport);
    assert.deepEqual(result.burstBack, Array.from({ length: 20 }, (_, i) => `burst ${i}`), "all, in order");
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
  }

  it("falls back to long-polling when WebSockets are refused, and reports it without fallback", async () => {
    const server = await start(["--conformance", "socketio"]);
    const proxy = await new NoWebSocketProxy(server.port).listen();
    cleanups.push(() => proxy.close());
    const page = await shimPage();
    const result = await evaluateWithin(page, async ([direct, blocked]) => {
      const viaWebSocket = record(io(direct));
      await nextEvent(viaWebSocket, "connect");
      const fallback = record(io(blocked, { auth: { via: "proxy" } }));
      const [auth] = await nextEvent(fallback, "auth");
      const acked = await fallback.timeout(2000).emitWithAck("message-with-ack", "over polling");
      const noFallback = record(io(blocked, { transports: ["websocket"], reconnectionDelay: 100 }));
      const [error] = await nextEvent(noFallback, "connect_error");
      const outcome = {
        direct: viaWebSocket.transport, fallback: fallback.transport, auth, acked,
        noFallback: { error: error.message, active: noFallback.active, connected: noFallback.connected },
      };
      for (const socket of [viaWebSocket, fallback, noFallback]) socket.disconnect();
      return outcome;
    }, [server.url, proxy.url]);
    assert.deepEqual(result, {
      direct: "websocket",
      fallback: "polling",
      auth: { via: "proxy" },
      acked: "over polling",
      noFallback: { error: "websocket error", active: true, connected: false },
    });
    assert.ok(proxy.refusedUpgrades >= 2, "the WebSocket was tried first");
    await page.close();
  });

  it("spaces reconnection attempts by exponential backoff with jitter", async () => {
    const page = await shimPage();
    const result = await page.evaluate(async () => {
      const { Backoff } = await import("/backoff.js");
      const runs = Array.from({ length: 200 }, () => {
        const backoff = new Backoff(1000, 5000, 0.5);
        return Array.from({ length: 5 }, () => backoff.next());
      });
      const extremes = [0, 0.95].map((r) => {
        const backoff = new Backoff(1000, 5000, 0.5, () => r);
        return [backoff.next(), backoff.next(), backoff.next()];
      });
      return { runs, extremes };
    });
    const nominal = [1000, 2000, 4000, 8000, 16000];
    for (const run of result.runs) {
      run.forEach((delay, attempt) => {
        const low = nominal[attempt] * 0.5;
        const high = Math.min(nominal[attempt] * 1.5, 5000);
        assert.ok(delay >= Math.min(low, 5000) && delay <= high, `attempt ${attempt}: ${delay} ms`);
      });
    }
    const firstDelays = new Set(result.runs.map((run) => run[0]));
    assert.ok(firstDelays.size > 50, "jitter spreads the first retry of many clients");
    assert.ok(result.runs.every((run) => run[4] <= 5000), "capped at reconnectionDelayMax");
    // random 0 -> no deviation; 0.95 -> tenths digit 9 (odd) -> +47.5 %.
    assert.deepEqual(result.extremes, [
      [1000, 2000, 4000],
      [1475, 2950, 5000],
    ]);
    await page.close();
  });

  it("reconnects after a dropped connection and sends what was emitted meanwhile", async () => {
    const server = await start(["--cors-origins", pageOrigin()]);
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

  for (const transport of ["websocket", "polling"]) {
  it(`reconnects over ${transport} to another server when its server shuts down`, async () => {
    const first = await start(["--conformance", "socketio"]);
    const relay = await openRelay(first.port);
    const page = await shimPage();
    await page.evaluate(([url, transports]) => {
      window.socket = record(io(url, { reconnectionDelay: 100, reconnectionDelayMax: 400, transports }));
    }, [relay.url, [transport]]);
    await page.waitForFunction(() => socket.connected);

    const second = await start(["--conformance", "socketio"]);
    relay.upstreamPort = second.port;
    await first.stop();
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "connect").length === 2 && socket.connected);
    const disconnects = await page.evaluate(() => socket.events.filter((e) => e[0] === "disconnect"));
    assert.equal(disconnects.length, 1);
    assert.notEqual(disconnects[0][1], "io server disconnect", "a shutdown must not look like a kick");
    assert.equal(await page.evaluate(() => socket.transport), transport);
    await page.evaluate(() => socket.disconnect());
    await page.close();
    await relay.close();
  });
  }

  for (const transport of ["websocket", "polling"]) {
  it(`matches Node's socket.io over ${transport}: a kick is final, a closed transport is retried`, async () => {
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
    const pong = await evaluateWithin(page, async ([target, transports]) => {
      window.socket = record(io(target, { reconnectionDelay: 50, reconnectionDelayMax: 100, transports }));
      return socket.timeout(2000).emitWithAck("ping me", 5);
    }, [url, [transport]]);
    assert.deepEqual(pong, { pong: 5 });
    assert.equal(serverSockets[0].conn.transport.name, transport);

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
  }
});
