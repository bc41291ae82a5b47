// Helpers around the official socket.io-client.
//
// The server emits `session` and `users` right after CONNECT, often in the same
// polling payload, i.e. before a test could attach listeners. So every socket made
// here records its events from the very start, and `once` consumes that record in
// arrival order (a queue per socket) before waiting for new events.
import { describe } from "node:test";
import { io, Manager } from "socket.io-client";

export { io, Manager };

const DEFAULT_TIMEOUT_MS = 3000;

/** Client options variants every chat test runs under (SPEC §1: both must work). */
export const TRANSPORT_VARIANTS = [
  { name: "websocket only", opts: { transports: ["websocket"] } },
  { name: "polling then upgrade (default options)", opts: {} },
];

/**
 * Defines the tests of `body` once per transport variant, each in its own describe.
 * @param {(clientOpts: object, variantName: string) => void} body
 */
export function withTransports(body) {
  for (const { name, opts } of TRANSPORT_VARIANTS) {
    describe(name, () => body(opts, name));
  }
}

/** Sockets created by this module and not yet closed, so after-hooks can close them all. */
const openSockets = new Set();

/** Reserved client events are not seen by onAny, so they are recorded explicitly. */
const RESERVED_EVENTS = ["connect", "connect_error", "disconnect"];

/**
 * Creates a socket that is not yet connected but already records every event.
 * Options default to a fresh Manager and no automatic reconnection (a test decides
 * when to reconnect).
 */
export function createSocket(url, opts = {}) {
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...opts,
    autoConnect: false,
  });
  socket.__record = [];
  socket.__waiters = [];
  const push = (event, args) => {
    const entry = { event, args, consumed: false };
    socket.__record.push(entry);
    for (const waiter of [...socket.__waiters]) {
      if (waiter.event === event && !entry.consumed) waiter.take(entry);
    }
  };
  socket.onAny((event, ...args) => push(event, args));
  for (const event of RESERVED_EVENTS) socket.on(event, (...args) => push(event, args));
  openSockets.add(socket);
  socket.on("disconnect", () => openSockets.delete(socket));
  return socket;
}

/** Connects a socket made by createSocket; rejects with the connect_error. */
export function connectSocket(socket, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.disconnect();
      reject(new Error(`socket did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      socket.disconnect();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    };
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
    socket.connect();
  });
}

/** A connected socket-io client socket (rejects on connect_error). */
export function connect(url, opts = {}) {
  return connectSocket(createSocket(url, opts));
}

/** Closes every socket still open (for after/afterEach hooks). */
export function disconnectAll() {
  for (const socket of openSockets) {
    socket.disconnect();
    socket.io.engine?.close();
  }
  openSockets.clear();
}

/**
 * Resolves with the argument array of the next not-yet-consumed `event` on `socket`
 * (like node:events once), rejecting after timeoutMs.
 */
export function once(socket, event, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const pending = socket.__record?.find((e) => e.event === event && !e.consumed);
  if (pending) {
    pending.consumed = true;
    return Promise.resolve(pending.args);
  }
  if (!socket.__record) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
      socket.once(event, (...args) => {
        clearTimeout(timer);
        resolve(args);
      });
    });
  }
  return nextEntry(socket, event, () => true, timeoutMs, `no "${event}" within ${timeoutMs} ms`);
}

/**
 * Waits for the next recorded `event` whose argument array satisfies `matches`, consuming
 * only that entry; rejects with `timeoutMessage` after `timeoutMs`.
 */
function nextEntry(socket, event, matches, timeoutMs, timeoutMessage) {
  return new Promise((resolve, reject) => {
    const waiter = {
      event,
      take(entry) {
        if (!matches(entry.args)) return;
        entry.consumed = true;
        clearTimeout(timer);
        socket.__waiters.splice(socket.__waiters.indexOf(waiter), 1);
        resolve(entry.args);
      },
    };
    const timer = setTimeout(() => {
      socket.__waiters.splice(socket.__waiters.indexOf(waiter), 1);
      reject(new Error(timeoutMessage));
    }, timeoutMs);
    socket.__waiters.push(waiter);
  });
}

/**
 * The next not-yet-consumed `event` whose argument array satisfies `matches`; only that entry
 * is consumed (other `event`s stay for `once` and `expectNoEvent`).
 */
export function onceWhere(socket, event, matches, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const pending = socket.__record.find((e) => e.event === event && !e.consumed && matches(e.args));
  if (pending) {
    pending.consumed = true;
    return Promise.resolve(pending.args);
  }
  return nextEntry(socket, event, matches, timeoutMs, `no matching "${event}" within ${timeoutMs} ms`);
}

/**
 * The next `event` on `socket` whose first argument satisfies `matches`; the non-matching
 * ones before it are consumed (skipped).
 */
export async function nextEventWhere(socket, event, matches, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`no matching "${event}" within ${timeoutMs} ms`);
    const [payload] = await once(socket, event, remaining);
    if (matches(payload)) return payload;
  }
}

/**
 * Resolves after `ms` if no (unconsumed) `event` arrived on `socket`, rejects otherwise. Call
 * it after a positive sync point (chat.mjs `syncPoint`), with `ms` 0: once the marker arrived,
 * whatever the action under test would have caused has arrived too. `matches` (of the
 * argument array) narrows the check to some of the `event`s.
 */
export function expectNoEvent(socket, event, ms = 500, matches = () => true) {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      const seen = socket.__record.filter((e) => e.event === event && !e.consumed && matches(e.args));
      if (seen.length > 0) {
        reject(new Error(`unexpected "${event}": ${JSON.stringify(seen.map((e) => e.args))}`));
      } else {
        resolve();
      }
    }, ms);
  });
}

/** Every event name recorded on the socket so far, in arrival order. */
export function recordedEvents(socket) {
  return socket.__record.map((e) => e.event);
}

/** How often `event` was recorded on the socket so far (consumed or not). */
export function countEvents(socket, event) {
  return socket.__record.filter((e) => e.event === event).length;
}

/** All recorded entries ({event, args}) of a socket, consumed or not. */
export function recorded(socket) {
  return socket.__record.map(({ event, args }) => ({ event, args }));
}

/** Emits with an acknowledgement; resolves with the ack's argument array. */
export function emitWithAckArgs(socket, event, args, timeoutMs = DEFAULT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, ...args, (err, ...ackArgs) => {
      if (err) reject(new Error(`no ack for "${event}" within ${timeoutMs} ms`));
      else resolve(ackArgs);
    });
  });
}

/** Normalises a received binary value (Buffer, ArrayBuffer, typed array) to a Buffer. */
export function toBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`not binary: ${Object.prototype.toString.call(value)}`);
}

/** Recursively replaces binary values by Buffers so results compare with deepEqual. */
export function normaliseBinary(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return toBuffer(value);
  if (Array.isArray(value)) return value.map(normaliseBinary);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseBinary(v)]));
  }
  return value;
}

/** Waits for `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
