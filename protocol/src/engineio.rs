//! Engine.IO protocol v4 packets.
//!
//! A packet is a one-character type (`0` open … `6` noop) followed by its data. Text packets
//! travel as WebSocket text frames or as segments of a polling body; a binary message travels as
//! a WebSocket binary frame (no type byte) or, in a polling body, as `b` + base64.

use crate::DecodeError;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Serialize;

/// The base64 of `b…` segments: the standard alphabet, written padded (as Node writes it) and
/// read with or without padding and with any trailing bits, closer to Node's lenient
/// `Buffer.from(text, "base64")`. Characters outside the alphabet are refused (Node skips them).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` + the handshake JSON ([`Handshake`]). Sent by the server only.
    Open(String),
    /// `1`: the sender closes the session.
    Close,
    /// `2` + optional data (`"probe"` during an upgrade).
    Ping(String),
    /// `3` + optional data (`"probe"` answers a probe ping).
    Pong(String),
    /// `4` + text: carries one Socket.IO packet (or any text in the Engine.IO echo mode).
    Message(String),
    /// A binary message: a WebSocket binary frame, or `b<base64>` in a polling payload.
    Binary(Vec<u8>),
    /// `5`: the client switches to the transport it probed.
    Upgrade,
    /// `6`: nothing; used to end a pending poll during an upgrade.
    Noop,
}

impl Packet {
    /// Decodes one text frame or polling segment. A segment starting with `b` is base64 binary.
    ///
    /// As Node's `engine.io-parser` does, data after a type that carries none (`1` close,
    /// `5` upgrade, `6` noop) is tolerated and dropped, and `4` alone is an empty message.
    pub fn decode_text(text: &str) -> Result<Packet, DecodeError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(DecodeError::Empty)?;
        let data = chars.as_str();
        Ok(match kind {
            '0' => Packet::Open(data.to_owned()),
            '1' => Packet::Close,
            '2' => Packet::Ping(data.to_owned()),
            '3' => Packet::Pong(data.to_owned()),
            '4' => Packet::Message(data.to_owned()),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            'b' => Packet::Binary(BASE64.decode(data).map_err(|_| DecodeError::Base64)?),
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// A WebSocket binary frame is always a binary message in Engine.IO v4.
    pub fn decode_binary(bytes: &[u8]) -> Packet {
        Packet::Binary(bytes.to_vec())
    }

    /// Encodes as text: the WebSocket text-frame form, and the polling segment form. A binary
    /// packet becomes `b<base64>` (its polling form; over WebSocket send the raw bytes instead).
    pub fn encode_text(&self) -> String {
        match self {
            Packet::Open(data) => format!("0{data}"),
            Packet::Close => "1".to_owned(),
            Packet::Ping(data) => format!("2{data}"),
            Packet::Pong(data) => format!("3{data}"),
            Packet::Message(data) => format!("4{data}"),
            Packet::Binary(bytes) => format!("b{}", BASE64.encode(bytes)),
            Packet::Upgrade => "5".to_owned(),
            Packet::Noop => "6".to_owned(),
        }
    }
}

/// The JSON body of the open packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    pub sid: String,
    pub upgrades: Vec<String>,
    pub ping_interval: u64,
    pub ping_timeout: u64,
    pub max_payload: u64,
}

impl Handshake {
    /// The complete open packet text: `0{"sid":…}`.
    pub fn to_packet_text(&self) -> String {
        // Field order is Node's: sid, upgrades, pingInterval, pingTimeout, maxPayload.
        let json = serde_json::json!({
            "sid": self.sid,
            "upgrades": self.upgrades,
            "pingInterval": self.ping_interval,
            "pingTimeout": self.ping_timeout,
            "maxPayload": self.max_payload,
        });
        format!("0{}", crate::json::stringify(&json))
    }
}
