// Chat-level helpers (SPEC §2): users, tabs and private messages over socket.io-client.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, once } from "./client.mjs";

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
