/**
 * chat-state.js: what the page knows about users and conversations, without any DOM or socket.
 *
 * Keeping the model apart from rendering lets the socket handlers stay one-liners and makes the
 * rules (who counts as unread, how a reconnect's fresh history merges with messages still waiting
 * for their ack) readable in one place. Server data is checked field by field: a malformed entry is
 * skipped, never trusted.
 */

/**
 * @typedef {{content: string, from: string, to: string, id?: string,
 *            status: "sent"|"pending"|"failed", error?: string, localId?: number}} Message
 * @typedef {{userID: string, username: string, connected: boolean, self: boolean,
 *            unread: number, messages: Message[]}} User
 */

const isString = (value) => typeof value === "string";

function messageFromServer(raw) {
  if (!raw || !isString(raw.content) || !isString(raw.from) || !isString(raw.to)) return undefined;
  const message = { content: raw.content, from: raw.from, to: raw.to, status: "sent" };
  if (isString(raw.id)) message.id = raw.id;
  return message;
}

export class ChatState {
  constructor() {
    /** @type {string|undefined} */
    this.selfID = undefined;
    /** @type {Map<string, User>} */
    this.users = new Map();
    /** @type {string|undefined} */
    this.selectedID = undefined;
    /** Whether our own socket is connected: the truth about our own presence. */
    this.selfConnected = false;
    this._nextLocalId = 1;
    this._listeners = [];
  }

  /** Registers a callback run after every change; the view re-renders from it. */
  subscribe(fn) {
    this._listeners.push(fn);
  }

  _changed() {
    for (const fn of this._listeners) fn(this);
  }

  setSelf(userID) {
    this.selfID = userID;
    for (const user of this.users.values()) user.self = user.userID === userID;
    this._changed();
  }

  /** The other side of a message, seen from this user: whose conversation it belongs to. */
  peerOf(message) {
    return message.from === this.selfID ? message.to : message.from;
  }

  /**
   * Takes the server's `users` list (sent on every connection but a recovered one) as the truth
   * for presence and history, keeping our own messages that still wait for an ack or failed, so
   * nothing typed is lost.
   */
  applyUsers(list) {
    if (!Array.isArray(list)) return;
    for (const raw of list) {
      if (!raw || !isString(raw.userID) || !isString(raw.username)) continue;
      const history = (Array.isArray(raw.messages) ? raw.messages : [])
        .map(messageFromServer)
        .filter(Boolean);
      const user = this._ensureUser(raw.userID, raw.username);
      user.username = raw.username;
      user.connected = raw.connected === true;
      const unconfirmed = user.messages.filter((m) => m.status !== "sent");
      user.messages = [...history, ...unconfirmed];
    }
    this._changed();
  }

  userConnected(raw) {
    if (!raw || !isString(raw.userID) || !isString(raw.username)) return;
    const user = this._ensureUser(raw.userID, raw.username);
    user.username = raw.username;
    user.connected = true;
    this._changed();
  }

  /**
   * Another user went offline. About ourselves our own connection knows better: a recovered
   * socket is replayed the `user disconnected` the others were sent about us while it was away.
   */
  userDisconnected(userID) {
    const user = isString(userID) ? this.users.get(userID) : undefined;
    if (!user || (user.userID === this.selfID && this.selfConnected)) return;
    user.connected = false;
    this._changed();
  }

  /** Our own connection state shows on our own entry, as in the example. */
  setSelfConnected(connected) {
    this.selfConnected = connected;
    const self = this.selfID && this.users.get(this.selfID);
    if (!self) return;
    self.connected = connected;
    this._changed();
  }

  /** A `private message` from the server: from someone else, or sent by us from another tab. */
  receive(raw) {
    const message = messageFromServer(raw);
    if (!message || !this.selfID) return;
    const user = this.users.get(this.peerOf(message));
    if (!user) return;
    if (message.id && user.messages.some((m) => m.id === message.id)) return;
    user.messages.push(message);
    if (message.from !== this.selfID && user.userID !== this.selectedID) user.unread += 1;
    this._changed();
  }

  /** Records a message we are about to send; it stays pending until its ack. */
  addOutgoing(content, to) {
    const message = { content, from: this.selfID, to, status: "pending", localId: this._nextLocalId++ };
    const user = this.users.get(to);
    if (user) user.messages.push(message);
    this._changed();
    return message;
  }

  /** Applies the server's ack: `{ok:true,id}` confirms, `{error}` (or a transport error) fails. */
  settleOutgoing(message, ack) {
    if (ack && ack.ok === true) {
      message.status = "sent";
      if (isString(ack.id)) {
        message.id = ack.id;
        this._dropDuplicate(message);
      }
      delete message.error;
    } else {
      message.status = "failed";
      message.error = ack && isString(ack.error) ? ack.error : "not confirmed by the server";
    }
    this._changed();
  }

  /** After a reconnect the history may already hold a message whose ack came later: keep one. */
  _dropDuplicate(message) {
    const user = this.users.get(message.to);
    if (!user) return;
    const copies = user.messages.filter((m) => m.id === message.id);
    if (copies.length > 1) user.messages = user.messages.filter((m) => m !== message);
  }

  select(userID) {
    const user = this.users.get(userID);
    if (!user) return;
    this.selectedID = userID;
    user.unread = 0;
    this._changed();
  }

  unselect() {
    this.selectedID = undefined;
    this._changed();
  }

  get selected() {
    return this.selectedID ? this.users.get(this.selectedID) : undefined;
  }

  /** Ourselves first, then everyone else by name, as the example lists them. */
  sortedUsers() {
    return [...this.users.values()].sort((a, b) => {
      if (a.self !== b.self) return a.self ? -1 : 1;
      return a.username.localeCompare(b.username) || a.userID.localeCompare(b.userID);
    });
  }

  _ensureUser(userID, username) {
    let user = this.users.get(userID);
    if (!user) {
      user = { userID, username, connected: false, self: userID === this.selfID, unread: 0, messages: [] };
      this.users.set(userID, user);
    }
    return user;
  }
}
