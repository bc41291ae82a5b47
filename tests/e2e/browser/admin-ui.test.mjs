// The official Socket.IO Admin UI (@socket.io/admin-ui 0.5.1's built page, `ui/dist`, served
// from here) in headless Chromium, logged in to one of our nodes, watching a cluster of two of
// our nodes and one Node socket.io node running the Admin UI's own server side, on one Redis:
// the sockets of all three nodes with their transports, a socket appearing and disappearing,
// a chat user (in the chat page) disconnected from the dashboard, the servers of each node.
// The screenshots land in target/ (docs/admin-ui-*.png are copies of them).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { disconnectAll } from "../lib/client.mjs";
import { connectUser } from "../lib/chat.mjs";
import { startRedis } from "../lib/redis.mjs";
import { REPO_ROOT, freePort } from "../lib/server.mjs";
import { startNode } from "../cluster/cluster.mjs";
import { startAdminReference } from "../cluster/reference-node.mjs";
import { ADMIN_HASH, ADMIN_PASSWORD, ADMIN_USER, adminArgs, connectAdmin, nextWhere } from "../admin/admin.mjs";
import { ConsoleWatch, launchBrowser, waitForUser } from "./browser.mjs";

const UI_DIST = join(REPO_ROOT, "tests/e2e/node_modules/@socket.io/admin-ui/ui/dist");
const STEP_TIMEOUT_MS = 10_000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };
/** The page asks for web fonts and icons on CDNs, which the test machines cannot reach. */
const CDN = /fonts\.googleapis\.com|fonts\.gstatic\.com|cdn\.jsdelivr\.net/;
const CDN_ERRORS = /Failed to load resource: net::ERR_FAILED/;
const ws = { transports: ["websocket"] };

