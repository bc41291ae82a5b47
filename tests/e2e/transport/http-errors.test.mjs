// SPEC §1: Engine.IO HTTP errors are 400 with Node's JSON body {"code":N,"message":"…"}.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engineRequest, pollingHandshake } from "../lib/engineio.mjs";
import { startServer } from "../lib/server.mjs";

const UNKNOWN_TRANSPORT = { code: 0, message: "Transport unknown" };
const UNKNOWN_SID = { code: 1, message: "Session ID unknown" };
const BAD_HANDSHAKE_METHOD = { code: 2, message: "Bad handshake method" };
const BAD_REQUEST = { code: 3, message: "Bad request" };
const UNSUPPORTED_PROTOCOL = { code: 5, message: "Unsupported protocol version" };

async function assertEngineError(url, request, expected) {
  const res = await engineRequest(url, request);
  assert.equal(res.status, 400, `status for ${JSON.stringify(request)}: body ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  assert.deepEqual(JSON.parse(res.text), expected);
}

describe("Engine.IO HTTP errors (socket.io conformance server)", () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--conformance", "socketio"] });
  });
  after(() => server?.stop());

  it("EIO=3 is refused with code 5", () =>
    assertEngineError(server.url, { query: { EIO: "3" } }, UNSUPPORTED_PROTOCOL));

  it("EIO=abc is refused with code 5", () =>
    assertEngineError(server.url, { query: { EIO: "abc" } }, UNSUPPORTED_PROTOCOL));

  it("a missing EIO is refused with code 5", () =>
    assertEngineError(server.url, { query: { EIO: undefined } }, UNSUPPORTED_PROTOCOL));

  it("an unknown transport is refused with code 0", () =>
    assertEngineError(server.url, { query: { transport: "carrier-pigeon" } }, UNKNOWN_TRANSPORT));

  it("a missing transport is refused with code 0", () =>
    assertEngineError(server.url, { query: { transport: undefined } }, UNKNOWN_TRANSPORT));

  it("an unknown sid is refused with code 1 (GET and POST)", async () => {
    await assertEngineError(server.url, { query: { sid: "no-such-session" } }, UNKNOWN_SID);
    await assertEngineError(server.url, { query: { sid: "no-such-session" }, method: "POST", body: "4x" }, UNKNOWN_SID);
  });

  for (const method of ["PUT", "DELETE", "POST"]) {
    it(`${method} as handshake is refused with code 2`, () =>
      assertEngineError(server.url, { method, body: method === "DELETE" ? undefined : "4x" }, BAD_HANDSHAKE_METHOD));
  }

  it("a plain GET with transport=websocket (no Upgrade) is refused with code 3", () =>
    assertEngineError(server.url, { query: { transport: "websocket" } }, BAD_REQUEST));

  it("errors do not disturb an existing session", async () => {
    const { sid } = await pollingHandshake(server.url);
    await assertEngineError(server.url, { query: { EIO: "3" } }, UNSUPPORTED_PROTOCOL);
    await assertEngineError(server.url, { query: { transport: "nope" } }, UNKNOWN_TRANSPORT);
    await assertEngineError(server.url, { method: "PUT", body: "x" }, BAD_HANDSHAKE_METHOD);
    const res = await engineRequest(server.url, { query: { sid }, method: "POST", body: "40" });
    assert.equal(res.status, 200);
    const answer = await engineRequest(server.url, { query: { sid } });
    assert.match(answer.text, /(^|\x1e)40\{"sid":"[^"]+"\}/);
    await engineRequest(server.url, { query: { sid }, method: "POST", body: "1" });
  });
});
