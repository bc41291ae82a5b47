// Starts a real chat-server process for a test file and tears it down again.
//
// Every test talks to the actual binary over real sockets: nothing here mocks the
// server. The binary comes from CHAT_SERVER_BIN (default <repo>/target/debug/chat-server).
// A path ending in .mjs/.js is run with `node` instead (PORT is also set in its
// environment), which lets the suite be cross-checked against a Node.js server.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as connectTcp, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the Rust workspace (tests/e2e/lib -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
/** Keep only the tail of the server's output: enough to explain a failure, bounded memory. */
const OUTPUT_LIMIT = 64 * 1024;

/** Every server still running, so a crashed test run never leaves orphans behind. */
const running = new Set();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

/** Path of the server under test, checked so a missing build fails with a clear message. */
export function serverBinary() {
  const bin = process.env.CHAT_SERVER_BIN || join(REPO_ROOT, "target/debug/chat-server");
  if (!existsSync(bin)) {
    throw new Error(
      `chat-server binary not found at ${bin}: run \`cargo build --bin chat-server\` in ${REPO_ROOT} ` +
        "or set CHAT_SERVER_BIN",
    );
  }
  return bin;
}

/** A port that was free a moment ago (the OS picks it; the server binds it right after). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    // On every address, as the server binds (0.0.0.0): a port free on 127.0.0.1 only may be
    // the local port of another address's connection (a load generator's 127.0.0.2 source).
    srv.listen(0, "0.0.0.0", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function tail(text) {
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text;
}

function isNodeScript(bin) {
  return /\.(mjs|cjs|js)$/.test(bin);
}

/**
 * Spawns the server on a free port and resolves once GET /health answers 200.
 *
 * @param {{ args?: string[], env?: Record<string,string>, port?: number }} options extra CLI flags
 *   and env vars; `port` binds that port instead of a free one (to restart a node where its
 *   clients will look for it), without retries: a taken port is an error then
 * @returns {Promise<{ url: string, port: number, proc: import("node:child_process").ChildProcess,
 *   stop: () => Promise<{code: number|null, signal: string|null}>, kill: () => Promise<{code: number|null, signal: string|null}>,
 *   stderr: () => string, stdout: () => string }>}
 */
export async function startServer({ args = [], env = {}, port } = {}) {
  const bin = serverBinary();
  if (port !== undefined) return launch(bin, port, args, env);
  // A port can be taken between freePort() and the bind (by another listener, or as the local
  // port of an outgoing connection when many run at once): retry in that case, each
  // time on another port (the kernel may hand out the same one again: an outgoing connection's
  // local port, e.g. of a Redis Cluster's bus, is free to a SO_REUSEADDR listen(0) probe but
  // not to our listener).
  let lastError;
  const tried = new Set();
  for (let attempt = 0; attempt < 10; attempt++) {
    let port = await freePort();
    while (tried.has(port)) port = await freePort();
    tried.add(port);
    try {
      return await launch(bin, port, args, env);
    } catch (err) {
      lastError = err;
      if (!/address already in use|EADDRINUSE|AddrInUse/i.test(String(err.message))) throw err;
    }
  }
  lastError.message += ` (ports tried: ${[...tried].join(", ")})`;
  throw lastError;
}

async function launch(bin, port, args, env) {
  const fullArgs = ["--port", String(port), "--static-dir", join(REPO_ROOT, "static"), ...args];
  // Tests get an in-memory server unless they ask for Redis explicitly.
  const childEnv = { ...process.env, PORT: String(port), ...env };
  if (!("REDIS_URL" in env)) delete childEnv.REDIS_URL;
  // Most presence cases expect a dropped tab to be announced at once, as without the presence
  // grace; the grace (default 3 s) has its own tests, which set it (presence-grace.test.mjs).
  if (!("CHAT_PRESENCE_GRACE_MS" in env)) childEnv.CHAT_PRESENCE_GRACE_MS = "0";
  const [command, commandArgs] = isNodeScript(bin) ? [process.execPath, [bin, ...fullArgs]] : [bin, fullArgs];
  const proc = spawn(command, commandArgs, { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);

  let stderr = "";
  let stdout = "";
  proc.stderr.setEncoding("utf8").on("data", (chunk) => (stderr = tail(stderr + chunk)));
  proc.stdout.setEncoding("utf8").on("data", (chunk) => (stdout = tail(stdout + chunk)));

  const exited = new Promise((resolveExit) => {
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolveExit({ code, signal });
    });
    proc.once("error", (err) => {
      running.delete(proc);
      stderr = tail(`${stderr}\nspawn error: ${err.message}`);
      resolveExit({ code: null, signal: null, error: err });
    });
  });
  let exitInfo = null;
  exited.then((info) => (exitInfo = info));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) {
      throw new Error(
        `chat-server (${bin} ${fullArgs.join(" ")}) exited before becoming healthy ` +
          `(code ${exitInfo.code}, signal ${exitInfo.signal}). stderr:\n${stderr}`,
      );
    }
    if (await isHealthy(url, isNodeScript(bin))) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      await exited;
      throw new Error(
        `chat-server (${bin} ${fullArgs.join(" ")}) did not answer GET /health with 200 within ` +
          `${READY_TIMEOUT_MS} ms. stderr:\n${stderr}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  async function signalAndWait(signal) {
    if (exitInfo) return exitInfo;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const info = await exited;
    clearTimeout(timer);
    return info;
  }

  return {
    url,
    port,
    proc,
    /** Graceful stop (SIGTERM drains), escalating to SIGKILL if it hangs. */
    stop: () => signalAndWait("SIGTERM"),
    /** Simulates a crash. */
    kill: () => signalAndWait("SIGKILL"),
    stderr: () => stderr,
    stdout: () => stdout,
  };
}

/**
 * Ready means GET /health == 200. A Node.js stand-in (the reference server) may have no
 * /health route at all, so for those an accepted TCP connection counts.
 */
async function isHealthy(url, lenient) {
  if (lenient) return acceptsConnections(new URL(url).port);
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
export function acceptsConnections(port) {
  return new Promise((resolveConnect) => {
    const socket = connectTcp(Number(port), "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("error", () => resolveConnect(false));
  });
}
