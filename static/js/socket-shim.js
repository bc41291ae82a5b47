/**
 * socket-shim.js: our own Socket.IO client, small enough to read in one sitting.
 *
 * Why it exists: the chat page must run from this repository alone, without a CDN, a build step or
 * third-party code, yet speak to any Socket.IO v4 server (ours or Node's) exactly like the official
 * `socket.io-client` does for the subset the chat needs.
 *
 * What it speaks:
 * - Engine.IO v4 over a WebSocket opened directly at `/socket.io/?EIO=4&transport=websocket`
 *   (packets: 0 open, 1 close, 2 ping -> answered with 3 pong, 4 message, 6 noop). The server drives
 *   the heartbeat; if nothing arrives within pingInterval + pingTimeout the connection counts as lost.
 * - Socket.IO v5 text packets `<type>[<nsp>,][<ackid>][JSON]`: CONNECT (with the `auth` payload),
 *   DISCONNECT, EVENT, ACK, CONNECT_ERROR; acknowledgements in both directions.
 *
 * API (a subset of socket.io-client 4): `io(url?, opts?)` returns a socket with `connect()`/`open()`,
 * `disconnect()`/`close()`, `on`, `off`, `once`, `onAny`, `offAny`, `emit(event, ...args, ack?)`,
 * `timeout(ms).emit(...)` (ack called as `(err, ...args)`), `emitWithAck`, and the properties `auth`
 * (object or `(cb) => cb(object)`, read on every connection attempt), `connected`, `active`, `id`.
 * Reserved events: `connect`, `connect_error` (Error with `.data` from the server), `disconnect` (reason).
 * Options: `auth`, `autoConnect` (true), `reconnection` (true), `reconnectionDelay` (1000 ms),
 * `reconnectionDelayMax` (5000 ms), `randomizationFactor` (0.5), `timeout` (20000 ms for the whole
 * handshake), `path` ("/socket.io/"), `query`, `transports` (must include "websocket" if given).
 *
 * Behaviour worth knowing, matching the official client:
 * - when an established connection drops (transport close, ping timeout, parse error) or an attempt
 *   fails before the server answered, it reconnects with exponential backoff capped at
 *   reconnectionDelayMax; it does not after `disconnect()`, after a CONNECT_ERROR (the server's
 *   middleware refused us: retrying with the same auth would fail again) or after the server sent a
 *   Socket.IO DISCONNECT ("io server disconnect").
 * - `emit` while disconnected buffers the packet and sends it once connected again.
 * - acks registered with `timeout(ms)` fail with "socket has been disconnected" when the connection
 *   drops after the packet was sent; plain acks just never fire in that case.
 *
 * Limitations (deliberate, the chat does not need them):
 * - no binary: BINARY_EVENT/BINARY_ACK are not produced (emitting an ArrayBuffer, typed array or Blob
 *   throws a TypeError) and incoming binary packets or WebSocket binary frames are dropped;
 * - WebSocket only: no HTTP long-polling fallback and no polling -> WebSocket upgrade;
 * - one WebSocket per socket (no Manager multiplexing several namespaces on one connection);
 * - no connection state recovery, no `volatile`, no outgoing packet queue with retries.
 */

const ENGINE = Object.freeze({ OPEN: "0", CLOSE: "1", PING: "2", PONG: "3", MESSAGE: "4", NOOP: "6" });

/** Socket.IO v5 packet types. */
export const PacketType = Object.freeze({
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
});

/** Event names the socket emits itself; user code may listen to them but never emit them. */
const RESERVED_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/**
 * Encodes a Socket.IO packet as text. The namespace is written only when it is not "/", which is
 * what the official parser does and what servers expect.
 */
export function encodePacket({ type, nsp = "/", id, data }) {
  let text = String(type);
  if (nsp !== "/") text += `${nsp},`;
  if (id !== undefined) text += String(id);
  if (data !== undefined) text += JSON.stringify(data);
  return text;
}

/**
 * Decodes a Socket.IO text packet. Throws on anything malformed so that the connection can be
 * dropped as the official client does ("parse error"), rather than acting on half-understood data.
 */
export function decodePacket(text) {
  const type = Number(text.charAt(0));
  if (text.length === 0 || !Number.isInteger(type) || type < 0 || type > 6) {
    throw new Error("invalid packet type");
  }
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    throw new Error("binary packets are not supported");
  }
  let rest = text.slice(1);
  let nsp = "/";
  if (rest.startsWith("/")) {
    const comma = rest.indexOf(",");
    nsp = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? "" : rest.slice(comma + 1);
  }
  let id;
  const digits = /^\d+/.exec(rest);
  if (digits) {
    id = Number(digits[0]);
    rest = rest.slice(digits[0].length);
  }
  const data = rest.length > 0 ? JSON.parse(rest) : undefined;
  checkPayload(type, data);
  return { type, nsp, id, data };
}

