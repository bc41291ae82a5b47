// One client that never reads must not slow delivery to anyone else: the p99 latency of a
// conversation between two other users stays within 2x of its baseline while the stalled
// client is flooded (its bounded queue fills and it is closed; nothing buffers without limit).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { disconnectAll, once } from "../lib/client.mjs";
import { connectUser } from "../lib/chat.mjs";
import { wsHandshake } from "../lib/engineio.mjs";

const WS = { transports: ["websocket"] };
const SAMPLES = 300;
// Below a couple of milliseconds, scheduler noise on a shared 2-core machine dominates; the
// baseline is floored there so the 2x bound measures the server, not the machine.
const FLOOR_MS = 2;

/** p99 of SAMPLES messages alice -> bob, extended in batches of 50 while `keepGoing()`. */
async function p99(alice, bob, keepGoing = async () => false) {
  const latencies = [];
  const deadline = Date.now() + 20_000;
  const sample = async (i) => {
    const received = once(bob.socket, "private message");
    const start = process.hrtime.bigint();
    alice.socket.emit("private message", { content: `probe ${i}`, to: bob.session.userID });
    await received;
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  };
  for (let i = 0; i < SAMPLES; i++) await sample(i);
  while (Date.now() < deadline && (await keepGoing())) {
    for (let i = 0; i < 50; i++) await sample(i);
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.floor(latencies.length * 0.99)];
}

describe("a stalled client does not slow others", () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--outbound-buffer-bytes", "655360", "--message-rate", "100000", "--message-burst", "100000"] });
  });
  after(async () => {
    disconnectAll();
    await server?.stop();
  });

  // The same flood goes first to a client that reads, then to one that never reads: the
  // difference between the two p99s is what the stalled client costs everyone else.
  async function p99WhileFlooding(alice, bob, flooder, target, keepGoing) {
    let flooding = true;
    const big = "z".repeat(10_000);
    const flood = (async () => {
      while (flooding) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            flooder.socket.timeout(5000).emitWithAck("private message", { content: big, to: target }).catch(() => {}),
          ),
        );
      }
    })();
    const result = await p99(alice, bob, keepGoing);
    flooding = false;
    await flood;
    return result;
  }

  it("keeps the p99 of an unrelated conversation within 2x", async () => {
    const alice = await connectUser(server.url, WS);
    const bob = await connectUser(server.url, WS);
    const flooder = await connectUser(server.url, WS);
    const reader = await connectUser(server.url, WS);
    await p99(alice, bob); // warm-up
    const baseline = await p99WhileFlooding(alice, bob, flooder, reader.session.userID);

    const { ws } = await wsHandshake(server.url);
    ws.send('40{"username":"stalled"}');
    const stalled = JSON.parse((await ws.nextText('42["session"')).slice(2))[1];
    await ws.nextText('42["users"');
    ws.ws._socket.pause();
    // Measure for as long as the stalled client is still connected (its queue filling up).
    const notYetClosed = async () =>
      !/chat_errors_total\{kind="slow_consumer"\} [1-9]/.test(await (await fetch(`${server.url}/metrics`)).text());
    const during = await p99WhileFlooding(alice, bob, flooder, stalled.userID, notYetClosed);
    ws.close();

    const bound = 2 * Math.max(baseline, FLOOR_MS);
    assert.ok(during <= bound, `p99 ${during.toFixed(2)} ms with a stalled client vs ${baseline.toFixed(2)} ms with a reading one (bound ${bound.toFixed(2)} ms)`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /chat_errors_total\{kind="slow_consumer"\} [1-9]/, "the stalled client was never closed");
  });
});
