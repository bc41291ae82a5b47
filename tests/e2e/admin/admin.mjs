// Helpers of the Admin UI tests: a node with the admin namespace, a dashboard connection made
// with the plain socket.io-client (as the UI makes it), and waiting for dashboard events.
import bcrypt from "bcryptjs";
import { connect, createSocket, once } from "../lib/client.mjs";

export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "changeit";
/** The bcrypt hash the nodes are configured with (cost 4: fast tests). */
export const ADMIN_HASH = bcrypt.hashSync(ADMIN_PASSWORD, 4);

/** Flags of a node with the admin namespace (basic auth) plus `extra`. */
export function adminArgs(extra = []) {
  return ["--admin", "--admin-password-hash", ADMIN_HASH, ...extra];
}

/** A connected dashboard socket (rejects with the connect_error). */
export function connectAdmin(url, { auth = { username: ADMIN_USER, password: ADMIN_PASSWORD }, nsp = "/admin", ...opts } = {}) {
  return connect(`${url}${nsp}`, { withCredentials: true, auth, ...opts });
}

/** The connect_error message of a dashboard connection that must be refused. */
export async function adminRefusal(url, options = {}) {
  try {
    const socket = await connectAdmin(url, options);
    socket.disconnect();
  } catch (err) {
    return err.message;
  }
  throw new Error("the admin namespace accepted the connection");
}

/** The next `event` whose arguments satisfy `matches` (others are consumed and skipped). */
export async function nextWhere(socket, event, matches, timeoutMs = 6000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no matching "${event}" within ${timeoutMs} ms`);
    const args = await once(socket, event, left);
    if (matches(...args)) return args;
  }
}

/** `server_stats` of server `serverId`. */
export function statsOf(socket, serverId, timeoutMs = 6000) {
  return nextWhere(socket, "server_stats", (s) => s.serverId === serverId, timeoutMs).then(([s]) => s);
}

/** Emits with an ack; resolves with the ack's first argument. */
export function command(socket, ...args) {
  return socket.timeout(3000).emitWithAck(...args);
}

/** A counter of the node's /metrics (0 when absent). */
export async function metric(node, name, labels) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const escaped = labels.replace(/[{}"]/g, (c) => `\\${c}`);
  const match = text.match(new RegExp(`^${name}\\{${escaped}\\} (\\d+)`, "m"));
  return match ? Number(match[1]) : 0;
}

export { createSocket };
