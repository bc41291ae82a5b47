//! The messages of `socket.io-adapter`'s `ClusterAdapter`, as `@socket.io/redis-adapter` 8.3's
//! `createShardedAdapter` exchanges them over Redis sharded pub/sub (`SPUBLISH`).
//!
//! Every message is one object `{type, data, uid, nsp}`: JSON text, or a msgpack map when it
//! carries binary (the receiver tells them apart by the first byte, `{`). The types the chat
//! needs are typed, the rest is decoded enough to be ignored:
//!
//! | type | name                   | `data`                                              |
//! |------|------------------------|-----------------------------------------------------|
//! | 3    | BROADCAST              | `{packet: {type, data, nsp}, opts: {rooms, except, flags}, requestId?}` |
//! | 7    | FETCH_SOCKETS          | `{opts: {rooms, except, flags}, requestId}`          |
//! | 8    | FETCH_SOCKETS_RESPONSE | `{requestId, sockets: [{id, handshake, rooms, data}]}` |
//!
//! The packet and the options are those of the classic adapter format (`adapter.rs`), decoded
//! and encoded by the same code.

use crate::adapter::{
    decode_broadcast_opts, decode_broadcast_packet, socket_details, take_field, write_opts,
    write_packet, BroadcastOpts, BroadcastPacket, SocketDetails,
};
use crate::json::stringify;
use crate::msgpack::{self, Node, Writer};
use crate::DecodeError;
use serde_json::{json, Value};

/// `MessageType.BROADCAST`.
pub const BROADCAST: u64 = 3;
/// `MessageType.FETCH_SOCKETS`.
pub const FETCH_SOCKETS: u64 = 7;
/// `MessageType.FETCH_SOCKETS_RESPONSE`.
pub const FETCH_SOCKETS_RESPONSE: u64 = 8;

/// One message between cluster nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMessage {
    /// The sender's id; a node ignores its own messages.
    pub uid: String,
    pub nsp: String,
    pub body: Body,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Deliver `packet` to the local sockets chosen by `opts`. With a `request_id` the sender
    /// wants client acknowledgements back (which the chat never asks for).
    Broadcast {
        packet: BroadcastPacket,
        opts: BroadcastOpts,
        request_id: Option<String>,
    },
    /// Which local sockets match `opts` (rooms, except)? Answered on the sender's channel.
    FetchSockets {
        request_id: String,
        opts: BroadcastOpts,
    },
    /// The answer to a [`Body::FetchSockets`].
    FetchSocketsResponse {
        request_id: String,
        sockets: Vec<SocketDetails>,
    },
    /// Any other type (heartbeats of other adapters, joins, server-side emits, acks…).
    Other { kind: u64 },
}

/// Decodes a message: JSON when it starts with `{`, msgpack otherwise, as the sharded adapter
/// reads it. Errors when it is neither, or when a typed message lacks what its type needs.
pub fn decode_cluster_message(bytes: &[u8]) -> Result<ClusterMessage, DecodeError> {
    let node = if bytes.first() == Some(&b'{') {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
        node_of(value)
    } else {
        msgpack::decode(bytes)?
    };
    let Node::Map(mut fields) = node else {
        return Err(DecodeError::Shape("cluster message is not an object"));
    };
    let kind = match take_field(&mut fields, "type") {
        Some(Node::Unsigned(kind)) => kind,
        _ => return Err(DecodeError::Shape("cluster message type is not an integer")),
    };
    let uid = match take_field(&mut fields, "uid") {
        Some(Node::Str(uid)) => uid,
        _ => return Err(DecodeError::Shape("cluster message uid is not a string")),
    };
    let nsp = match take_field(&mut fields, "nsp") {
        Some(Node::Str(nsp)) => nsp,
        _ => return Err(DecodeError::Shape("cluster message nsp is not a string")),
    };
    let body = match kind {
        BROADCAST | FETCH_SOCKETS | FETCH_SOCKETS_RESPONSE => {
            let Some(Node::Map(data)) = take_field(&mut fields, "data") else {
                return Err(DecodeError::Shape("cluster message data is not an object"));
            };
            typed_body(kind, data)?
        }
        kind => Body::Other { kind },
    };
    Ok(ClusterMessage { uid, nsp, body })
}

