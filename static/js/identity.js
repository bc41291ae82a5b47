/**
 * identity.js: who the user is across reloads and tabs, and what the server accepts as a name.
 *
 * The sessionID is a secret that lets a browser resume its user; it lives in localStorage so that
 * every tab of the same origin shares one identity. It is stored per server: when the page talks to
 * a server other than its own origin (the `?server=` development switch), the secret of one server
 * is never sent to another.
 */

/** Longest username the server accepts, counted in characters (code points) after trimming. */
export const USERNAME_MAX_CHARS = 64;
/** Longest message content the server accepts, in characters. */
export const CONTENT_MAX_CHARS = 10000;

const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Checks a username as the server does (SPEC §2): 1 to 64 characters after trimming, no control
 * characters. Returns `{ ok: true, username }` with the trimmed name, or `{ ok: false, reason }`.
 */
export function validateUsername(raw) {
  if (typeof raw !== "string") return { ok: false, reason: "Please enter a username." };
  const username = raw.trim();
  const length = [...username].length;
  if (length === 0) return { ok: false, reason: "Please enter a username." };
  if (length > USERNAME_MAX_CHARS) {
    return { ok: false, reason: `A username has at most ${USERNAME_MAX_CHARS} characters.` };
  }
  if (CONTROL_CHARACTER.test(username)) {
    return { ok: false, reason: "A username cannot contain control characters." };
  }
  return { ok: true, username };
}

/** Checks message content before sending: non-blank and at most 10 000 characters. */
export function validateContent(content) {
  if (content.trim().length === 0) return { ok: false, reason: "Type a message first." };
  if ([...content].length > CONTENT_MAX_CHARS) {
    return { ok: false, reason: `A message has at most ${CONTENT_MAX_CHARS} characters.` };
  }
  return { ok: true };
}

/**
 * The server the page talks to: its own origin, unless `?server=<http(s) URL>` names another one
 * (used to develop the page against another server; nothing else reads it).
 * Returns `{ url, storageKey }`; `url` is undefined for the page's own origin.
 */
export function serverFromLocation(location) {
  const requested = new URLSearchParams(location.search).get("server");
  if (requested) {
    try {
      const url = new URL(requested);
      if (url.protocol === "http:" || url.protocol === "https:") {
        return { url: url.origin, storageKey: `sessionID@${url.origin}` };
      }
    } catch {
      // Not a URL: fall through to the page's own origin.
    }
  }
  return { url: undefined, storageKey: "sessionID" };
}

/** localStorage access that survives storage being unavailable (private modes, quotas). */
export class SessionKeeper {
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
  }

  load() {
    try {
      return this.storage.getItem(this.key) || undefined;
    } catch {
      return undefined;
    }
  }

  save(sessionID) {
    try {
      this.storage.setItem(this.key, sessionID);
    } catch {
      // Without storage the identity lasts as long as the tab: acceptable.
    }
  }

  forget() {
    try {
      this.storage.removeItem(this.key);
    } catch {
      // Nothing stored, nothing to forget.
    }
  }
}
