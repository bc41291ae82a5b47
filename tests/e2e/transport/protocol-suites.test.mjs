// The behaviours the official engine.io-protocol and socket.io-protocol test suites check
// that we once got wrong, each run 20 times in a row inside one test so that a
// race fails the test instead of flaking. The clients are the suites' own kind: raw fetch
// and `ws` 8.5.0 (pinned), reading one message per `once` listener with an `await` between.
// Items 2-4 live in the transport, so they are checked against both conformance servers and
// the chat.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import WebSocket from "ws-8.5.0";
import { engineRequest, pollGet, pollingHandshake, pollPost, RawWebSocket } from "../lib/engineio.mjs";
import { useServer } from "../lib/suite.mjs";

const ROUNDS = 20;
/** The heartbeat of the official suites' servers. */
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

/** The next event of `type` on `socket`, as the suites wait for it (`once`, no queue). */
function waitFor(socket, type, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
    socket.addEventListener(
      type,
      (event) => {
        clearTimeout(timer);
        resolve(event);
      },
      { once: true },
    );
  });
}

/** The next message but heartbeat pings (answered), one `once` listener at a time. */
async function nextMessage(socket, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = String((await waitFor(socket, "message", Math.max(1, deadline - Date.now()))).data);
    if (data !== "2") return data;
    socket.send("3");
  }
}

function wsUrl(base, sid) {
  const query = new URLSearchParams({ EIO: "4", transport: "websocket", ...(sid ? { sid } : {}) });
  return `${base.replace(/^http/, "ws")}/?${query}`;
}

/** Polling session upgraded to WebSocket with `2probe` / `5` sent back to back, as the suite does. */
async function upgradedSession(base) {
  const { sid } = await pollingHandshake(base);
  const socket = new RawWebSocket(base, { sid });
  await socket.opened;
  socket.send("2probe");
  socket.send("5");
  return { sid, socket };
}

const VARIANTS = [
  {
    name: "engine.io conformance server (/engine.io/)",
    args: ["--conformance", "engineio"],
    path: "/engine.io",
    // The session still answers: the echo of a message.
    alive: { send: "4hello", expect: (data) => data === "4hello" },
  },
  {
    name: "socket.io conformance server",
    args: ["--conformance", "socketio"],
    path: "/socket.io",
    alive: { send: "40", expect: (data) => data.startsWith("40{") },
    connect: { send: "40", then: '42["auth",{}]' },
  },
  {
    name: "chat",
    args: [],
    path: "/socket.io",
    alive: { send: '40{"username":"alice"}', expect: (data) => data.startsWith("40{") },
    connect: { send: '40{"username":"alice"}', then: '42["session",' },
  },
];

for (const variant of VARIANTS) {
  describe(`official suites' checks: ${variant.name}`, () => {
    const server = useServer({ args: variant.args });
    const base = () => `${server.url}${variant.path}`;
    const timed = useServer({
      args: [...variant.args, "--ping-interval-ms", String(PING_INTERVAL), "--ping-timeout-ms", String(PING_TIMEOUT)],
    });
    const useServerTimings = () => ({ base: () => `${timed.url}${variant.path}` });

    it(`a close POSTed while a GET waits ends that GET with a noop, then the sid is unknown (x${ROUNDS})`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { sid } = await pollingHandshake(base());
        const pending = pollGet(base(), sid);
        // The suite's precondition, "a GET is waiting": give it time to reach the server
        // (fetch may send the POST on a warm connection and the GET on a new one).
        await sleep(100);
        const post = await pollPost(base(), sid, "1");
        const poll = await pending;
        assert.equal(poll.status, 200, `round ${round}: ${poll.text}`);
        assert.equal(poll.text, "6", `round ${round}`);
        assert.equal(post.status, 200, `round ${round}`);
        const after = await pollGet(base(), sid);
        assert.equal(after.status, 400, `round ${round}`);
        assert.deepEqual(after.json, { code: 1, message: "Session ID unknown" });
      }
    });

    it(`a GET and a POSTed close sent at the same time: the GET gets a noop whichever arrives first (x${ROUNDS})`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { sid } = await pollingHandshake(base());
        const [poll, post] = await Promise.all([pollGet(base(), sid), pollPost(base(), sid, "1")]);
        assert.equal(poll.status, 200, `round ${round}: ${poll.text}`);
        assert.equal(poll.text, "6", `round ${round}`);
        assert.equal(post.status, 200, `round ${round}`);
        const after = await pollGet(base(), sid);
        assert.equal(after.status, 400, `round ${round}`);
      }
    });

    it(`a GET sent pingInterval + pingTimeout after the handshake finds the session closed (x${ROUNDS})`, async () => {
      const pinger = useServerTimings(variant);
      // Rounds run side by side: each waits the whole heartbeat.
      await Promise.all(
        Array.from({ length: ROUNDS }, async (_, round) => {
          const { sid } = await pollingHandshake(pinger.base());
          await sleep(PING_INTERVAL + PING_TIMEOUT); // the suite's own wait, its subject
          const poll = await pollGet(pinger.base(), sid);
          assert.equal(poll.status, 400, `round ${round}: ${poll.status} ${poll.text}`);
        }),
      );
    });

    /** The session still answers over its WebSocket. */
    async function assertAlive(socket, round) {
      assert.equal(await socket.nextText("3"), "3probe", `round ${round}`);
      socket.send(variant.alive.send);
      const reply = await socket.nextText("4");
      assert.ok(variant.alive.expect(reply), `round ${round}: unexpected ${reply}`);
    }

    it(`after 2probe and 5, a polling GET gets 400 and the WebSocket keeps working (x${ROUNDS})`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { sid, socket } = await upgradedSession(base());
        try {
          // `5` was sent before this GET, but over another connection.
          const poll = await engineRequest(base(), { query: { sid } });
          assert.equal(poll.status, 400, `round ${round}: ${poll.text}`);
          assert.deepEqual(poll.json, { code: 3, message: "Bad request" });
          await assertAlive(socket, round);
        } finally {
          socket.close();
        }
      }
    });

    it(`a second WebSocket for an upgraded sid completes its handshake and is closed; the first keeps working (x${ROUNDS})`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { sid, socket } = await upgradedSession(base());
        const second = new RawWebSocket(base(), { sid });
        try {
          await second.opened; // the handshake completes (no HTTP error)...
          await second.expectClosed(3000); // ...and the server closes it at once
          await assertAlive(socket, round);
        } finally {
          second.close();
          socket.close();
        }
      }
    });

    if (variant.connect) {
      it(`the CONNECT reply reaches a one-message-at-a-time client on its own, then the first event (x${ROUNDS})`, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const socket = new WebSocket(wsUrl(base()));
          try {
            await waitFor(socket, "message"); // Engine.IO handshake
            socket.send(variant.connect.send);
            const reply = await nextMessage(socket);
            assert.ok(reply.startsWith("40{"), `round ${round}: ${reply}`);
            const first = await nextMessage(socket);
            assert.ok(String(first).startsWith(variant.connect.then), `round ${round}: ${first}`);
          } finally {
            socket.terminate();
          }
        }
      });
    }
  });
}

describe("--path chooses the Engine.IO endpoint", () => {
  const server = useServer({ args: ["--path", "/chat-io/"] });

  it("serves Engine.IO at the configured path only", async () => {
    const { sid } = await pollingHandshake(`${server.url}/chat-io`);
    assert.match(sid, /^[\w-]+$/);
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});
