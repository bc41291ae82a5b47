/**
 * socket-shim.js: our own Socket.IO client, small enough to read in one sitting.
 *
 * Why it exists: the chat page must run from this repository alone, without a CDN, a build step or
 * third-party code, yet speak to any Socket.IO v4 server (ours or Node's) exactly like the official
 * `socket.io-client` does for the subset the chat needs.
 *
 * What it speaks:
 * - Engine.IO v4 over a WebSocket or over HTTP long-polling (engine-transports.js). Packets:
 *   0 open, 1 close, 2 ping -> answered with 3 pong, 4 message, 6 noop. The server drives the
 *   heartbeat; if nothing arrives within pingInterval + pingTimeout the connection counts as lost.
 * - Socket.IO v5 text packets (socketio-packets.js): CONNECT (with the `auth` payload), DISCONNECT,
 *   EVENT, ACK, CONNECT_ERROR; acknowledgements in both directions.
 *
 * API (a subset of socket.io-client 4): `io(url?, opts?)` returns a socket with `connect()`/`open()`,
 * `disconnect()`/`close()`, `on`, `off`, `once`, `onAny`, `offAny`, `emit(event, ...args, ack?)`,
 * `timeout(ms).emit(...)` (ack called as `(err, ...args)`), `emitWithAck`, and the properties `auth`
 * (object or `(cb) => cb(object)`, read again on every connection attempt, so a reconnect sends
 * whatever the page put there last), `connected`, `active`, `id`, and `transport` (the name of the
 * transport in use: "websocket" or "polling"; socket.io-client has it as io.engine.transport.name).
 * Reserved events: `connect`, `connect_error` (Error with `.data` from the server), `disconnect` (reason).
 * Options: `auth`, `autoConnect` (true), `reconnection` (true), `reconnectionDelay` (1000 ms),
 * `reconnectionDelayMax` (5000 ms), `randomizationFactor` (0.5), `timeout` (20000 ms per transport
 * tried), `path` ("/socket.io/"), `query`, `transports` (["websocket", "polling"]).
 * `recovered` is true when the last connection restored the previous socket (see below).
 *
 * Behaviour worth knowing, matching the official client:
 * - `transports` lists what to try, in order, on every connection attempt: the first transport that
 *   completes the Engine.IO handshake is used; one that fails before (refused, closed, timed out)
 *   hands over to the next at once. This is socket.io-client's `transports: ["websocket",
 *   "polling"]` with `tryAllTransports`: WebSocket when the network allows it, polling otherwise.
 *   `["polling"]` forces polling.
 * - when an established connection drops (transport close or error, ping timeout, parse error) or
 *   every transport of an attempt failed, it reconnects with exponential backoff with jitter
 *   (backoff.js); it does not after `disconnect()`, after a CONNECT_ERROR (the server's
 *   middleware refused us: retrying with the same auth would fail again) or after the server sent a
 *   Socket.IO DISCONNECT ("io server disconnect").
 * - `emit` while disconnected buffers the packet and sends it once connected again.
 * - acks registered with `timeout(ms)` fail with "socket has been disconnected" when the connection
 *   drops after the packet was sent; plain acks just never fire in that case.
 * - connection state recovery (recovery.js): when the server offers it (a `pid` in its CONNECT
 *   reply), a reconnection after a drop sends `{pid, offset}` merged into `auth`; if the server
 *   restores the socket, `recovered` is true, the id is the same and the missed events arrive as
 *   ordinary events right after `connect`. The offset the server appends to events is taken off
 *   before listeners see them. `disconnect()` gives the recovery up.
 *
 * Limitations (deliberate, the chat does not need them):
 * - no binary: BINARY_EVENT/BINARY_ACK are not produced (emitting an ArrayBuffer, typed array or Blob
 *   throws a TypeError) and incoming binary packets or frames are dropped;
 * - no polling -> WebSocket upgrade: a connection keeps the transport it was opened with (the
 *   WebSocket is tried first instead, so the upgrade is rarely missed);
 * - one connection per socket (no Manager multiplexing several namespaces on one connection);
 * - no `volatile`, no outgoing packet queue with retries.
 */
import { Backoff } from "./backoff.js";
import { EnginePacket, TRANSPORT_NAMES, createTransport, endpointFor } from "./engine-transports.js";
import { Recovery } from "./recovery.js";
import { PacketType, UnsupportedBinaryError, decodePacket, encodePacket, hasBinary } from "./socketio-packets.js";

export { PacketType, decodePacket, encodePacket } from "./socketio-packets.js";

