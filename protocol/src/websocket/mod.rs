//! WebSocket (RFC 6455) frames as a server reads and writes them, over caller-owned bytes.
//!
//! The server owns each TCP socket itself: it reads through a buffer shared by every connection
//! of a worker thread and keeps, per connection, only the bytes of a frame a read cut short;
//! it writes frames straight from its outbox with vectored writes. So nothing here owns a
//! socket, or any memory beyond the fragments of a message in progress:
//!
//! - [`decode_frame`] (`decode.rs`): one complete client frame at the start of a slice, its
//!   payload unmasked in place. The header is parsed by tungstenite (`FrameHeader::parse`);
//!   the rules a server applies to a client's frames (masked, no reserved bit, short and whole
//!   control frames, the size limit) are checked here, from the header alone, so that a client
//!   announcing a huge frame is refused before its payload arrives.
//! - [`Assembler`] (`assemble.rs`): frames into [`Message`]s. An unfragmented message is
//!   borrowed from the caller's buffer; a fragmented one is collected, then handed over whole,
//!   so that the assembler owns nothing once it completes.
//! - [`frame_header`] and [`close_frame`] (`encode.rs`): server frames, unmasked. The header is
//!   built on the stack (by tungstenite's `FrameHeader::format`), so that the payload is written
//!   from where it lies.
//!
//! A server's read loop, with `pending` the connection's partial frame (or the shared buffer):
//!
//! ```
//! use chat_protocol::websocket::{decode_frame, Assembler, Message, WsError};
//!
//! fn on_read(
//!     pending: &mut Vec<u8>,
//!     assembler: &mut Assembler,
//!     max: usize,
//!     mut handle: impl FnMut(Message<'_>),
//! ) -> Result<(), WsError> {
//!     let mut start = 0;
//!     while let Some(frame) = decode_frame(&mut pending[start..], max)? {
//!         let payload = &pending[start..][frame.payload.clone()];
//!         if let Some(message) = assembler.push(&frame, payload, max)? {
//!             handle(message);
//!         }
//!         start += frame.consumed;
//!     }
//!     pending.drain(..start); // keep only the partial frame
//!     Ok(())
//! }
//! # let mut pending = vec![0x89, 0x80, 1, 2, 3, 4]; // a masked, empty ping
//! # let mut messages = 0;
//! # on_read(&mut pending, &mut Assembler::default(), 1024, |_| messages += 1).unwrap();
//! # assert_eq!((messages, pending.len()), (1, 0));
//! ```
//!
//! On an error the server fails the connection: it sends [`close_frame`] with
//! [`WsError::close_code`] and stops reading.

mod assemble;
mod decode;
mod encode;

pub use self::assemble::{Assembler, Message};
pub use self::decode::{decode_frame, DecodedFrame, Opcode, MAX_CONTROL_PAYLOAD};
pub use self::encode::{
    close_frame, frame_header, CLOSE_INVALID_DATA, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR,
    CLOSE_SERVER_ERROR, CLOSE_TOO_BIG, MAX_HEADER,
};

use thiserror::Error;

/// Why a client's WebSocket traffic was refused. Each variant names one rule of RFC 6455, so
/// that refusals can be counted by kind ([`WsError::kind`]); the close code the server answers
/// with is [`WsError::close_code`]. All of them fail the connection (RFC 6455 7.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WsError {
    /// A frame from the client without a mask (RFC 6455 5.1).
    #[error("unmasked frame from the client")]
    Unmasked,
    /// A reserved bit set: no extension is ever negotiated (RFC 6455 5.2).
    #[error("reserved bits set")]
    ReservedBits,
    /// An opcode RFC 6455 reserves (3 to 7, 11 to 15).
    #[error("reserved opcode")]
    ReservedOpcode,
    /// A control frame longer than 125 bytes, or fragmented (RFC 6455 5.5).
    #[error("control frame too long or fragmented")]
    InvalidControl,
    /// A continuation frame with no fragmented message in progress (RFC 6455 5.4).
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (RFC 6455 5.4).
    #[error("new data frame inside a fragmented message")]
    Interleaved,
    /// A close frame with a 1-byte payload, or a close code no endpoint may send (RFC 6455
    /// 5.5.1, 7.4).
    #[error("invalid close frame")]
    InvalidClose,
    /// A text message, or a close reason, that is not UTF-8 (RFC 6455 8.1).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A frame announcing, or a fragmented message reaching, more than the limit.
    #[error("message too big")]
    TooBig,
}

impl WsError {
    /// A short, stable label for metrics. Prefixed with `ws_`, so that it can share a label
    /// with [`crate::DecodeError::kind`] (`malformed_packets_total{kind=...}`).
    pub fn kind(&self) -> &'static str {
        match self {
            WsError::Unmasked => "ws_unmasked",
            WsError::ReservedBits => "ws_reserved_bits",
            WsError::ReservedOpcode => "ws_reserved_opcode",
            WsError::InvalidControl => "ws_invalid_control",
            WsError::UnexpectedContinuation => "ws_unexpected_continuation",
            WsError::Interleaved => "ws_interleaved",
            WsError::InvalidClose => "ws_invalid_close",
            WsError::InvalidUtf8 => "ws_invalid_utf8",
            WsError::TooBig => "ws_too_big",
        }
    }

    /// The close code the server fails the connection with (RFC 6455 7.4.1): 1007 for invalid
    /// UTF-8, 1009 for too big, 1002 for every other violation of the protocol.
    pub fn close_code(&self) -> u16 {
        match self {
            WsError::InvalidUtf8 => CLOSE_INVALID_DATA,
            WsError::TooBig => CLOSE_TOO_BIG,
            WsError::Unmasked
            | WsError::ReservedBits
            | WsError::ReservedOpcode
            | WsError::InvalidControl
            | WsError::UnexpectedContinuation
            | WsError::Interleaved
            | WsError::InvalidClose => CLOSE_PROTOCOL_ERROR,
        }
    }
}
