//! The pub/sub format of Node's `socket.io-redis` adapter v6 (also read and written by
//! `@socket.io/redis-adapter` v8), so that our nodes and Node nodes can share one Redis.
//!
//! Broadcasts are msgpack arrays `[uid, packet, opts]` published on `<prefix>#<nsp>#` (or
//! `<prefix>#<nsp>#<room>#` when exactly one room is targeted). Requests and responses are JSON
//! on `<prefix>-request#<nsp>#` and `<prefix>-response#<nsp>#`.
//!
//! Binary values travel as msgpack `bin`; in memory we keep them the way the Socket.IO layer
//! does, as placeholders in the JSON plus a list of attachments.

use crate::json::stringify;
use crate::msgpack::{self, Node, Writer};
use crate::DecodeError;
use serde_json::{json, Map, Value};

/// A broadcast from one node to the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The publishing node's id; a node ignores its own broadcasts.
    pub uid: String,
    pub packet: BroadcastPacket,
    pub opts: BroadcastOpts,
}

/// The Socket.IO packet inside a broadcast (`{type, data, nsp}`; `id` is never set).
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastPacket {
    /// 2 (EVENT); Node keeps 2 even when `data` holds binary. 5 is accepted on decode.
    pub kind: u8,
    /// `[event, ...args]`, binary values replaced by placeholders.
    pub data: Value,
    /// Binary values that were msgpack `bin` on the wire, indexed by the placeholders.
    pub attachments: Vec<Vec<u8>>,
    /// Defaults to `/` when absent, as Node's adapter does.
    pub nsp: String,
}

/// Who receives a broadcast.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BroadcastOpts {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<String>,
    /// Sockets in any of these rooms are skipped (a socket id excludes that socket).
    pub except: Vec<String>,
    /// Node's flags object (`volatile`, `compress`, `local`, …), kept as JSON; absent = `{}`.
    pub flags: serde_json::Map<String, Value>,
}

/// Decodes a broadcast. Tolerant of what notepack.io produces (`undefined` as fixext,
/// extra fields, missing `flags`), strict about the shape: anything else is an error.
///
/// Accepted: `[uid, packet, opts, …]` (extra elements ignored, as Node's destructuring does);
/// `packet` a map with `type` 2 or 5, `data` an array, `nsp` a string or absent/`undefined`
/// (then `/`), other keys (`id`) ignored; `opts` a map whose `rooms`/`except` are arrays of
/// strings or absent/nil/`undefined` (then empty) and whose `flags` is a map or absent. Inside
/// `data`, `bin` (and notepack 2.2's `ArrayBuffer` ext) become placeholders numbered in
/// depth-first order, `undefined` is dropped from maps and is `null` in arrays, dates become
/// ISO text: what the JSON sent to clients would hold. A map in `data` that already is a
/// placeholder (`_placeholder: true`) is refused, so placeholders and attachments match.
pub fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, DecodeError> {
    let Node::Array(items) = msgpack::decode(bytes)? else {
        return Err(DecodeError::Shape("broadcast is not an array"));
    };
    let mut items = items.into_iter();
    let (Some(uid), Some(packet), Some(opts)) = (items.next(), items.next(), items.next()) else {
        return Err(DecodeError::Shape("broadcast has fewer than 3 elements"));
    };
    let Node::Str(uid) = uid else {
        return Err(DecodeError::Shape("broadcast uid is not a string"));
    };
    Ok(Broadcast {
        uid,
        packet: decode_broadcast_packet(packet)?,
        opts: decode_broadcast_opts(opts)?,
    })
}

pub(crate) fn decode_broadcast_packet(packet: Node) -> Result<BroadcastPacket, DecodeError> {
    let Node::Map(mut fields) = packet else {
        return Err(DecodeError::Shape("broadcast packet is not a map"));
    };
    let kind = match take_field(&mut fields, "type") {
        Some(Node::Unsigned(kind @ (2 | 5))) => kind as u8,
        _ => return Err(DecodeError::Shape("broadcast packet type is not 2 or 5")),
    };
    let mut attachments = Vec::new();
    let data = match take_field(&mut fields, "data") {
        Some(data) => data.into_json(&mut Some(&mut attachments))?,
        None => None,
    };
    let Some(data @ Value::Array(_)) = data else {
        return Err(DecodeError::Shape("broadcast packet data is not an array"));
    };
    let nsp = match take_field(&mut fields, "nsp") {
        None | Some(Node::Undefined) => "/".to_owned(),
        Some(Node::Str(nsp)) => nsp,
        Some(_) => return Err(DecodeError::Shape("broadcast packet nsp is not a string")),
    };
    Ok(BroadcastPacket {
        kind,
        data,
        attachments,
        nsp,
    })
}

