// The HTTP surface besides Engine.IO: the chat page with protective headers, no path
// traversal out of the static directory, CORS only where configured.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startServer } from "../lib/server.mjs";
import WebSocket from "ws";

/** A raw GET whose path is sent exactly as written (fetch would normalise `..`). */
function rawGet(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c) => (body += c)).on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP surface", () => {
  let server;
  before(async () => (server = await startServer()));
  after(async () => server?.stop());

  it("serves the chat page with protective headers", async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /text\/html/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.match(res.headers.get("content-security-policy"), /default-src 'self'/);
  });

  for (const path of ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/..%2fCargo.toml", "/%2e%2e%2f%2e%2e%2fetc/passwd", "/../../../../etc/passwd"]) {
    it(`does not serve ${path} from outside the static directory`, async () => {
      const { status, body } = await rawGet(server.port, path);
      assert.ok(status >= 400, `status ${status}`);
      assert.ok(!body.includes("[workspace]") && !body.includes("root:x:"), "leaked a file");
    });
  }

  it("sends no CORS headers by default (same origin only)", async () => {
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "http://evil.example" } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("allows exactly the configured origins", async () => {
    const cors = await startServer({ args: ["--cors-origins", "http://good.example"] });
    try {
      const good = await fetch(`${cors.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "http://good.example" } });
      assert.equal(good.status, 200);
      assert.equal(good.headers.get("access-control-allow-origin"), "http://good.example");
      const bad = await fetch(`${cors.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "http://evil.example" } });
      assert.notEqual(bad.headers.get("access-control-allow-origin"), "http://evil.example");
    } finally {
      await cors.stop();
    }
  });

  it("allows every origin with --cors-origins '*'", async () => {
    const cors = await startServer({ args: ["--cors-origins", "*"] });
    try {
      const res = await fetch(`${cors.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "http://any.example" } });
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    } finally {
      await cors.stop();
    }
  });
});

describe("WebSocket Origin check", () => {
  let server;
  before(async () => (server = await startServer()));
  after(async () => server?.stop());

  const open = (url, headers) =>
    new Promise((resolve) => {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, { headers });
      ws.once("open", () => {
        ws.terminate();
        resolve(101);
      });
      ws.once("unexpected-response", (_req, res) => {
        resolve(res.statusCode);
        ws.terminate();
      });
      ws.once("error", () => {});
    });

  it("refuses a WebSocket from a foreign page origin by default", async () => {
    assert.equal(await open(server.url, { Origin: "http://evil.example" }), 403);
  });

  it("accepts the page's own origin and clients that send no Origin", async () => {
    assert.equal(await open(server.url, { Origin: `http://127.0.0.1:${server.port}` }), 101);
    assert.equal(await open(server.url, {}), 101);
  });

  it("accepts exactly the configured origins", async () => {
    const listed = await startServer({ args: ["--cors-origins", "http://good.example"] });
    try {
      assert.equal(await open(listed.url, { Origin: "http://good.example" }), 101);
      assert.equal(await open(listed.url, { Origin: "http://evil.example" }), 403);
    } finally {
      await listed.stop();
    }
  });
});