/** Serves the UI's built page at / (a hash router: no fallback needed). */
async function serveUi() {
  const server = createServer(async (req, res) => {
    let path = new URL(req.url, "http://ui").pathname;
    if (path === "/") path = "/index.html";
    if (path.includes("..")) return res.writeHead(400).end();
    try {
      const body = await readFile(join(UI_DIST, path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The row of socket `id` in the UI's sockets table. */
const socketRow = (page, id) => page.locator("tbody tr", { hasText: id });

describe("the Socket.IO Admin UI watching two of our nodes and a Node node", { timeout: 120_000 }, () => {
  let redis;
  let ui;
  let rust1;
  let rust2;
  let reference;
  let browser;
  let dashboard;
  let observer;
  const consoleWatch = new ConsoleWatch();
  const users = {};

  before(async () => {
    redis = await startRedis();
    ui = await serveUi();
    // The UI's origin, and each node's own for its chat page (a list replaces same-origin).
    const [port1, port2] = [await freePort(), await freePort()];
    const origins = [ui.url, `http://127.0.0.1:${port1}`, `http://127.0.0.1:${port2}`].join(",");
    const args = adminArgs(["--cors-origins", origins]);
    rust1 = await startNode(redis, "rust1", { args, port: port1 });
    rust2 = await startNode(redis, "rust2", { args, port: port2 });
    reference = await startAdminReference(redis.url, ADMIN_HASH, "node-reference");
    browser = await launchBrowser();
    // The same events the dashboard gets, read by the test (to learn the chat page's socket id).
    observer = await connectAdmin(rust1.url, ws);
  });
  after(async () => {
    disconnectAll();
    await browser?.close();
    await reference?.stop();
    await rust2?.stop();
    await rust1?.stop();
    await redis?.stop();
    await ui?.close();
    assert.deepEqual(consoleWatch.errors, [], "the pages ran without errors");
  });

  async function newPage(label) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    await context.route(CDN, (route) => route.abort());
    consoleWatch.watchContext(context, label, { expected: CDN_ERRORS });
    return context.newPage();
  }

  it("logs in to one of our nodes", async () => {
    users.onRust1 = await connectUser(rust1.url, ws, "ada-rust1");
    users.onRust2 = await connectUser(rust2.url, { transports: ["polling"] }, "bob-rust2");
    users.onNode = await connectUser(reference.url, ws, "cy-node");
    dashboard = await newPage("dashboard");
    await dashboard.goto(ui.url);
    await dashboard.getByLabel("Server URL").fill(rust1.url);
    await dashboard.getByLabel("Username").fill(ADMIN_USER);
    await dashboard.getByLabel("Password").fill("wrong");
    await dashboard.getByRole("button", { name: "Connect" }).click();
    await dashboard.getByText("invalid credentials").waitFor();
    await dashboard.getByLabel("Password").fill(ADMIN_PASSWORD);
    await dashboard.getByRole("button", { name: "Connect" }).click();
    await dashboard.getByText(/^\s*connected\s*$/i).first().waitFor();
  });

  it("shows the servers of the three nodes", async () => {
    await dashboard.goto(`${ui.url}/#/servers`);
    for (const id of ["rust1", "rust2", "node-reference"]) {
      const row = dashboard.locator("tbody tr", { hasText: id });
      await row.waitFor();
      assert.match(await row.innerText(), /healthy/i);
    }
    await dashboard.screenshot({ path: join(REPO_ROOT, "target/admin-ui-servers.png") });
  });

  it("lists the sockets of all three nodes with their transports", async () => {
    await dashboard.goto(`${ui.url}/#/sockets`);
    const expected = [
      [users.onRust1.socket.id, "WebSocket"],
      [users.onRust2.socket.id, "HTTP long-polling"],
      [users.onNode.socket.id, "WebSocket"],
    ];
    for (const [id, transport] of expected) {
      const row = socketRow(dashboard, id);
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(transport), `${id}: ${await row.innerText()}`);
    }
    await dashboard.screenshot({ path: join(REPO_ROOT, "target/admin-ui-sockets.png") });
  });

  it("sees a socket appear and disappear (on the Node node and on ours)", async () => {
    for (const url of [reference.url, rust2.url]) {
      const newcomer = await connectUser(url, ws);
      const id = newcomer.socket.id;
      await socketRow(dashboard, id).waitFor();
      newcomer.socket.disconnect();
      await socketRow(dashboard, id).waitFor({ state: "detached" });
    }
  });

  it("disconnects a chat user from the dashboard, and the user's page sees it", async () => {
    const chat = await newPage("chat page");
    await chat.goto(rust2.url);
    await chat.getByLabel("Choose a username").fill("dee-page");
    await chat.getByRole("button", { name: "Join" }).click();
    await waitForUser(chat, "dee-page", { self: true });
    const [entry] = await nextWhere(observer, "socket_connected", (s) => s.data?.username === "dee-page", STEP_TIMEOUT_MS);
    const row = socketRow(dashboard, entry.id);
    await row.waitFor();
    await row.getByRole("button").click();
    await waitForUser(chat, "dee-page", { self: true, state: "offline" });
    const [, , reason] = await nextWhere(observer, "socket_disconnected", (_nsp, id) => id === entry.id, STEP_TIMEOUT_MS);
    assert.equal(reason, "server namespace disconnect");
    // (The click also opened the socket's page, which shows it disconnected.)
    await dashboard.getByText(/^\s*disconnected\s*$/i).first().waitFor();
    await dashboard.goto(`${ui.url}/#/sockets`);
    await socketRow(dashboard, users.onNode.socket.id).waitFor();
    await socketRow(dashboard, entry.id).waitFor({ state: "detached" });
    // The other users are untouched.
    assert.ok(users.onRust1.socket.connected && users.onRust2.socket.connected && users.onNode.socket.connected);
  });

  it("the dashboard: three healthy servers, the namespaces and the transports", async () => {
    await dashboard.goto(`${ui.url}/#/`);
    await dashboard.getByText("Namespaces").waitFor();
    await dashboard.waitForTimeout(2500); // a round of server_stats and the charts' animation
    await dashboard.screenshot({ path: join(REPO_ROOT, "target/admin-ui-dashboard.png") });
    const text = await dashboard.innerText("main");
    assert.match(text, /HEALTHY\s+3/, text);
  });
});
