// A real nginx in front of chat-server nodes, configured with the operators' example
// config/nginx.conf itself: only the upstream addresses and the listen port are substituted,
// so the tests prove the shipped file (ip_hash, WebSocket upgrade headers, timeouts) works.
//
// nginx runs in the foreground (`daemon off`) with a temporary prefix directory for its pid,
// logs and temp files. A missing nginx is a test FAILURE, not a skip (apt-get install -y nginx).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, acceptsConnections, freePort } from "./server.mjs";

const READY_TIMEOUT_MS = 10_000;
const EXAMPLE_CONFIG = join(REPO_ROOT, "config/nginx.conf");

const running = new Set();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

function nginxBinary() {
  for (const candidate of [process.env.NGINX_BIN, "/usr/sbin/nginx", "nginx"].filter(Boolean)) {
    const probe = spawnSync(candidate, ["-v"], { encoding: "utf8" });
    if (!probe.error) return candidate;
  }
  throw new Error(
    "nginx is not installed (looked for $NGINX_BIN, /usr/sbin/nginx, nginx on PATH): the cluster tests " +
      "need a real nginx (apt-get install -y nginx). Failing rather than skipping.",
  );
}

/**
 * The example config with our addresses: every `server host:port;` line of the upstream
 * replaced by one line per node port, and `listen N;` by the proxy's port.
 */
export async function exampleConfigFor(nodePorts, listenPort) {
  const example = await readFile(EXAMPLE_CONFIG, "utf8");
  const upstream = /(upstream\s+\w+\s*\{[^}]*?)((?:\s*server\s+[^;]+;)+)/;
  if (!upstream.test(example)) throw new Error(`${EXAMPLE_CONFIG}: no upstream block with server lines`);
  if (!/listen\s+\d+;/.test(example)) throw new Error(`${EXAMPLE_CONFIG}: no "listen <port>;" line`);
  return example
    .replace(upstream, (_, head) => head + nodePorts.map((port) => `\n    server 127.0.0.1:${port};`).join(""))
    .replace(/listen\s+\d+;/, `listen 127.0.0.1:${listenPort};`);
}

/**
 * Starts nginx proxying to the nodes on `nodePorts`; resolves once it accepts connections.
 * `workerConnections` bounds the connections nginx holds (each proxied WebSocket is two).
 * @param {number[]} nodePorts
 * @param {{workerConnections?: number}} [options]
 * @returns {Promise<{port: number, url: string, config: string, errorLog: () => Promise<string>, stop: () => Promise<void>}>}
 */
export async function startNginx(nodePorts, { workerConnections = 1024 } = {}) {
  const bin = nginxBinary();
  const prefix = await mkdtemp(join(tmpdir(), "chat-nginx-"));
  // Workers may run as another user: they must reach their temp directories.
  await chmod(prefix, 0o755);
  const port = await freePort();
  const snippet = await exampleConfigFor(nodePorts, port);
  await writeFile(join(prefix, "chat.conf"), snippet);
  const errorLog = join(prefix, "error.log");
  const main = [
    `pid ${join(prefix, "nginx.pid")};`,
    `error_log ${errorLog} warn;`,
    "worker_processes 1;",
    `worker_rlimit_nofile ${workerConnections * 2};`,
    `events { worker_connections ${workerConnections}; }`,
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${join(prefix, "client_body")};`,
    `  proxy_temp_path ${join(prefix, "proxy")};`,
    `  fastcgi_temp_path ${join(prefix, "fastcgi")};`,
    `  uwsgi_temp_path ${join(prefix, "uwsgi")};`,
    `  scgi_temp_path ${join(prefix, "scgi")};`,
    `  include ${join(prefix, "chat.conf")};`,
    "}",
    "",
  ].join("\n");
  const confPath = join(prefix, "nginx.conf");
  await writeFile(confPath, main);

  const proc = spawn(bin, ["-p", prefix, "-e", errorLog, "-c", confPath, "-g", "daemon off;"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  let output = "";
  proc.stdout.setEncoding("utf8").on("data", (c) => (output += c));
  proc.stderr.setEncoding("utf8").on("data", (c) => (output += c));
  const exited = new Promise((resolve) =>
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  let exitInfo = null;
  exited.then((info) => (exitInfo = info));
  const readLog = async () => (existsSync(errorLog) ? readFile(errorLog, "utf8") : "");

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await acceptsConnections(port))) {
    if (exitInfo || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(
        `nginx did not start (exit ${JSON.stringify(exitInfo)}):\n${output}\n${await readLog()}\nconfig:\n${snippet}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    config: snippet,
    errorLog: readLog,
    async stop() {
      if (!exitInfo) proc.kill("SIGQUIT");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