pub(crate) fn decode_broadcast_opts(opts: Node) -> Result<BroadcastOpts, DecodeError> {
    let Node::Map(mut fields) = opts else {
        return Err(DecodeError::Shape("broadcast opts is not a map"));
    };
    let rooms = room_list(take_field(&mut fields, "rooms"))?;
    let except = room_list(take_field(&mut fields, "except"))?;
    let flags = match take_field(&mut fields, "flags") {
        None | Some(Node::Undefined | Node::Nil) => Map::new(),
        Some(flags @ Node::Map(_)) => match flags.into_json(&mut None)? {
            Some(Value::Object(flags)) => flags,
            _ => Map::new(),
        },
        Some(_) => return Err(DecodeError::Shape("broadcast flags is not a map")),
    };
    Ok(BroadcastOpts {
        rooms,
        except,
        flags,
    })
}

/// The value of `key` in a decoded map, the last one when repeated (as JavaScript keeps it).
pub(crate) fn take_field(fields: &mut Vec<(String, Node)>, key: &str) -> Option<Node> {
    let index = fields.iter().rposition(|(name, _)| name == key)?;
    Some(fields.swap_remove(index).1)
}

/// `rooms`/`except`: Node reads them with `new Set(value)`, so absent or nil is empty.
fn room_list(rooms: Option<Node>) -> Result<Vec<String>, DecodeError> {
    match rooms {
        None | Some(Node::Undefined | Node::Nil) => Ok(Vec::new()),
        Some(Node::Array(rooms)) => rooms
            .into_iter()
            .map(|room| match room {
                Node::Str(room) => Ok(room),
                _ => Err(DecodeError::Shape("room is not a string")),
            })
            .collect(),
        Some(_) => Err(DecodeError::Shape("rooms is not an array")),
    }
}

/// Encodes a broadcast exactly as Node's adapter does: a 3-element msgpack array, the packet a
/// map with keys `type`, `data`, `nsp` in that order, strings as msgpack str, attachments as bin.
///
/// [`decode_broadcast`] gives back the same broadcast when its placeholders are numbered in
/// depth-first order and use each attachment once (as decoding numbers them). A placeholder
/// pointing past `attachments` is written as a plain map, which decoding then refuses.
pub fn encode_broadcast(broadcast: &Broadcast) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.array_header(3);
    writer.str(&broadcast.uid);

    write_packet(&mut writer, &broadcast.packet);
    write_opts(&mut writer, &broadcast.opts);
    writer.into_bytes()
}

/// The packet map `{type, data, nsp}`, attachments as bin.
pub(crate) fn write_packet(writer: &mut Writer, packet: &BroadcastPacket) {
    writer.map_header(3);
    writer.str("type");
    writer.unsigned(u64::from(packet.kind));
    writer.str("data");
    writer.json(&packet.data, &packet.attachments);
    writer.str("nsp");
    writer.str(&packet.nsp);
}

/// The options map `{rooms, except, flags}`.
pub(crate) fn write_opts(writer: &mut Writer, opts: &BroadcastOpts) {
    writer.map_header(3);
    writer.str("rooms");
    write_rooms(writer, &opts.rooms);
    writer.str("except");
    write_rooms(writer, &opts.except);
    writer.str("flags");
    writer.json(&Value::Object(opts.flags.clone()), &[]);
}

fn write_rooms(writer: &mut Writer, rooms: &[String]) {
    writer.array_header(rooms.len());
    for room in rooms {
        writer.str(room);
    }
}

/// The channel a broadcast is published on: `<prefix>#<nsp>#`, plus `<room>#` when `rooms`
/// has exactly one entry.
pub fn broadcast_channel(prefix: &str, nsp: &str, rooms: &[String]) -> String {
    match rooms {
        [room] => format!("{prefix}#{nsp}#{room}#"),
        _ => format!("{prefix}#{nsp}#"),
    }
}

/// `<prefix>-request#<nsp>#`
pub fn request_channel(prefix: &str, nsp: &str) -> String {
    format!("{prefix}-request#{nsp}#")
}

/// `<prefix>-response#<nsp>#`
pub fn response_channel(prefix: &str, nsp: &str) -> String {
    format!("{prefix}-response#{nsp}#")
}

/// A request from one node to the others (JSON). Only the kinds we answer or send are typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Type 0: which sockets are in any of `rooms` (all sockets when empty)?
    Sockets {
        uid: String,
        request_id: String,
        rooms: Vec<String>,
    },
    /// Type 1: which rooms exist on your node?
    AllRooms { uid: String, request_id: String },
    /// Type 5: details of the sockets matching `rooms`/`except`.
    FetchSockets {
        uid: String,
        request_id: String,
        rooms: Vec<String>,
        except: Vec<String>,
    },
    /// Any other type: parsed enough to be ignored safely.
    Other {
        uid: Option<String>,
        request_id: Option<String>,
        kind: u64,
    },
}

