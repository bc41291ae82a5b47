// A private Redis Cluster per test file: `masters` redis-server processes (plus `replicas` per
// master) on free ports whose cluster bus ports (+10000) are free too, joined with
// `redis-cli --cluster create`. No persistence; every process is killed when the test process
// exits. A master can be killed (SIGKILL) to make its replica take over, a slot can be moved
// to another master as `redis-cli --cluster reshard` moves it (`migrateSlot`), and the whole
// cluster can be restarted empty on the same ports (`restartEmpty`).
//
// A missing redis-server or redis-cli is a test FAILURE, not a skip (apt-get install -y
// redis-server, which ships both).
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const READY_TIMEOUT_MS = 20_000;
/** How long a master may be unreachable before the cluster fails it over (ms). */
export const NODE_TIMEOUT_MS = 1000;
const BUS_OFFSET = 10_000;

const running = new Set();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

const run = promisify(execFile);

function assertInstalled() {
  for (const tool of ["redis-server", "redis-cli"]) {
    const probe = spawnSync(tool, ["--version"], { encoding: "utf8" });
    if (probe.error) {
      throw new Error(`${tool} is not installed (${probe.error.message}): apt-get install -y redis-server. Failing, not skipping.`);
    }
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A free port whose bus port (+10000) is free as well. */
async function freeClusterPort(taken) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + BUS_OFFSET)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_OFFSET))) {
      taken.add(port);
      taken.add(port + BUS_OFFSET);
      return port;
    }
  }
  throw new Error("no free port pair (port, port + 10000) found");
}

