// A private redis-server per test file: its own free port (never 6379, the machine's), no
// persistence, killed when the process exits. It can be killed (SIGKILL, like a crash) and
// started again on the same port, empty, to test outages.
//
// A missing redis-server is a test FAILURE, not a skip: the cluster tests must not pass on a
// machine that cannot run them (apt-get install -y redis-server).
import { spawn, spawnSync } from "node:child_process";
import { freePort } from "./server.mjs";

const READY_TIMEOUT_MS = 10_000;

const running = new Set();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

function assertInstalled() {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error) {
    throw new Error(
      `redis-server is not installed or not on PATH (${probe.error.message}): the cluster tests need a ` +
        "real Redis (apt-get install -y redis-server). Failing rather than skipping.",
    );
  }
}

function launch(port) {
  const proc = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(proc);
  let output = "";
  const exited = new Promise((resolve) =>
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.setEncoding("utf8").on("data", onData);
    proc.stderr.setEncoding("utf8").on("data", onData);
    proc.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not start: ${error.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited (${code ?? signal}):\n${output}`));
    });
  });
  return { proc, exited, ready };
}

/**
 * Starts redis-server on a free port and resolves once it accepts connections.
 * @returns {Promise<{port: number, url: string, kill: () => Promise<void>, restart: () => Promise<void>,
 *   stop: () => Promise<void>}>}
 */
export async function startRedis() {
  assertInstalled();
  const port = await freePort();
  let current = launch(port);
  await current.ready;
  const kill = async () => {
    if (current.proc.exitCode === null && current.proc.signalCode === null) current.proc.kill("SIGKILL");
    await current.exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** Crash: SIGKILL, clients see the connection drop. */
    kill,
    /** Starts a fresh, empty server on the same port after kill(). */
    async restart() {
      await kill();
      current = launch(port);
      await current.ready;
    },
    async stop() {
      if (current.proc.exitCode === null && current.proc.signalCode === null) current.proc.kill("SIGTERM");
      await current.exited;
    },
  };
}
