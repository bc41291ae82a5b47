// Headless Chromium for the browser tests, plus a watch on every page's console.
//
// Chromium is a system package (apt `chromium`), not a Playwright download: the machines reach no
// browser CDN. A missing browser fails the tests with the path that was tried, never skips them,
// because a skipped browser suite would hide a broken page.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Launches headless Chromium or throws an error saying how to install it. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/**
 * Records console errors and uncaught exceptions of every page opened in the contexts it watches,
 * so a test can assert that the page ran cleanly.
 */
export class ConsoleWatch {
  constructor() {
    /** @type {string[]} */
    this.errors = [];
  }

  /**
   * Watches every current and future page of a browser context. `expected` matches console errors
   * a test provokes on purpose (Chromium logs every refused WebSocket or unreachable server, and
   * a page cannot silence that); anything else still counts.
   */
  watchContext(context, label, { expected } = {}) {
    for (const page of context.pages()) this.watchPage(page, label, { expected });
    context.on("page", (page) => this.watchPage(page, label, { expected }));
    return context;
  }

  watchPage(page, label, { expected } = {}) {
    page.on("console", (message) => {
      if (message.type() !== "error" || expected?.test(message.text())) return;
      this.errors.push(`[${label}] console.error: ${message.text()}`);
    });
    page.on("pageerror", (error) => this.errors.push(`[${label}] uncaught: ${error.message}`));
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the page's user list shows `username` (as ourselves or not) with the given presence. */
export async function waitForUser(page, username, { self = false, state = "online", timeout } = {}) {
  await page.waitForFunction(
    ([name, isSelf, wanted]) =>
      [...document.querySelectorAll("#user-list button.user")].some(
        (button) =>
          button.querySelector(".user-name").textContent === name &&
          !button.querySelector(".user-self").hidden === isSelf &&
          button.dataset.state === wanted,
      ),
    [username, self, state],
    { timeout },
  );
}

/**
 * Waits until the open conversation shows a message with exactly `content` in state `status`
 * ("sent", "pending", "failed"); `options` is that status, or `{status, timeout}`.
 */
export async function waitForMessage(page, content, options = {}) {
  const { status = "sent", timeout } = typeof options === "string" ? { status: options } : options;
  await page.waitForFunction(
    ([text, wanted]) =>
      [...document.querySelectorAll("#messages > li")].some(
        (item) => item.querySelector(".message-content").textContent === text && item.dataset.status === wanted,
      ),
    [content, status],
    { timeout },
  );
}

/** Waits until the connection banner's state is `state`. */
export async function waitForBanner(page, state, timeout) {
  await page.waitForFunction(
    (wanted) => document.getElementById("connection-status").dataset.state === wanted,
    state,
    { timeout },
  );
}
