/**
 * chat-view.js: turns a ChatState into DOM and user gestures into callbacks.
 *
 * Every piece of user content (names, messages, server error texts) goes through `textContent` or
 * an attribute, never through HTML parsing, so a message such as `<img onerror=…>` shows as text.
 * Nodes are kept per user and per message and only moved when their order changes, so a re-render
 * neither steals keyboard focus from the user list nor rebuilds long conversations.
 *
 * The user list is one tab stop (roving tabindex): Tab enters it on the open conversation (or the
 * first user), the arrow keys, Home and End move between users, Enter or Space opens one. A list
 * of dozens of users thus does not cost dozens of Tab presses to get past.
 */

/** Shown under our own messages: waiting for the server's ack, refused, or acknowledged. */
const STATUS_TEXT = { pending: "Sending…", failed: "Not sent", sent: "✓ Sent" };

/** Default banner texts of the connection states (see setConnection). */
const CONNECTION_TEXT = {
  none: "",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Connection lost, reconnecting…",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Puts `nodes` into `parent` in this order, touching only what moved. */
function placeInOrder(parent, nodes) {
  nodes.forEach((node, index) => {
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] ?? null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

export class ChatView {
  /**
   * @param {Document} doc
   * @param {{onLogin(name: string): void, onSelect(userID: string): void, onSend(content: string): boolean,
   *          onBack(): void, onLogout(): void}} handlers
   */
  constructor(doc, handlers) {
    const byId = (id) => doc.getElementById(id);
    this.el = {
      app: byId("app"),
      status: byId("connection-status"),
      login: byId("login"),
      loginForm: byId("login-form"),
      username: byId("username"),
      loginButton: byId("login-button"),
      loginError: byId("login-error"),
      chat: byId("chat"),
      userList: byId("user-list"),
      title: byId("conversation-title"),
      presence: byId("conversation-status"),
      placeholder: byId("conversation-placeholder"),
      messages: byId("messages"),
      messageForm: byId("message-form"),
      messageLabel: byId("message-label"),
      messageInput: byId("message-input"),
      messageError: byId("message-error"),
    };
    this._userNodes = new Map();
    this._messageNodes = new WeakMap();
    this._shownUserID = undefined;
    /** The user whose button is the list's tab stop; follows focus and selection. */
    this._tabStopUserID = undefined;
    this._bind(handlers, doc);
  }

  _bind(handlers, doc) {
    const { el } = this;
    el.loginForm.addEventListener("submit", (event) => {
      event.preventDefault();
      handlers.onLogin(el.username.value);
    });
    el.userList.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-user-id]");
      if (button) handlers.onSelect(button.dataset.userId);
    });
    el.userList.addEventListener("keydown", (event) => this._onUserListKey(event));
    el.userList.addEventListener("focusin", (event) => {
      const button = event.target.closest("button[data-user-id]");
      if (button) this._setTabStop(button.dataset.userId);
    });
    el.messageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (handlers.onSend(el.messageInput.value)) el.messageInput.value = "";
      el.messageInput.focus();
    });
    el.messageInput.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter starts a new line, as in most chat apps.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el.messageForm.requestSubmit();
      }
    });
    doc.getElementById("back-button").addEventListener("click", () => handlers.onBack());
    doc.getElementById("logout-button").addEventListener("click", () => handlers.onLogout());
  }

  /**
   * The connection banner: "none" hides it (username form), "connecting", "connected" or
   * "reconnecting" show it with the default text or `text` (chat.js says "Reconnected" when the
   * server recovered the connection). The state is also in `data-state`, which the styles (and
   * the tests) read.
   */
  setConnection(state, text = CONNECTION_TEXT[state]) {
    this.el.status.dataset.state = state;
    this.el.status.textContent = text;
    this.el.status.hidden = state === "none";
  }

  /** Arrow keys, Home and End move the focus through the user list; Enter/Space are the buttons' own. */
  _onUserListKey(event) {
    const buttons = [...this.el.userList.querySelectorAll("button[data-user-id]")];
    const current = buttons.indexOf(event.target.closest("button[data-user-id]"));
    if (current === -1 || event.altKey || event.ctrlKey || event.metaKey) return;
    const targets = {
      ArrowDown: Math.min(current + 1, buttons.length - 1),
      ArrowUp: Math.max(current - 1, 0),
      Home: 0,
      End: buttons.length - 1,
    };
    if (!(event.key in targets)) return;
    event.preventDefault();
    const next = buttons[targets[event.key]];
    this._setTabStop(next.dataset.userId);
    next.focus();
  }

  _setTabStop(userID) {
    this._tabStopUserID = userID;
    for (const [id, nodes] of this._userNodes) nodes.button.tabIndex = id === userID ? 0 : -1;
  }

  /** Shows the username prompt, with an optional explanation (validation or server refusal). */
  showLogin(error = "", { clearName = false } = {}) {
    this.setConnection("none");
    if (clearName) this.el.username.value = "";
    this.el.chat.hidden = true;
    this.el.login.hidden = false;
    this.setLoginBusy(false);
    this.showLoginError(error);
    this.el.username.focus();
  }

  showLoginError(error) {
    this.el.loginError.textContent = error;
    this.el.username.setAttribute("aria-invalid", error ? "true" : "false");
  }

  setLoginBusy(busy) {
    this.el.loginButton.disabled = busy;
    this.el.username.readOnly = busy;
  }

  /** Neither form nor chat: used while a stored session is being resumed. */
  showNothing() {
    this.el.chat.hidden = true;
    this.el.login.hidden = true;
  }

  showChat() {
    this.el.login.hidden = true;
    this.el.chat.hidden = false;
  }

  showMessageError(error) {
    this.el.messageError.textContent = error;
  }

  render(state) {
    this._renderUsers(state);
    this._renderConversation(state);
    this.el.app.classList.toggle("conversation-open", state.selected !== undefined);
  }

  _renderUsers(state) {
    const users = state.sortedUsers();
    const items = users.map((user) => this._userItem(user, user.userID === state.selectedID));
    for (const userID of this._userNodes.keys()) {
      if (!state.users.has(userID)) this._userNodes.delete(userID);
    }
    placeInOrder(this.el.userList, items);
    const stop = [this._tabStopUserID, state.selectedID].find((id) => id && state.users.has(id));
    this._setTabStop(stop ?? users[0]?.userID);
  }

  _userItem(user, selected) {
    let nodes = this._userNodes.get(user.userID);
    if (!nodes) {
      const item = element("li");
      const button = element("button", "user");
      button.type = "button";
      button.dataset.userId = user.userID;
      const name = element("span", "user-name");
      const self = element("span", "user-self", "(yourself)");
      const presence = element("span", "presence");
      const badge = element("span", "badge");
      badge.setAttribute("aria-hidden", "true");
      button.append(name, self, presence, badge);
      item.append(button);
      nodes = { item, button, name, self, presence, badge };
      this._userNodes.set(user.userID, nodes);
    }
    const state = user.connected ? "online" : "offline";
    nodes.name.textContent = user.username;
    nodes.self.hidden = !user.self;
    nodes.presence.textContent = state;
    nodes.presence.dataset.state = state;
    nodes.badge.textContent = user.unread > 99 ? "99+" : String(user.unread);
    nodes.badge.hidden = user.unread === 0;
    nodes.button.dataset.state = state;
    nodes.button.dataset.unread = String(user.unread);
    nodes.button.setAttribute("aria-current", selected ? "true" : "false");
    const unread = user.unread ? `, ${user.unread} unread message${user.unread === 1 ? "" : "s"}` : "";
    nodes.button.setAttribute("aria-label", `${user.username}${user.self ? " (yourself)" : ""}, ${state}${unread}`);
    return nodes.item;
  }

  _renderConversation(state) {
    const { el } = this;
    const user = state.selected;
    el.placeholder.hidden = user !== undefined;
    el.messageForm.hidden = user === undefined;
    if (!user) {
      el.title.textContent = "No conversation selected";
      el.presence.textContent = "";
      el.messages.replaceChildren();
      this._shownUserID = undefined;
      return;
    }
    const switched = this._shownUserID !== user.userID;
    this._shownUserID = user.userID;
    el.title.textContent = user.self ? `${user.username} (yourself)` : user.username;
    el.presence.textContent = user.connected ? "online" : "offline";
    el.presence.dataset.state = user.connected ? "online" : "offline";
    el.messageLabel.textContent = `Message to ${user.username}`;
    if (switched) this.showMessageError("");

    const list = el.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const items = user.messages.map((message, index) => {
      const previous = user.messages[index - 1];
      const showSender = !previous || previous.from !== message.from;
      return this._messageItem(message, state, showSender);
    });
    placeInOrder(list, items);
    const last = user.messages[user.messages.length - 1];
    if (switched || atBottom || (last && last.from === state.selfID)) list.scrollTop = list.scrollHeight;
  }

  _messageItem(message, state, showSender) {
    let nodes = this._messageNodes.get(message);
    if (!nodes) {
      const item = element("li", "message");
      const sender = element("span", "message-sender");
      const content = element("p", "message-content", message.content);
      const status = element("span", "message-status");
      item.append(sender, content, status);
      nodes = { item, sender, status };
      this._messageNodes.set(message, nodes);
    }
    const fromSelf = message.from === state.selfID;
    const author = fromSelf ? "(yourself)" : state.users.get(message.from)?.username ?? "unknown";
    nodes.item.classList.toggle("message--self", fromSelf);
    nodes.item.dataset.status = message.status;
    nodes.item.dataset.fromSelf = String(fromSelf);
    nodes.sender.textContent = author;
    nodes.sender.hidden = !showSender;
    nodes.status.textContent =
      message.status === "failed" ? `${STATUS_TEXT.failed}: ${message.error}` : STATUS_TEXT[message.status];
    nodes.status.hidden = !fromSelf;
    return nodes.item;
  }
}