function checkPayload(type, data) {
  const isObject = data !== null && typeof data === "object" && !Array.isArray(data);
  const valid =
    (type === PacketType.CONNECT && (data === undefined || isObject)) ||
    (type === PacketType.DISCONNECT && data === undefined) ||
    (type === PacketType.EVENT && Array.isArray(data) && data.length > 0 && typeof data[0] === "string") ||
    (type === PacketType.ACK && Array.isArray(data)) ||
    (type === PacketType.CONNECT_ERROR && (isObject || typeof data === "string"));
  if (!valid) throw new Error(`invalid payload for packet type ${type}`);
}

/** True when a value (or anything inside it) would need Socket.IO's binary encoding. */
function hasBinary(value, depth = 0) {
  if (value === null || typeof value !== "object" || depth > 32) return false;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (typeof Blob !== "undefined" && value instanceof Blob) return true;
  if (typeof value.toJSON === "function") return false;
  return Object.values(value).some((inner) => hasBinary(inner, depth + 1));
}

/** Exponential backoff with jitter, as socket.io-client's Manager computes it. */
class Backoff {
  constructor(min, max, jitter) {
    this.min = min;
    this.max = max;
    this.jitter = Math.min(Math.max(jitter, 0), 1);
    this.attempts = 0;
  }

  next() {
    let delay = this.min * 2 ** this.attempts;
    this.attempts += 1;
    if (this.jitter) {
      const deviation = Math.random() * this.jitter * delay;
      delay = Math.random() < 0.5 ? delay - deviation : delay + deviation;
    }
    return Math.min(Math.max(Math.floor(delay), 0), this.max);
  }

  reset() {
    this.attempts = 0;
  }
}

/** Builds the WebSocket URL and the namespace from the `io()` arguments. */
function endpointFor(uri, opts) {
  const location = globalThis.location;
  const base = location ? location.href : undefined;
  const url = new URL(uri ?? (location ? location.origin : ""), base);
  const nsp = url.pathname && url.pathname !== "/" ? url.pathname.replace(/\/+$/, "") : "/";
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  url.pathname = opts.path ?? "/socket.io/";
  url.hash = "";
  for (const [key, value] of Object.entries(opts.query ?? {})) url.searchParams.set(key, String(value));
  url.searchParams.set("EIO", "4");
  url.searchParams.set("transport", "websocket");
  return { wsUrl: url.toString(), nsp };
}

/** Runs a listener without letting its exception stop the others, while still reporting it. */
function callListener(fn, args) {
  try {
    fn(...args);
  } catch (error) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else setTimeout(() => { throw error; });
  }
}

export class Socket {
  constructor(uri, opts = {}) {
    if (opts.transports && !opts.transports.includes("websocket")) {
      throw new Error("socket-shim only implements the websocket transport");
    }
    const { wsUrl, nsp } = endpointFor(uri, opts);
    this.nsp = nsp;
    this.auth = opts.auth;
    this.connected = false;
    this.id = undefined;
    /** Packets emitted while disconnected, sent in order once the namespace is connected. */
    this.sendBuffer = [];
    this._wsUrl = wsUrl;
    this._reconnection = opts.reconnection !== false;
    this._backoff = new Backoff(
      opts.reconnectionDelay ?? 1000,
      opts.reconnectionDelayMax ?? 5000,
      opts.randomizationFactor ?? 0.5,
    );
    this._handshakeTimeout = opts.timeout ?? 20000;
    this._active = false;
    this._ws = null;
    this._timers = { connect: null, heartbeat: null, reconnect: null };
    this._heartbeatWindow = 0;
    this._listeners = new Map();
    this._anyListeners = [];
    this._acks = new Map();
    this._nextAckId = 0;
    if (opts.autoConnect !== false) this.connect();
  }

  /** True while the socket is connected or trying to be (it will reconnect by itself). */
  get active() {
    return this._active;
  }

  get disconnected() {
    return !this.connected;
  }

  connect() {
    if (this.connected || this._ws) return this;
    this._clearTimer("reconnect");
    this._active = true;
    this._openTransport();
    return this;
  }

  open() {
    return this.connect();
  }

  disconnect() {
    this._active = false;
    this._clearTimer("reconnect");
    const wasConnected = this.connected;
    if (wasConnected) this._sendPacket({ type: PacketType.DISCONNECT, nsp: this.nsp });
    this._closeTransport();
    if (wasConnected) this._onDisconnected("io client disconnect");
    return this;
  }

  close() {
    return this.disconnect();
  }

