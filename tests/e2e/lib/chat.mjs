// Chat-level helpers (SPEC §2): users, tabs and private messages over socket.io-client.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, nextEventWhere, once, onceWhere } from "./client.mjs";
import { presenceDecided, sessionClosed } from "./signals.mjs";

/** A username no other test on the same server uses. */
export function uniqueName(prefix = "user") {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Connects one tab with the given handshake auth and waits for its `session` and
 * `users` events. Resolves with { socket, session, users }.
 */
export async function connectWithAuth(url, clientOpts, auth) {
  const socket = await connect(url, { ...clientOpts, auth });
  const [session] = await once(socket, "session");
  const [users] = await once(socket, "users");
  return { socket, session, users };
}

/** A new user (auth {username}). */
export function connectUser(url, clientOpts, username = uniqueName()) {
  return connectWithAuth(url, clientOpts, { username });
}

/** Another tab of an existing user (auth {sessionID}). */
export function connectTab(url, clientOpts, sessionID) {
  return connectWithAuth(url, clientOpts, { sessionID });
}

/**
 * Sends `private message` with an acknowledgement and resolves with the ack payload.
 *
 * E2E_ACK_OPTIONAL=1 lets the suite be cross-checked against the Node reference
 * server, which never acknowledges: the helper then resolves `undefined` after a
 * short pause instead of failing. Never set it against chat-server.
 */
export function sendPrivateMessage(socket, payload, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    if (process.env.E2E_ACK_OPTIONAL === "1") {
      socket.emit("private message", payload);
      setTimeout(() => resolve(undefined), 100);
      return;
    }
    socket.timeout(timeoutMs).emit("private message", payload, (err, ack) => {
      if (err) reject(new Error(`no ack for private message ${JSON.stringify(payload)} within ${timeoutMs} ms`));
      else resolve(ack);
    });
  });
}

/** Asserts a successful acknowledgement: {ok: true, id: <string>} (extra fields allowed). */
export function assertAckOk(ack) {
  if (ack === undefined && process.env.E2E_ACK_OPTIONAL === "1") return;
  assert.equal(ack?.ok, true, `expected a success ack, got ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.id, "string");
  assert.ok(ack.id.length > 0);
}

/** The three contract fields of a stored or delivered message. */
export function coreMessage(message) {
  return { content: message.content, from: message.from, to: message.to };
}

/** The `users` entry for a userID, failing clearly if absent. */
export function userEntry(users, userID) {
  const entry = users.find((u) => u.userID === userID);
  assert.ok(entry, `user ${userID} missing from users: ${JSON.stringify(users)}`);
  return entry;
}

/** Expects the connection to be refused with CONNECT_ERROR {message: "invalid username"}. */
export async function assertRefused(url, clientOpts, auth) {
  await assert.rejects(connect(url, { ...clientOpts, auth }), (err) => {
    assert.equal(err.message, "invalid username", `auth ${JSON.stringify(auth)}`);
    return true;
  });
}

/** The `user disconnected` about `userID` (the other users' before it are skipped). */
export function disconnectOf(socket, userID, timeoutMs) {
  return nextEventWhere(socket, "user disconnected", (id) => id === userID, timeoutMs);
}

/** The `user connected` about `userID` (the other users' before it are skipped). */
export function connectOf(socket, userID, timeoutMs) {
  return nextEventWhere(socket, "user connected", (user) => user?.userID === userID, timeoutMs);
}

/**
 * Waits until `user disconnected` arrived for every id of `userIDs` (in any order, other
 * users' announcements skipped); resolves with the ids in arrival order.
 */
export async function disconnectsOf(socket, userIDs, timeoutMs = 5000) {
  const wanted = new Set(userIDs);
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  while (seen.length < wanted.size) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`user disconnected only for ${JSON.stringify(seen)} of ${JSON.stringify(userIDs)} within ${timeoutMs} ms`);
    }
    const [id] = await once(socket, "user disconnected", remaining);
    if (wanted.has(id) && !seen.includes(id)) seen.push(id);
  }
  return seen;
}

/** `expectNoEvent` filter: the event is about `userID` (a `user disconnected` id or a user entry). */
export const about = (userID) => (args) => args[0] === userID || args[0]?.userID === userID;

/**
 * A positive sync point before a "nothing arrived" check on private messages: `from` (a
 * connected user `{socket, session}`) sends a marker private message to `toUserID` and this
 * resolves once every socket of `sockets` (tabs of that user, on any node) received it; only
 * the marker is consumed. Delivery is FIFO per connection and a message is routed before its
 * ack, so what an earlier acked message (or refusal) would have delivered has arrived by then.
 */
export async function messageSyncPoint(from, toUserID, sockets, timeoutMs = 5000) {
  const content = `sync point ${uniqueName("marker")}`;
  assertAckOk(await sendPrivateMessage(from.socket, { content, to: toUserID }));
  await Promise.all(
    sockets.map((socket) => onceWhere(socket, "private message", ([m]) => m?.content === content, timeoutMs)),
  );
}

/**
 * A positive sync point before a "nothing arrived" check on presence: a new user connects to
 * `url` and this resolves once every socket of `sockets` was told `user connected` about it
 * (only that event consumed). The announcement goes through the node's hub, after whatever the
 * hub was asked to do before (a tab's Leave, sent before the server closed its session), so on
 * one node a departure the hub would have announced has been announced by then. Resolves with
 * the marker user; it stays connected (closing it would be announced).
 */
export async function presenceSyncPoint(url, clientOpts, sockets, timeoutMs = 5000) {
  const marker = await connectUser(url, clientOpts, uniqueName("marker"));
  const id = marker.session.userID;
  await Promise.all(
    sockets.map((socket) => onceWhere(socket, "user connected", ([user]) => user?.userID === id, timeoutMs)),
  );
  return marker;
}

/**
 * Closes `tab` (a DISCONNECT, as a closed browser tab) on the node at `url`, waits until that
 * node closed its session and decided whether the user is gone, then for a presence sync point
 * on that node: whatever the departure caused has reached every socket of `watchers` by then.
 */
export async function closeAndSync(url, clientOpts, tab, watchers) {
  const sid = tab.socket.io.engine.id;
  tab.socket.disconnect();
  await sessionClosed(url, sid);
  await presenceDecided(url);
  return presenceSyncPoint(url, clientOpts, watchers);
}