fn typed_body(kind: u64, mut data: Vec<(String, Node)>) -> Result<Body, DecodeError> {
    let request_id = match take_field(&mut data, "requestId") {
        None | Some(Node::Undefined | Node::Nil) => None,
        Some(Node::Str(id)) => Some(id),
        Some(_) => return Err(DecodeError::Shape("requestId is not a string")),
    };
    let opts = |data: &mut Vec<(String, Node)>| match take_field(data, "opts") {
        Some(opts) => decode_broadcast_opts(opts),
        None => Err(DecodeError::Shape("cluster message has no opts")),
    };
    let required =
        |id: Option<String>| id.ok_or(DecodeError::Shape("cluster message has no requestId"));
    Ok(match kind {
        BROADCAST => {
            let Some(packet) = take_field(&mut data, "packet") else {
                return Err(DecodeError::Shape("broadcast has no packet"));
            };
            Body::Broadcast {
                packet: decode_broadcast_packet(packet)?,
                opts: opts(&mut data)?,
                request_id,
            }
        }
        FETCH_SOCKETS => Body::FetchSockets {
            opts: opts(&mut data)?,
            request_id: required(request_id)?,
        },
        _ => {
            let sockets = match take_field(&mut data, "sockets") {
                Some(Node::Array(sockets)) => sockets,
                _ => return Err(DecodeError::Shape("response sockets is not an array")),
            };
            let sockets = sockets
                .into_iter()
                .map(|socket| {
                    let json = socket.into_json(&mut Some(&mut Vec::new()))?;
                    socket_details(&json.unwrap_or(Value::Null))
                })
                .collect::<Result<_, _>>()?;
            Body::FetchSocketsResponse {
                request_id: required(request_id)?,
                sockets,
            }
        }
    })
}

/// The msgpack view of a JSON value, so that both encodings go through one decoder.
fn node_of(value: Value) -> Node {
    match value {
        Value::Null => Node::Nil,
        Value::Bool(flag) => Node::Bool(flag),
        Value::Number(number) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
            (Some(unsigned), _, _) => Node::Unsigned(unsigned),
            (None, Some(signed), _) => Node::Signed(signed),
            (None, None, float) => Node::Float(float.unwrap_or(f64::NAN)),
        },
        Value::String(text) => Node::Str(text),
        Value::Array(items) => Node::Array(items.into_iter().map(node_of).collect()),
        Value::Object(fields) => Node::Map(
            fields
                .into_iter()
                .map(|(key, value)| (key, node_of(value)))
                .collect(),
        ),
    }
}

/// Encodes a message as the sharded adapter does: JSON, or a msgpack map when a broadcast
/// carries binary (its attachments become msgpack `bin`).
pub fn encode_cluster_message(message: &ClusterMessage) -> Vec<u8> {
    if let Body::Broadcast { packet, opts, .. } = &message.body {
        if !packet.attachments.is_empty() {
            return encode_binary_broadcast(message, packet, opts);
        }
    }
    let data = match &message.body {
        Body::Broadcast {
            packet,
            opts,
            request_id,
        } => {
            let mut data = json!({
                "packet": { "type": packet.kind, "data": packet.data, "nsp": packet.nsp },
                "opts": opts_json(opts),
            });
            if let (Some(id), Value::Object(fields)) = (request_id, &mut data) {
                fields.insert("requestId".to_owned(), json!(id));
            }
            data
        }
        Body::FetchSockets { request_id, opts } => {
            json!({ "opts": opts_json(opts), "requestId": request_id })
        }
        Body::FetchSocketsResponse {
            request_id,
            sockets,
        } => {
            let sockets: Vec<Value> = sockets
                .iter()
                .map(|s| json!({ "id": s.id, "handshake": s.handshake, "rooms": s.rooms, "data": s.data }))
                .collect();
            json!({ "requestId": request_id, "sockets": sockets })
        }
        Body::Other { .. } => Value::Null,
    };
    let mut object = json!({ "type": message.body.kind(), "uid": message.uid, "nsp": message.nsp });
    if let (false, Value::Object(fields)) = (data.is_null(), &mut object) {
        fields.insert("data".to_owned(), data);
    }
    stringify(&object).into_bytes()
}

fn opts_json(opts: &BroadcastOpts) -> Value {
    json!({ "rooms": opts.rooms, "except": opts.except, "flags": opts.flags })
}