/** Event names the socket emits itself; user code may listen to them but never emit them. */
const RESERVED_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/** Checks the `transports` option: a non-empty list of names this shim implements. */
function transportsFrom(option) {
  if (option === undefined) return [...TRANSPORT_NAMES];
  const list = Array.isArray(option) ? option : [];
  const unknown = list.filter((name) => !TRANSPORT_NAMES.includes(name));
  if (list.length === 0 || unknown.length > 0) {
    throw new Error(`socket-shim implements the transports ${TRANSPORT_NAMES.join(", ")}; got ${JSON.stringify(option)}`);
  }
  return [...list];
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
    const { engineUrl, nsp } = endpointFor(uri, opts);
    this.nsp = nsp;
    this.auth = opts.auth;
    this.connected = false;
    this.id = undefined;
    /** Packets emitted while disconnected, sent in order once the namespace is connected. */
    this.sendBuffer = [];
    this._engineUrl = engineUrl;
    this._transportNames = transportsFrom(opts.transports);
    this._reconnection = opts.reconnection !== false;
    this._backoff = new Backoff(
      opts.reconnectionDelay ?? 1000,
      opts.reconnectionDelayMax ?? 5000,
      opts.randomizationFactor ?? 0.5,
    );
    this._handshakeTimeout = opts.timeout ?? 20000;
    this._active = false;
    /** The transport of the current connection or attempt, null when there is none. */
    this._transport = null;
    /** Transports still to try in the current attempt, should the current one fail before the handshake. */
    this._fallbacks = [];
    /** Whether the current transport completed the Engine.IO handshake. */
    this._engineOpen = false;
    this._timers = { connect: null, heartbeat: null, reconnect: null };
    this._heartbeatWindow = 0;
    this._listeners = new Map();
    this._anyListeners = [];
    this._acks = new Map();
    this._nextAckId = 0;
    this._recovery = new Recovery();
    if (opts.autoConnect !== false) this.connect();
  }

  /** True while the socket is connected or trying to be (it will reconnect by itself). */
  get active() {
    return this._active;
  }

  /** Name of the transport in use or being tried ("websocket" or "polling"), if any. */
  get transport() {
    return this._transport ? this._transport.name : undefined;
  }

  /** Whether the last connection restored the previous socket (id, rooms, missed events). */
  get recovered() {
    return this._recovery.recovered;
  }

  get disconnected() {
    return !this.connected;
  }

  connect() {
    if (this.connected || this._transport) return this;
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
    this._recovery.forget();
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

  /** Starts a connection attempt: the transports are tried in the configured order. */
  _openTransport() {
    this._fallbacks = [...this._transportNames];
    this._tryNextTransport();
  }

  _tryNextTransport() {
    const name = this._fallbacks.shift();
    this._engineOpen = false;
    const transport = createTransport(name, this._engineUrl, {
      onPacket: (text) => {
        if (this._transport === transport) this._onEnginePacket(text);
      },
      onClose: (reason) => {
        if (this._transport === transport) this._onTransportFailed(reason);
      },
    });
    this._transport = transport;
    this._setTimer("connect", this._handshakeTimeout, () => this._onTransportFailed("timeout"));
    transport.open();
  }

  /** A transport failed: before the handshake the next one is tried, after it the connection is lost. */
  _onTransportFailed(reason) {
    if (!this._engineOpen && this._fallbacks.length > 0) {
      this._closeTransport();
      this._tryNextTransport();
    } else {
      this._onTransportLost(reason);
    }
  }

  /** Closes the transport (if any) and forgets it, so its late events are ignored. */
  _closeTransport() {
    const transport = this._transport;
    this._transport = null;
    this._engineOpen = false;
    this._clearTimer("connect");
    this._clearTimer("heartbeat");
    if (transport) transport.close();
  }

  _onEnginePacket(text) {
    if (this._heartbeatWindow > 0) {
      this._setTimer("heartbeat", this._heartbeatWindow, () => this._onTransportLost("ping timeout"));
    }
    const kind = text.charAt(0);
    const body = text.slice(1);
    if (kind === EnginePacket.OPEN) this._onHandshake(body);
    else if (kind === EnginePacket.PING) this._sendEngine(EnginePacket.PONG + body);
    else if (kind === EnginePacket.MESSAGE) this._onSocketText(body);
    else if (kind === EnginePacket.CLOSE) this._onTransportLost("transport close");
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
    this._engineOpen = true;
    this._heartbeatWindow = interval + timeout;
    this._setTimer("heartbeat", this._heartbeatWindow, () => this._onTransportLost("ping timeout"));
    const sendConnect = (auth) => {
      if (!this._transport) return;
      const data = this._recovery.connectPayload(auth ?? undefined);
      this._sendPacket({ type: PacketType.CONNECT, nsp: this.nsp, data });
    };
    if (typeof this.auth === "function") this.auth(sendConnect);
    else sendConnect(this.auth);
  }

  _onSocketText(text) {
    let packet;
    try {
      packet = decodePacket(text);
    } catch (error) {
      if (error instanceof UnsupportedBinaryError) return; // documented limitation: dropped
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
    this._recovery.onConnect(data);
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
    this._recovery.takeOffset(args, packet.id);
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

  /** The connection went away or stopped answering: report it and, if wanted, try again later. */
  _onTransportLost(reason) {
    const wasConnected = this.connected;
    const transportName = this.transport;
    this._closeTransport();
    if (wasConnected) {
      this._onDisconnected(reason);
    } else {
      // The official client's messages: "websocket error", "xhr poll error" (polling), "timeout".
      const kind = transportName === "polling" ? "xhr poll" : transportName;
      const error = new Error(reason === "timeout" ? "timeout" : `${kind} error`);
      error.type = "TransportError";
      this._dispatch("connect_error", [error]);
    }
    if (this._active && this._reconnection) {
      this._setTimer("reconnect", this._backoff.next(), () => {
        if (this._active && !this._transport) this._openTransport();
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
    this._sendEngine(EnginePacket.MESSAGE + encodePacket(packet));
  }

  _sendEngine(text) {
    if (this._transport && this._engineOpen) this._transport.send([text]);
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
