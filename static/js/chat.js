/**
 * chat.js: the page's entry point; wires the socket, the state and the view together.
 *
 * Flow (SPEC §2): a stored sessionID is tried first, so a reload or a second tab resumes the same
 * user; without one, or when the server no longer knows it, the username prompt is shown. The
 * server's `session` event hands us the sessionID to store and the public userID; `users` brings
 * presence and history on every (re)connection; `private message` brings new messages, including
 * the ones we sent from another tab. Our own messages show as pending until the server's ack.
 *
 * A reconnection the server recovered (connection state recovery, see socket-shim.js) is the
 * exception: no `session` or `users` comes, because the page still has them and the server
 * replays what it missed as ordinary events. So nothing is reset or reloaded then; the banner
 * just says "Reconnected". Any other reconnection goes through `session` and `users` again.
 *
 * The socket tries a WebSocket first and falls back to HTTP long-polling where WebSockets do not
 * get through; it reconnects by itself (backoff with jitter) while the banner says so, resuming
 * the same session because `socket.auth` holds the sessionID from then on.
 */
import { io } from "./socket-shim.js";
import { ChatState } from "./chat-state.js";
import { ChatView } from "./chat-view.js";
import { SessionKeeper, serverFromLocation, validateContent, validateUsername } from "./identity.js";

/** How long a sent message may wait for its ack before it is shown as not confirmed. */
const ACK_TIMEOUT_MS = 15000;
/** Per-tab memory of the open conversation, so a reload shows it again. */
const SELECTED_KEY = "selectedUserID";

const server = serverFromLocation(window.location);
const sessions = new SessionKeeper(window.localStorage, server.storageKey);
const socket = io(server.url, { autoConnect: false, transports: ["websocket", "polling"] });
let state = new ChatState();

const view = new ChatView(document, {
  onLogin(rawName) {
    const check = validateUsername(rawName);
    if (!check.ok) {
      view.showLoginError(check.reason);
      return;
    }
    view.showLoginError("");
    view.setLoginBusy(true);
    view.setConnection("connecting");
    socket.disconnect();
    socket.auth = { username: check.username };
    socket.connect();
  },
  onSelect(userID) {
    state.select(userID);
    rememberSelection(userID);
  },
  onSend(content) {
    const target = state.selected;
    const check = validateContent(content);
    if (!target || !check.ok) {
      view.showMessageError(check.reason ?? "Select a user first.");
      return false;
    }
    view.showMessageError("");
    const message = state.addOutgoing(content, target.userID);
    socket.timeout(ACK_TIMEOUT_MS).emit("private message", { content, to: target.userID }, (error, ack) => {
      state.settleOutgoing(message, error ? { error: "no confirmation from the server" } : ack);
    });
    return true;
  },
  onBack() {
    state.unselect();
    rememberSelection(undefined);
  },
  onLogout() {
    sessions.forget();
    rememberSelection(undefined);
    socket.disconnect();
    socket.auth = undefined;
    resetState();
    view.showLogin("", { clearName: true });
  },
});

function resetState() {
  state = new ChatState();
  state.subscribe((current) => view.render(current));
  view.render(state);
}

function rememberSelection(userID) {
  try {
    if (userID) window.sessionStorage.setItem(SELECTED_KEY, userID);
    else window.sessionStorage.removeItem(SELECTED_KEY);
  } catch {
    // Storage unavailable: the selection simply does not survive a reload.
  }
}

function rememberedSelection() {
  try {
    return window.sessionStorage.getItem(SELECTED_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function resume(sessionID) {
  socket.auth = { sessionID };
  view.showNothing();
  view.setConnection("connecting");
  socket.connect();
}

socket.on("session", (session) => {
  if (!session || typeof session.sessionID !== "string" || typeof session.userID !== "string") return;
  // Reconnections must resume this session, not create a new user from the typed name.
  socket.auth = { sessionID: session.sessionID };
  sessions.save(session.sessionID);
  state.setSelf(session.userID);
});

socket.on("users", (users) => {
  state.applyUsers(users);
  const remembered = rememberedSelection();
  if (state.selectedID === undefined && remembered && state.users.has(remembered)) state.select(remembered);
  view.showChat();
});

socket.on("user connected", (user) => state.userConnected(user));
socket.on("user disconnected", (userID) => state.userDisconnected(userID));
socket.on("private message", (message) => state.receive(message));

socket.on("connect", () => {
  const how = socket.transport === "polling" ? " (HTTP long-polling)" : "";
  view.setConnection("connected", `${socket.recovered ? "Reconnected" : "Connected"}${how}`);
  state.setSelfConnected(true);
});

socket.on("disconnect", () => {
  state.setSelfConnected(false);
  if (socket.active) view.setConnection("reconnecting");
});

socket.on("connect_error", (error) => {
  if (socket.active) {
    // The server could not be reached: the socket retries by itself.
    view.setConnection("reconnecting", "Cannot reach the server, reconnecting…");
    return;
  }
  // The server answered and refused us (showLogin hides the banner).
  const triedSession = socket.auth && typeof socket.auth.sessionID === "string";
  socket.auth = undefined;
  if (triedSession) {
    sessions.forget();
    resetState();
    view.showLogin("Your previous session is no longer known to the server. Please choose a username.");
  } else if (error.message === "invalid username") {
    view.showLogin("The server refused this username (invalid username). Please choose another one.");
  } else {
    view.showLogin(`The server refused the connection: ${error.message}`);
  }
});

// Another tab of this browser logged in while this one waits on the prompt: join as the same user.
window.addEventListener("storage", (event) => {
  if (event.key === server.storageKey && event.newValue && !socket.active) resume(event.newValue);
});

resetState();
const storedSession = sessions.load();
if (storedSession) resume(storedSession);
else view.showLogin();
