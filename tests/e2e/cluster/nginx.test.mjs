// SPEC §5: many nodes behind nginx with ip_hash, using the example config/nginx.conf (only
// the addresses substituted). Clients go through nginx on every transport, the polling →
// WebSocket upgrade works through it, and messages reach them whichever node sent them.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { expectNoEvent, once } from "../lib/client.mjs";
import { assertAckOk, connectUser, coreMessage, messageSyncPoint, sendPrivateMessage } from "../lib/chat.mjs";
import { startNginx } from "../lib/nginx.mjs";
import { REPO_ROOT } from "../lib/server.mjs";
import { useCluster } from "./cluster.mjs";
import { eventually } from "../lib/signals.mjs";

describe("cluster: three nodes behind nginx (config/nginx.conf)", () => {
  const cluster = useCluster(3);
  let nginx;
  before(async () => {
    nginx = await startNginx(cluster.nodes.map((node) => node.port));
  });
  after(() => nginx?.stop());

  it("the example config has ip_hash, WebSocket upgrade headers and timeouts above pingInterval + pingTimeout", async () => {
    const example = await readFile(join(REPO_ROOT, "config/nginx.conf"), "utf8");
    assert.match(example, /upstream\s+\w+\s*\{[^}]*ip_hash;/);
    assert.match(example, /proxy_http_version 1\.1;/);
    assert.match(example, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(example, /proxy_set_header Connection \$connection_upgrade;/);
    for (const directive of ["proxy_read_timeout", "proxy_send_timeout"]) {
      const [, seconds] = example.match(new RegExp(`${directive} (\\d+)s;`)) ?? [];
      assert.ok(Number(seconds) > 45, `${directive} ${seconds}s must exceed 25 s + 20 s`);
    }
  });

  it("ip_hash pins a client address to one node", async () => {
    const nodes = new Set();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${nginx.url}/health`);
      assert.equal(res.status, 200);
      nodes.add((await res.json()).node);
    }
    assert.equal(nodes.size, 1, `every request from 127.0.0.1 on one node: ${[...nodes]}`);
  });

  const variants = [
    { name: "polling then upgrade (default options)", opts: {}, transport: "websocket" },
    { name: "websocket only", opts: { transports: ["websocket"] }, transport: "websocket" },
    { name: "polling only", opts: { transports: ["polling"] }, transport: "polling" },
  ];
  for (const { name, opts, transport } of variants) {
    it(`${name}: a client through nginx talks with users on every node`, async () => {
      const viaNginx = await connectUser(nginx.url, opts);
      await eventually(`transport ${transport} through nginx`, () => viaNginx.socket.io.engine.transport.name === transport);
      const me = viaNginx.session.userID;
      for (const [i, node] of cluster.nodes.entries()) {
        const direct = await connectUser(node.url, { transports: ["websocket"] });
        assertAckOk(await sendPrivateMessage(direct.socket, { content: `from n${i + 1}`, to: me }));
        const [received] = await once(viaNginx.socket, "private message");
        assert.deepEqual(coreMessage(received), { content: `from n${i + 1}`, from: direct.session.userID, to: me });

        assertAckOk(await sendPrivateMessage(viaNginx.socket, { content: `to n${i + 1}`, to: direct.session.userID }));
        const [back] = await once(direct.socket, "private message");
        assert.deepEqual(coreMessage(back), { content: `to n${i + 1}`, from: me, to: direct.session.userID });
        direct.socket.disconnect();
      }
      // A marker from each node arrives after anything that node still had for this client.
      for (const node of cluster.nodes) {
        const marker = await connectUser(node.url, { transports: ["websocket"] });
        await messageSyncPoint(marker, me, [viaNginx.socket]);
      }
      await expectNoEvent(viaNginx.socket, "private message", 0);
      assert.equal(viaNginx.socket.io.engine.transport.name, transport, "still on the same transport");
    });
  }
});
