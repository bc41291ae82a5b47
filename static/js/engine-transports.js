/**
 * engine-transports.js: the two ways socket-shim.js carries Engine.IO v4 packets.
 *
 * - WebSocket: one text frame per packet, at `/socket.io/?EIO=4&transport=websocket`.
 * - HTTP long-polling: a GET waits for the server's packets, a POST carries ours; several packets
 *   in one body are separated by the record separator `\x1e` (Engine.IO v4 has no length prefix).
 *   Polling is the fallback for networks where WebSockets cannot get through (proxies that strip
 *   the Upgrade header, blocked ports): slower, but the chat still works.
 *
 * Both expose the same small interface, so the socket does not care which one it has:
 * `open()`, `send(packets: string[])`, `close()`, and the handlers given to the constructor,
 * `onPacket(text)` for every incoming Engine.IO packet and `onClose(reason)` once when the
 * transport fails or the server ends it (never after `close()`).
 *
 * Text only: binary packets (`b<base64>` in polling bodies, binary WebSocket frames) are dropped,
 * as the shim supports no binary payloads.
 */

/** Engine.IO v4 packet types, as the first character of a packet. */
export const EnginePacket = Object.freeze({
  OPEN: "0",
  CLOSE: "1",
  PING: "2",
  PONG: "3",
  MESSAGE: "4",
  UPGRADE: "5",
  NOOP: "6",
});

/** Separates packets inside one polling body. */
const RECORD_SEPARATOR = "\x1e";

/** Names accepted in the `transports` option, in the order they are tried by default. */
export const TRANSPORT_NAMES = Object.freeze(["websocket", "polling"]);

/**
 * The Engine.IO endpoint (`http(s)://host/socket.io/?EIO=4&...`) and the namespace named by the
 * path of the `io()` URL, as socket.io-client reads them.
 */
export function endpointFor(uri, opts) {
  const location = globalThis.location;
  const base = location ? location.href : undefined;
  const url = new URL(uri ?? (location ? location.origin : ""), base);
  const nsp = url.pathname && url.pathname !== "/" ? url.pathname.replace(/\/+$/, "") : "/";
  if (url.protocol === "wss:") url.protocol = "https:";
  else if (url.protocol === "ws:") url.protocol = "http:";
  url.pathname = opts.path ?? "/socket.io/";
  url.hash = "";
  for (const [key, value] of Object.entries(opts.query ?? {})) url.searchParams.set(key, String(value));
  url.searchParams.set("EIO", "4");
  return { engineUrl: url.toString(), nsp };
}

function withParams(engineUrl, params) {
  const url = new URL(engineUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url;
}

/** Creates the transport called `name` for the Engine.IO endpoint `engineUrl`. */
export function createTransport(name, engineUrl, handlers) {
  if (name === "websocket") return new WebSocketTransport(engineUrl, handlers);
  if (name === "polling") return new PollingTransport(engineUrl, handlers);
  throw new Error(`unknown transport "${name}"`);
}

export class WebSocketTransport {
  constructor(engineUrl, handlers) {
    this.name = "websocket";
    const url = withParams(engineUrl, { transport: "websocket" });
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this._url = url.toString();
    this._handlers = handlers;
    this._ws = null;
  }

  open() {
    let ws;
    try {
      ws = new WebSocket(this._url);
    } catch {
      // Refused before any network activity (e.g. by a Content Security Policy): next transport.
      queueMicrotask(() => this._handlers.onClose("transport error"));
      return;
    }
    this._ws = ws;
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this._handlers.onPacket(event.data);
    };
    ws.onclose = () => {
      this._forget();
      this._handlers.onClose("transport close");
    };
  }

  send(packets) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return;
    for (const packet of packets) this._ws.send(packet);
  }

  close() {
    const ws = this._forget();
    if (ws && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)) ws.close();
  }

  /** Detaches the handlers so that late events of a closed WebSocket are ignored. */
  _forget() {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
    }
    return ws;
  }
}

/** Bytes a string takes in a UTF-8 body: what the server's maxPayload counts. */
function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

