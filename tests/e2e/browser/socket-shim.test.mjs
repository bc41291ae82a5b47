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
import { connectUser, uniqueName } from "../lib/chat.mjs";
import { errorCount } from "../lib/signals.mjs";
import { disconnectAll } from "../lib/client.mjs";

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
    this.refusing = false;
    this.server = createTcpServer((client) => {
      if (this.refusing) return client.destroy();
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

  /** Cuts everything and drops new connections for `ms`: the network is down for a while. */
  async outage(ms) {
    this.refusing = true;
    this.cutAll();
    await sleep(ms);
    this.refusing = false;
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
    disconnectAll();
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

  /** Node's socket.io server with `options`; every connection is kept and handed to `onSocket`. */
  async function startNodeServer(options, onSocket) {
    const http = createHttpServer();
    const nodeServer = new SocketIoServer(http, { cors: { origin: "*" }, ...options });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => nodeServer.close(() => resolve())));
    const serverSockets = [];
    nodeServer.on("connection", (socket) => {
      serverSockets.push(socket);
      onSocket(socket);
    });
    return { url: `http://127.0.0.1:${http.address().port}`, serverSockets, nodeServer };
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
      // the connection only survives if pings are answered. (The duration is the subject: the
      // shim reports no pings to wait for.)
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

  it("keeps the pid and the last offset (recovery.js): what it sends back, what listeners get", async () => {
    const page = await shimPage();
    const result = await page.evaluate(async () => {
      const { Recovery } = await import("/recovery.js");
      const recovery = new Recovery();
      const steps = {};
      const event = (args, ackId) => {
        const copy = [...args];
        recovery.takeOffset(copy, ackId);
        return copy;
      };
      steps.noPidYet = event(["user disconnected", "u1"]);
      steps.firstConnect = [recovery.onConnect({ sid: "s1", pid: "p1" }), recovery.connectPayload({ sessionID: "k" })];
      steps.stamped = event(["user disconnected", "u1", "o-1"]);
      steps.withAck = event(["ask", "question"], 7);
      steps.nameOnly = event(["tick"]);
      steps.objectLast = event(["private message", { content: "x" }]);
      steps.payload = recovery.connectPayload({ sessionID: "k" });
      steps.pageWins = recovery.connectPayload({ sessionID: "k", offset: "mine" });
      steps.noAuth = recovery.connectPayload(undefined);
      steps.restored = [recovery.onConnect({ sid: "s1", pid: "p1" }), recovery.recovered];
      steps.fresh = [recovery.onConnect({ sid: "s2", pid: "p2" }), recovery.connectPayload({ sessionID: "k" })];
      event(["users", [], "o-9"]);
      steps.freshPayload = recovery.connectPayload({ sessionID: "k" });
      recovery.forget();
      steps.afterForget = [recovery.connectPayload({ sessionID: "k" }), event(["user disconnected", "u1"])];
      steps.offered = [recovery.onConnect({ sid: "s3" }), recovery.connectPayload({ username: "n" })];
      return steps;
    });
    assert.deepEqual(result, {
      noPidYet: ["user disconnected", "u1"],
      firstConnect: [false, { sessionID: "k" }], // no offset received yet: nothing to recover
      stamped: ["user disconnected", "u1"],
      withAck: ["ask", "question"], // events asking for an ack carry no offset
      nameOnly: ["tick"],
      objectLast: ["private message", { content: "x" }],
      payload: { pid: "p1", offset: "o-1", sessionID: "k" },
      pageWins: { pid: "p1", offset: "mine", sessionID: "k" },
      noAuth: { pid: "p1", offset: "o-1" },
      restored: [true, true],
      fresh: [false, { sessionID: "k" }], // the old socket's offset is not the new one's
      freshPayload: { pid: "p2", offset: "o-9", sessionID: "k" },
      afterForget: [{ sessionID: "k" }, ["user disconnected", "u1"]],
      offered: [false, { username: "n" }], // a server that stops offering recovery
    });
    await page.close();
  });

  it("reconnects after a dropped connection and sends what was emitted meanwhile", async () => {
    // Recovery off: this is the plain reconnection, resumed by the sessionID in auth.
    const server = await start(["--cors-origins", pageOrigin(), "--recovery-window-secs", "0"]);
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
    // Nothing can bring it back: inactive, no transport, no reconnection scheduled.
    await page.waitForFunction(() => !socket.active && !socket._transport && !socket._timers.reconnect);
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
      // Given up: inactive, no reconnection scheduled (nothing left that could retry).
      while (refused.active || refused._timers.reconnect) await new Promise((resolve) => setTimeout(resolve, 10));
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
    // The server's `auth` reply too, or the cut below may come between it and `connect`.
    await page.waitForFunction(() => socket.connected && socket.events.some((e) => e[0] === "auth"));

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

  /**
   * Alice (through the relay, so the test can cut her transport) and Bob (direct) in one page, as
   * a chat client does it: the sessionID from `session` goes into auth for the reconnections.
   * Each socket counts its `session` and `users` and keeps the raw argument lists of the chat
   * events, so a test sees whether an offset reached a listener.
   */
  async function openChatPair(page, relayUrl, directUrl, transports) {
    await evaluateWithin(page, async ([aliceUrl, bobUrl, transportList]) => {
      const chatSocket = (url, username) => {
        const socket = record(io(url, {
          auth: { username }, transports: transportList, reconnectionDelay: 300, randomizationFactor: 0,
        }));
        socket.received = [];
        socket.on("session", (session) => {
          socket.auth = { sessionID: session.sessionID };
          socket.session = session;
        });
        for (const name of ["users", "user connected", "user disconnected", "private message"]) {
          socket.on(name, (...args) => socket.received.push([name, ...args]));
        }
        return socket;
      };
      window.alice = chatSocket(aliceUrl, "alice");
      await nextEvent(alice, "users");
      const bobSeen = nextEvent(alice, "user connected");
      window.bob = chatSocket(bobUrl, "bob");
      await nextEvent(bob, "users");
      await bobSeen;
    }, [relayUrl, directUrl, transports]);
  }

  /**
   * A positive sync point for the chat pair: a newcomer (a socket.io-client user) connects
   * to `server` and both page sockets are told `user connected` about it. The server's hub
   * announces it after anything it sent before, so whatever the recovery would replay or
   * announce has arrived by then.
   */
  async function presenceMarker(server, page) {
    const marker = await connectUser(server.url, { transports: ["websocket"] }, uniqueName("marker"));
    await page.waitForFunction(
      (id) => [alice, bob].every((s) => s.received.some(([name, user]) => name === "user connected" && user.userID === id)),
      marker.session.userID,
    );
    // It stays connected until the file ends: its departure would be announced.
  }

  /** How often a listener got the event `name`, in a socket's `received` list. */
  const countOf = (events, name) => events.filter(([event]) => event === name).length;

  /**
   * Short heartbeats, so that the server notices a silent client within 600 ms. Over polling the
   * server learns of a network failure only this way: it does not notice that the client's
   * waiting GET was cut (Node does, and parks the socket at once), so with the default 25 s + 20 s
   * a client back within 45 s finds its old socket still "connected" and is not recovered.
   */
  const QUICK_PINGS = ["--ping-interval-ms", "300", "--ping-timeout-ms", "300"];

  /**
   * Ways a transport goes away:
   * - a blip: every connection is cut once; the server sees its WebSocket's TCP connection end.
   *   (Not over polling: Chromium resends a GET whose reused connection was reset, and either the
   *   session goes on unharmed or the server closes it as a "duplicate poll", which it does not
   *   count as recoverable.)
   * - an outage: cut, and nothing gets through for a second, longer than the heartbeat;
   * - the client closes its transport, as `socket.io.engine.close()` does in socket.io-client's
   *   own tests (over polling the shim then sends the Engine.IO close packet).
   */
  const drops = {
    "the network blips": async (page, relay) => relay.cutAll(),
    "the network is down for a second": async (page, relay) => relay.outage(1000),
    "the client closes its transport": async (page) => page.evaluate(() => alice._onTransportLost("forced close")),
  };

  for (const [transport, drop] of [
    ["websocket", "the network blips"],
    ["websocket", "the network is down for a second"],
    ["polling", "the network is down for a second"],
    ["polling", "the client closes its transport"],
  ]) {
  it(`recovers over ${transport} when ${drop}: same id, missed events once, offsets off the arguments`, async () => {
    const server = await start(["--cors-origins", pageOrigin(), ...QUICK_PINGS]);
    const relay = await openRelay(server.port);
    const page = await shimPage();
    await openChatPair(page, relay.url, server.url, [transport]);
    const before = await page.evaluate(() => ({
      id: alice.id, recovered: alice.recovered, pid: typeof alice._recovery._pid,
      usersArgs: alice.received.find(([name]) => name === "users").length - 1,
      connectedArgs: alice.received.find(([name]) => name === "user connected").length - 1,
    }));
    assert.deepEqual(
      { ...before, id: typeof before.id },
      { id: "string", recovered: false, pid: "string", usersArgs: 1, connectedArgs: 1 },
      "the CONNECT reply had a pid; listeners got no offset",
    );

    // While Alice is away (the reconnection waits 300 ms), Bob writes to her.
    await page.evaluate(() => {
      alice.once("disconnect", () => {
        bob.timeout(3000).emit("private message", { content: "while you were away", to: alice.session.userID },
          (err, ack) => { window.awayAck = err ? { error: err.message } : ack; });
      });
    });
    await drops[drop](page, relay);
    await page.waitForFunction(() => alice.events.filter((e) => e[0] === "connect").length === 2 && alice.connected);
    await page.waitForFunction(() => alice.received.some(([name]) => name === "private message"));
    // Bob saw Alice go and come back (he joined after her: she was in his `users`).
    await page.waitForFunction(() => bob.received.filter(([name]) => name === "user connected").length === 1);
    await presenceMarker(server, page);
    const recovered = await page.evaluate(() => ({
      id: alice.id, recovered: alice.recovered, ack: window.awayAck, alice: alice.received, bob: bob.received,
      sessions: alice.events.filter((e) => e[0] === "session").length, userID: alice.session.userID,
    }));
    assert.equal(recovered.recovered, true, "socket.recovered");
    assert.equal(recovered.id, before.id, "same socket id");
    assert.equal(recovered.ack.ok, true, JSON.stringify(recovered.ack));
    const messages = recovered.alice.filter(([name]) => name === "private message");
    assert.equal(messages.length, 1, "the missed message arrived once");
    assert.equal(messages[0].length, 2, `one argument, no offset: ${JSON.stringify(messages[0])}`);
    assert.equal(messages[0][1].content, "while you were away");
    assert.equal(countOf(recovered.alice, "users"), 1, "no second users");
    assert.equal(recovered.sessions, 1, "no second session");
    // A string-valued event keeps its own string: only the appended offset is taken off.
    const gone = recovered.bob.filter(([name]) => name === "user disconnected");
    assert.deepEqual(gone, [["user disconnected", recovered.userID]]);

    // Live again; then a second drop with nothing missed: the offset moved on, so nothing is
    // replayed a second time.
    await evaluateWithin(page, async () => {
      const got = nextEvent(alice, "private message");
      bob.emit("private message", { content: "live again", to: alice.session.userID });
      await got;
    });
    await drops[drop](page, relay);
    await page.waitForFunction(() => alice.events.filter((e) => e[0] === "connect").length === 3 && alice.connected);
    await presenceMarker(server, page);
    const again = await page.evaluate(() => ({ id: alice.id, recovered: alice.recovered, received: alice.received }));
    assert.equal(again.recovered, true, "recovered a second time");
    assert.equal(again.id, before.id);
    assert.deepEqual(
      again.received.filter(([name]) => name === "private message").map(([, m]) => m.content),
      ["while you were away", "live again"],
      "each message once",
    );
    await page.evaluate(() => { alice.disconnect(); bob.disconnect(); });
    await page.close();
    await relay.close();
  });
  }

  it("falls back to a normal connection for a forged pid, an expired one, and after disconnect()", async () => {
    const server = await start(["--cors-origins", pageOrigin(), "--recovery-window-secs", "1"]);
    const relay = await openRelay(server.port);
    const page = await shimPage();
    await openChatPair(page, relay.url, server.url, ["websocket"]);
    const userID = await page.evaluate(() => alice.session.userID);
    const connects = (n) => page.waitForFunction(
      (count) => alice.events.filter((e) => e[0] === "connect").length === count && alice.connected, n,
    );
    const snapshot = () => page.evaluate(() => ({
      id: alice.id, recovered: alice.recovered, userID: alice.session.userID,
      sessions: alice.events.filter((e) => e[0] === "session").length,
      users: alice.received.filter(([name]) => name === "users").length,
    }));

    // Forged: the server does not know the pid.
    const unknownBefore = await errorCount(server, "recovery_unknown_pid");
    const firstId = await page.evaluate(() => alice.id);
    await page.evaluate(() => { alice._recovery._pid = "forged-pid"; });
    relay.cutAll();
    await connects(2);
    await page.waitForFunction(() => alice.received.filter(([name]) => name === "users").length === 2);
    const forged = await snapshot();
    assert.equal(forged.recovered, false);
    assert.notEqual(forged.id, firstId, "a new socket");
    assert.deepEqual([forged.userID, forged.sessions, forged.users], [userID, 2, 2], "session and users again, same user");
    assert.equal(await errorCount(server, "recovery_unknown_pid"), unknownBefore + 1);

    // Expired: away for longer than --recovery-window-secs (the relay refuses meanwhile).
    const expiredBefore = await errorCount(server, "recovery_expired");
    const port = relay.port;
    await relay.close();
    await sleep(1600); // the subject: away for longer than the 1 s recovery window
    const reopened = await openRelay(server.port, port);
    await connects(3);
    await page.waitForFunction(() => alice.received.filter(([name]) => name === "users").length === 3);
    const expired = await snapshot();
    assert.equal(expired.recovered, false);
    assert.notEqual(expired.id, forged.id);
    assert.equal(expired.userID, userID);
    assert.equal(await errorCount(server, "recovery_expired"), expiredBefore + 1);

    // disconnect() gives the recovery up: the next CONNECT carries no pid at all.
    const unknownNow = await errorCount(server, "recovery_unknown_pid");
    const malformedNow = await errorCount(server, "recovery_malformed_auth");
    await page.evaluate(() => { alice.disconnect(); alice.connect(); });
    await connects(4);
    await page.waitForFunction(() => alice.received.filter(([name]) => name === "users").length === 4);
    assert.equal((await snapshot()).recovered, false);
    assert.equal(await errorCount(server, "recovery_unknown_pid"), unknownNow, "no pid was sent");
    assert.equal(await errorCount(server, "recovery_malformed_auth"), malformedNow);
    await page.evaluate(() => { alice.disconnect(); bob.disconnect(); });
    await page.close();
    await reopened.close();
  });

  for (const transport of ["websocket", "polling"]) {
  it(`matches Node's socket.io over ${transport}: a kick is final, a closed transport is retried`, async () => {
    const { url, serverSockets } = await startNodeServer({}, (socket) => {
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
    // Nothing can bring it back: inactive, no transport, no reconnection scheduled.
    await page.waitForFunction(() => !socket.active && !socket._transport && !socket._timers.reconnect);
    assert.equal(serverSockets.length, 2, "no reconnection after a kick");
    assert.equal(await page.evaluate(() => socket.active), false);
    await page.close();
  });
  }

  it("recovers with Node's socket.io (connectionStateRecovery), the reference implementation", async () => {
    const options = { connectionStateRecovery: { maxDisconnectionDuration: 10_000 } };
    const { url, serverSockets, nodeServer } = await startNodeServer(options, (socket) => {
      if (!socket.recovered) socket.emit("note", "first");
    });

    const page = await shimPage();
    await evaluateWithin(page, async (target) => {
      window.socket = record(io(target, { reconnectionDelay: 100, randomizationFactor: 0, transports: ["websocket"] }));
      await nextEvent(socket, "note");
    }, url);
    serverSockets[0].conn.close(); // "forced close": Node keeps the session
    nodeServer.emit("note", "missed");
    await page.waitForFunction(() => socket.events.filter((e) => e[0] === "connect").length === 2);
    await page.waitForFunction(() => socket.events.some((e) => e[0] === "note" && e[1] === "missed"));
    // Sent after the recovery on the same connection: a replayed duplicate came before it.
    nodeServer.emit("sync point");
    await page.waitForFunction(() => socket.events.some((e) => e[0] === "sync point"));
    const state = await page.evaluate(() => ({
      id: socket.id, recovered: socket.recovered, notes: socket.events.filter((e) => e[0] === "note"),
    }));
    assert.equal(serverSockets.length, 2);
    assert.equal(serverSockets[1].recovered, true, "Node restored the session from the shim's pid and offset");
    assert.equal(state.recovered, true);
    assert.equal(state.id, serverSockets[0].id, "same socket id");
    assert.deepEqual(state.notes, [["note", "first"], ["note", "missed"]], "each once, without the offset");
    await page.evaluate(() => socket.disconnect());
    await page.close();
  });
});
