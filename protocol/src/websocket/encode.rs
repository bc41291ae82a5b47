//! Server frames: unmasked (RFC 6455 5.1: a server never masks).
//!
//! The header is returned as a small array rather than written into a buffer, so that the
//! caller writes `[header, payload]` as two `IoSlice`s straight from its outbox, the payload
//! never copied. tungstenite's `FrameHeader::format` writes it.

use super::decode::Opcode;
use std::io::Cursor;
use tungstenite::protocol::frame::FrameHeader;

/// Close codes the server sends (RFC 6455 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;
pub const CLOSE_SERVER_ERROR: u16 = 1011;

/// The longest header of an unmasked frame: 2 bytes and a 64-bit length.
pub const MAX_HEADER: usize = 10;

/// The header of a server frame with `len` bytes of payload, and how many of its bytes are
/// used (2, 4 or 10): write `&header[..used]`, then the payload.
pub fn frame_header(opcode: Opcode, fin: bool, len: usize) -> ([u8; MAX_HEADER], usize) {
    let header = FrameHeader {
        is_final: fin,
        opcode: opcode.to_tungstenite(),
        mask: None,
        ..FrameHeader::default()
    };
    let mut bytes = [0u8; MAX_HEADER];
    let mut cursor = Cursor::new(&mut bytes[..]);
    // Ten bytes hold any unmasked header: writing them cannot fail.
    let written = header.format(len as u64, &mut cursor);
    debug_assert!(
        written.is_ok(),
        "an unmasked header fits in {MAX_HEADER} bytes"
    );
    let used = cursor.position() as usize;
    (bytes, used)
}

/// A whole close frame with `code` and `reason`. The reason is cut, at a character boundary,
/// to the 123 bytes a control frame leaves it.
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut cut = reason.len().min(super::MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let reason = &reason.as_bytes()[..cut];
    let (header, used) = frame_header(Opcode::Close, true, 2 + reason.len());
    let mut frame = Vec::with_capacity(used + 2 + reason.len());
    frame.extend_from_slice(&header[..used]);
    frame.extend_from_slice(&code.to_be_bytes());
    frame.extend_from_slice(reason);
    frame
}
