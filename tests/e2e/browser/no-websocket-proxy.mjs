// An HTTP reverse proxy that lets plain requests through and refuses every WebSocket upgrade,
// like the corporate proxies and old load balancers that make Socket.IO fall back to long-polling.
// The browser sees a real failed WebSocket handshake (403), not a simulated one.
import { createServer, request as httpRequest } from "node:http";

export class NoWebSocketProxy {
  constructor(upstreamPort) {
    this.upstreamPort = upstreamPort;
    this.refusedUpgrades = 0;
    this.server = createServer((incoming, outgoing) => {
      const forwarded = httpRequest(
        {
          host: "127.0.0.1",
          port: this.upstreamPort,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on("error", () => outgoing.destroy());
      incoming.on("aborted", () => forwarded.destroy());
      incoming.pipe(forwarded);
    });
    this.server.on("upgrade", (_request, socket) => {
      this.refusedUpgrades += 1;
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
  }

  listen() {
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        this.port = this.server.address().port;
        resolve(this);
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