/// Decodes a request. Errors only when the text is not a JSON object with a numeric `type`
/// and (for the typed kinds) the fields they need.
///
/// `socket.io-redis` 6.1.1 sends no `uid` (it recognises its own requests by `requestId`):
/// a typed request without one gets an empty `uid`. `rooms` and `opts.rooms`/`opts.except`
/// may be absent (empty, as Node's `new Set(undefined)`), `opts` of type 5 may not (Node
/// would throw). `type` must be a non-negative integer. `@socket.io/redis-adapter` 8 sends
/// some requests (type 7, broadcasts with acks) as msgpack maps: they are read as well.
pub fn decode_request(text: &[u8]) -> Result<Request, DecodeError> {
    let Value::Object(fields) = parse_json_or_msgpack(text)? else {
        return Err(DecodeError::Shape("request is not an object"));
    };
    let kind = match fields.get("type").and_then(non_negative_integer) {
        Some(kind) => kind,
        None => {
            return Err(DecodeError::Shape(
                "request type is not a non-negative integer",
            ))
        }
    };
    let text_field = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
    if !matches!(kind, 0 | 1 | 5) {
        return Ok(Request::Other {
            uid: text_field("uid"),
            request_id: text_field("requestId"),
            kind,
        });
    }
    let uid = match fields.get("uid") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(uid)) => uid.clone(),
        Some(_) => return Err(DecodeError::Shape("request uid is not a string")),
    };
    let Some(request_id) = text_field("requestId") else {
        return Err(DecodeError::Shape("request has no string requestId"));
    };
    Ok(match kind {
        0 => Request::Sockets {
            uid,
            request_id,
            rooms: string_list(fields.get("rooms"))?,
        },
        1 => Request::AllRooms { uid, request_id },
        _ => {
            let Some(Value::Object(opts)) = fields.get("opts") else {
                return Err(DecodeError::Shape(
                    "fetch sockets request has no opts object",
                ));
            };
            Request::FetchSockets {
                uid,
                request_id,
                rooms: string_list(opts.get("rooms"))?,
                except: string_list(opts.get("except"))?,
            }
        }
    })
}

/// Encodes a request as Node's adapter does (`{"uid","requestId","type",…}`): byte for byte
/// `socket.io-redis` 6.1.1's text when `uid` is empty (it sends none), otherwise
/// `@socket.io/redis-adapter` 8's, which puts `uid` first.
pub fn encode_request(request: &Request) -> String {
    let mut fields = Map::new();
    let (uid, request_id, kind) = match request {
        Request::Sockets {
            uid, request_id, ..
        } => (non_empty(uid), Some(request_id), 0),
        Request::AllRooms { uid, request_id } => (non_empty(uid), Some(request_id), 1),
        Request::FetchSockets {
            uid, request_id, ..
        } => (non_empty(uid), Some(request_id), 5),
        Request::Other {
            uid,
            request_id,
            kind,
        } => (uid.as_ref(), request_id.as_ref(), *kind),
    };
    if let Some(uid) = uid {
        fields.insert("uid".to_owned(), json!(uid));
    }
    if let Some(request_id) = request_id {
        fields.insert("requestId".to_owned(), json!(request_id));
    }
    fields.insert("type".to_owned(), json!(kind));
    match request {
        Request::Sockets { rooms, .. } => {
            fields.insert("rooms".to_owned(), json!(rooms));
        }
        Request::FetchSockets { rooms, except, .. } => {
            fields.insert(
                "opts".to_owned(),
                json!({ "rooms": rooms, "except": except }),
            );
        }
        Request::AllRooms { .. } | Request::Other { .. } => {}
    }
    stringify(&Value::Object(fields))
}

fn non_empty(text: &String) -> Option<&String> {
    Some(text).filter(|text| !text.is_empty())
}

/// One socket in a type 5 answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketDetails {
    pub id: String,
    pub rooms: Vec<String>,
    /// The socket's handshake as Node reports it (`auth`, `query`, `headers`, …).
    pub handshake: Value,
    pub data: Value,
}

/// A response to a request (JSON), matched to it by `requestId`.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `{"requestId","sockets":[ids]}` (type 0 answer).
    Sockets {
        request_id: String,
        sockets: Vec<String>,
    },
    /// `{"requestId","rooms":[…]}` (type 1 answer).
    Rooms {
        request_id: String,
        rooms: Vec<String>,
    },
    /// `{"requestId","sockets":[{id,handshake,rooms,data}]}` (type 5 answer).
    FetchedSockets {
        request_id: String,
        sockets: Vec<SocketDetails>,
    },
    /// A response of another kind (or to another node's request), kept only for its id.
    Other { request_id: Option<String> },
}

