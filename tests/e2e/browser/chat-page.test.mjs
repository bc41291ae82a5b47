// The chat page (static/) in headless Chromium against a real chat-server: Alice, Bob and others
// each get their own browser context (own localStorage, like separate browsers); tabs of one user
// are pages of one context. The tests run in order and build on each other's state.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startServer } from "../lib/server.mjs";
import { ConsoleWatch, launchBrowser, sleep, waitForBanner, waitForMessage, waitForUser } from "./browser.mjs";
import { NoWebSocketProxy } from "./no-websocket-proxy.mjs";
import { startTcpProxy } from "../lib/tcp-proxy.mjs";
import { connectUser, uniqueName } from "../lib/chat.mjs";
import { eventually, health, presenceDecided } from "../lib/signals.mjs";
import { disconnectAll } from "../lib/client.mjs";

const STEP_TIMEOUT_MS = 5000;
/** The page reconnects with the shim's default backoff (1 s, doubling, up to 5 s, with jitter). */
const RECONNECT_TIMEOUT_MS = 12_000;
/** What Chromium logs for each attempt while the server cannot be reached (a page cannot silence it). */
const UNREACHABLE_ERRORS = /WebSocket connection to .* failed|Failed to load resource|net::ERR_/;

let server;
let browser;
const consoleWatch = new ConsoleWatch();

async function newUserContext(label, options = {}, expectedErrors = undefined) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  return consoleWatch.watchContext(context, label, { expected: expectedErrors });
}

/**
 * A positive sync point for pages: once `server` decided every departure, a newcomer (a
 * socket.io-client user) connects and every page of `pages` lists it online. The hub announces
 * it after anything it sent before, and each page's connection delivers in order, so whatever
 * the server had for those pages has reached them by then.
 */
async function presenceSettled(server, pages) {
  await presenceDecided(server);
  const name = uniqueName("marker");
  await connectUser(server.url, { transports: ["websocket"] }, name);
  for (const page of pages) await waitForUser(page, name);
}

/** Opens the page and waits until it shows either the prompt or the chat. */
async function openPage(context, url = server.url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("login").hidden || !document.getElementById("chat").hidden);
  return page;
}

/**
 * Opens the page with a count of the `users` events it receives on its WebSockets (Playwright
 * sees every frame), so a test can tell whether a reconnection brought a new list.
 */
async function openWatchedPage(context, url) {
  const page = await context.newPage();
  const wire = { page, users: 0 };
  page.on("websocket", (ws) =>
    ws.on("framereceived", ({ payload }) => {
      if (typeof payload === "string" && payload.startsWith('42["users"')) wire.users += 1;
    }),
  );
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("login").hidden || !document.getElementById("chat").hidden);
  return wire;
}

/** Opens a watched page at `url`, logs in as `username` and writes "before the drop" to `peer`. */
async function joinAndWrite(context, url, username, peer) {
  const wire = await openWatchedPage(context, url);
  await login(wire.page, username);
  await userButton(wire.page, peer).click();
  assert.equal(await send(wire.page, "before the drop"), "pending");
  await waitForMessage(wire.page, "before the drop", "sent");
  return wire;
}

/**
 * Cuts `tab` off (its proxy drops every connection and refuses new ones); once its banner says so
 * and the others see `username` offline, `peerTab` writes `content` to it; after `awayMs` more
 * the network is back.
 */
async function writeWhileAway(proxy, tab, { peerTab, username, content, awayMs = 0 }) {
  proxy.cut();
  await waitForBanner(tab, "reconnecting");
  await waitForUser(peerTab, username, { state: "offline" });
  await userButton(peerTab, username).click();
  assert.equal(await send(peerTab, content), "pending");
  await waitForMessage(peerTab, content, "sent");
  await sleep(awayMs);
  proxy.heal();
}

/** Waits (through the reconnection backoff) until the banner reads exactly `text`. */
async function waitForBannerText(page, text) {
  await page.waitForFunction(
    (wanted) => document.getElementById("connection-status").textContent === wanted,
    text,
    { timeout: RECONNECT_TIMEOUT_MS },
  );
}

/** The page's URL through a TCP proxy (the proxy reports a redis:// URL; only the port matters). */
function proxyUrl(proxy) {
  return `http://127.0.0.1:${new URL(proxy.url).port}`;
}

