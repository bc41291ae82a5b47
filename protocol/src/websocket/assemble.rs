//! Frames into messages.
//!
//! An unfragmented data frame, by far the common case (browsers and Node's `ws` never fragment
//! what they send), is handed out where it lies: borrowed from the caller's buffer, not copied.
//! The frames of a fragmented message are collected in the assembler, and the collected bytes
//! are handed over (moved, not copied) with the last frame: the assembler owns nothing once the
//! message is complete, and what the message took is freed when the caller drops it. A message
//! that borrowed the assembler instead would keep that memory until the connection's next frame
//! (an idle connection might send none for minutes), and would hold the assembler borrowed
//! while the caller handles the message.
//!
//! Control frames may come in the middle of a fragmented message (RFC 6455 5.4): they are
//! handed out at once, the message in progress untouched. A fragmented text message is checked
//! for UTF-8 whole, once complete, since a character may straddle two fragments.

use super::decode::{DecodedFrame, Opcode};
use super::WsError;
use std::borrow::Cow;
use tungstenite::protocol::frame::coding::CloseCode;

/// A complete message. Text and binary messages are borrowed from the caller's buffer when
/// they came in one frame, owned when they were fragmented; control frames are never
/// fragmented, so always borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Text(Cow<'a, str>),
    Binary(Cow<'a, [u8]>),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// The client closes: with its code and reason, if it gave them.
    Close(Option<(u16, &'a str)>),
}

/// The kind of the fragmented message in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fragmented {
    Text,
    Binary,
}

/// One connection's fragmented message in progress, if any. With none (the usual state) it
/// owns no memory: keep one per connection.
#[derive(Debug, Default)]
pub struct Assembler {
    in_progress: Option<Fragmented>,
    /// The payloads so far of the message in progress; empty and unallocated without one.
    fragments: Vec<u8>,
}

impl Assembler {
    /// Takes the next frame from [`decode_frame`](super::decode_frame) with its (unmasked)
    /// `payload`; returns a message when one is complete. A fragmented message over
    /// `max_payload` in all is refused.
    ///
    /// After an error the connection is to be failed; the assembler is left empty.
    pub fn push<'a>(
        &mut self,
        frame: &DecodedFrame,
        payload: &'a [u8],
        max_payload: usize,
    ) -> Result<Option<Message<'a>>, WsError> {
        let result = self.take(frame, payload, max_payload);
        if result.is_err() {
            *self = Assembler::default();
        }
        result
    }

    fn take<'a>(
        &mut self,
        frame: &DecodedFrame,
        payload: &'a [u8],
        max_payload: usize,
    ) -> Result<Option<Message<'a>>, WsError> {
        let started = match frame.opcode {
            Opcode::Ping => return Ok(Some(Message::Ping(payload))),
            Opcode::Pong => return Ok(Some(Message::Pong(payload))),
            Opcode::Close => return close(payload).map(Some),
            Opcode::Text | Opcode::Binary if self.in_progress.is_some() => {
                return Err(WsError::Interleaved)
            }
            Opcode::Continuation if self.in_progress.is_none() => {
                return Err(WsError::UnexpectedContinuation)
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation
                if self.fragments.len().saturating_add(payload.len()) > max_payload =>
            {
                return Err(WsError::TooBig)
            }
            Opcode::Text if frame.fin => return text(Cow::Borrowed(payload)).map(Some),
            Opcode::Binary if frame.fin => return Ok(Some(Message::Binary(payload.into()))),
            Opcode::Text => Fragmented::Text,
            Opcode::Binary => Fragmented::Binary,
            Opcode::Continuation => {
                self.fragments.extend_from_slice(payload);
                if !frame.fin {
                    return Ok(None);
                }
                let fragments = std::mem::take(&mut self.fragments);
                return match self.in_progress.take() {
                    Some(Fragmented::Text) => text(Cow::Owned(fragments)).map(Some),
                    Some(Fragmented::Binary) | None => Ok(Some(Message::Binary(fragments.into()))),
                };
            }
        };
        self.in_progress = Some(started);
        self.fragments.extend_from_slice(payload);
        Ok(None)
    }

    /// Bytes this assembler holds (the capacity of its fragment buffer): 0 but while a
    /// fragmented message is in progress.
    pub fn held_bytes(&self) -> usize {
        self.fragments.capacity()
    }

    /// Whether a fragmented message is in progress.
    pub fn in_progress(&self) -> bool {
        self.in_progress.is_some()
    }
}

/// A text message, borrowed or owned as its bytes were, if they are UTF-8.
fn text(bytes: Cow<'_, [u8]>) -> Result<Message<'_>, WsError> {
    let text = match bytes {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    };
    text.map(Message::Text).ok_or(WsError::InvalidUtf8)
}

/// A close frame's payload: nothing, or a code (2 bytes, one an endpoint may send) and a
/// UTF-8 reason (RFC 6455 5.5.1, 7.4).
fn close(payload: &[u8]) -> Result<Message<'_>, WsError> {
    match payload {
        [] => Ok(Message::Close(None)),
        [_] => Err(WsError::InvalidClose),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !CloseCode::from(code).is_allowed() {
                return Err(WsError::InvalidClose);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Message::Close(Some((code, reason))))
        }
    }
}