impl Response {
    /// The `requestId` this response answers, if it has one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Response::Sockets { request_id, .. }
            | Response::Rooms { request_id, .. }
            | Response::FetchedSockets { request_id, .. } => Some(request_id),
            Response::Other { request_id } => request_id.as_deref(),
        }
    }
}

/// Decodes a response. Distinguishes type 0 from type 5 answers by the shape of `sockets`.
///
/// `sockets` of strings is a type 0 answer, of objects a type 5 answer; an empty `sockets`
/// cannot tell and decodes as [`Response::Sockets`] with no ids (a caller waiting for a type
/// 5 answer reads it as "no sockets"). A response without a string `requestId`, or with
/// neither `sockets` nor `rooms`, is [`Response::Other`]. Like requests, msgpack maps (sent by
/// `@socket.io/redis-adapter` 8 for some answers) are read too.
pub fn decode_response(text: &[u8]) -> Result<Response, DecodeError> {
    let Value::Object(fields) = parse_json_or_msgpack(text)? else {
        return Err(DecodeError::Shape("response is not an object"));
    };
    let Some(request_id) = fields
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(Response::Other { request_id: None });
    };
    if let Some(sockets) = fields.get("sockets") {
        let Value::Array(sockets) = sockets else {
            return Err(DecodeError::Shape("response sockets is not an array"));
        };
        if sockets.iter().all(Value::is_string) {
            return Ok(Response::Sockets {
                request_id,
                sockets: string_list(fields.get("sockets"))?,
            });
        }
        let sockets = sockets
            .iter()
            .map(socket_details)
            .collect::<Result<_, _>>()?;
        return Ok(Response::FetchedSockets {
            request_id,
            sockets,
        });
    }
    if fields.contains_key("rooms") {
        return Ok(Response::Rooms {
            request_id,
            rooms: string_list(fields.get("rooms"))?,
        });
    }
    Ok(Response::Other {
        request_id: Some(request_id),
    })
}

/// One `{id, handshake, rooms, data}` of a type 5 answer; `handshake`/`data` default to null.
pub(crate) fn socket_details(socket: &Value) -> Result<SocketDetails, DecodeError> {
    let Value::Object(fields) = socket else {
        return Err(DecodeError::Shape("fetched socket is not an object"));
    };
    let Some(id) = fields.get("id").and_then(Value::as_str) else {
        return Err(DecodeError::Shape("fetched socket id is not a string"));
    };
    Ok(SocketDetails {
        id: id.to_owned(),
        rooms: string_list(fields.get("rooms"))?,
        handshake: fields.get("handshake").cloned().unwrap_or(Value::Null),
        data: fields.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// Encodes a response as Node's adapter does.
pub fn encode_response(response: &Response) -> String {
    let value = match response {
        Response::Sockets {
            request_id,
            sockets,
        } => json!({ "requestId": request_id, "sockets": sockets }),
        Response::Rooms { request_id, rooms } => json!({ "requestId": request_id, "rooms": rooms }),
        Response::FetchedSockets {
            request_id,
            sockets,
        } => {
            let sockets: Vec<Value> = sockets
                .iter()
                .map(|socket| {
                    json!({
                        "id": socket.id,
                        "handshake": socket.handshake,
                        "rooms": socket.rooms,
                        "data": socket.data,
                    })
                })
                .collect();
            json!({ "requestId": request_id, "sockets": sockets })
        }
        Response::Other {
            request_id: Some(request_id),
        } => json!({ "requestId": request_id }),
        Response::Other { request_id: None } => json!({}),
    };
    stringify(&value)
}

/// Requests and responses are JSON, except some of `@socket.io/redis-adapter` 8, which are
/// msgpack; as Node 8 does, text starting with `{` is JSON and anything else is tried as
/// msgpack (binary values in it are replaced by placeholders and dropped).
fn parse_json_or_msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(error) if bytes.first() == Some(&b'{') => Err(DecodeError::Json(error.to_string())),
        Err(error) => match msgpack::decode(bytes) {
            Ok(node @ Node::Map(_)) => Ok(node
                .into_json(&mut Some(&mut Vec::new()))?
                .unwrap_or(Value::Null)),
            _ => Err(DecodeError::Json(error.to_string())),
        },
    }
}

/// A JSON integer >= 0 (an integral float such as `5.0` counts: it is 5 in JavaScript).
fn non_negative_integer(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|float| {
                float.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(float)
            })
            .map(|float| float as u64)
    })
}

/// A list of room names or socket ids: absent or null is empty, anything but an array of
/// strings is an error.
fn string_list(value: Option<&Value>) -> Result<Vec<String>, DecodeError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or(DecodeError::Shape("list holds a non-string"))
            })
            .collect(),
        Some(_) => Err(DecodeError::Shape("list is not an array")),
    }
}