fn encode_binary_broadcast(
    message: &ClusterMessage,
    packet: &BroadcastPacket,
    opts: &BroadcastOpts,
) -> Vec<u8> {
    let request_id = match &message.body {
        Body::Broadcast { request_id, .. } => request_id.as_deref(),
        _ => None,
    };
    let mut writer = Writer::default();
    writer.map_header(4);
    writer.str("type");
    writer.unsigned(BROADCAST);
    writer.str("data");
    writer.map_header(if request_id.is_some() { 3 } else { 2 });
    writer.str("packet");
    write_packet(&mut writer, packet);
    writer.str("opts");
    write_opts(&mut writer, opts);
    if let Some(id) = request_id {
        writer.str("requestId");
        writer.str(id);
    }
    writer.str("uid");
    writer.str(&message.uid);
    writer.str("nsp");
    writer.str(&message.nsp);
    writer.into_bytes()
}

impl Body {
    /// The `type` of the message.
    pub fn kind(&self) -> u64 {
        match self {
            Body::Broadcast { .. } => BROADCAST,
            Body::FetchSockets { .. } => FETCH_SOCKETS,
            Body::FetchSocketsResponse { .. } => FETCH_SOCKETS_RESPONSE,
            Body::Other { kind } => *kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn broadcast(attachments: Vec<Vec<u8>>) -> ClusterMessage {
        let data = if attachments.is_empty() {
            json!(["private message", {"content": "hi"}])
        } else {
            json!(["file", {"_placeholder": true, "num": 0}])
        };
        ClusterMessage {
            uid: "n1".into(),
            nsp: "/".into(),
            body: Body::Broadcast {
                packet: BroadcastPacket {
                    kind: 2,
                    data,
                    attachments,
                    nsp: "/".into(),
                },
                opts: BroadcastOpts {
                    rooms: vec!["u1".into()],
                    except: vec!["sid".into()],
                    flags: Map::new(),
                },
                request_id: None,
            },
        }
    }

    #[test]
    fn round_trips_every_typed_message() {
        let fetch = ClusterMessage {
            uid: "n1".into(),
            nsp: "/".into(),
            body: Body::FetchSockets {
                request_id: "r1".into(),
                opts: BroadcastOpts {
                    rooms: vec!["u1".into()],
                    ..BroadcastOpts::default()
                },
            },
        };
        let answer = ClusterMessage {
            uid: "n2".into(),
            nsp: "/".into(),
            body: Body::FetchSocketsResponse {
                request_id: "r1".into(),
                sockets: vec![SocketDetails {
                    id: "s1".into(),
                    rooms: vec!["s1".into(), "u1".into()],
                    handshake: json!({}),
                    data: json!({}),
                }],
            },
        };
        for message in [
            broadcast(Vec::new()),
            broadcast(vec![vec![1, 2]]),
            fetch,
            answer,
        ] {
            let wire = encode_cluster_message(&message);
            assert_eq!(decode_cluster_message(&wire).unwrap(), message);
        }
        assert_eq!(encode_cluster_message(&broadcast(Vec::new()))[0], b'{');
        assert_ne!(encode_cluster_message(&broadcast(vec![vec![1]]))[0], b'{');
    }

    #[test]
    fn reads_what_the_sharded_adapter_sends() {
        // JSON.stringify of a ClusterAdapter broadcast: type and data first, uid and nsp after.
        let node = br#"{"type":3,"data":{"packet":{"type":2,"data":["user connected",{"userID":"u"}],"nsp":"/"},"opts":{"rooms":[],"except":["x"],"flags":{}}},"uid":"abc","nsp":"/"}"#;
        let message = decode_cluster_message(node).unwrap();
        assert_eq!(message.uid, "abc");
        let Body::Broadcast { opts, packet, .. } = message.body else {
            panic!("not a broadcast")
        };
        assert_eq!(opts.except, ["x"]);
        assert_eq!(packet.data[0], "user connected");
        let heartbeat = decode_cluster_message(br#"{"type":2,"uid":"abc","nsp":"/"}"#).unwrap();
        assert_eq!(heartbeat.body, Body::Other { kind: 2 });
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        for bad in [
            &b""[..],
            b"{",
            b"garbage",
            b"\x93\xa1a",
            br#"{"type":"3","uid":"a","nsp":"/"}"#,
            br#"{"type":3,"uid":"a","nsp":"/"}"#,
            br#"{"type":3,"uid":"a","nsp":"/","data":{"opts":{}}}"#,
            br#"{"type":7,"uid":"a","nsp":"/","data":{"opts":{}}}"#,
            br#"{"type":8,"uid":"a","nsp":"/","data":{"requestId":"r","sockets":[1]}}"#,
            br#"{"type":3,"nsp":"/"}"#,
        ] {
            assert!(decode_cluster_message(bad).is_err(), "{bad:?}");
        }
    }
}
