//! A Socket.IO event encoded once for every local recipient: what a broadcast carries,
//! whoever sends or receives it. Its JSON data (`[event, ...args]`), which the other nodes'
//! formats and recovery's stream need, is built only when asked for: a private message on one
//! node is serialized once, straight into its frame, with no JSON tree.

use crate::transport::Frame;
use bytes::Bytes;
use chat_protocol::socketio::{Head, Packet, PacketKind};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// An event on namespace `/` ready to broadcast: `frames` the Engine.IO frames every local
/// socket receives, `attachments` its binary values, and its data `[event, ...args]` (binary
/// values as placeholders) through [`OutboundEvent::data`].
#[derive(Debug)]
pub struct OutboundEvent {
    data: OnceLock<Value>,
    pub attachments: Vec<Vec<u8>>,
    pub frames: Arc<[Frame]>,
    /// The id of the private message it is, when it is one written by a node of ours.
    pub message_id: Option<Arc<str>>,
    /// That message's time (ms since the epoch), for recovery's watermark.
    pub message_ts: Option<u64>,
}

impl OutboundEvent {
    /// Encodes `event` with `args` (plain JSON, no binary).
    pub fn new(event: &str, args: Vec<Value>) -> Arc<OutboundEvent> {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        OutboundEvent::from_data(Value::Array(data), Vec::new())
    }

    /// Encodes an event whose `data` (`[event, ...args]`) may reference `attachments`.
    pub fn from_data(data: Value, attachments: Vec<Vec<u8>>) -> Arc<OutboundEvent> {
        let frames = event_frames("/", &data, None, &attachments);
        let message_id = private_message_id(&data).map(Arc::from);
        let message_ts = message_id
            .as_ref()
            .and_then(|_| data.get(1)?.get("ts")?.as_u64());
        Arc::new(OutboundEvent {
            data: OnceLock::from(data),
            attachments,
            frames: frames.into(),
            message_id,
            message_ts,
        })
    }

    /// The private message `message` (sent with id `id` at `ts`): `42["private message",
    /// message]`, serialized straight into its frame. serde_json escapes strings exactly as
    /// `JSON.stringify` does (see `chat::payloads`), so the frame is what the JSON tree would
    /// have made of it.
    pub fn private_message(message: &impl Serialize, id: &str, ts: u64) -> Arc<OutboundEvent> {
        let mut bytes = Vec::with_capacity(160);
        bytes.extend_from_slice(b"42");
        // Serialising a message of strings and integers into memory cannot fail, and
        // serde_json writes UTF-8; the frame would be `42` alone if either ever failed, which a
        // client ignores as an empty event.
        let _ = serde_json::to_writer(&mut bytes, &("private message", message));
        let text = String::from_utf8(bytes).unwrap_or_else(|_| "42".to_owned());
        Arc::new(OutboundEvent {
            data: OnceLock::new(),
            attachments: Vec::new(),
            frames: Arc::from([Frame::Text(text.into())]),
            message_id: Some(Arc::from(id)),
            message_ts: Some(ts),
        })
    }

    /// `[event, ...args]`, built from the frame the first time it is asked for.
    pub fn data(&self) -> &Value {
        self.data.get_or_init(|| {
            let json = self.json().unwrap_or("null");
            serde_json::from_str(json).unwrap_or(Value::Null)
        })
    }

    /// The JSON text of the data as the frame carries it (an event without attachments on
    /// `/`: the frame is `42` followed by it).
    pub fn json(&self) -> Option<&str> {
        match self.frames.first()? {
            Frame::Text(text) if self.attachments.is_empty() => text.strip_prefix("42"),
            _ => None,
        }
    }
}

/// The id of a `private message` event (`data` is `[event, ...args]`) written by a node of
/// ours: ids we write are hex; anything else (a Node node's, a forged one) names nothing.
pub fn private_message_id(data: &Value) -> Option<&str> {
    if data.get(0).and_then(Value::as_str) != Some("private message") {
        return None;
    }
    data.get(1)?
        .get("id")?
        .as_str()
        .filter(|id| is_plain_id(id))
}

/// Whether `id` is one of our message ids (hex, not empty, at most 32 digits).
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The Engine.IO frames of one EVENT (BINARY_EVENT when there are attachments): the packet
/// text, then one binary frame per attachment. Encodes `data` where it lies: an event kept
/// for other nodes and for recovery is not copied to be sent.
pub fn event_frames(
    nsp: &str,
    data: &Value,
    ack: Option<u64>,
    attachments: &[Vec<u8>],
) -> Vec<Frame> {
    let kind = if attachments.is_empty() {
        PacketKind::Event
    } else {
        PacketKind::BinaryEvent
    };
    let head = Head {
        kind,
        nsp,
        id: ack,
        attachments: attachments.len(),
    };
    let mut text = String::with_capacity(64);
    text.push('4');
    head.encode_into(&mut text, Some(data));
    frames_of(text, attachments)
}

/// The Engine.IO frames of any Socket.IO packet and its attachments.
pub fn packet_frames(packet: &Packet, attachments: &[Vec<u8>]) -> Vec<Frame> {
    let mut text = String::with_capacity(64);
    text.push('4');
    text.push_str(&packet.encode());
    frames_of(text, attachments)
}

/// The Engine.IO message `text` (a packet's `4…`), then one binary frame per attachment.
fn frames_of(text: String, attachments: &[Vec<u8>]) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(Frame::Text(text.into()));
    frames.extend(
        attachments
            .iter()
            .map(|a| Frame::Binary(Bytes::copy_from_slice(a))),
    );
    frames
}
