// The drain benchmark of connection state recovery: USERS users chat through nginx
// on the node ip_hash pins 127.0.0.1 to; that node is drained (SIGTERM) or killed (SIGKILL);
// every client reconnects by itself (official socket.io-client 4.8.4, default backoff) to the
// other node. Measured from the signal: time until every user is back (recovered, or given
// its `users` list), bytes the surviving node sent meanwhile, and its CPU time; plus what
// recovery costs per connected user (Redis memory of the recovery keys, node RSS).
//
//   node bench/drain.mjs [on|off] [USERS] [term|kill] [MESSAGES]
//
// MESSAGES (default 0): private messages each user sends to others before the drain, so that
// the `users` lists of a normal reconnection carry conversations, as in a real chat.
//
// Also counted: the presence events (`user connected` / `user disconnected`) each client
// receives from the signal until everyone is back and settled (the presence grace, default
// 3 000 ms, or $GRACE_MS, plus 1 s), and the users announced gone meanwhile.
//
// Uses target/release/chat-server (or $CHAT_SERVER_BIN) and the e2e helpers; $NODE_ARGS adds
// flags to both nodes; prints one JSON line. Run both modes in one sitting: bench/drain.sh.
//
// SERVER=reference drains the reference design instead (the kit's reference-server.mjs, from
// $KIT, default /tmp/bench, installed by bench/compare.sh): it has no recovery, no /health
// and no byte counter, so the pinned node is the one holding the users' sockets and the
// bytes are not reported; SIGTERM ends it at once, as Node's default handler does.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { startNginx } from "../tests/e2e/lib/nginx.mjs";
import { startRedis } from "../tests/e2e/lib/redis.mjs";
import { startNodeServer } from "../tests/e2e/cluster/reference-node.mjs";
import { REPO_ROOT, startServer } from "../tests/e2e/lib/server.mjs";

const require = createRequire(join(REPO_ROOT, "tests/e2e/package.json"));
const { io } = require("socket.io-client");
const { Redis } = require("ioredis");

const mode = process.argv[2] ?? "on";
const users = Number(process.argv[3] ?? 2000);
const ending = process.argv[4] ?? "term";
const messagesPerUser = Number(process.argv[5] ?? 0);
process.env.CHAT_SERVER_BIN ??= join(REPO_ROOT, "target/release/chat-server");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Connecting everyone may take this long ($CONNECT_TIMEOUT_S, default 120 s); a server that cannot is reported as failed. */
const CONNECT_TIMEOUT_MS = Number(process.env.CONNECT_TIMEOUT_S ?? 120) * 1000;
const window = mode === "on" ? "120" : "0";
const graceMs = Number(process.env.GRACE_MS ?? 3000);
const reference = process.env.SERVER === "reference";
const kit = process.env.KIT ?? "/tmp/bench";

/** The kit's reference server on a free port, once it accepts connections. */
function startReference(redis) {
  if (!existsSync(join(kit, "node_modules"))) throw new Error(`no benchmark kit in ${kit}: run bench/compare.sh once, or set KIT`);
  return startNodeServer(join(kit, "reference-server.mjs"), { REDIS_URL: redis.url });
}

/** Open file descriptors of a process: the node ip_hash pinned holds one per user. */
function openFiles(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function startNode(redis, id) {
  if (reference) return startReference(redis);
  return startServer({
    args: [
      "--redis-url", redis.url, "--node-id", id, "--drain-timeout-secs", "5", "--recovery-window-secs", window,
      ...(process.env.NODE_ARGS ?? "").split(" ").filter(Boolean),
    ],
    // The e2e helpers default the grace to 0 for the tests; the benchmark runs the default.
    env: { REDIS_URL: redis.url, CHAT_PRESENCE_GRACE_MS: String(graceMs) },
  });
}

async function metric(node, name) {
  if (reference) return null;
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const match = text.match(new RegExp(`^${name} (\\d+)`, "m"));
  return match ? Number(match[1]) : 0;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]);
}

