// Private messages are routed from the sending connection's thread straight into the
// recipients' outboxes, and a dropped socket's state is parked and restored by connection
// state recovery. Under load, across both worker threads, while the recipient drops and
// recovers several times: every acknowledged message reaches it exactly once, and each
// sender's messages in the order they were sent.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { assertAckOk, connectUser, sendPrivateMessage, uniqueName } from "../lib/chat.mjs";
import { disconnectAll, recorded, recordedEvents, sleep } from "../lib/client.mjs";
import { startServer } from "../lib/server.mjs";

const WORKERS = 2;
const SENDERS = 6;
const MESSAGES = 400;
/** Pause between a sender's messages, so that the sending spans the drops. */
const PACE_MS = 2;
/** Messages a sender has in flight (sent, not yet acknowledged). */
const WINDOW = 8;
const DROPS = 8;
const WS = { transports: ["websocket"] };
const RECONNECTING = { ...WS, reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 };

/** CPU ticks (user + system) of each HTTP worker thread of the server. */
function workerTicks(pid) {
  const ticks = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    // actix names its workers "actix-rt|system:0|arbiter:N" (cut to 15 characters here).
    if (!comm.startsWith("actix-rt|system")) continue;
    const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
    ticks.push(Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

describe("delivery under load, with the recipient dropping and recovering", () => {
  let server;
  before(async () => {
    server = await startServer({
      args: ["--workers", String(WORKERS), "--message-rate", "100000", "--message-burst", "100000"],
    });
  });
  let recipientSocket;
  afterEach(() => {
    recipientSocket?.disconnect();
    disconnectAll();
  });
  after(() => server?.stop());

  it(`${SENDERS} senders x ${MESSAGES} numbered messages to one recipient dropped ${DROPS} times: each exactly once, in order per sender`, async () => {
    const recipient = await connectUser(server.url, RECONNECTING, uniqueName("recipient"));
    recipientSocket = recipient.socket;
    const to = recipient.session.userID;
    const senders = [];
    for (let s = 0; s < SENDERS; s++) senders.push(await connectUser(server.url, WS, uniqueName(`sender${s}`)));
    assert.equal(workerTicks(server.proc.pid).length, WORKERS, "one thread per HTTP worker");
    const ticksBefore = workerTicks(server.proc.pid);

    let sent = 0;
    const sending = senders.map(async (sender, s) => {
      const inFlight = new Set();
      for (let n = 0; n < MESSAGES; n++) {
        const ack = sendPrivateMessage(sender.socket, { content: `${s}:${n}`, to }, 10_000).then((a) => {
          assertAckOk(a);
          sent++;
          inFlight.delete(ack);
        });
        inFlight.add(ack);
        if (inFlight.size >= WINDOW) await Promise.race(inFlight);
        await sleep(PACE_MS);
      }
      await Promise.all(inFlight);
    });

    // Meanwhile the recipient's transport drops, and it comes back recovered, several times.
    const connects = () => recordedEvents(recipient.socket).filter((e) => e === "connect").length;
    const socketId = recipient.socket.id;
    for (let drop = 1; drop <= DROPS; drop++) {
      const target = (drop * SENDERS * MESSAGES) / (DROPS + 1);
      for (const deadline = Date.now() + 10_000; sent < target && Date.now() < deadline; ) await sleep(5);
      const before = connects();
      const sentAtDrop = sent;
      recipient.socket.io.engine.close();
      // Down long enough for messages to be parked for it.
      await sleep(50);
      for (const deadline = Date.now() + 5000; connects() === before; await sleep(10)) {
        assert.ok(Date.now() < deadline, `the recipient did not reconnect within 5 s (drop ${drop})`);
      }
      assert.ok(sent > sentAtDrop, `no message was acknowledged while the recipient was away (drop ${drop})`);
      assert.ok(sent < SENDERS * MESSAGES, `the senders were done before drop ${drop} was over`);
      assert.equal(recipient.socket.recovered, true, `recovered after drop ${drop}`);
      assert.equal(recipient.socket.id, socketId, `the same socket id after drop ${drop}`);
    }
    await Promise.all(sending);

    const total = SENDERS * MESSAGES;
    const received = () => recorded(recipient.socket).filter((e) => e.event === "private message");
    for (const deadline = Date.now() + 10_000; received().length < total && Date.now() < deadline; ) await sleep(20);
    await sleep(300); // any duplicate would arrive by now
    const next = new Array(SENDERS).fill(0);
    const problems = [];
    for (const { args } of received()) {
      const [s, n] = args[0].content.split(":").map(Number);
      assert.equal(args[0].to, to);
      assert.equal(args[0].from, senders[s].session.userID);
      if (n !== next[s]) problems.push(`sender ${s}: got #${n}, expected #${next[s]}`);
      next[s] = Math.max(next[s], n + 1);
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} out of order, lost or duplicated`);
    assert.equal(received().length, total, "every acknowledged message, exactly once");
    assert.equal(recordedEvents(recipient.socket).filter((e) => e === "users").length, 1, "never a fresh connection");

    // The senders' connections were spread over both workers: each did a share of the work.
    const ticks = workerTicks(server.proc.pid).map((t, i) => t - ticksBefore[i]);
    const all = ticks.reduce((a, b) => a + b, 0);
    for (const t of ticks) assert.ok(t >= all * 0.15, `worker CPU ticks ${JSON.stringify(ticks)}: one worker did nearly all`);
  });
});
