//! What a simulated user writes and how it reads what the server sends: pure functions over
//! frame text, built on the `chat-protocol` codecs so that the load generator speaks exactly
//! the wire format the server parses (and would notice if the server stopped speaking it).

use chat_protocol::socketio::{self, PacketKind};
use chat_protocol::{engineio, DecodeError};
use serde_json::{json, Value};

/// One WebSocket text frame from the server, as far as a chat user cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Engine.IO open packet (the handshake).
    Open,
    /// Engine.IO ping: answer with a pong carrying the same data.
    Ping(String),
    /// Engine.IO close: the server ends the session.
    Close,
    /// Socket.IO CONNECT accepted on `/`.
    Connected,
    /// Socket.IO CONNECT_ERROR with its message.
    Refused(String),
    /// Socket.IO DISCONNECT of `/` by the server.
    Disconnected,
    /// `session` event: our own userID.
    Session { user_id: String },
    /// `users` event: the list of known users (its content is not read).
    Users,
    /// `private message` event.
    PrivateMessage { content: String, to: String },
    /// An ACK answering one of our emits.
    Ack { id: u64, outcome: AckOutcome },
    /// Anything else (`user connected`, `user disconnected`, pongs, noops, other namespaces).
    Other,
}

/// The server's answer to an acknowledged `private message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// `{"ok": true, …}`: the message was persisted.
    Ok,
    /// `{"error": "…"}` or anything unexpected, with the reason.
    Error(String),
}

