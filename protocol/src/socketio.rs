//! Socket.IO protocol v5 packets, the text carried by an Engine.IO `message`.
//!
//! Format: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]`, where the namespace is
//! omitted when it is `/`. Validation follows Node's `socket.io-parser` 4.x, so that what Node
//! refuses we refuse too.

use crate::binary::validate_placeholders;
use crate::json::{number_text, stringify_into};
use crate::DecodeError;
use serde_json::Value;

/// The seven Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6,
}

/// The most attachments one binary packet may announce: Node's `socket.io-parser` (4.2.7)
/// default `maxAttachments`, which refuses more so that a client cannot make the server wait
/// for (and buffer) an unbounded number of binary frames.
pub const MAX_ATTACHMENTS: usize = 10;

impl PacketKind {
    /// The kind written as `digit` (`'0'`..=`'6'`).
    pub fn from_digit(digit: u8) -> Option<PacketKind> {
        Some(match digit {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// BINARY_EVENT and BINARY_ACK: the kinds followed by binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

/// One Socket.IO packet. For the binary kinds, `data` holds placeholders and `attachments`
/// says how many binary Engine.IO messages follow (see [`crate::binary`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: PacketKind,
    /// Always starts with `/`.
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
    pub attachments: usize,
}

/// Everything of a packet but its data, borrowed: lets a server encode an event whose data it
/// keeps (for other nodes, for recovery) without copying the data into a [`Packet`].
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub kind: PacketKind,
    pub nsp: &'a str,
    pub id: Option<u64>,
    pub attachments: usize,
}

impl Head<'_> {
    /// Appends the wire text of this head with `data` to `out` ([`Packet::encode`]'s text).
    pub fn encode_into(&self, out: &mut String, data: Option<&Value>) {
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(self.kind as u8));
        if self.kind.is_binary() {
            out.push_str(digits.format(self.attachments));
            out.push('-');
        }
        if !self.nsp.is_empty() && self.nsp != "/" {
            out.push_str(self.nsp);
            out.push(',');
        }
        if let Some(id) = self.id {
            out.push_str(digits.format(id));
        }
        match data {
            None | Some(Value::Null) => {}
            Some(data) => stringify_into(out, data),
        }
    }
}

/// Event names a client may not emit (Node's parser refuses them too).
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

impl Packet {
    /// Parses and validates one packet: CONNECT data must be an object (or absent), DISCONNECT
    /// has none, EVENT data is a non-empty array whose first element is a string (not a
    /// reserved name) or a number, ACK data is an array, CONNECT_ERROR an object or string,
    /// attachments only on binary kinds and only with a count, ack ids are decimal u64.
    ///
    /// Like Node, data may be absent for every kind (`2` is an EVENT without data), and the
    /// placeholders of a binary packet must point at announced attachments (checked here,
    /// where Node checks once the buffers have arrived: the packet is refused either way).
    ///
    /// Where Node's parser accepts a JavaScript quirk, we refuse it: an empty packet (Node
    /// reads a CONNECT to `/`), a type or ack id written with whitespace (`Number(" ")` is 0),
    /// an attachment count written other than as decimal digits (`"1e1"`, `" 2"`), ack ids
    /// beyond u64, and JSON that serde_json refuses (lone surrogate escapes, nesting deeper
    /// than 128). No client produces any of these.
    pub fn decode(text: &str) -> Result<Packet, DecodeError> {
        let first = *text.as_bytes().first().ok_or(DecodeError::Empty)?;
        let kind = PacketKind::from_digit(first)
            .ok_or_else(|| DecodeError::UnknownType(text.chars().next().unwrap_or('\0')))?;
        // The type is one ASCII byte, so index 1 is a character boundary.
        let mut rest = &text[1..];

        let mut attachments = 0;
        if kind.is_binary() {
            let dash = rest.find('-').ok_or(DecodeError::Attachments)?;
            attachments = parse_attachment_count(&rest[..dash])?;
            rest = &rest[dash + 1..];
        }

        let nsp = if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            let nsp = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
            nsp
        } else {
            "/"
        };

        let id_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let id = match id_len {
            0 => None,
            _ => Some(
                rest[..id_len]
                    .parse::<u64>()
                    .map_err(|_| DecodeError::AckId)?,
            ),
        };
        rest = &rest[id_len..];

        let data = if rest.is_empty() {
            None
        } else {
            let value: Value =
                serde_json::from_str(rest).map_err(|error| DecodeError::Json(error.to_string()))?;
            if !is_payload_valid(kind, &value) {
                return Err(DecodeError::InvalidPayload);
            }
            if kind.is_binary() {
                validate_placeholders(&value, attachments)?;
            }
            Some(value)
        };