/**
 * Marks the message nodes of the open conversation. The view keeps a node per message object and
 * a `users` list replaces the history with new objects, so the marks survive only if no `users`
 * list was applied.
 */
async function markMessages(page) {
  return page.$$eval("#messages > li", (items) => {
    for (const item of items) item.dataset.marker = "before-drop";
    return items.length;
  });
}

async function markedCount(page) {
  return page.locator('#messages > li[data-marker="before-drop"]').count();
}

async function login(page, username) {
  await page.getByLabel("Choose a username").fill(username);
  await page.getByRole("button", { name: "Join" }).click();
  await waitForUser(page, username, { self: true });
}

/** The user-list button of `username`, found by its accessible name. */
function userButton(page, username) {
  const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return page.getByRole("button", { name: new RegExp(`^${escaped}( \\(yourself\\))?, (online|offline)`) });
}

async function userIdOf(page, username) {
  return userButton(page, username).getAttribute("data-user-id");
}

/** Sends through the form and returns the status the message had right after submitting. */
async function send(page, content) {
  return page.evaluate((text) => {
    document.getElementById("message-input").value = text;
    document.getElementById("message-form").requestSubmit();
    return document.querySelector("#messages > li:last-child").dataset.status;
  }, content);
}

async function conversation(page) {
  return page.$$eval("#messages > li", (items) =>
    items.map((item) => ({
      content: item.querySelector(".message-content").textContent,
      status: item.dataset.status,
      fromSelf: item.dataset.fromSelf === "true",
    })),
  );
}

async function conversationTitle(page) {
  return page.locator("#conversation-title").textContent();
}

/** The connection banner: its state attribute and text. */
async function banner(page) {
  return page.locator("#connection-status").evaluate((el) => ({
    state: el.dataset.state, text: el.textContent, visible: !el.hidden,
  }));
}

/** Names in the order the user list shows them. */
async function listedNames(page) {
  return page.$$eval("#user-list .user-name", (spans) => spans.map((s) => s.textContent));
}

/** Nothing wider than the viewport: no sideways scrolling on a phone. */
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