function launch(port, dir) {
  const proc = spawn(
    "redis-server",
    [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${port}.conf`),
      "--cluster-node-timeout", String(NODE_TIMEOUT_MS), "--dir", dir,
      // A replica takes over however long ago it last heard its master (a test kills masters
      // seconds after the cluster formed).
      "--cluster-replica-validity-factor", "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(proc);
  let output = "";
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => (running.delete(proc), resolve({ code, signal }))));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes("Ready to accept connections")) (clearTimeout(timer), resolve());
    };
    proc.stdout.setEncoding("utf8").on("data", onData);
    proc.stderr.setEncoding("utf8").on("data", onData);
    exited.then(({ code, signal }) => (clearTimeout(timer), reject(new Error(`redis-server on ${port} exited (${code ?? signal}):\n${output}`))));
  });
  return { proc, exited, ready };
}

/** `redis-cli -p <port> <args...>`; resolves with its standard output. */
export async function cli(port, ...args) {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args.map(String)], { timeout: 10_000 });
  return stdout;
}

/** Parsed `CLUSTER NODES` as seen by the node on `port`. */
async function clusterNodes(port) {
  const text = await cli(port, "CLUSTER", "NODES");
  return text.trim().split("\n").map((line) => {
    const [id, address, flags, master, , , , state, ...slots] = line.split(" ");
    return {
      id, port: Number(address.split("@")[0].split(":")[1]), flags: flags.split(","),
      masterId: master, connected: state === "connected", slots,
    };
  });
}

async function waitFor(what, check, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not within ${timeoutMs} ms (${last?.message ?? "no error"})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a cluster and resolves once every slot is served and every node agrees.
 * @returns {Promise<{urls: string[], ports: number[], masterOf: (key: string) => Promise<number>,
 *   replicaOf: (port: number) => Promise<number|undefined>, kill: (port: number) => Promise<void>,
 *   waitHealthy: () => Promise<void>, stop: () => Promise<void>}>}
 */
export async function startRedisCluster({ masters = 3, replicas = 0 } = {}) {
  assertInstalled();
  const dir = mkdtempSync(join(tmpdir(), "chat-redis-cluster-"));
  const taken = new Set();
  const ports = [];
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freeClusterPort(taken));
  const nodes = new Map(ports.map((port) => [port, launch(port, dir)]));
  await Promise.all([...nodes.values()].map((node) => node.ready));
  const create = () => run("redis-cli", [
    "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`),
    "--cluster-replicas", String(replicas), "--cluster-yes",
  ], { timeout: 30_000 });
  await create();
  const alive = () => ports.filter((port) => nodes.get(port).proc.exitCode === null && nodes.get(port).proc.signalCode === null);
  // Healthy: on every live node's view, the masters serving slots are all alive and as many
  // as asked for, and every live replica is attached to one of them.
  const waitHealthy = () =>
    waitFor("cluster_state:ok on every live node", async () => {
      const live = alive();
      for (const port of live) {
        if (!(await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) return false;
        const view = await clusterNodes(port);
        const serving = view.filter((n) => n.flags.includes("master") && n.slots.length > 0);
        if (serving.length !== masters || serving.some((n) => !live.includes(n.port) || n.flags.includes("fail"))) return false;
        const servingIds = new Set(serving.map((n) => n.id));
        const attached = view.filter((n) => live.includes(n.port) && n.flags.includes("slave") && servingIds.has(n.masterId));
        if (attached.length !== live.length - masters) return false;
        if (view.find((n) => n.port === port)?.flags.includes("slave") &&
          !(await cli(port, "INFO", "replication")).includes("master_link_status:up")) return false;
      }
      return true;
    });
  await waitHealthy();
  const myId = async (port) => (await cli(port, "CLUSTER", "MYID")).trim();
  const slotOf = async (key) => Number((await cli(alive()[0], "CLUSTER", "KEYSLOT", key)).trim());
  const ownerOfSlot = async (slot, port = alive()[0]) => {
    const owner = (await clusterNodes(port)).find((n) => n.flags.includes("master") && !n.flags.includes("fail") &&
      n.slots.some((range) => {
        const [from, to = from] = range.split("-").map(Number);
        return slot >= from && slot <= to;
      }));
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  };
  return {
    urls: ports.slice(0, masters).map((p) => `redis://127.0.0.1:${p}`),
    ports,
    /** Port of the master serving `key`'s slot (a channel name works too). */
    async masterOf(key) {
      const port = alive()[0];
      const slot = Number((await cli(port, "CLUSTER", "KEYSLOT", key)).trim());
      const view = await clusterNodes(port);
      const owner = view.find((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.some((range) => {
        const [from, to = from] = range.split("-").map(Number);
        return slot >= from && slot <= to;
      }));
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return owner.port;
    },
    /** Port of a replica of the master on `port`, if it has one. */
    async replicaOf(port) {
      const view = await clusterNodes(alive().find((p) => p !== port));
      const master = view.find((n) => n.port === port);
      return view.find((n) => n.masterId === master?.id && n.flags.includes("slave"))?.port;
    },
    /** SIGKILL of one node, as a crash. */
    async kill(port) {
      const node = nodes.get(port);
      if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill("SIGKILL");
      await node.exited;
    },
    waitHealthy,
    slotOf,
    ownerOfSlot,
    /** Ports of the masters, in the order they were created. */
    masters: () => ports.slice(0, masters),
    /**
     * Moves `slot` to the master on `toPort` step by step, as `redis-cli --cluster reshard`
     * does: `SETSLOT IMPORTING` on the target, `SETSLOT MIGRATING` on the source, its keys
     * `MIGRATE`d in batches, then `SETSLOT NODE` on the target, the source and every other
     * master. `hold(stage)` is awaited once the slot is migrating (its keys still on the
     * source: a missing key is answered with ASK) and once its keys moved (every key of it
     * now answered with ASK), so that traffic can run against each stage. Returns the source's
     * port.
     */
    async migrateSlot(slot, toPort, { hold = async () => {} } = {}) {
      const fromPort = await ownerOfSlot(slot);
      if (fromPort === toPort) return fromPort;
      const [fromId, toId] = [await myId(fromPort), await myId(toPort)];
      await cli(toPort, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
      await cli(fromPort, "CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
      await hold("migrating");
      for (;;) {
        const keys = (await cli(fromPort, "CLUSTER", "GETKEYSINSLOT", slot, 100)).trim().split("\n").filter(Boolean);
        if (keys.length === 0) break;
        const reply = (await cli(fromPort, "MIGRATE", "127.0.0.1", toPort, "", 0, 5000, "KEYS", ...keys)).trim();
        if (reply !== "OK" && reply !== "NOKEY") throw new Error(`MIGRATE of slot ${slot}: ${reply}`);
      }
      await hold("migrated");
      for (const port of [toPort, fromPort, ...alive().filter((p) => p !== toPort && p !== fromPort)]) {
        const view = await clusterNodes(port);
        if (!view.find((n) => n.port === port)?.flags.includes("master")) continue;
        await cli(port, "CLUSTER", "SETSLOT", slot, "NODE", toId);
      }
      await waitFor(`slot ${slot} served by ${toPort} on every node`, async () => {
        for (const port of alive()) if ((await ownerOfSlot(slot, port)) !== toPort) return false;
        return true;
      });
      return fromPort;
    },
    /**
     * Every server killed (SIGKILL, no data kept: no persistence), started again empty on the
     * same ports, the cluster created anew (new node ids, the default slot layout); resolves
     * once it is healthy.
     */
    async restartEmpty() {
      for (const port of ports) await this.kill(port);
      for (const port of ports) rmSync(join(dir, `nodes-${port}.conf`), { force: true });
      for (const port of ports) nodes.set(port, launch(port, dir));
      await Promise.all([...nodes.values()].map((node) => node.ready));
      await create();
      await waitHealthy();
    },
    async stop() {
      for (const node of nodes.values()) if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill("SIGTERM");
      await Promise.all([...nodes.values()].map((node) => node.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
