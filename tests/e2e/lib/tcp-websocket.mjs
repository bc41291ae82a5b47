// A WebSocket client over a plain TCP socket, frame by frame.
//
// `ws` (lib/engineio.mjs) writes whole, well-formed messages in one write and answers control
// frames by itself; the server's own WebSocket reader must also survive what it never does:
// fragmented messages with a ping in the middle, a frame cut into one-byte writes, a frame
// announcing more than the limit, a half-closed socket. This client writes the bytes it is
// told to, when it is told to, and reports every frame the server sends (close frames with
// their code) and the end of the server's side of the stream.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { endpoint } from "./engineio.mjs";

/** WebSocket opcodes (RFC 6455 5.2). */
export const Op = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

/**
 * One masked client frame. `length` overrides the announced payload length (a lie, to
 * announce more than is sent); `fin` false for all but the last frame of a fragmented message.
 */
export function clientFrame(opcode, payload = Buffer.alloc(0), { fin = true, length } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = length ?? data.length;
  let header;
  if (len < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}

/** A server frame at the start of `buf` ({fin, opcode, payload, size}), or null if incomplete. */
function parseServerFrame(buf) {
  if (buf.length < 2) return null;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  if (buf[1] & 0x80) throw new Error("the server sent a masked frame");
  let len = buf[1] & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + len) return null;
  return { fin, opcode, payload: buf.subarray(offset, offset + len), size: offset + len };
}

/**
 * A WebSocket to the Engine.IO endpoint of `baseUrl` over raw TCP. Resolves once the server
 * answered 101. `pipelined` bytes (frames, or part of one) go in the same write as the request,
 * before any answer, so that the server reads them with the request. The socket allows
 * half-open (ending our side does not end the server's).
 * Messages (`{opcode, data}`, fragments assembled) and control frames are queued in arrival
 * order; `close` is the close frame's code (undefined until one came), `ended` resolves when
 * the server's side of the stream ends, with whether it ended by a reset.
 */
export function openTcpWebSocket(baseUrl, query = {}, { pipelined = Buffer.alloc(0) } = {}) {
  const url = new URL(endpoint(baseUrl));
  const params = new URLSearchParams({ EIO: "4", transport: "websocket", ...query });
  const socket = connect({ host: url.hostname, port: Number(url.port), allowHalfOpen: true });
  socket.setNoDelay(true);
  const client = new TcpWebSocket(socket);
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.off("error", reject);
      const status = head.subarray(0, head.indexOf("\r\n")).toString();
      if (!/^HTTP\/1\.1 101/.test(status)) return reject(new Error(`upgrade refused: ${status}`));
      client.attach(head.subarray(end + 4));
      resolve(client);
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("connect", () => {
      const request =
        `GET ${url.pathname}?${params} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
        "Sec-WebSocket-Version: 13\r\n\r\n";
      socket.write(Buffer.concat([Buffer.from(request), pipelined]));
    });
  });
}

class TcpWebSocket {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.queue = [];
    this.waiters = [];
    this.fragments = null;
    this.close = undefined;
    this.ended = new Promise((resolve) => {
      let reset = false;
      socket.on("error", (err) => (reset = reset || err.code === "ECONNRESET"));
      socket.once("end", () => resolve({ reset: false }));
      socket.once("close", () => resolve({ reset }));
    });
  }

  attach(rest) {
    this.socket.on("data", (chunk) => this.onData(chunk));
    if (rest.length > 0) this.onData(rest);
  }

  onData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = parseServerFrame(this.buffer);
      if (!frame) break;
      this.buffer = this.buffer.subarray(frame.size);
      const payload = Buffer.from(frame.payload);
      if (frame.opcode >= 0x8) {
        if (frame.opcode === Op.CLOSE) this.close = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.push({ opcode: frame.opcode, data: payload });
      } else if (frame.opcode === Op.CONTINUATION) {
        this.fragments.parts.push(payload);
        if (frame.fin) {
          this.push({ opcode: this.fragments.opcode, data: Buffer.concat(this.fragments.parts) });
          this.fragments = null;
        }
      } else if (!frame.fin) {
        this.fragments = { opcode: frame.opcode, parts: [payload] };
      } else {
        this.push({ opcode: frame.opcode, data: payload });
      }
    }
  }

  push(message) {
    const waiter = this.waiters.find((w) => w.accepts(message));
    if (waiter) waiter.take(message);
    else this.queue.push(message);
  }

  /** The next message or control frame satisfying `accepts`, in arrival order. */
  next(accepts = () => true, timeoutMs = 3000) {
    const index = this.queue.findIndex(accepts);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        accepts,
        take: (message) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(message);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const queued = this.queue.map((m) => ({ opcode: m.opcode, data: m.data.toString().slice(0, 80) }));
        reject(new Error(`no matching frame within ${timeoutMs} ms (queue: ${JSON.stringify(queued)})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next text message starting with `prefix`, as a string. */
  async nextText(prefix, timeoutMs = 3000) {
    const message = await this.next((m) => m.opcode === Op.TEXT && m.data.toString().startsWith(prefix), timeoutMs);
    return message.data.toString();
  }

  /** Writes raw bytes; resolves once the socket took them. */
  write(bytes) {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Writes one masked text frame. */
  sendText(text) {
    return this.write(clientFrame(Op.TEXT, Buffer.from(text)));
  }

  /** Shuts down our write side (a FIN); the server's side stays open until it ends it. */
  endWrite() {
    this.socket.end();
  }

  destroy() {
    this.socket.destroy();
  }
}

/** Resolves with the server's close code and how its side ended, or rejects after timeoutMs. */
export async function expectServerClose(client, timeoutMs = 3000) {
  const ended = await Promise.race([
    client.ended,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`the server did not end the connection within ${timeoutMs} ms`)), timeoutMs).unref(),
    ),
  ]);
  return { code: client.close, ...ended };
}