export class PollingTransport {
  constructor(engineUrl, handlers) {
    this.name = "polling";
    this._engineUrl = engineUrl;
    this._handlers = handlers;
    this._sid = undefined;
    this._maxPayload = Infinity;
    this._closed = true;
    /** Set once the server said goodbye (close packet): then there is nobody left to tell. */
    this._serverClosed = false;
    /** Aborts the waiting GET; POSTs are never aborted, so nothing already sent is cut. */
    this._pollAbort = null;
    /** Packets not POSTed yet: Engine.IO allows one POST at a time, so they wait their turn. */
    this._outbox = [];
    /** The POST in flight, if any (resolves when it finished, whatever its outcome). */
    this._posting = null;
    this._requests = 0;
  }

  open() {
    this._closed = false;
    this._pollAbort = new AbortController();
    this._poll();
  }

  send(packets) {
    if (this._closed) return;
    this._outbox.push(...packets);
    this._flush();
  }

  /**
   * Stops polling. Unless the server already ended the session, what is still queued goes out
   * with a close packet after the POST in flight, so the server frees the session at once (as
   * engine.io-client does) and a final Socket.IO DISCONNECT is not lost.
   */
  close() {
    if (this._closed) return;
    this._closed = true;
    this._pollAbort.abort();
    if (!this._sid || this._serverClosed) return;
    const body = [...this._outbox, EnginePacket.CLOSE].join(RECORD_SEPARATOR);
    this._outbox = [];
    const url = this._url();
    Promise.resolve(this._posting)
      .then(() => fetch(url, { method: "POST", body, keepalive: true }))
      .catch(() => {});
  }

  /** A request URL; `t` keeps caches (and some proxies) from answering from memory. */
  _url() {
    const params = { transport: "polling", t: `${Date.now().toString(36)}.${(this._requests += 1)}` };
    if (this._sid) params.sid = this._sid;
    return withParams(this._engineUrl, params).toString();
  }

  async _poll() {
    while (!this._closed) {
      let body;
      try {
        const response = await fetch(this._url(), { cache: "no-store", signal: this._pollAbort.signal });
        body = await response.text();
        if (!response.ok) throw new Error(`poll answered ${response.status}`);
      } catch {
        this._fail("transport error");
        return;
      }
      for (const packet of body.split(RECORD_SEPARATOR)) {
        if (this._closed) return;
        this._receive(packet);
      }
    }
  }

  _receive(packet) {
    if (packet.startsWith("b")) return; // binary: not supported, dropped
    const kind = packet.charAt(0);
    if (kind === EnginePacket.CLOSE) this._serverClosed = true;
    if (kind === EnginePacket.OPEN && !this._sid) {
      try {
        const handshake = JSON.parse(packet.slice(1));
        this._sid = typeof handshake.sid === "string" ? handshake.sid : undefined;
        if (Number(handshake.maxPayload) > 0) this._maxPayload = Number(handshake.maxPayload);
      } catch {
        // The socket parses the handshake again and reports the parse error.
      }
    }
    this._handlers.onPacket(packet);
    this._flush();
  }

  /** POSTs as many queued packets as fit in maxPayload (at least one), then the rest. */
  _flush() {
    if (this._closed || this._posting || !this._sid || this._outbox.length === 0) return;
    let size = 0;
    let count = 0;
    while (count < this._outbox.length) {
      const added = utf8Length(this._outbox[count]) + (count > 0 ? 1 : 0);
      if (count > 0 && size + added > this._maxPayload) break;
      size += added;
      count += 1;
    }
    const body = this._outbox.splice(0, count).join(RECORD_SEPARATOR);
    this._posting = this._post(body).then((ok) => {
      this._posting = null;
      if (ok) this._flush();
      else this._fail("transport error");
    });
  }

  async _post(body) {
    try {
      const response = await fetch(this._url(), {
        method: "POST",
        body,
        headers: { "content-type": "text/plain;charset=UTF-8" },
      });
      await response.text();
      return response.ok;
    } catch {
      return false;
    }
  }

  _fail(reason) {
    if (this._closed) return;
    this._closed = true;
    this._pollAbort.abort();
    this._handlers.onClose(reason);
  }
}
