// Memory is given back after a burst: an idle connection keeps no buffer a burst made grow.
//
// After the upgrade the server reads each WebSocket through its worker's shared buffer and
// keeps, per connection, only the bytes of a frame a read cut short; a long frame grows that
// to the frame's size while it arrives, and it must be freed once the frame is complete
// (likewise a fragmented message's assembly, and an outbound queue that filled while its
// client was slow). There is no per-connection buffer gauge: the test measures the server's
// resident memory (VmRSS) with many idle connections before and after every one of them took
// a burst, which a kept buffer per connection would raise by its size times the connections.
// (The messages themselves are kept on purpose: in the history and the recovery log. The server
// runs with one message of history per user and recovery off, so that they do not count.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { assertAckOk, connectUser, sendPrivateMessage } from "../lib/chat.mjs";
import { disconnectAll, sleep } from "../lib/client.mjs";
import { startServer } from "../lib/server.mjs";
import { clientFrame, Op, openTcpWebSocket } from "../lib/tcp-websocket.mjs";

const CONNECTIONS = 100;
/** Each connection's inbound burst: one long frame, read in many pieces (64 KiB reads). */
const LONG_FRAME = 900_000;
/** Each connection's outbound burst, queued while it does not read. */
const OUTBOUND_MESSAGES = 20;
const CONTENT = "o".repeat(10_000);
const MIB = 1024 * 1024;

function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1]) * 1024;
}

/** The lowest RSS seen over `ms` (freed memory goes back to the system within a second). */
async function settledRss(pid, ms = 2500) {
  let low = Infinity;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) low = Math.min(low, rssBytes(pid));
  return low;
}

describe("memory after a burst", () => {
  let server;
  before(async () => {
    // What the chat keeps on purpose is kept small, so that what is measured is the
    // connections: one message of history per user, no recovery log.
    server = await startServer({
      args: ["--message-rate", "100000", "--message-burst", "100000", "--history-limit", "1", "--recovery-window-secs", "0"],
    });
  });
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  it(`${CONNECTIONS} idle connections that each took a long frame, a fragmented message and a queued burst are as small as before`, async () => {
    const sender = await connectUser(server.url, { transports: ["websocket"] });
    const clients = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const client = await openTcpWebSocket(server.url);
      await client.nextText("0");
      await client.sendText(`40{"username":"idle-${i}"}`);
      const session = JSON.parse((await client.nextText('42["session"')).slice(2))[1];
      await client.nextText('42["users"');
      clients.push({ client, userID: session.userID });
    }
    // Every newcomer was announced to the ones before: let that settle first.
    for (const { client } of clients) client.queue.length = 0;
    const baseline = await settledRss(server.proc.pid);

    let peak = 0;
    for (let wave = 0; wave < CONNECTIONS; wave += 10) {
      await Promise.all(
        clients.slice(wave, wave + 10).map(async ({ client, userID }) => {
          // Inbound: a long frame (refused as too long a message, after being read whole) ...
          const long = `421${JSON.stringify(["private message", { content: "l".repeat(LONG_FRAME), to: userID }])}`;
          await client.write(clientFrame(Op.TEXT, Buffer.from(long)));
          await client.nextText("431", 10_000);
          peak = Math.max(peak, rssBytes(server.proc.pid));
          // ... and a message in fragments.
          const fragmented = Buffer.from(`422${JSON.stringify(["private message", { content: "f".repeat(200_000), to: userID }])}`);
          await client.write(clientFrame(Op.TEXT, fragmented.subarray(0, 100_000), { fin: false }));
          await client.write(clientFrame(Op.CONTINUATION, fragmented.subarray(100_000), { fin: true }));
          await client.nextText("432", 10_000);
          // Outbound: a burst queued while the client does not read, then read.
          client.socket.pause();
          await Promise.all(
            Array.from({ length: OUTBOUND_MESSAGES }, async () =>
              assertAckOk(await sendPrivateMessage(sender.socket, { content: CONTENT, to: userID }, 10_000)),
            ),
          );
          peak = Math.max(peak, rssBytes(server.proc.pid));
          client.socket.resume();
          for (let i = 0; i < OUTBOUND_MESSAGES; i++) await client.nextText('42["private message"', 10_000);
        }),
      );
    }
    const afterBurst = await settledRss(server.proc.pid);
    const grown = afterBurst - baseline;
    const perConnection = grown / CONNECTIONS;
    console.log(
      `RSS: ${(baseline / MIB).toFixed(1)} MiB idle, ${(peak / MIB).toFixed(1)} MiB in the burst, ` +
        `${(afterBurst / MIB).toFixed(1)} MiB idle again (${(perConnection / 1024).toFixed(1)} KiB per connection kept)`,
    );
    // Each connection read 900 KB in pieces: keeping that buffer would be ~1 MiB each.
    assert.ok(
      perConnection < 64 * 1024,
      `idle connections kept ${(perConnection / 1024).toFixed(1)} KiB each after the burst ` +
        `(RSS ${(baseline / MIB).toFixed(1)} -> ${(afterBurst / MIB).toFixed(1)} MiB)`,
    );
    for (const { client } of clients) client.destroy();
  });
});
