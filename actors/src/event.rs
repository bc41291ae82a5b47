//! A Socket.IO event encoded once for every local recipient: what a broadcast carries,
//! whoever sends or receives it. Its JSON data (`[event, ...args]`), which the other nodes'
//! formats and recovery's stream need, is built only when asked for: a private message on one
//! node is serialized once, straight into its frame, with no JSON tree.

use crate::store::StoredMessage;
use crate::transport::Frame;
use bytes::Bytes;
use chat_protocol::json::string_into;
use chat_protocol::socketio::{Head, Packet, PacketKind};
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
    /// message]`, written straight into its frame by hand, field by field in the order of
    /// `StoredMessage`'s serde form and with `JSON.stringify`'s escaping, so that the frame is
    /// byte for byte what serializing it would make (a test checks it). Through serde it cost
    /// ~2 600 instructions of every message (callgrind), mostly its machinery.
    pub fn private_message(message: &StoredMessage, id: &str, ts: u64) -> Arc<OutboundEvent> {
        let StoredMessage {
            content,
            from,
            to,
            id: stored_id,
            ts: stored_ts,
        } = message;
        let mut text = String::with_capacity(
            // The fixed text, the quotes and a timestamp's 13 digits take 82 bytes.
            96 + content.len() + from.len() + to.len() + stored_id.as_ref().map_or(0, String::len),
        );
        text.push_str(r#"42["private message",{"content":"#);
        string_into(&mut text, content);
        text.push_str(r#","from":"#);
        string_into(&mut text, from);
        text.push_str(r#","to":"#);
        string_into(&mut text, to);
        if let Some(stored_id) = stored_id {
            text.push_str(r#","id":"#);
            string_into(&mut text, stored_id);
        }
        if let Some(stored_ts) = stored_ts {
            text.push_str(r#","ts":"#);
            text.push_str(itoa::Buffer::new().format(*stored_ts));
        }
        text.push_str("}]");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_message_frame_is_what_serializing_it_makes() {
        let plain = StoredMessage {
            content: "hello".into(),
            from: "u1".into(),
            to: "u2".into(),
            id: Some("0a1b".into()),
            ts: Some(1_700_000_000_123),
        };
        let escaped = StoredMessage {
            content: "a \"quote\", a \\ and \n\t\u{1}\u{7f} é 💬 \u{2028}".into(),
            from: "u\"1".into(),
            to: "u2".into(),
            id: None,
            ts: None,
        };
        let no_ts = StoredMessage {
            ts: None,
            ..plain.clone()
        };
        for message in [plain, escaped, no_ts] {
            let event = OutboundEvent::private_message(&message, "0a1b", 5);
            let Frame::Text(text) = &event.frames[0] else {
                panic!("a text frame")
            };
            let serialized = serde_json::to_string(&("private message", &message)).expect("json");
            assert_eq!(&**text, format!("42{serialized}"));
        }
    }
}
