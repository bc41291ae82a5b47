/**
 * recovery.js: connection state recovery (socket.io 4.6+) for socket-shim.js.
 *
 * The protocol, as socket.io-client 4.8.4 speaks it:
 * - a server that offers recovery puts a `pid` (private session id, as secret as a sessionID) in
 *   its CONNECT reply, and appends an offset (a string) as the last argument of every event it
 *   sends without asking for an ack;
 * - the client remembers the pid and the last offset it received and, on its next CONNECT, merges
 *   `{pid, offset}` into the auth payload (the page's own auth keys win, as in the official
 *   client);
 * - if the server still holds that socket, its CONNECT reply carries the same pid: the socket got
 *   its id and rooms back and the missed events follow, so `recovered` is true. Any other reply
 *   is a fresh connection.
 *
 * Where this differs from the official client, on purpose:
 * - the offset is taken off the arguments before listeners see them: the page's handlers get the
 *   event's own arguments whether or not the server offers recovery;
 * - an event that has only its name is never read as carrying an offset (the official client
 *   would take the event name for one);
 * - a fresh connection forgets the previous connection's offset (it belongs to the old socket),
 *   and `{pid, offset}` is only sent once both are known: a pid alone cannot be recovered;
 * - `forget()` (called by a deliberate `disconnect()`) drops the pid, so a page that logs out
 *   and in again as someone else cannot be handed the previous user's socket back, even when the
 *   server still holds it because the transport had dropped before.
 */
export class Recovery {
  constructor() {
    /** The pid of the current (or last) connection; undefined when the server offers none. */
    this._pid = undefined;
    /** The offset of the last event received on that connection. */
    this._lastOffset = undefined;
    /** Whether the last CONNECT restored the previous socket. */
    this.recovered = false;
  }

  /** The CONNECT payload: the page's auth, with `{pid, offset}` when a recovery can be asked. */
  connectPayload(auth) {
    if (this._pid === undefined || this._lastOffset === undefined) return auth;
    const own = auth !== null && typeof auth === "object" ? auth : {};
    return { pid: this._pid, offset: this._lastOffset, ...own };
  }

  /** Reads the CONNECT reply's data; returns whether the previous socket was restored. */
  onConnect(data) {
    const pid = data && typeof data.pid === "string" ? data.pid : undefined;
    this.recovered = pid !== undefined && pid === this._pid;
    if (!this.recovered) this._lastOffset = undefined;
    this._pid = pid;
    return this.recovered;
  }

  /**
   * Takes the offset off an incoming event's arguments (`[name, ...args]`, modified in place)
   * and remembers it. Only events without an ack id carry one, and only while a pid is held.
   */
  takeOffset(args, ackId) {
    if (this._pid === undefined || ackId !== undefined || args.length < 2) return;
    const last = args[args.length - 1];
    if (typeof last !== "string") return;
    args.pop();
    this._lastOffset = last;
  }

  /** A deliberate disconnect: nothing is to be recovered from this connection any more. */
  forget() {
    this._pid = undefined;
    this._lastOffset = undefined;
  }
}