  on(event, fn) {
    const list = this._listeners.get(event) ?? [];
    list.push(fn);
    this._listeners.set(event, list);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      fn(...args);
    };
    wrapper.listener = fn;
    return this.on(event, wrapper);
  }

  off(event, fn) {
    if (event === undefined) {
      this._listeners.clear();
    } else if (fn === undefined) {
      this._listeners.delete(event);
    } else {
      const list = (this._listeners.get(event) ?? []).filter((l) => l !== fn && l.listener !== fn);
      this._listeners.set(event, list);
    }
    return this;
  }

  removeAllListeners(event) {
    return this.off(event);
  }

  listeners(event) {
    return [...(this._listeners.get(event) ?? [])];
  }

  onAny(fn) {
    this._anyListeners.push(fn);
    return this;
  }

  offAny(fn) {
    this._anyListeners = fn === undefined ? [] : this._anyListeners.filter((l) => l !== fn);
    return this;
  }

  /** `emit(event, ...args, ack?)`: the ack, when given, receives the server's answer. */
  emit(event, ...args) {
    return this._emit({}, event, args);
  }

  /** Returns an emitter whose acks are called `(err, ...args)`, err set after `ms` without answer. */
  timeout(ms) {
    return {
      emit: (event, ...args) => this._emit({ timeout: ms }, event, args),
      emitWithAck: (event, ...args) => this._emitWithAck({ timeout: ms }, event, args),
    };
  }

  /** Promise form of an acknowledged emit: resolves with the first ack argument. */
  emitWithAck(event, ...args) {
    return this._emitWithAck({}, event, args);
  }

  _emitWithAck(flags, event, args) {
    return new Promise((resolve, reject) => {
      const ack = flags.timeout === undefined
        ? (response) => resolve(response)
        : (error, response) => (error ? reject(error) : resolve(response));
      this._emit(flags, event, [...args, ack]);
    });
  }

  _emit(flags, event, args) {
    if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    if (hasBinary(args)) throw new TypeError("socket-shim does not support binary payloads");
    const packet = { type: PacketType.EVENT, nsp: this.nsp, data: [event, ...args] };
    if (ack) {
      packet.id = this._nextAckId++;
      this._registerAck(packet, ack, flags.timeout);
    }
    if (this.connected) this._sendPacket(packet);
    else this.sendBuffer.push(packet);
    return this;
  }

  _registerAck(packet, fn, timeoutMs) {
    const entry = { fn, withError: timeoutMs !== undefined, timer: null };
    if (entry.withError) {
      entry.timer = setTimeout(() => {
        this._acks.delete(packet.id);
        this.sendBuffer = this.sendBuffer.filter((p) => p !== packet);
        fn(new Error("operation has timed out"));
      }, timeoutMs);
    }
    this._acks.set(packet.id, entry);
  }

  _openTransport() {
    const ws = new WebSocket(this._wsUrl);
    this._ws = ws;
    this._setTimer("connect", this._handshakeTimeout, () => this._onTransportLost("timeout"));
    ws.onmessage = (event) => {
      if (this._ws === ws && typeof event.data === "string") this._onEnginePacket(event.data);
    };
    ws.onclose = () => {
      if (this._ws === ws) this._onTransportLost("transport close");
    };
  }

  /** Closes the WebSocket (if any) and forgets it, so its late events are ignored. */
  _closeTransport() {
    const ws = this._ws;
    this._ws = null;
    this._clearTimer("connect");
    this._clearTimer("heartbeat");
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close();
    }
  }

  _onEnginePacket(text) {
    if (this._heartbeatWindow > 0) {
      this._setTimer("heartbeat", this._heartbeatWindow, () => this._onTransportLost("ping timeout"));
    }
    const kind = text.charAt(0);
    const body = text.slice(1);
    if (kind === ENGINE.OPEN) this._onHandshake(body);
    else if (kind === ENGINE.PING) this._sendEngine(ENGINE.PONG + body);
    else if (kind === ENGINE.MESSAGE) this._onSocketText(body);
    else if (kind === ENGINE.CLOSE) this._onTransportLost("transport close");
    // NOOP and anything unknown (e.g. upgrade packets) are ignored, as the official client does.
  }

  _onHandshake(body) {
    let handshake;
    try {
      handshake = JSON.parse(body);
    } catch {
      this._onTransportLost("parse error");
      return;
    }
    const interval = Number(handshake.pingInterval) || 25000;
    const timeout = Number(handshake.pingTimeout) || 20000;
    this._heartbeatWindow = interval + timeout;
    this._setTimer("heartbeat", this._heartbeatWindow, () => this._onTransportLost("ping timeout"));
    const sendConnect = (auth) => {
      if (this._ws) this._sendPacket({ type: PacketType.CONNECT, nsp: this.nsp, data: auth ?? undefined });
    };
    if (typeof this.auth === "function") this.auth(sendConnect);
    else sendConnect(this.auth);
  }

  _onSocketText(text) {
    let packet;
    try {
      packet = decodePacket(text);
    } catch (error) {
      if (String(error.message).startsWith("binary")) return; // documented limitation: dropped
      this._onTransportLost("parse error");
      return;
    }
    if (packet.nsp !== this.nsp) return;
    switch (packet.type) {
      case PacketType.CONNECT:
        this._onConnected(packet.data);
        break;
      case PacketType.CONNECT_ERROR:
        this._onConnectError(packet.data);
        break;
      case PacketType.EVENT:
        this._onEvent(packet);
        break;
      case PacketType.ACK:
        this._onAck(packet);
        break;
      case PacketType.DISCONNECT:
        this._active = false;
        this._closeTransport();
        if (this.connected) this._onDisconnected("io server disconnect");
        break;
      default:
        break;
    }
  }

  _onConnected(data) {
    this._clearTimer("connect");
    this._backoff.reset();
    this.id = data && typeof data.sid === "string" ? data.sid : undefined;
    this.connected = true;
    const buffered = this.sendBuffer;
    this.sendBuffer = [];
    for (const packet of buffered) this._sendPacket(packet);
    this._dispatch("connect", []);
  }

  /** The server refused the CONNECT (auth middleware): no retry, the caller decides what to do. */
  _onConnectError(data) {
    this._active = false;
    this._closeTransport();
    const message = typeof data === "string" ? data : String(data.message ?? "connect error");
    const error = new Error(message);
    if (data && typeof data === "object" && "data" in data) error.data = data.data;
    this._dispatch("connect_error", [error]);
  }

  _onEvent(packet) {
    const args = [...packet.data];
    if (packet.id !== undefined) args.push(this._ackSender(packet.id));
    for (const fn of [...this._anyListeners]) callListener(fn, args);
    const [event, ...rest] = args;
    for (const fn of this.listeners(event)) callListener(fn, rest);
  }

  /** The callback handed to listeners of an event that expects an acknowledgement; answers once. */
  _ackSender(id) {
    let sent = false;
    return (...args) => {
      if (sent) return;
      sent = true;
      if (hasBinary(args)) throw new TypeError("socket-shim does not support binary payloads");
      if (this.connected) this._sendPacket({ type: PacketType.ACK, nsp: this.nsp, id, data: args });
    };
  }

  _onAck(packet) {
    const entry = this._acks.get(packet.id);
    if (!entry) return;
    this._acks.delete(packet.id);
    clearTimeout(entry.timer);
    const args = packet.data;
    if (entry.withError) callListener(entry.fn, [null, ...args]);
    else callListener(entry.fn, args);
  }

  /** The WebSocket went away or stopped answering: report it and, if wanted, try again later. */
  _onTransportLost(reason) {
    const wasConnected = this.connected;
    this._closeTransport();
    if (wasConnected) {
      this._onDisconnected(reason);
    } else {
      const error = new Error(reason === "timeout" ? "timeout" : "websocket error");
      error.type = "TransportError";
      this._dispatch("connect_error", [error]);
    }
    if (this._active && this._reconnection) {
      this._setTimer("reconnect", this._backoff.next(), () => {
        if (this._active && !this._ws) this._openTransport();
      });
    } else {
      this._active = false;
    }
  }

  _onDisconnected(reason) {
    this.connected = false;
    this.id = undefined;
    for (const [id, entry] of this._acks) {
      const stillBuffered = this.sendBuffer.some((packet) => packet.id === id);
      if (entry.withError && !stillBuffered) {
        this._acks.delete(id);
        clearTimeout(entry.timer);
        callListener(entry.fn, [new Error("socket has been disconnected")]);
      }
    }
    this._dispatch("disconnect", [reason]);
  }

  _dispatch(event, args) {
    for (const fn of this.listeners(event)) callListener(fn, args);
  }

  _sendPacket(packet) {
    this._sendEngine(ENGINE.MESSAGE + encodePacket(packet));
  }

  _sendEngine(text) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) this._ws.send(text);
  }

  _setTimer(name, ms, fn) {
    this._clearTimer(name);
    this._timers[name] = setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, ms);
  }

  _clearTimer(name) {
    if (this._timers[name] !== null) clearTimeout(this._timers[name]);
    this._timers[name] = null;
  }
}

/** `io(url?, opts?)`, as in socket.io-client: url defaults to the page's origin. */
export function io(uri, opts) {
  if (uri !== null && typeof uri === "object") return new Socket(undefined, uri);
  return new Socket(uri, opts ?? {});
}

export default io;
