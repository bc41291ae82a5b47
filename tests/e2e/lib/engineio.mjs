// Raw Engine.IO v4 clients: HTTP long-polling with fetch and WebSocket with `ws`.
//
// socket.io-client hides (and politely avoids) the protocol mistakes the server must
// survive: malformed packets, oversized frames, duplicate polls, missing pongs. These
// helpers speak the wire format directly so tests can misbehave on purpose.
import WebSocket from "ws";

/** Record separator between packets of a polling payload. */
export const RS = "\x1e";

/** Engine.IO packet types (protocol v4). */
export const PacketType = { OPEN: "0", CLOSE: "1", PING: "2", PONG: "3", MESSAGE: "4", UPGRADE: "5", NOOP: "6" };

/**
 * The Engine.IO endpoint of `baseUrl`: its own path when it has one (`http://host:port/engine.io`
 * for a server started with `--path /engine.io/` or the engine.io conformance server), else the
 * default `/socket.io/`.
 */
export function endpoint(baseUrl) {
  const url = new URL(baseUrl);
  const path = url.pathname === "/" ? "/socket.io/" : `${url.pathname.replace(/\/$/, "")}/`;
  return `${url.origin}${path}`;
}

/** `<endpoint>?EIO=4&transport=polling` plus extra/overridden query parameters. */
export function engineUrl(baseUrl, query = {}) {
  const params = new URLSearchParams({ EIO: "4", transport: "polling", ...query });
  for (const [key, value] of Object.entries(query)) if (value === undefined) params.delete(key);
  return `${endpoint(baseUrl)}?${params}`;
}

/** Decodes a polling payload into packets: {type, data} with Buffer data for `b` packets. */
export function decodePayload(text) {
  if (text === "") return [];
  return text.split(RS).map((raw) => {
    if (raw.startsWith("b")) return { type: PacketType.MESSAGE, data: Buffer.from(raw.slice(1), "base64"), binary: true };
    return { type: raw[0], data: raw.slice(1), binary: false };
  });
}

/** Encodes packets for a polling POST; Buffer data becomes a `b`-prefixed base64 message. */
export function encodePayload(packets) {
  return packets
    .map(({ type, data = "" }) => (Buffer.isBuffer(data) ? `b${data.toString("base64")}` : `${type}${data}`))
    .join(RS);
}

/** Any HTTP request to the Engine.IO endpoint; resolves with status, headers, text and parsed JSON if any. */
export async function engineRequest(baseUrl, { query = {}, method = "GET", body, headers, timeoutMs = 5000 } = {}) {
  const res = await fetch(engineUrl(baseUrl, query), {
    method,
    body,
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Opens a polling session; resolves with its sid and parsed handshake. */
export async function pollingHandshake(baseUrl, query = {}) {
  const { status, text } = await engineRequest(baseUrl, { query });
  if (status !== 200 || !text.startsWith(PacketType.OPEN)) {
    throw new Error(`polling handshake failed: ${status} ${text}`);
  }
  const handshake = JSON.parse(decodePayload(text)[0].data);
  return { sid: handshake.sid, handshake };
}

/** One long-poll GET on a session; resolves with status, raw text and decoded packets. */
export async function pollGet(baseUrl, sid, { timeoutMs = 5000 } = {}) {
  const res = await engineRequest(baseUrl, { query: { sid }, timeoutMs });
  return { ...res, packets: res.status === 200 ? decodePayload(res.text) : [] };
}

/** One POST on a session with an already-encoded body (string or Buffer). */
export function pollPost(baseUrl, sid, body, { headers = { "content-type": "text/plain;charset=UTF-8" }, timeoutMs = 5000 } = {}) {
  return engineRequest(baseUrl, { query: { sid }, method: "POST", body, headers, timeoutMs });
}

/**
 * Polls until the server shows the session is gone: either a poll returns the CLOSE
 * packet or the sid is unknown (400 code 1). Pings are answered meanwhile, so a
 * heartbeat timeout cannot be mistaken for the closure under test. Resolves with
 * "close packet" or "unknown sid"; rejects after timeoutMs.
 */
export async function expectPollingSessionClosed(baseUrl, sid, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await pollGet(baseUrl, sid, { timeoutMs: Math.max(100, deadline - Date.now()) }).catch(() => null);
    if (!res) break;
    if (res.status === 400) {
      if (res.json?.code !== 1) throw new Error(`unexpected 400 body while waiting for close: ${res.text}`);
      return "unknown sid";
    }
    if (res.status !== 200) throw new Error(`unexpected status ${res.status} while waiting for close: ${res.text}`);
    if (res.packets.some((p) => p.type === PacketType.CLOSE)) return "close packet";
    if (res.packets.some((p) => p.type === PacketType.PING)) await pollPost(baseUrl, sid, PacketType.PONG).catch(() => {});
  }
  throw new Error(`polling session ${sid} still open after ${timeoutMs} ms`);
}

/**
 * A raw Engine.IO WebSocket: queues every received frame, optionally answers pings.
 * `messages()` returns frames as {data: string|Buffer, binary: boolean}.
 */
export class RawWebSocket {
  constructor(baseUrl, { sid, autoPong = true, query = {} } = {}) {
    const params = new URLSearchParams({ EIO: "4", transport: "websocket", ...query });
    if (sid) params.set("sid", sid);
    this.url = `${endpoint(baseUrl).replace(/^http/, "ws")}?${params}`;
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.openedAt = undefined;
    this.ws = new WebSocket(this.url);
    this.ws.on("error", () => {}); // surfaced through `closed`
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => {
        this.openedAt = Date.now();
        resolve(this);
      });
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`websocket upgrade refused: ${res.statusCode}`)));
      this.ws.once("close", () => reject(new Error("websocket closed before opening")));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
    });
    this.ws.on("message", (data, isBinary) => {
      const frame = isBinary ? { data: Buffer.from(data), binary: true } : { data: data.toString(), binary: false };
      if (this.autoPong && !frame.binary && frame.data === PacketType.PING) this.send(PacketType.PONG);
      const waiter = this.waiters.find((w) => w.accepts(frame));
      if (waiter) waiter.take(frame);
      else this.queue.push(frame);
    });
  }

  /** Next received frame that satisfies `accepts` (default: any), in arrival order. */
  next(accepts = () => true, timeoutMs = 3000) {
    const index = this.queue.findIndex(accepts);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        accepts,
        take: (frame) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching websocket frame within ${timeoutMs} ms (queue: ${JSON.stringify(this.queue)})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Next text frame starting with `prefix` (e.g. "0" for OPEN, "40" for a CONNECT answer). */
  nextText(prefix, timeoutMs = 3000) {
    return this.next((f) => !f.binary && f.data.startsWith(prefix), timeoutMs).then((f) => f.data);
  }

  send(data) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close() {
    this.ws.terminate();
  }

  /** Resolves with the close info if the socket closes within timeoutMs, else rejects. */
  expectClosed(timeoutMs) {
    return Promise.race([
      this.closed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`websocket still open after ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  }
}

/** Opens a raw WebSocket session and reads its OPEN packet; resolves with {ws, handshake}. */
export async function wsHandshake(baseUrl, options = {}) {
  const ws = new RawWebSocket(baseUrl, options);
  await ws.opened;
  const open = await ws.nextText(PacketType.OPEN);
  return { ws, handshake: JSON.parse(open.slice(1)) };
}
