// SPEC §1: a duplicate concurrent long-poll closes that session (as Node's engine.io:
// the second GET gets 400, the pending one returns the CLOSE packet); others are unaffected.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, emitWithAckArgs, sleep } from "../lib/client.mjs";
import { engineRequest, pollGet, pollingHandshake, pollPost } from "../lib/engineio.mjs";
import { useServer } from "../lib/suite.mjs";

describe("duplicate concurrent poll (socket.io conformance server)", () => {
  const server = useServer({ args: ["--conformance", "socketio"] });

  it("second GET gets 400, the first returns a close packet, the session is gone", async () => {
    const bystander = await connect(server.url, { transports: ["polling"] });
    const other = await pollingHandshake(server.url);
    const { sid } = await pollingHandshake(server.url);
    const first = pollGet(server.url, sid, { timeoutMs: 3000 });
    await sleep(50); // let the first poll reach the server (well under the 300 ms ping interval)
    const second = await pollGet(server.url, sid, { timeoutMs: 3000 });
    assert.equal(second.status, 400);
    const firstResult = await first;
    assert.equal(firstResult.status, 200);
    assert.equal(firstResult.packets.at(-1)?.type, "1", `first poll should end with a close packet: ${firstResult.text}`);
    const later = await engineRequest(server.url, { query: { sid } });
    assert.equal(later.status, 400);
    assert.deepEqual(later.json, { code: 1, message: "Session ID unknown" });

    // Another raw polling session and a socket.io-client are unaffected.
    assert.equal((await pollPost(server.url, other.sid, "40")).status, 200);
    const answer = await pollGet(server.url, other.sid);
    assert.equal(answer.status, 200);
    assert.ok(answer.packets.some((p) => p.type === "4" && p.data.startsWith("0{")), answer.text);
    assert.deepEqual(await emitWithAckArgs(bystander, "message-with-ack", ["alive"]), ["alive"]);
    await pollPost(server.url, other.sid, "1");
  });
});