/// The presence events every user receives about every other user. With N users they are
/// O(N²) frames (and `users` lists O(N²) entries), so they are recognised by their prefix
/// instead of being parsed: the load generator must stay cheaper than the server it measures.
const UNPARSED_EVENTS: [(&str, Incoming); 3] = [
    (r#"42["user connected","#, Incoming::Other),
    (r#"42["user disconnected","#, Incoming::Other),
    (r#"42["users",["#, Incoming::Users),
];

/// Reads one text frame.
pub fn classify(frame: &str) -> Result<Incoming, DecodeError> {
    for (prefix, incoming) in &UNPARSED_EVENTS {
        if frame.starts_with(prefix) && frame.ends_with(']') {
            return Ok(incoming.clone());
        }
    }
    Ok(match engineio::Packet::decode_text(frame)? {
        engineio::Packet::Open(_) => Incoming::Open,
        engineio::Packet::Ping(data) => Incoming::Ping(data),
        engineio::Packet::Close => Incoming::Close,
        engineio::Packet::Message(text) => classify_socket_io(&socketio::Packet::decode(&text)?),
        _ => Incoming::Other,
    })
}

fn classify_socket_io(packet: &socketio::Packet) -> Incoming {
    if packet.nsp != "/" {
        return Incoming::Other;
    }
    match packet.kind {
        PacketKind::Connect => Incoming::Connected,
        PacketKind::Disconnect => Incoming::Disconnected,
        PacketKind::ConnectError => Incoming::Refused(connect_error_message(packet.data.as_ref())),
        PacketKind::Ack => match packet.id {
            Some(id) => Incoming::Ack {
                id,
                outcome: ack_outcome(packet.data.as_ref()),
            },
            None => Incoming::Other,
        },
        PacketKind::Event => classify_event(packet),
        PacketKind::BinaryEvent | PacketKind::BinaryAck => Incoming::Other,
    }
}

fn classify_event(packet: &socketio::Packet) -> Incoming {
    let Some(args) = packet.data.as_ref().and_then(Value::as_array) else {
        return Incoming::Other;
    };
    let text_field = |name: &str| {
        args.get(1)
            .and_then(|body| body.get(name))
            .and_then(Value::as_str)
    };
    match args.first().and_then(Value::as_str) {
        Some("private message") => match (text_field("content"), text_field("to")) {
            (Some(content), Some(to)) => Incoming::PrivateMessage {
                content: content.to_owned(),
                to: to.to_owned(),
            },
            _ => Incoming::Other,
        },
        Some("session") => match text_field("userID") {
            Some(user_id) => Incoming::Session {
                user_id: user_id.to_owned(),
            },
            None => Incoming::Other,
        },
        Some("users") => Incoming::Users,
        _ => Incoming::Other,
    }
}

fn connect_error_message(data: Option<&Value>) -> String {
    match data {
        Some(Value::String(message)) => message.clone(),
        Some(body) => body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("connect error")
            .to_owned(),
        None => "connect error".to_owned(),
    }
}

fn ack_outcome(data: Option<&Value>) -> AckOutcome {
    let answer = data.and_then(Value::as_array).and_then(|args| args.first());
    match answer {
        Some(body) if body.get("ok") == Some(&Value::Bool(true)) => AckOutcome::Ok,
        Some(body) => match body.get("error").and_then(Value::as_str) {
            Some(reason) => AckOutcome::Error(reason.to_owned()),
            None => AckOutcome::Error("unexpected ack".to_owned()),
        },
        None => AckOutcome::Error("empty ack".to_owned()),
    }
}

/// The Engine.IO pong answering a ping with `data`.
pub fn pong(data: &str) -> String {
    engineio::Packet::Pong(data.to_owned()).encode_text()
}

/// The Socket.IO CONNECT to `/` with handshake auth `{username}`, inside an Engine.IO message.
pub fn connect_with_username(username: &str) -> String {
    let connect = socketio::Packet {
        kind: PacketKind::Connect,
        nsp: "/".to_owned(),
        id: None,
        data: Some(json!({ "username": username })),
        attachments: 0,
    };
    engineio::Packet::Message(connect.encode()).encode_text()
}

/// `private message` `{content, to}`, asking for an ack when `ack_id` is given.
pub fn private_message(content: &str, to: &str, ack_id: Option<u64>) -> String {
    let event = socketio::Packet::event(
        "/",
        json!(["private message", { "content": content, "to": to }]),
        ack_id,
    );
    engineio::Packet::Message(event.encode()).encode_text()
}

/// What a message's content carries so that its receiver can measure it: whether it belongs to
/// the measured phase (not the warm-up), a sequence number, and the send time in microseconds
/// since the load generator's start (one process, one clock, so sender and receiver agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub measured: bool,
    pub seq: u64,
    pub sent_us: u64,
}

impl Stamp {
    /// `m<seq>|<sent µs>` (measured) or `w<seq>|<sent µs>` (warm-up); the probe writes
    /// `<seq>|<sent ms>`, in the same spirit.
    pub fn to_content(self) -> String {
        let phase = if self.measured { 'm' } else { 'w' };
        format!("{phase}{}|{}", self.seq, self.sent_us)
    }

    /// Reads a content written by [`Stamp::to_content`]; `None` for anything else.
    pub fn parse(content: &str) -> Option<Stamp> {
        let measured = match content.as_bytes().first()? {
            b'm' => true,
            b'w' => false,
            _ => return None,
        };
        let (seq, sent_us) = content[1..].split_once('|')?;
        Some(Stamp {
            measured,
            seq: seq.parse().ok()?,
            sent_us: sent_us.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_frames_are_recognised() {
        let open = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(classify(open), Ok(Incoming::Open));
        assert_eq!(classify(r#"40{"sid":"x"}"#), Ok(Incoming::Connected));
        assert_eq!(
            classify(r#"42["session",{"sessionID":"s","userID":"u1"}]"#),
            Ok(Incoming::Session {
                user_id: "u1".to_owned()
            })
        );
        assert_eq!(
            classify(r#"42["users",[{"userID":"a"},{"userID":"b"}]]"#),
            Ok(Incoming::Users)
        );
        assert_eq!(classify(r#"42["users",[]]"#), Ok(Incoming::Users));
        assert_eq!(
            classify(r#"42["user connected",{"userID":"a","connected":true}]"#),
            Ok(Incoming::Other)
        );
        assert_eq!(
            classify(r#"44{"message":"invalid username"}"#),
            Ok(Incoming::Refused("invalid username".to_owned()))
        );
    }

    #[test]
    fn pings_are_answered_with_the_same_data() {
        assert_eq!(classify("2"), Ok(Incoming::Ping(String::new())));
        assert_eq!(pong(""), "3");
        assert_eq!(pong("probe"), "3probe");
    }

    #[test]
    fn private_messages_and_acks_are_read() {
        let frame =
            r#"42["private message",{"content":"m1|20","from":"a","to":"b","id":"x","ts":1}]"#;
        assert_eq!(
            classify(frame),
            Ok(Incoming::PrivateMessage {
                content: "m1|20".to_owned(),
                to: "b".to_owned()
            })
        );
        assert_eq!(
            classify(r#"437[{"ok":true,"id":"x"}]"#),
            Ok(Incoming::Ack {
                id: 7,
                outcome: AckOutcome::Ok
            })
        );
        assert_eq!(
            classify(r#"438[{"error":"unknown recipient"}]"#),
            Ok(Incoming::Ack {
                id: 8,
                outcome: AckOutcome::Error("unknown recipient".to_owned())
            })
        );
        assert_eq!(
            classify(r#"42["user disconnected","a"]"#),
            Ok(Incoming::Other)
        );
        assert!(classify("9nonsense").is_err());
    }

    #[test]
    fn outgoing_frames_match_what_socket_io_client_writes() {
        assert_eq!(connect_with_username("u0"), r#"40{"username":"u0"}"#);
        assert_eq!(
            private_message("hi", "b", Some(12)),
            r#"4212["private message",{"content":"hi","to":"b"}]"#
        );
        assert_eq!(
            private_message("hi", "b", None),
            r#"42["private message",{"content":"hi","to":"b"}]"#
        );
    }

    #[test]
    fn stamps_round_trip_and_foreign_content_is_ignored() {
        let stamp = Stamp {
            measured: true,
            seq: 42,
            sent_us: 1_234_567,
        };
        assert_eq!(Stamp::parse(&stamp.to_content()), Some(stamp));
        let warmup = Stamp {
            measured: false,
            ..stamp
        };
        assert_eq!(Stamp::parse(&warmup.to_content()), Some(warmup));
        assert_eq!(Stamp::parse("12|34"), None);
        assert_eq!(Stamp::parse("m12"), None);
        assert_eq!(Stamp::parse(""), None);
    }
}
