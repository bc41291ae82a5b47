//! A Socket.IO event encoded once for every local recipient and kept as JSON for the other
//! nodes and for recovery: what a broadcast carries, whoever sends or receives it.

use crate::transport::Frame;
use bytes::Bytes;
use chat_protocol::socketio::{Head, Packet, PacketKind};
use serde_json::Value;
use std::sync::Arc;

/// An event on namespace `/` ready to broadcast: `data` is `[event, ...args]` (binary values
/// as placeholders), `attachments` the binary values, `frames` the Engine.IO frames every local
/// socket receives.
#[derive(Debug)]
pub struct OutboundEvent {
    pub data: Value,
    pub attachments: Vec<Vec<u8>>,
    pub frames: Arc<[Frame]>,
    /// The id of the private message it is, when it is one written by a node of ours.
    pub message_id: Option<Arc<str>>,
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
        Arc::new(OutboundEvent {
            data,
            attachments,
            frames: frames.into(),
            message_id,
        })
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
