// Waiting on what the server says, not on the clock: polling a condition, reading /metrics and
// /health, and knowing when the server has seen a session close. A test that waits here
// proceeds as soon as the thing it waits for happened, and fails with the thing it waited
// for named when it never does.
//
// Every helper taking a `target` accepts a URL string or anything with a `url` (a started
// server or cluster node).

const urlOf = (target) => (typeof target === "string" ? target : target.url);

/**
 * Resolves with `probe()`'s value once it is truthy (polling every `intervalMs`); rejects
 * after `timeoutMs` naming `what`.
 */
export async function eventually(what, probe, timeoutMs = 10_000, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The Prometheus text of GET /metrics. */
export async function metricsText(target) {
  return (await fetch(`${urlOf(target)}/metrics`)).text();
}

/**
 * The value of one sample of `name` (with exactly the given labels, in the server's order),
 * 0 when never counted.
 */
export async function metric(target, name, labels = {}) {
  const text = await metricsText(target);
  const entries = Object.entries(labels);
  const selector = entries.length ? `{${entries.map(([k, v]) => `${k}="${v}"`).join(",")}}` : "";
  const escaped = `${name}${selector}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = text.match(new RegExp(`^${escaped} (\\S+)$`, "m"));
  return match ? Number(match[1]) : 0;
}

/** The value of one `chat_errors_total` counter (0 when never counted). */
export function errorCount(target, kind) {
  return metric(target, "chat_errors_total", { kind });
}

/**
 * Waits until the sample reaches `expected` and resolves with its value, which may be past
 * it: callers assert the exact value, so a test still fails when the server counts too much.
 */
export async function metricReaches(target, name, labels, expected, timeoutMs = 5000) {
  let last = 0;
  try {
    return await eventually(
      `${name}${JSON.stringify(labels)} >= ${expected}`,
      async () => {
        last = await metric(target, name, labels);
        return last >= expected ? last : false;
      },
      timeoutMs,
    );
  } catch (err) {
    err.message += ` (last value ${last})`;
    throw err;
  }
}

/** `errorCount` once it reached `expected` (see metricReaches). */
export function errorCountReaches(target, kind, expected, timeoutMs) {
  return metricReaches(target, "chat_errors_total", { kind }, expected, timeoutMs);
}

/** GET /health: `{status, body}` (whatever the status code). */
export async function health(target) {
  const res = await fetch(`${urlOf(target)}/health`);
  return { status: res.status, body: await res.json() };
}

/**
 * Waits until `node`'s /health lists every id of `peerIds` among its live peers and, when
 * `users` is given, its last read user list of each peer `id` held exactly `users[id]` users
 * (the heartbeats were heard and the lists read: what presence decisions go by).
 */
export function peersKnown(node, peerIds, users = {}, timeoutMs = 10_000) {
  return eventually(
    `${urlOf(node)} to know peers ${JSON.stringify(peerIds)} with users ${JSON.stringify(users)}`,
    async () => {
      const { body } = await health(node);
      const peers = body.peers ?? [];
      const counts = body.peer_users ?? {};
      return (
        peerIds.every((id) => peers.includes(id)) &&
        Object.entries(users).every(([id, n]) => counts[id] === n)
      );
    },
    timeoutMs,
  );
}

/** Waits until every node of `nodes` knows every other by its node id (`ids[i]` of `nodes[i]`). */
export async function meshFormed(nodes, ids, timeoutMs = 10_000) {
  await Promise.all(nodes.map((node, i) => peersKnown(node, ids.filter((_, j) => j !== i), {}, timeoutMs)));
}

/**
 * Whether the server no longer has Engine.IO session `sid`: a plain GET with
 * `transport=websocket` (no Upgrade) is refused with code 1 "Session ID unknown" once the
 * session is gone and with code 3 "Bad request" while it exists. No side effect on the session.
 */
export async function sessionGone(target, sid, path = "/socket.io/") {
  const res = await fetch(`${urlOf(target)}${path}?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
  const body = await res.json().catch(() => ({}));
  return body.code === 1;
}

/** Waits until the server has closed Engine.IO session `sid` (it saw the client go). */
export function sessionClosed(target, sid, timeoutMs = 5000) {
  return eventually(`the server to close session ${sid}`, () => sessionGone(target, sid), timeoutMs);
}

/**
 * Closes a socket.io-client socket's transport abruptly (no Socket.IO DISCONNECT, as a network
 * drop) and waits until the server has noticed.
 */
export async function dropTransport(target, socket, timeoutMs) {
  const sid = socket.io.engine.id;
  socket.io.engine.close();
  await sessionClosed(target, sid, timeoutMs);
}

/**
 * Waits until a socket.io-client socket is on its final transport: upgraded to WebSocket when
 * the server offered it and the client allows it, no probe in flight.
 */
export function transportSettled(socket, timeoutMs = 5000) {
  return eventually(
    "the client's transport upgrade",
    () => {
      const engine = socket.io.engine;
      if (!engine || engine.upgrading) return false;
      const canUpgrade = (engine.upgrades ?? []).includes("websocket") && engine.opts?.upgrade !== false;
      return engine.transport?.name === "websocket" || !canUpgrade;
    },
    timeoutMs,
    10,
  );
}

/**
 * Waits until `node` has decided every departure it was asked about (/health
 * `presence_checks_pending` is 0): whatever it was going to announce, it has announced.
 */
export function presenceDecided(node, timeoutMs = 10_000) {
  return eventually(
    `${urlOf(node)} to decide its pending departures`,
    async () => (await health(node)).body.presence_checks_pending === 0,
    timeoutMs,
  );
}
