//! The one error type of every decoder in this crate.

use thiserror::Error;

/// Why some bytes are not a valid packet. Each variant names one rule of the wire format, so
/// that callers can count malformed input by kind (metrics label: [`DecodeError::kind`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid base64 in binary packet")]
    Base64,
    #[error("invalid attachment count")]
    Attachments,
    #[error("invalid namespace")]
    Namespace,
    #[error("invalid ack id")]
    AckId,
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("payload not valid for packet type")]
    InvalidPayload,
    #[error("invalid msgpack: {0}")]
    MsgPack(String),
    #[error("unexpected shape: {0}")]
    Shape(&'static str),
}

impl DecodeError {
    /// A short, stable label for metrics (`malformed_packets_total{kind=...}`).
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::Base64 => "base64",
            DecodeError::Attachments => "attachments",
            DecodeError::Namespace => "namespace",
            DecodeError::AckId => "ack_id",
            DecodeError::Json(_) => "json",
            DecodeError::InvalidPayload => "invalid_payload",
            DecodeError::MsgPack(_) => "msgpack",
            DecodeError::Shape(_) => "shape",
        }
    }
}
