/**
 * socketio-packets.js: the Socket.IO v5 text packet codec used by socket-shim.js.
 *
 * A packet is `<type>[<nsp>,][<ackid>][JSON]`. Kept apart from the socket so the wire format can be
 * read (and checked against the server's codec) without the connection logic around it.
 */

/** Socket.IO v5 packet types. */
export const PacketType = Object.freeze({
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
});

/**
 * Encodes a Socket.IO packet as text. The namespace is written only when it is not "/", which is
 * what the official parser does and what servers expect.
 */
export function encodePacket({ type, nsp = "/", id, data }) {
  let text = String(type);
  if (nsp !== "/") text += `${nsp},`;
  if (id !== undefined) text += String(id);
  if (data !== undefined) text += JSON.stringify(data);
  return text;
}

/** Thrown for binary packets, which the shim drops instead of treating them as corrupt. */
export class UnsupportedBinaryError extends Error {}

/**
 * Decodes a Socket.IO text packet. Throws on anything malformed so that the connection can be
 * dropped as the official client does ("parse error"), rather than acting on half-understood data.
 */
export function decodePacket(text) {
  const type = Number(text.charAt(0));
  if (text.length === 0 || !Number.isInteger(type) || type < 0 || type > 6) {
    throw new Error("invalid packet type");
  }
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    throw new UnsupportedBinaryError("binary packets are not supported");
  }
  let rest = text.slice(1);
  let nsp = "/";
  if (rest.startsWith("/")) {
    const comma = rest.indexOf(",");
    nsp = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? "" : rest.slice(comma + 1);
  }
  let id;
  const digits = /^\d+/.exec(rest);
  if (digits) {
    id = Number(digits[0]);
    rest = rest.slice(digits[0].length);
  }
  const data = rest.length > 0 ? JSON.parse(rest) : undefined;
  checkPayload(type, data);
  return { type, nsp, id, data };
}

function checkPayload(type, data) {
  const isObject = data !== null && typeof data === "object" && !Array.isArray(data);
  const valid =
    (type === PacketType.CONNECT && (data === undefined || isObject)) ||
    (type === PacketType.DISCONNECT && data === undefined) ||
    (type === PacketType.EVENT && Array.isArray(data) && data.length > 0 && typeof data[0] === "string") ||
    (type === PacketType.ACK && Array.isArray(data)) ||
    (type === PacketType.CONNECT_ERROR && (isObject || typeof data === "string"));
  if (!valid) throw new Error(`invalid payload for packet type ${type}`);
}

/** True when a value (or anything inside it) would need Socket.IO's binary encoding. */
export function hasBinary(value, depth = 0) {
  if (value === null || typeof value !== "object" || depth > 32) return false;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (typeof Blob !== "undefined" && value instanceof Blob) return true;
  if (typeof value.toJSON === "function") return false;
  return Object.values(value).some((inner) => hasBinary(inner, depth + 1));
}
