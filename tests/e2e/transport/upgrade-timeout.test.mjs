// SPEC §1 / CLI --upgrade-timeout-ms: a WebSocket upgrade that never completes is closed
// after the upgrade timeout (as Node's engine.io closes the upgrading transport).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { pollingHandshake, pollPost, RawWebSocket } from "../lib/engineio.mjs";
import { startServer } from "../lib/server.mjs";

const UPGRADE_TIMEOUT = 500;
const SLACK = 700;

describe("upgrade timeout (chat mode, --upgrade-timeout-ms 500)", () => {
  let server;
  const raws = [];
  const sids = [];
  before(async () => {
    server = await startServer({ args: ["--upgrade-timeout-ms", String(UPGRADE_TIMEOUT)] });
  });
  afterEach(async () => {
    for (const ws of raws.splice(0)) ws.close();
    for (const sid of sids.splice(0)) await pollPost(server.url, sid, "1").catch(() => {});
  });
  after(() => server?.stop());

  async function startUpgrade() {
    const { sid } = await pollingHandshake(server.url);
    sids.push(sid);
    const ws = new RawWebSocket(server.url, { sid });
    raws.push(ws);
    await ws.opened;
    return ws;
  }

  it("probe answered but no upgrade packet: the websocket is closed after the timeout", async () => {
    const ws = await startUpgrade();
    ws.send("2probe");
    assert.equal(await ws.nextText("3"), "3probe");
    const { at } = await ws.expectClosed(UPGRADE_TIMEOUT + SLACK);
    const elapsed = at - ws.openedAt;
    assert.ok(elapsed >= UPGRADE_TIMEOUT - 100, `closed too early (${elapsed} ms)`);
  });

  it("no probe at all: the websocket is closed after the timeout", async () => {
    const ws = await startUpgrade();
    const { at } = await ws.expectClosed(UPGRADE_TIMEOUT + SLACK);
    assert.ok(at - ws.openedAt >= UPGRADE_TIMEOUT - 100, `closed too early (${at - ws.openedAt} ms)`);
  });
});
