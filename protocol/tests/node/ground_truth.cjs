// Prints the Node-produced strings and bytes the Rust tests compare against, so that they can
// be regenerated (or extended) from the real libraries rather than typed by hand:
//
//   cd tests/e2e && node ../../protocol/tests/node/ground_truth.cjs
//
// socket.io-parser 4.2.7 and engine.io-parser 5.2.3 (through socket.io 4.8.4), notepack.io 3.0.1
// (@socket.io/redis-adapter 8.3.0) and 2.2.0 (nested in socket.io-redis 6.1.1).
const path = require("path");
const modules = path.join(process.cwd(), "node_modules");
const load = (name) => require(path.join(modules, name));
const parser = load("socket.io-parser");
const eio = load("engine.io-parser");
const notepack3 = load("notepack.io");
const notepack2 = load("socket.io-redis/node_modules/notepack.io");

const P = parser.PacketType;
const encoder = new parser.Encoder();
const show = (parts) => parts.map((p) => (typeof p === "string" ? p : "BUF:" + p.toString("hex")));

console.log("## socket.io-parser Encoder#encode");
for (const packet of [
  { type: P.EVENT, nsp: "/", data: ["hello", 1] },
  { type: P.ACK, nsp: "/custom", id: 12, data: ["x"] },
  { type: P.EVENT, nsp: "/", data: ["bin", Buffer.from([1, 2, 3])] },
  { type: P.CONNECT, nsp: "/custom", data: { sid: "x" } },
  { type: P.DISCONNECT, nsp: "/custom" },
  { type: P.CONNECT_ERROR, nsp: "/", data: { message: "Invalid namespace", data: { a: 1 } } },
  { type: P.EVENT, nsp: "/", id: 7, data: ["message-with-ack", { z: 1, a: [1.5, -0, 1e21, 1e-7, 0.1, 123456789.125, "é\u0001\n\"\\/"] }] },
  { type: P.ACK, nsp: "/", id: 3, data: [{ x: Buffer.from("hi") }, [Buffer.from([0]), "y"]] },
]) {
  console.log(JSON.stringify(show(encoder.encode(packet))));
}

console.log("## socket.io-parser Decoder#add");
for (const text of ["2", "40", "51-", '2/custom["x"]', "510-[\"a\"]", "511-[\"a\"]", "50-[\"a\"]", '2 ["x"]']) {
  const decoder = new parser.Decoder();
  let result = null;
  decoder.on("decoded", (packet) => (result = packet));
  try {
    decoder.add(text);
    console.log(JSON.stringify(text), "->", JSON.stringify(result || { pending: decoder.reconstructor.reconPack }));
  } catch (error) {
    console.log(JSON.stringify(text), "-> error:", error.message);
  }
}

console.log("## engine.io-parser");
eio.encodePacket({ type: "message", data: Buffer.from([1, 2, 3, 250]) }, false, (x) => console.log(JSON.stringify(x)));
eio.encodePayload(
  [{ type: "message", data: "a" }, { type: "message", data: Buffer.from("xyz") }, { type: "ping" }],
  (x) => console.log(JSON.stringify(x)),
);

console.log("## notepack.encode([uid, packet, opts]) as socket.io-redis publishes it: v2.2.0 / v3.0.1");
const broadcasts = {
  simple: ["abc123", { type: 2, data: ["private message", { content: "hi", from: "u1", to: "u2" }], nsp: "/" }, { rooms: ["u2"], except: [], flags: {} }],
  binary: ["abc123", { type: 2, data: ["bin", Buffer.from([1, 2, 3]), { x: [Buffer.from("hi")] }], nsp: "/" }, { rooms: [], except: ["sid1"], flags: { volatile: true } }],
  undef: ["u1", { type: 2, data: ["u", undefined, { a: undefined, b: 1 }], nsp: "/" }, { rooms: [], except: [], flags: { volatile: undefined, compress: true } }],
  dates: ["d1", { type: 2, data: ["d", new Date(0), new Date(1700000000123), new Date(-1), new Date(253402300800000)], nsp: "/" }, { rooms: [], except: [], flags: {} }],
  arraybuffer: ["ab", { type: 2, data: ["ab", new Uint8Array([9]), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])], nsp: "/" }, { rooms: [], except: [], flags: {} }],
  nonsp: ["x", { type: 2, data: ["e"] }, { rooms: [], except: [], flags: {} }],
};
for (const [name, value] of Object.entries(broadcasts)) {
  console.log(name, notepack2.encode(value).toString("hex"), notepack3.encode(value).toString("hex"));
}
console.log("dates as JSON:", JSON.stringify(notepack3.decode(notepack3.encode(broadcasts.dates))[1].data));

console.log("## @socket.io/redis-adapter 8 msgpack request (type 7) and response (type 9)");
console.log(notepack3.encode({ uid: "node8", requestId: "r1", type: 7, packet: { type: 2, data: ["e", Buffer.from([1])], nsp: "/" }, opts: { rooms: [], except: [], flags: { timeout: 100 } } }).toString("hex"));
console.log(notepack3.encode({ type: 9, requestId: "r1", packet: ["ok", Buffer.from([2])] }).toString("hex"));

console.log("## JSON.stringify of numbers");
for (const x of [1.5, 1e21, 1e-7, 0.000001, 123456789012345680000, 5e-324, -0, 1 / 3, 1388467131260411.25]) {
  console.log(x, JSON.stringify(x));
}