const redis = await startRedis();
const nodes = [await startNode(redis, "a"), await startNode(redis, "b")];
const nginx = await startNginx(nodes.map((n) => n.port), { workerConnections: users * 2 + 1024 });
const redisClient = new Redis(redis.url);
try {
  const redisBefore = Number((await redisClient.info("memory")).match(/used_memory:(\d+)/)[1]);
  const rssBefore = nodes.map((n) => rssKiB(n.proc.pid));
  const sockets = [];
  const state = new Map();
  const connectDeadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (let i = 0; i < users; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(users, i + 100); j++) {
      const socket = io(nginx.url, { transports: ["websocket"], forceNew: true, auth: { username: `u${j}` } });
      const s = { back: false, recovered: false, usersEvents: 0, connects: 0, presence: 0, counting: false };
      state.set(socket, s);
      socket.on("session", ({ sessionID, userID }) => {
        socket.auth = { sessionID };
        socket.userID = userID;
      });
      socket.on("users", () => s.usersEvents++);
      socket.on("user connected", () => s.counting && s.presence++);
      socket.on("user disconnected", () => s.counting && s.presence++);
      socket.on("connect", () => s.connects++);
      sockets.push(socket);
      batch.push(new Promise((resolve) => socket.once("users", resolve)));
    }
    const left = connectDeadline - Date.now();
    const connected = await Promise.race([Promise.all(batch).then(() => true), sleep(Math.max(0, left)).then(() => false)]);
    if (!connected) {
      const have = [...state.values()].filter((s) => s.usersEvents > 0).length;
      throw new Error(`only ${have} of ${users} users connected within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }
  }
  // Conversations: each user writes to the next ones (acknowledged, so all persisted).
  const userIDs = await Promise.all(sockets.map((socket) => new Promise((resolve) => {
    if (socket.userID) return resolve(socket.userID);
    socket.once("session", ({ userID }) => resolve(userID));
  })));
  for (let k = 1; k <= messagesPerUser; k++) {
    await Promise.all(
      sockets.map((socket, i) =>
        socket.timeout(10_000).emitWithAck("private message", { content: `message ${k} from u${i}`, to: userIDs[(i + k) % users] }),
      ),
    );
  }
  await sleep(2000);
  // The node nginx's ip_hash pins 127.0.0.1 to: ours says so on /health; the reference's is
  // the one holding the users' sockets.
  let pinnedIndex;
  if (reference) {
    const files = nodes.map((n) => openFiles(n.proc.pid));
    pinnedIndex = files[0] > files[1] ? 0 : 1;
  } else {
    const pinned = (await (await fetch(`${nginx.url}/health`)).json()).node;
    const ids = await Promise.all(nodes.map(async (n) => (await (await fetch(`${n.url}/health`)).json()).node));
    pinnedIndex = ids.indexOf(pinned);
  }
  const victim = nodes[pinnedIndex];
  const survivor = nodes[1 - pinnedIndex];
  const connectedRss = rssKiB(victim.proc.pid);
  const recoveryKeys = (await redisClient.keys("chat:recovery:pid:*")).length;
  const redisAfter = Number((await redisClient.info("memory")).match(/used_memory:(\d+)/)[1]);
  const sample = recoveryKeys ? await redisClient.memory("USAGE", (await redisClient.keys("chat:recovery:pid:*"))[0]) : 0;

  const bytesBefore = await metric(survivor, "chat_bytes_sent_total");
  const cpuBefore = cpuSeconds(survivor.proc.pid);
  const started = Date.now();
  for (const socket of sockets) {
    const s = state.get(socket);
    s.counting = true;
    socket.once("connect", () => {
      s.recovered = socket.recovered;
      if (s.recovered) s.back = Date.now();
    });
    socket.on("users", () => {
      if (!s.back) s.back = Date.now();
    });
  }
  const ended = ending === "kill" ? victim.kill() : victim.stop();
  for (;;) {
    const waiting = sockets.filter((socket) => !state.get(socket).back).length;
    if (waiting === 0) break;
    if (Date.now() - started > 120_000) throw new Error(`${waiting} users not back after 120 s`);
    await sleep(50);
  }
  const allBack = (Math.max(...[...state.values()].map((s) => s.back)) - started) / 1000;
  await ended;
  // Departures are decided once the grace is over: what clients hear of presence settles then.
  await sleep(Math.max(0, started + graceMs + 1000 - Date.now()) + 1000);
  const presence = [...state.values()].map((s) => s.presence);
  const bytesAfter = await metric(survivor, "chat_bytes_sent_total");
  const bytes = bytesAfter === null ? null : bytesAfter - bytesBefore;
  const cpu = cpuSeconds(survivor.proc.pid) - cpuBefore;
  const recovered = [...state.values()].filter((s) => s.recovered).length;
  console.log(
    JSON.stringify({
      server: reference ? "reference" : "ours",
      mode: reference ? "no recovery" : `recovery ${mode}`,
      node_args: process.env.NODE_ARGS ?? "",
      ending: ending === "kill" ? "SIGKILL" : "SIGTERM",
      users,
      messages_per_user: messagesPerUser,
      all_back_s: allBack,
      recovered,
      survivor_bytes_sent_MiB: bytes === null ? null : +(bytes / 1048576).toFixed(2),
      survivor_cpu_s: +cpu.toFixed(2),
      survivor_cpu_ms_per_user: +((cpu * 1000) / users).toFixed(2),
      presence_grace_ms: reference ? null : graceMs,
      presence_events_per_client_mean: +(presence.reduce((a, b) => a + b, 0) / users).toFixed(2),
      presence_events_per_client_max: Math.max(...presence),
      redis_recovery_keys: recoveryKeys,
      redis_bytes_per_connected_user: Math.round((redisAfter - redisBefore) / users),
      redis_memory_usage_of_one_pid_key: sample,
      node_rss_per_connected_user_KiB: +((connectedRss - rssBefore[pinnedIndex]) / users).toFixed(1),
    }),
  );
  for (const socket of sockets) socket.disconnect();
} catch (error) {
  console.log(JSON.stringify({ server: reference ? "reference" : "ours", users, ending: ending === "kill" ? "SIGKILL" : "SIGTERM", failed: error.message }));
  process.exitCode = 1;
} finally {
  redisClient.disconnect();
  await nginx.stop();
  for (const node of nodes) await node.stop();
  await redis.stop();
}
// Clients still trying to reconnect (after a failure) must not keep the process alive.
process.exit(process.exitCode ?? 0);
