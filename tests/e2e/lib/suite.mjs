// The lifecycle most test files share: one server for the file, every socket closed after
// each test, the server stopped at the end.
import { after, afterEach, before } from "node:test";
import { disconnectAll } from "./client.mjs";
import { startServer } from "./server.mjs";

/**
 * Starts a server (options as for startServer) before the file's tests and returns a handle
 * whose `url`, `port`, `stderr()`... read the running server once it has started.
 */
export function useServer(options = {}) {
  let server;
  before(async () => {
    server = await startServer(options);
  });
  afterEach(() => disconnectAll());
  after(() => server?.stop());
  return {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    stderr: () => server.stderr(),
    stop: () => server.stop(),
    kill: () => server.kill(),
  };
}

/** Raw Engine.IO sockets a test opened (push them here); closed after each test. */
export function useRawSockets() {
  const raws = [];
  afterEach(() => {
    for (const ws of raws.splice(0)) ws.close();
  });
  return raws;
}