        Ok(Packet {
            kind,
            nsp: nsp.to_owned(),
            id,
            data,
            attachments,
        })
    }

    /// The wire text of this packet (without its binary attachments), byte for byte what
    /// Node's `socket.io-parser` encoder writes for the same packet.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let head = Head {
            kind: self.kind,
            nsp: &self.nsp,
            id: self.id,
            attachments: self.attachments,
        };
        head.encode_into(&mut text, self.data.as_ref());
        text
    }

    /// An EVENT `[event, ...args]` on `nsp`, with an ack id when the sender wants an answer.
    pub fn event(nsp: &str, data: Value, id: Option<u64>) -> Packet {
        Packet {
            kind: PacketKind::Event,
            nsp: nsp.to_owned(),
            id,
            data: Some(data),
            attachments: 0,
        }
    }

    /// An ACK answering ack id `id` with `args` (a JSON array).
    pub fn ack(nsp: &str, id: u64, args: Value) -> Packet {
        Packet {
            kind: PacketKind::Ack,
            nsp: nsp.to_owned(),
            id: Some(id),
            data: Some(args),
            attachments: 0,
        }
    }

    /// The CONNECT answer of the server: `{"sid": socket id}`.
    pub fn connect_ok(nsp: &str, socket_id: &str) -> Packet {
        Packet {
            kind: PacketKind::Connect,
            nsp: nsp.to_owned(),
            id: None,
            data: Some(serde_json::json!({ "sid": socket_id })),
            attachments: 0,
        }
    }

    /// A CONNECT_ERROR refusing a connection: `{"message": …}` plus optional `data`.
    pub fn connect_error(nsp: &str, message: &str, data: Option<Value>) -> Packet {
        let mut body = serde_json::json!({ "message": message });
        if let Some(d) = data {
            body["data"] = d;
        }
        Packet {
            kind: PacketKind::ConnectError,
            nsp: nsp.to_owned(),
            id: None,
            data: Some(body),
            attachments: 0,
        }
    }

    /// A DISCONNECT of `nsp` (the server closes that namespace socket).
    pub fn disconnect(nsp: &str) -> Packet {
        Packet {
            kind: PacketKind::Disconnect,
            nsp: nsp.to_owned(),
            id: None,
            data: None,
            attachments: 0,
        }
    }

    /// For EVENT/BINARY_EVENT: the event name (a number is turned into its decimal text).
    pub fn event_name(&self) -> Option<String> {
        if !matches!(self.kind, PacketKind::Event | PacketKind::BinaryEvent) {
            return None;
        }
        match self.data.as_ref()?.as_array()?.first()? {
            Value::String(name) => Some(name.clone()),
            Value::Number(number) => Some(number_text(number)),
            _ => None,
        }
    }
}

/// `<count>-`: one or more decimal digits, at least 1 and at most [`MAX_ATTACHMENTS`].
fn parse_attachment_count(digits: &str) -> Result<usize, DecodeError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::Attachments);
    }
    match digits.parse::<usize>() {
        Ok(count) if (1..=MAX_ATTACHMENTS).contains(&count) => Ok(count),
        _ => Err(DecodeError::Attachments),
    }
}

/// Node's `Decoder.isPayloadValid`: which JSON each packet type may carry.
/// The ack id and the data of an EVENT packet of the main namespace (`2[<ack id>][...]`, no
/// namespace, no attachments), deserialized straight into `T` instead of a [`Value`] tree: the
/// path of the one event a server receives in bulk (a `Value` tree with ordered maps was the
/// largest cost of decoding one, ~3 300 instructions of a chat message). `T` is what the caller
/// can handle (`(name, arguments)` as a tuple); `None` when the packet is anything else, when
/// its data is not a `T`, or when it names a reserved event: the caller then decodes it with
/// [`Packet::decode`], which accepts or refuses it exactly as before. Whatever this accepts,
/// `Packet::decode` accepts as the same event (the fuzz target checks it).
pub fn decode_event_as<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Option<(Option<u64>, T)> {
    let rest = text.strip_prefix('2')?;
    let id_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = match id_len {
        0 => None,
        _ => Some(rest[..id_len].parse::<u64>().ok()?),
    };
    let data = &rest[id_len..];
    // The event's name, its first element, as written: a name with an escape is left to
    // `Packet::decode`, so that a reserved name is refused whichever way it is spelled.
    let quoted = data.strip_prefix("[\"")?;
    let name = &quoted[..quoted.find('"')?];
    if name.contains('\\') || RESERVED_EVENTS.contains(&name) {
        return None;
    }
    let args = serde_json::from_str(data).ok()?;
    Some((id, args))
}

fn is_payload_valid(kind: PacketKind, payload: &Value) -> bool {
    match kind {
        PacketKind::Connect => payload.is_object(),
        PacketKind::Disconnect => false,
        PacketKind::ConnectError => payload.is_string() || payload.is_object(),
        PacketKind::Event | PacketKind::BinaryEvent => {
            match payload.as_array().and_then(|a| a.first()) {
                Some(Value::Number(_)) => true,
                Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
                _ => false,
            }
        }
        PacketKind::Ack | PacketKind::BinaryAck => payload.is_array(),
    }
}