describe("chat page in Chromium", { timeout: 60_000 }, () => {
  let alice;
  let bob;
  let aliceTab;
  let bobTab;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    alice = await newUserContext("alice");
    bob = await newUserContext("bob");
  });

  after(async () => {
    disconnectAll();
    await browser?.close();
    await server?.stop();
  });

  it("lets two users pick names and see each other online", async () => {
    aliceTab = await openPage(alice);
    await login(aliceTab, "alice");
    bobTab = await openPage(bob);
    await login(bobTab, "bob");

    await waitForUser(aliceTab, "bob", { state: "online" });
    await waitForUser(bobTab, "alice", { state: "online" });
    const names = await listedNames(bobTab);
    assert.equal(names[0], "bob", "ourselves first");
    assert.ok(names.includes("alice"));
    assert.equal(await bobTab.locator("#user-list .user-self:visible").count(), 1);
    assert.equal(await userButton(bobTab, "bob").getAttribute("aria-label"), "bob (yourself), online");
    for (const tab of [aliceTab, bobTab]) {
      assert.deepEqual(await banner(tab), { state: "connected", text: "Connected", visible: true });
    }
  });

  it("exchanges messages both ways, pending until acknowledged, with an unread badge", async () => {
    await userButton(aliceTab, "bob").click();
    assert.equal(await conversationTitle(aliceTab), "bob");
    assert.equal(await send(aliceTab, "hello bob"), "pending");
    await waitForMessage(aliceTab, "hello bob", "sent");

    await bobTab.waitForFunction(() => {
      const badge = [...document.querySelectorAll("#user-list button.user")].find(
        (b) => b.querySelector(".user-name").textContent === "alice",
      )?.querySelector(".badge");
      return badge && !badge.hidden && badge.textContent === "1";
    });
    await userButton(bobTab, "alice").click();
    await waitForMessage(bobTab, "hello bob");
    assert.equal(await userButton(bobTab, "alice").getAttribute("data-unread"), "0", "selecting clears the badge");

    assert.equal(await send(bobTab, "hi alice\nsecond line"), "pending");
    await waitForMessage(bobTab, "hi alice\nsecond line", "sent");
    await waitForMessage(aliceTab, "hi alice\nsecond line");
    assert.deepEqual(await conversation(aliceTab), [
      { content: "hello bob", status: "sent", fromSelf: true },
      { content: "hi alice\nsecond line", status: "sent", fromSelf: false },
    ]);
  });

  it("shows HTML in messages and names as text, and fits a phone screen", async () => {
    const eve = await newUserContext("eve", { viewport: { width: 360, height: 640 } });
    const eveTab = await openPage(eve);
    await login(eveTab, "<b>eve</b>");
    await waitForUser(aliceTab, "<b>eve</b>");
    assert.equal(await aliceTab.locator("#user-list b").count(), 0, "no element made from a username");

    // Phone width (360 px): one pane at a time, a back button returns to the list.
    assert.equal(await eveTab.locator("#conversation").isVisible(), false);
    assert.ok(await fitsWidth(eveTab), "user list fits 360 px");
    await userButton(eveTab, "alice").click();
    assert.equal(await eveTab.locator(".users-panel").isVisible(), false);
    assert.equal(await eveTab.getByRole("button", { name: "Back to the user list" }).isVisible(), true);

    const attack = `<img src="x" onerror="window.injected = true"><script>window.injected = true</script><b>bold</b>`;
    assert.equal(await send(eveTab, attack), "pending");
    await waitForMessage(eveTab, attack);
    await userButton(aliceTab, "<b>eve</b>").click();
    await waitForMessage(aliceTab, attack);
    for (const tab of [aliceTab, eveTab]) {
      assert.equal(await tab.locator("#messages img, #messages script, #messages b").count(), 0);
      assert.equal(await tab.evaluate(() => window.injected), undefined);
    }
    const shown = await eveTab.locator("#messages .message-content").last().textContent();
    assert.equal(shown, attack, "shown as typed");
    const dialogs = [];
    for (const tab of [aliceTab, eveTab]) tab.on("dialog", (dialog) => dialogs.push(dialog.message()));
    const classic = "<img src=x onerror=alert(1)>";
    assert.equal(await send(eveTab, classic), "pending");
    await waitForMessage(aliceTab, classic);
    await waitForMessage(eveTab, classic);
    // No element was made from it, so no handler of one can run.
    for (const tab of [aliceTab, eveTab]) assert.equal(await tab.locator("#messages img").count(), 0);
    assert.deepEqual(dialogs, [], "no alert ran");
    assert.equal(await aliceTab.locator("#messages .message-content").last().textContent(), classic);
    assert.ok(await fitsWidth(eveTab), "conversation fits 360 px");
    const fontSize = await eveTab.locator("#messages .message-content").last().evaluate((el) => getComputedStyle(el).fontSize);
    assert.ok(Number.parseFloat(fontSize) >= 14, `readable text (${fontSize})`);

    await eveTab.getByRole("button", { name: "Back to the user list" }).click();
    assert.equal(await eveTab.locator(".users-panel").isVisible(), true);
    assert.equal(await eveTab.locator("#conversation").isVisible(), false);
    await eve.close();
    await userButton(aliceTab, "bob").click();
  });

  it("keeps identity, history and the open conversation across a reload", async () => {
    const before = await userIdOf(aliceTab, "alice");
    const storedSession = await aliceTab.evaluate(() => localStorage.getItem("sessionID"));
    assert.ok(storedSession, "sessionID stored in localStorage");

    await aliceTab.reload();
    await waitForUser(aliceTab, "alice", { self: true });
    assert.equal(await userIdOf(aliceTab, "alice"), before, "same userID after reload");
    assert.equal(await aliceTab.locator("#login").isVisible(), false, "no username prompt");
    assert.equal(await conversationTitle(aliceTab), "bob", "conversation still open");
    await waitForMessage(aliceTab, "hi alice\nsecond line");
    const history = await conversation(aliceTab);
    assert.deepEqual(
      history.map((m) => [m.content, m.fromSelf]),
      [
        ["hello bob", true],
        ["hi alice\nsecond line", false],
      ],
    );
  });

  let aliceSecondTab;

  it("shows in a second tab the messages sent from the first", async () => {
    aliceSecondTab = await openPage(alice);
    await waitForUser(aliceSecondTab, "alice", { self: true });
    assert.equal(await userIdOf(aliceSecondTab, "alice"), await userIdOf(aliceTab, "alice"), "same user in both tabs");
    await userButton(aliceSecondTab, "bob").click();
    await waitForMessage(aliceSecondTab, "hello bob");

    assert.equal(await send(aliceTab, "from the first tab"), "pending");
    await waitForMessage(aliceTab, "from the first tab", "sent");
    await waitForMessage(aliceSecondTab, "from the first tab");
    await waitForMessage(bobTab, "from the first tab");
    const last = (await conversation(aliceSecondTab)).at(-1);
    assert.deepEqual(last, { content: "from the first tab", status: "sent", fromSelf: true });
  });

  it("announces Alice offline to Bob only when her last tab closes", async () => {
    const open = (await health(server)).body.connections;
    await aliceSecondTab.close();
    await eventually("the server to close the tab's session", async () => (await health(server)).body.connections < open);
    await presenceSettled(server, [bobTab]);
    assert.equal(await userButton(bobTab, "alice").getAttribute("data-state"), "online", "one tab left");

    await aliceTab.close();
    await waitForUser(bobTab, "alice", { state: "offline" });
    assert.equal(await bobTab.locator("#conversation-status").textContent(), "offline");
  });

  it("refuses bad usernames: on the page, from the server, and for an unknown stored session", async () => {
    const carol = await newUserContext("carol");
    const tab = await openPage(carol);
    const error = tab.locator("#login-error");

    await tab.getByLabel("Choose a username").fill("   ");
    await tab.getByRole("button", { name: "Join" }).click();
    assert.match(await error.textContent(), /enter a username/);
    await tab.getByLabel("Choose a username").fill("x".repeat(65));
    await tab.getByRole("button", { name: "Join" }).click();
    assert.match(await error.textContent(), /at most 64 characters/);

    // A stored session the server does not know: back to the prompt, the stale secret forgotten.
    await tab.evaluate(() => localStorage.setItem("sessionID", "no-such-session"));
    await tab.reload();
    await tab.waitForFunction(() => document.getElementById("login-error").textContent.includes("no longer known"));
    assert.equal(await tab.evaluate(() => localStorage.getItem("sessionID")), null);
    await login(tab, "carol");
    await waitForUser(bobTab, "carol");
    await carol.close();

    // The server's own check: rewrite the CONNECT on its way so the name is one it must refuse.
    const mallory = await newUserContext("mallory");
    await mallory.routeWebSocket(/\/socket\.io\//, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((message) => upstream.send(String(message).replace(/"username":"[^"]*"/, '"username":"\\u0007"')));
    });
    const refused = await openPage(mallory);
    await refused.getByLabel("Choose a username").fill("mallory");
    await refused.getByRole("button", { name: "Join" }).click();
    await refused.waitForFunction(() =>
      document.getElementById("login-error").textContent.includes("invalid username"),
    );
    assert.equal(await refused.locator("#chat").isVisible(), false);
    assert.equal(await refused.getByRole("button", { name: "Join" }).isEnabled(), true, "the prompt can be used again");
    await mallory.close();
  });

  it("shows the server's error when a message is refused", async () => {
    const dave = await newUserContext("dave");
    // Send to a recipient the server does not know by rewriting the EVENT on its way.
    await dave.routeWebSocket(/\/socket\.io\//, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((message) => upstream.send(String(message).replace(/"to":"[^"]*"/, '"to":"nobody-here"')));
    });
    const tab = await openPage(dave);
    await login(tab, "dave");
    await userButton(tab, "bob").click();
    assert.equal(await send(tab, "lost letter"), "pending");
    await waitForMessage(tab, "lost letter", "failed");
    assert.match(await tab.locator("#messages > li:last-child .message-status").textContent(), /unknown recipient/);
    await dave.close();
  });

  it("lists others by name, and the list works from the keyboard; Enter sends", async () => {
    const names = await listedNames(bobTab);
    const others = names.slice(1);
    assert.deepEqual(others, [...others].sort((a, b) => a.localeCompare(b)), "sorted by username");

    // One tab stop for the whole list; arrows, Home and End move; Enter opens.
    assert.equal(await bobTab.locator("#user-list button[tabindex='0']").count(), 1);
    await bobTab.locator("#user-list button[tabindex='0']").focus();
    await bobTab.keyboard.press("Home");
    const focusedName = () => bobTab.evaluate(() => document.activeElement.querySelector(".user-name")?.textContent);
    assert.equal(await focusedName(), "bob");
    await bobTab.keyboard.press("End");
    assert.equal(await focusedName(), names.at(-1));
    await bobTab.keyboard.press("Home");
    for (let i = 0; i < names.indexOf("<b>eve</b>"); i++) await bobTab.keyboard.press("ArrowDown");
    assert.equal(await focusedName(), "<b>eve</b>");
    await bobTab.keyboard.press("Enter");
    assert.equal(await conversationTitle(bobTab), "<b>eve</b>");
    assert.equal(await userButton(bobTab, "<b>eve</b>").getAttribute("aria-current"), "true");
    assert.equal(await bobTab.locator("#user-list button[tabindex='0']").textContent().then((t) => t.includes("eve")), true);
    await bobTab.keyboard.press("ArrowDown");
    await bobTab.keyboard.press("Space");
    assert.equal(await conversationTitle(bobTab), names[names.indexOf("<b>eve</b>") + 1]);

    // Enter sends, Shift+Enter is a new line.
    await userButton(bobTab, "alice").click();
    await bobTab.getByLabel("Message to alice").fill("");
    await bobTab.getByLabel("Message to alice").focus();
    await bobTab.keyboard.type("typed");
    await bobTab.keyboard.press("Shift+Enter");
    await bobTab.keyboard.type("with keys");
    await bobTab.keyboard.press("Enter");
    await waitForMessage(bobTab, "typed\nwith keys", "sent");
    assert.equal(await bobTab.getByLabel("Message to alice").inputValue(), "", "input cleared");
    const mine = bobTab.locator("#messages > li").last();
    assert.equal(await mine.locator(".message-status").textContent(), "✓ Sent", "acked messages are marked");
    const [selfBg, otherBg] = await bobTab.$$eval("#messages > li", (items) => {
      const bg = (fromSelf) => getComputedStyle(items.find((i) => i.dataset.fromSelf === fromSelf)).backgroundColor;
      return [bg("true"), bg("false")];
    });
    assert.notEqual(selfBg, otherBg, "own messages look different");
  });

  it("logs out: back to the form, the session forgotten, a new name is a new user", async () => {
    const frank = await newUserContext("frank");
    const tab = await openPage(frank);
    await login(tab, "frank");
    const frankID = await userIdOf(tab, "frank");
    await waitForUser(bobTab, "frank");

    await tab.getByRole("button", { name: "Log out" }).click();
    assert.equal(await tab.locator("#login").isVisible(), true);
    assert.equal(await tab.locator("#chat").isVisible(), false);
    assert.equal(await tab.getByLabel("Choose a username").inputValue(), "");
    assert.equal(await tab.evaluate(() => localStorage.getItem("sessionID")), null, "session forgotten");
    assert.equal((await banner(tab)).visible, false);
    await waitForUser(bobTab, "frank", { state: "offline" });

    await login(tab, "grace");
    const graceID = await userIdOf(tab, "grace");
    assert.notEqual(graceID, frankID, "a new user, not frank again");
    await waitForUser(tab, "frank", { state: "offline" });
    await tab.reload();
    await waitForUser(tab, "grace", { self: true });
    assert.equal(await userIdOf(tab, "grace"), graceID, "the new session is the one kept");
    await frank.close();
  });

  it("falls back to long-polling where WebSockets are refused, and still chats", async () => {
    const proxy = await new NoWebSocketProxy(server.port).listen();
    try {
      const pat = await newUserContext("pat", {}, /WebSocket connection to .* failed/);
      const tab = await openPage(pat, proxy.url);
      await login(tab, "pat");
      assert.deepEqual(await banner(tab), { state: "connected", text: "Connected (HTTP long-polling)", visible: true });
      assert.ok(proxy.refusedUpgrades >= 1, "a WebSocket was tried first");

      await userButton(tab, "bob").click();
      assert.equal(await send(tab, "polling works"), "pending");
      await waitForMessage(tab, "polling works", "sent");
      await userButton(bobTab, "pat").click();
      await waitForMessage(bobTab, "polling works");
      assert.equal(await send(bobTab, "so it does"), "pending");
      await waitForMessage(tab, "so it does");
      // Logging out sends DISCONNECT and the Engine.IO close packet over polling: offline at once.
      await tab.getByRole("button", { name: "Log out" }).click();
      await waitForUser(bobTab, "pat", { state: "offline" });
      await pat.close();
    } finally {
      await proxy.close();
    }
  });

  it("comes back from a dropped connection where it left off: Reconnected, nothing reloaded, the missed message once", async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const heidi = await newUserContext("heidi", {}, UNREACHABLE_ERRORS);
      const wire = await joinAndWrite(heidi, proxyUrl(proxy), "heidi", "bob");
      const tab = wire.page;
      await waitForUser(bobTab, "heidi");
      assert.equal(wire.users, 1);
      const marked = await markMessages(tab);

      await writeWhileAway(proxy, tab, { peerTab: bobTab, username: "heidi", content: "while you were away" });
      await waitForBannerText(tab, "Reconnected");
      assert.deepEqual(await banner(tab), { state: "connected", text: "Reconnected", visible: true });
      await waitForMessage(tab, "while you were away");
      await waitForUser(bobTab, "heidi", { state: "online" });
      await waitForUser(tab, "heidi", { self: true, state: "online" });
      await presenceSettled(server, [tab]);
      assert.equal(wire.users, 1, "no second users list came");
      assert.equal(await markedCount(tab), marked, "the conversation was not rebuilt");
      assert.deepEqual(
        (await conversation(tab)).map((m) => m.content),
        ["before the drop", "while you were away"],
        "the missed message shows once",
      );
      // Still chatting both ways on the recovered socket.
      assert.equal(await send(tab, "back again"), "pending");
      await waitForMessage(tab, "back again", "sent");
      await waitForMessage(bobTab, "back again");
      await heidi.close();
    } finally {
      await proxy.close();
    }
  });

  it("recovers over long-polling too (the server notices the silence by its heartbeat)", async () => {
    // Over polling the server learns of a cut network only by missing pongs: short ones here.
    const quick = await startServer({ args: ["--ping-interval-ms", "300", "--ping-timeout-ms", "300"] });
    const proxy = await startTcpProxy(quick.port);
    const noWebSocket = await new NoWebSocketProxy(new URL(proxy.url).port).listen();
    try {
      const leo = await newUserContext("leo");
      const leoTab = await openPage(leo, quick.url);
      await login(leoTab, "leo");
      const kim = await newUserContext("kim", {}, UNREACHABLE_ERRORS);
      const wire = await joinAndWrite(kim, noWebSocket.url, "kim", "leo");
      const tab = wire.page;
      assert.equal((await banner(tab)).text, "Connected (HTTP long-polling)");
      assert.equal(await markMessages(tab), 1);

      await writeWhileAway(proxy, tab, { peerTab: leoTab, username: "kim", content: "polled while away" });
      await waitForBannerText(tab, "Reconnected (HTTP long-polling)");
      await waitForMessage(tab, "polled while away");
      await presenceSettled(quick, [tab]);
      assert.equal(await markedCount(tab), 1, "the conversation was not rebuilt");
      assert.deepEqual((await conversation(tab)).map((m) => m.content), ["before the drop", "polled while away"]);
      await kim.close();
      await leo.close();
    } finally {
      await noWebSocket.close();
      await proxy.close();
      await quick.stop();
    }
  });

  it("starts over as before when the server could not recover the connection", async () => {
    const shortServer = await startServer({ args: ["--recovery-window-secs", "1"] });
    const proxy = await startTcpProxy(shortServer.port);
    try {
      const ivan = await newUserContext("ivan", {}, UNREACHABLE_ERRORS);
      const judy = await newUserContext("judy");
      const judyTab = await openPage(judy, shortServer.url);
      await login(judyTab, "judy");
      const wire = await joinAndWrite(ivan, proxyUrl(proxy), "ivan", "judy");
      const tab = wire.page;
      assert.equal(await markMessages(tab), 1);

      await writeWhileAway(proxy, tab, {
        peerTab: judyTab, username: "ivan", content: "after the window", awayMs: 1500, // > --recovery-window-secs
      });
      await waitForBannerText(tab, "Connected");
      await waitForMessage(tab, "after the window");
      assert.equal(wire.users, 2, "a fresh users list, as on any normal connection");
      assert.equal(await markedCount(tab), 0, "rebuilt from it");
      assert.deepEqual((await conversation(tab)).map((m) => m.content), ["before the drop", "after the window"]);
      assert.deepEqual(await banner(tab), { state: "connected", text: "Connected", visible: true });
      assert.equal(await conversationTitle(tab), "judy", "the open conversation stays open");
      await ivan.close();
      await judy.close();
    } finally {
      await proxy.close();
      await shortServer.stop();
    }
  });

  it("logs no console errors on any page", () => {
    assert.deepEqual(consoleWatch.errors, []);
  });
});
