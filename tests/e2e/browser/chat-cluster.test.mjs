// The chat page in Chromium against two chat-server nodes sharing one Redis (SPEC §3, §4): users on
// different nodes see each other and talk, and a node restarted on the same port takes its users
// back without them doing anything: the page recovers its connection from Redis (same user, same
// list, the missed message shown once). The tests build on each other.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT, startServer } from "../lib/server.mjs";
import { ConsoleWatch, launchBrowser, waitForBanner, waitForMessage, waitForUser } from "./browser.mjs";
import { startRedis } from "../lib/redis.mjs";

const STEP_TIMEOUT_MS = 8000;
/** Long enough for a drain, a restart and the shim's backoff (1 s doubling, 5 s at most). */
const RESUME_TIMEOUT_MS = 20_000;
const SCREENSHOT = join(REPO_ROOT, "target/chat-two-users.png");
/** What Chromium logs while a node is down or draining: provoked on purpose, not page errors. */
const NODE_DOWN_ERRORS = /WebSocket connection to .* failed|Failed to load resource: (net::ERR_CONNECTION_REFUSED|the server responded with a status of 503)/;

let redis;
let browser;
const nodes = {};
const consoleWatch = new ConsoleWatch();

function startNode(nodeId, port) {
  return startServer({
    port,
    args: ["--redis-url", redis.url, "--node-id", nodeId, "--drain-timeout-secs", "2"],
    env: { REDIS_URL: redis.url },
  });
}

async function openAs(label, node, username, expected) {
  const context = await browser.newContext({ viewport: { width: 900, height: 560 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  consoleWatch.watchContext(context, label, { expected });
  const page = await context.newPage();
  await page.goto(node.url);
  await page.getByLabel("Choose a username").fill(username);
  await page.getByRole("button", { name: "Join" }).click();
  await waitForUser(page, username, { self: true });
  return page;
}

function userButton(page, username) {
  return page.getByRole("button", { name: new RegExp(`^${username}( \\(yourself\\))?, (online|offline)`) });
}

async function send(page, content) {
  await page.locator("#message-input").fill(content);
  await page.locator("#message-input").press("Enter");
}

async function conversation(page) {
  return page.$$eval("#messages > li", (items) =>
    items.map((item) => [item.querySelector(".message-content").textContent, item.dataset.fromSelf === "true"]),
  );
}

describe("chat page on two nodes sharing Redis", { timeout: 60_000 }, () => {
  let aliceTab;
  let bobTab;

  before(async () => {
    redis = await startRedis();
    [nodes.b1, nodes.b2] = await Promise.all([startNode("b1"), startNode("b2")]);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(Object.values(nodes).map((node) => node.stop()));
    await redis?.stop();
  });

  it("lets users on different nodes see each other, talk both ways, with unread markers", async () => {
    aliceTab = await openAs("alice@b1", nodes.b1, "alice", NODE_DOWN_ERRORS);
    bobTab = await openAs("bob@b2", nodes.b2, "bob");
    await waitForUser(aliceTab, "bob");
    await waitForUser(bobTab, "alice");

    await userButton(aliceTab, "bob").click();
    await send(aliceTab, "hello from node b1");
    await waitForMessage(aliceTab, "hello from node b1");
    const badge = userButton(bobTab, "alice");
    await bobTab.waitForFunction(() =>
      [...document.querySelectorAll("#user-list button.user")].some(
        (b) => b.querySelector(".user-name").textContent === "alice" && b.dataset.unread === "1",
      ),
    );
    assert.equal(await badge.locator(".badge").isVisible(), true, "unread marker shown");
    assert.match(await badge.getAttribute("aria-label"), /1 unread message$/);

    await badge.click();
    await waitForMessage(bobTab, "hello from node b1");
    assert.equal(await badge.getAttribute("data-unread"), "0");
    assert.equal(await badge.locator(".badge").isVisible(), false, "unread marker cleared");

    await send(bobTab, "hi alice, b2 here");
    await waitForMessage(bobTab, "hi alice, b2 here");
    await waitForMessage(aliceTab, "hi alice, b2 here");
    assert.equal(await userButton(aliceTab, "bob").getAttribute("data-unread"), "0", "open conversation: not unread");
    await send(aliceTab, "see you on the other node");
    await waitForMessage(bobTab, "see you on the other node");
    assert.deepEqual(await conversation(aliceTab), [
      ["hello from node b1", true],
      ["hi alice, b2 here", false],
      ["see you on the other node", true],
    ]);

    await mkdir(join(REPO_ROOT, "target"), { recursive: true });
    await aliceTab.screenshot({ path: SCREENSHOT });
  });

  it("survives its node's restart without reloading its list: recovered from Redis, the missed message once", async () => {
    const aliceID = await userButton(aliceTab, "alice").getAttribute("data-user-id");
    const port = nodes.b1.port;
    // The view keeps one node per message; a new `users` list would replace them all.
    const marked = await aliceTab.$$eval("#messages > li", (items) => {
      for (const item of items) item.dataset.marker = "before-restart";
      return items.length;
    });
    assert.equal(marked, 3);

    const stopped = nodes.b1.stop();
    await waitForBanner(aliceTab, "reconnecting", RESUME_TIMEOUT_MS);
    assert.match(await aliceTab.locator("#connection-status").textContent(), /reconnecting/);
    assert.equal(await userButton(aliceTab, "alice").getAttribute("data-state"), "offline");
    assert.deepEqual(await stopped, { code: 0, signal: null }, "drained and exited cleanly");
    await waitForUser(bobTab, "alice", { state: "offline", timeout: RESUME_TIMEOUT_MS });
    await send(bobTab, "sent while b1 was down");
    await waitForMessage(bobTab, "sent while b1 was down");

    // The restarted node has no memory of the socket: its state and the message come from Redis.
    nodes.b1 = await startNode("b1", port);
    await aliceTab.waitForFunction(
      () => document.getElementById("connection-status").textContent === "Reconnected",
      null,
      { timeout: RESUME_TIMEOUT_MS },
    );
    await waitForUser(aliceTab, "alice", { self: true });
    assert.equal(await userButton(aliceTab, "alice").getAttribute("data-user-id"), aliceID, "same user");
    assert.equal(await aliceTab.locator("#login").isVisible(), false, "no username prompt");
    await waitForMessage(aliceTab, "sent while b1 was down");
    assert.equal(
      await aliceTab.locator('#messages > li[data-marker="before-restart"]').count(),
      3,
      "the conversation was not rebuilt from a new users list",
    );
    assert.deepEqual(await conversation(aliceTab), [
      ["hello from node b1", true],
      ["hi alice, b2 here", false],
      ["see you on the other node", true],
      ["sent while b1 was down", false],
    ]);
    await waitForUser(bobTab, "alice");

    // The history comes from Redis: still there after a reload too.
    await aliceTab.reload();
    await waitForUser(aliceTab, "alice", { self: true });
    await waitForMessage(aliceTab, "sent while b1 was down");
    assert.equal((await conversation(aliceTab)).length, 4);
    await send(aliceTab, "back again");
    await waitForMessage(bobTab, "back again");
  });

  it("logs no unexpected console errors", () => {
    assert.deepEqual(consoleWatch.errors, []);
  });
});
